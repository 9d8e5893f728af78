"""The answer projection (present rankings) agrees with the history (rankings as of an instant), through HTTP.

A random history of writes (facilities registered and moved, responses posted singly and in batches, revised,
reviewed) is played against the API; at random points a present ranking is taken (GET /priorities without
as_of: the projection path, cached per data generation) for each review filter and a province filter. At the
end the same rankings are asked for again as of each point's instant, which reads the history: every body must
be identical, item by item and explanation by explanation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.db import session_scope
from app.prioritisation import projection
from app.prioritisation.profiles import parse
from tests.conftest import wipe
from tests.factories import facility_body

PROFILE = {
    "key": "test-projection", "version": 1, "status": "published", "method": "weighted_sum", "max_age_days": 30,
    "criteria": [
        {"id": "amount", "source": "loans.loan_amount_vnd", "direction": "benefit", "weight": 3, "missing": "worst"},
        {"id": "need", "source": ["loans.needs_loan", "pollution.needs_treatment_investment"], "direction": "benefit",
         "weight": 2, "missing": "zero"},
        {"id": "ratio", "source": "loans.counterpart_funds_vnd", "per": "loans.loan_amount_vnd", "direction": "benefit",
         "weight": 1, "missing": "worst"},
        {"id": "severity", "source": "pollution.severity", "map": {"none": 0, "low": 1, "medium": 2, "high": 3},
         "direction": "benefit", "weight": 2, "missing": "exclude"},
        {"id": "support", "source": "facility.prior_support_count", "direction": "cost", "weight": 1},
    ],
}  # fmt: skip
POLL = {
    "pollution_sources": ["dust"],
    "treatment_in_place": ["none"],
    "environmental_permit": "no",
    "had_violation": False,
}
PROVINCES = ("68", "01")
AGES = (0, 1, 3, 29, 31, 400)  # days before now: 31 and 400 are stale under max_age_days 30; repeats tie


def _answers(kind: str, n: int) -> tuple[str, int, dict[str, Any]]:
    """(questionnaire, version, answers) of a small family, so values and ties repeat."""
    if kind == "loans2":
        if n % 3 == 0:
            return "loans", 2, {"needs_loan": False}
        return "loans", 2, {"needs_loan": True, "loan_amount_vnd": (1 + n % 4) * 100_000_000, "loan_purpose": ["machinery"],
                            "has_collateral": False, "wants_interest_subsidy": True}  # fmt: skip
    if kind == "loans1":
        return "loans", 1, {"needs_loan": True, "loan_amount_vnd": (1 + n % 3) * 150_000_000, "loan_purpose": ["machinery"],
                            "has_collateral": False, "counterpart_funds_vnd": (n % 5) * 30_000_000}  # fmt: skip
    sev = ("none", "low", "medium", "high")[n % 4]
    if n % 2:
        return "pollution", 1, {**POLL, "severity": sev, "needs_treatment_investment": True,
                                "treatment_needs": ["consulting"], "investment_needed_vnd": 1}  # fmt: skip
    return "pollution", 1, {**POLL, "severity": sev, "needs_treatment_investment": False}


KIND = st.sampled_from(("loans2", "loans1", "pollution"))
# Who submits: an admin key (office), a field officer's (field), a portal key (portal): rankings read, per
# facility and questionnaire, an approved response first, then the latest field/office, then the latest portal.
WHO = st.sampled_from(("office", "field", "portal"))
ACTION = st.one_of(
    st.tuples(st.just("facility"), st.sampled_from(PROVINCES), st.integers(0, 2)),
    st.tuples(st.just("post"), st.integers(0, 50), KIND, st.integers(0, 11), st.sampled_from(AGES), WHO),
    st.tuples(
        st.just("batch"),
        st.lists(
            st.tuples(st.integers(0, 50), KIND, st.integers(0, 11), st.sampled_from(AGES)),
            min_size=1,
            max_size=4,
        ),
        WHO,
    ),  # fmt: skip
    st.tuples(st.just("revise"), st.integers(0, 80), st.integers(0, 11), st.sampled_from(AGES)),
    st.tuples(st.just("review"), st.integers(0, 80), st.sampled_from(("approved", "has_issues", "rejected"))),
    st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(PROVINCES)),
    st.tuples(
        st.just("rank"),
    ),
)


@pytest.fixture
def installed(client, app):  # type: ignore[no-untyped-def]
    p, problems = parse(PROFILE, "test.yaml", app.state.registry)
    assert not problems, problems
    app.state.profiles.items[(p.key, p.version)] = p
    yield
    del app.state.profiles.items[(p.key, p.version)]


def _ranking(client, reader, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/priorities", params={"profile": PROFILE["key"], "profile_version": 1, "limit": 1000, **params},
                   headers=reader)  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _checkpoint(client, reader) -> list[tuple[dict[str, Any], dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Present rankings under every review filter (and one province): (query, body)."""
    out = []
    for review in ("not_rejected", "any", "approved"):
        for extra in ({}, {"province_code": "68"}):
            query = {"review": review, **extra}
            out.append((query, _ranking(client, reader, **query)))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(actions=st.lists(ACTION, min_size=4, max_size=24))
def test_projection_equals_history(client, make_key, installed, actions) -> None:  # type: ignore[no-untyped-def]
    wipe()
    writer, reader = make_key("admin", name="writer"), make_key("planner", name="reader")
    by = {
        "office": writer,
        "field": make_key("field_officer", name="officer"),
        "portal": make_key("portal", name="portal"),
    }
    with (
        session_scope() as s
    ):  # the present path is the one taken (else this test compares history to itself)
        keys = {"loans": ("counterpart_funds_vnd", "loan_amount_vnd", "needs_loan"), "pollution": ("needs_treatment_investment", "severity")}  # fmt: skip
        assert projection.state(s).covers(datetime.now(UTC), keys)
    now = datetime.now(UTC)
    facilities: list[str] = []
    responses: list[tuple[str, int]] = []  # (id, latest revision)
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def body(fid: str, kind: str, n: int, age: int) -> dict[str, Any]:
        q, v, answers = _answers(kind, n)
        return {"id": str(uuid.uuid4()), "questionnaire": q, "version": v, "facility_id": fid, "answers": answers,
                "collected_at": (now - timedelta(days=age)).isoformat()}  # fmt: skip

    for action in [
        ("facility", "68", 0),
        *actions,
        ("rank",),
        ("facility", "01", 0),
    ]:  # the last write: history after
        match action:
            case ("facility", province, support):
                prior = [{"year": 2020 + i, "programme": "KC"} for i in range(support)]
                r = client.post("/api/v1/facilities", json=facility_body(name=f"F{len(facilities)}", province_code=province,
                                                                         prior_support=prior), headers=writer)  # fmt: skip
                assert r.status_code == 201, r.text
                facilities.append(r.json()["id"])
            case ("post", f, kind, n, age, who):
                b = body(facilities[f % len(facilities)], kind, n, age)
                r = client.post("/api/v1/responses", json=b, headers=by[who])
                assert r.status_code == 201, r.text
                responses.append((b["id"], 1))
            case ("batch", items, who):
                bodies = [body(facilities[f % len(facilities)], kind, n, age) for f, kind, n, age in items]
                r = client.post("/api/v1/responses/batch", json={"items": bodies}, headers=by[who])
                assert r.status_code == 200 and all(x["status"] == "created" for x in r.json()["results"]), (
                    r.text
                )
                responses += [(b["id"], 1) for b in bodies]
            case ("revise", k, n, age) if responses:
                rid, rev = responses[k % len(responses)]
                current = client.get(f"/api/v1/responses/{rid}", headers=writer).json()
                kind = (
                    "pollution" if current["questionnaire"] == "pollution" else f"loans{current['version']}"
                )
                q, v, answers = _answers(kind, n)
                r = client.put(f"/api/v1/responses/{rid}", headers=writer, json={
                    "base_revision": rev, "answers": answers, "collected_at": (now - timedelta(days=age)).isoformat()})  # fmt: skip
                assert r.status_code == 201, r.text
                responses[k % len(responses)] = (rid, rev + 1)
            case ("review", k, state) if responses:
                rid, _ = responses[k % len(responses)]
                r = client.post(f"/api/v1/responses/{rid}/review", json={"state": state}, headers=writer)
                assert r.status_code in (200, 201), r.text
            case ("move", f, province):
                fid = facilities[f % len(facilities)]
                r = client.patch(
                    f"/api/v1/facilities/{fid}", json={"province_code": province}, headers=writer
                )
                assert r.status_code == 200, r.text
            case ("rank",):
                seen += _checkpoint(client, reader)
    for query, present in seen:
        past = _ranking(client, reader, as_of=present["as_of"], **query)
        if past != present:  # the first difference, readably
            diff = {k: (past[k], present[k]) for k in present if k != "items" and past.get(k) != present[k]}
            pairs = list(zip(past["items"], present["items"], strict=False))
            first = next(((a, b) for a, b in pairs if a != b), None)
            raise AssertionError(
                (query, present["as_of"], diff, len(past["items"]), len(present["items"]), first)
            )


def test_present_rankings_follow_the_projection_rows_written_since_and_notice_a_row_gone(
    client, make_key, installed
) -> None:  # type: ignore[no-untyped-def]
    """The process keeps each facility's decoded rows and reads only the projection rows written since; a row
    that vanished (a rebuild, or a wipe) is noticed by the row count and everything is read again."""
    from sqlalchemy import text

    writer, reader = make_key("admin", name="writer"), make_key("planner", name="reader")
    now = datetime.now(UTC)
    fids = []
    for i in range(3):
        r = client.post(
            "/api/v1/facilities", json=facility_body(name=f"F{i}", province_code="68"), headers=writer
        )
        fids.append(r.json()["id"])

    def post(fid: str, n: int, kind: str = "loans2") -> None:
        q, v, answers = _answers(kind, n)
        body = {"id": str(uuid.uuid4()), "questionnaire": q, "version": v, "facility_id": fid, "answers": answers,
                "collected_at": now.isoformat()}  # fmt: skip
        assert client.post("/api/v1/responses", json=body, headers=writer).status_code == 201

    def amounts() -> dict[str, Any]:
        items = _ranking(client, reader, review="any")["items"]
        return {
            it["facility"]["id"]: next(c["raw"] for c in it["criteria"] if c["id"] == "amount")
            for it in items
        }

    for fid in fids:  # the profile excludes a facility without a pollution survey (severity: missing exclude)
        post(fid, 2, "pollution")
    post(fids[0], 1)
    post(fids[1], 2)
    assert amounts() == {fids[0]: 200_000_000, fids[1]: 300_000_000, fids[2]: None}  # read in full
    post(fids[1], 4)  # a later response: only this facility's row is read again
    post(fids[2], 5)
    assert amounts() == {fids[0]: 200_000_000, fids[1]: 100_000_000, fids[2]: 200_000_000}
    with session_scope(write=True) as s:  # a row vanishes (as a rebuild may drop one) and data moves on
        s.execute(text("DELETE FROM answer_projection WHERE facility_id = :f"), {"f": fids[0]})
        s.execute(text("UPDATE ranking_state SET generation = generation + 1"))
    assert amounts() == {fids[1]: 100_000_000, fids[2]: 200_000_000}


def test_a_portal_self_report_does_not_displace_the_officers_answers_unless_approved(
    client, make_key, installed
) -> None:  # type: ignore[no-untyped-def]
    """Anyone holding a portal's public token who knows an establishment's tax code files a response about it: the
    default ranking (present and as of an instant) keeps reading the field officer's answers, and names the
    response and its channel, until a planner approves the self-report; an approved one is read first."""
    officer, admin = make_key("field_officer", provinces=["68"], name="can-bo"), make_key("admin", name="adm")
    planner = make_key("planner", provinces=["68"], name="ke-hoach")
    now = datetime.now(UTC)
    r = client.post(
        "/api/v1/facilities", json=facility_body(name="HTX Cầu Đất", tax_code="5800777777"), headers=officer
    )
    fid = r.json()["id"]

    def body(n: int, age: float, **where: Any) -> dict[str, Any]:
        q, v, answers = _answers("loans2", n)
        return {"id": str(uuid.uuid4()), "questionnaire": q, "version": v, "answers": answers,
                "collected_at": (now - timedelta(days=age)).isoformat(), **where}  # fmt: skip

    pollution = {
        **body(1, 2),
        "questionnaire": "pollution",
        "version": 1,
        "answers": _answers("pollution", 1)[2],
    }
    assert (
        client.post("/api/v1/responses", json={**pollution, "facility_id": fid}, headers=officer).status_code
        == 201
    )
    field = body(1, 2, facility_id=fid)  # 200,000,000 collected two days ago
    assert client.post("/api/v1/responses", json=field, headers=officer).status_code == 201
    link = client.post("/api/v1/form-links", json={"name": "Cổng", "questionnaires": ["loans"], "province_code": "68"},
                       headers=admin).json()  # fmt: skip
    inline = {
        "name": "Ai đó",
        "kind": "cooperative",
        "sector": "other",
        "province_code": "68",
        "tax_code": "5800777777",
    }
    self_report = body(2, 0, facility=inline)  # 300,000,000 collected now, later than the officer's
    r = client.post(
        "/api/v1/responses", json=self_report, headers={"Authorization": f"Bearer {link['token']}"}
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/responses/{self_report['id']}", headers=planner).json()["facility_id"] == fid

    def amount(**params: Any) -> tuple[Any, Any, Any]:
        items = _ranking(client, planner, **params)["items"]
        (c,) = [
            c for it in items if it["facility"]["id"] == fid for c in it["criteria"] if c["id"] == "amount"
        ]
        return c["raw"], c["response_id"], c["channel"]

    present = _ranking(client, planner)
    assert amount() == (200_000_000, field["id"], "field")  # the default ranking: not_rejected
    assert amount(as_of=present["as_of"]) == amount()  # the history path agrees
    assert amount(review="any") == (200_000_000, field["id"], "field")
    r = client.post(
        f"/api/v1/responses/{self_report['id']}/review", json={"state": "approved"}, headers=planner
    )
    assert r.status_code in (200, 201), r.text
    approved = _ranking(client, planner)
    assert amount() == (300_000_000, self_report["id"], "portal")  # approved: read first
    assert amount(as_of=approved["as_of"]) == amount()
    later = body(4, 0, facility_id=fid)  # a later officer's response does not displace an approved one either
    assert client.post("/api/v1/responses", json=later, headers=officer).status_code == 201
    assert amount() == (300_000_000, self_report["id"], "portal")
    # As of before the approval, the officer's answers were read.
    assert amount(as_of=present["as_of"]) == (200_000_000, field["id"], "field")
