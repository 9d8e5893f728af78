"""Priorities and rankings through HTTP: explanations, missing policies, staleness, scope, as_of, freezing, budgets."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.prioritisation.profiles import parse
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body
from tests.prioritisation.ranking_pages import full_selection

POLL = {"pollution_sources": ["dust"], "treatment_in_place": ["none"], "environmental_permit": "no", "had_violation": False,
        "needs_treatment_investment": False}  # fmt: skip
TEST_PROFILE = {
    "key": "test-profile", "version": 1, "status": "published", "method": "weighted_sum", "max_age_days": 365,
    "criteria": [
        {"id": "loan", "source": "loans.loan_amount_vnd", "direction": "benefit", "weight": 5, "missing": "worst"},
        {"id": "pollution", "source": "pollution.severity", "map": {"none": 0, "low": 1, "medium": 2, "high": 3},
         "direction": "benefit", "weight": 3, "missing": "zero"},
        {"id": "support", "source": "facility.prior_support_count", "direction": "cost", "weight": 2},
    ],
}  # fmt: skip


@pytest.fixture
def profile(app):  # type: ignore[no-untyped-def]
    def install(doc: dict) -> None:
        p, problems = parse(doc, "test.yaml", app.state.registry)
        assert not problems, problems
        app.state.profiles.items[(p.key, p.version)] = p

    yield install
    for k in [k for k in app.state.profiles.items if k[0].startswith("test-")]:
        del app.state.profiles.items[k]


def loan(amount: int) -> dict:
    return {
        "needs_loan": True,
        "loan_amount_vnd": amount,
        "loan_purpose": ["machinery"],
        "has_collateral": False,
        "wants_interest_subsidy": True,
    }


def world(client, make_key):  # type: ignore[no-untyped-def]
    """A: loan 100M, severity high, 0 support; B: loan 300M, low, 2 supports; C: no loan answer, none, 0; D in Hà Nội."""
    fo = make_key("field_officer", name="fo")
    ids = {}
    for name, prov, support in (("A", "68", 0), ("B", "68", 2), ("C", "68", 0), ("D", "01", 1)):
        body = facility_body(
            name=name,
            province_code=prov,
            prior_support=[{"year": 2020 + i, "programme": "KC"} for i in range(support)],
        )
        ids[name] = client.post("/api/v1/facilities", json=body, headers=fo).json()["id"]
    for name, amount in (("A", 100_000_000), ("B", 300_000_000), ("D", 200_000_000)):
        assert (
            client.post(
                "/api/v1/responses", json=response_body(ids[name], answers=loan(amount)), headers=fo
            ).status_code
            == 201
        )
    for name, sev in (("A", "high"), ("B", "low"), ("C", "none")):
        r = client.post(
            "/api/v1/responses",
            json=response_body(
                ids[name], questionnaire="pollution", version=1, answers={**POLL, "severity": sev}
            ),
            headers=fo,
        )
        assert r.status_code == 201, r.text
    return ids, fo


def get(client, headers, **params):  # type: ignore[no-untyped-def]
    r = client.get(
        "/api/v1/priorities",
        params={"profile": "test-profile", "profile_version": 1, **params},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_weighted_sum_explained_item_by_item(client, make_key, profile) -> None:
    profile(TEST_PROFILE)
    ids, _ = world(client, make_key)
    planner = make_key("planner", provinces=["68"], name="planner")
    body = get(client, planner)
    assert (
        body["profile"] == {"key": "test-profile", "version": 1}
        and body["method"] == "weighted_sum"
        and body["candidates"] == 3
    )
    by = {it["facility"]["name"]: it for it in body["items"]}
    # loan (w .5, worst for C): A 0, B 1, C 0 ; pollution (w .3, zero for none): A 1, B 1/3, C 0 ; support (w .2, cost): A 1, B 0, C 1
    assert by["A"]["score"] == pytest.approx(0.5 * 0 + 0.3 * 1 + 0.2 * 1)
    assert by["B"]["score"] == pytest.approx(0.5 * 1 + 0.3 / 3 + 0)
    assert by["C"]["score"] == pytest.approx(0 + 0 + 0.2)
    assert [it["facility"]["name"] for it in body["items"]] == ["B", "A", "C"]
    assert [it["rank"] for it in body["items"]] == [1, 2, 3]
    a = {c["id"]: c for c in by["A"]["criteria"]}
    assert (
        a["loan"]["raw"] == 100_000_000
        and a["loan"]["weight"] == 0.5
        and a["loan"]["response_id"]
        and a["loan"]["collected_at"]
    )
    assert a["pollution"]["raw"] == 3 and a["pollution"]["normalised"] == 1
    assert a["support"]["raw"] == 0 and a["support"]["response_id"] is None
    assert by["C"]["missing"] == ["loan"] and {c["id"]: c for c in by["C"]["criteria"]}["loan"]["raw"] is None
    for it in body["items"]:
        assert sum(c["contribution"] for c in it["criteria"]) == pytest.approx(it["score"])
    assert "D" not in by  # outside the planner's provinces


def test_ties_break_by_facility_id_and_constant_columns(client, make_key, profile) -> None:
    profile({**TEST_PROFILE, "key": "test-ties", "criteria": [TEST_PROFILE["criteria"][2]]})
    ids, _ = world(client, make_key)
    admin = make_key("admin", name="adm")
    body = client.get(
        "/api/v1/priorities",
        params={"profile": "test-ties", "profile_version": 1, "province_code": "68"},
        headers=admin,
    ).json()
    zero_support = sorted([ids["A"], ids["C"]])
    assert [it["facility"]["id"] for it in body["items"][:2]] == zero_support
    one = client.get(
        "/api/v1/priorities",
        params={"profile": "test-ties", "profile_version": 1, "province_code": "01"},
        headers=admin,
    ).json()
    assert one["constant_criteria"] == ["support"] and one["items"][0]["score"] == 0


def test_missing_exclude_and_stale(client, make_key, profile) -> None:
    crit = dict(TEST_PROFILE["criteria"][0], missing="exclude")
    profile({**TEST_PROFILE, "key": "test-exclude", "criteria": [crit]})
    ids, fo = world(client, make_key)
    planner = make_key("planner", name="p")
    body = client.get(
        "/api/v1/priorities", params={"profile": "test-exclude", "profile_version": 1}, headers=planner
    ).json()
    assert body["candidates"] == 3 and body["excluded"] == 1
    assert ids["C"] not in {it["facility"]["id"] for it in body["items"]}
    # An old answer (collected 2 years ago) counts as missing and is flagged stale.
    old = response_body(
        ids["C"],
        answers=loan(900_000_000),
        collected_at=(datetime.now(UTC) - timedelta(days=800)).isoformat(),
    )
    assert client.post("/api/v1/responses", json=old, headers=fo).status_code == 201
    profile({**TEST_PROFILE, "key": "test-stale"})
    stale = {
        it["facility"]["id"]: it
        for it in client.get(
            "/api/v1/priorities",
            params={"profile": "test-stale", "profile_version": 1, "as_of": _now()},
            headers=planner,
        ).json()["items"]
    }
    c_loan = {c["id"]: c for c in stale[ids["C"]]["criteria"]}["loan"]
    # v1.2: its state is `stale`, and `missing` lists only the criteria in state `missing`
    assert c_loan["stale"] is True and c_loan["raw"] is None and c_loan["state"] == "stale"
    assert "loan" not in stale[ids["C"]]["missing"]


def _now() -> str:
    time.sleep(0.01)
    return datetime.now(UTC).isoformat()


def test_summed_sources_ratios_and_question_carriers(client, make_key, profile) -> None:
    """Sums skip missing parts; `per` divides; a question only in loans v2 comes from the latest v2 response
    even when a newer v1 response exists; each criterion names the newest response it used."""
    profile({
        "key": "test-sums", "version": 1, "status": "published", "method": "weighted_sum",
        "criteria": [
            {"id": "need", "source": ["loans.needs_loan", "pollution.needs_treatment_investment"], "direction": "benefit",
             "weight": 1, "missing": "zero"},
            {"id": "ratio", "source": "loans.counterpart_funds_vnd", "per": "loans.loan_amount_vnd", "direction": "benefit",
             "weight": 1, "missing": "worst"},
            {"id": "subsidy", "source": "loans.wants_interest_subsidy", "direction": "benefit", "weight": 1,
             "missing": "worst"},
        ],
    })  # fmt: skip
    fo = make_key("field_officer", name="fo")
    ids = {n: client.post("/api/v1/facilities", json=facility_body(name=n, province_code="68"), headers=fo).json()["id"]
           for n in ("P", "Q", "R")}  # fmt: skip

    def post(fid: str, **over) -> str:  # type: ignore[no-untyped-def]
        r = client.post("/api/v1/responses", json=response_body(fid, **over), headers=fo)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    p_v2 = post(ids["P"], answers={**loan(400_000_000), "counterpart_funds_vnd": 100_000_000},
                collected_at="2026-11-20T08:00:00+07:00")  # fmt: skip
    v1 = {"needs_loan": True, "loan_amount_vnd": 200_000_000, "loan_purpose": ["machinery"], "has_collateral": False,
          "counterpart_funds_vnd": 50_000_000}  # fmt: skip
    p_v1 = post(ids["P"], version=1, answers=v1, collected_at="2026-11-22T08:00:00+07:00")
    post(ids["P"], questionnaire="pollution", version=1, answers={**POLL, "severity": "low", "needs_treatment_investment": True,
                                                                   "treatment_needs": ["consulting"], "investment_needed_vnd": 1},
         collected_at="2026-11-21T08:00:00+07:00")  # fmt: skip
    q_v2 = post(
        ids["Q"], answers={**loan(100_000_000), "counterpart_funds_vnd": 0, "wants_interest_subsidy": False}
    )
    body = client.get("/api/v1/priorities", params={"profile": "test-sums", "profile_version": 1},
                      headers=make_key("planner", name="p")).json()  # fmt: skip
    by = {it["facility"]["name"]: {c["id"]: c for c in it["criteria"]} for it in body["items"]}
    assert (
        by["P"]["need"]["raw"] == 2 and by["P"]["need"]["response_id"] == p_v1
    )  # newest of the two it summed
    assert by["P"]["ratio"]["raw"] == 0.25 and by["P"]["ratio"]["response_id"] == p_v1
    assert by["P"]["subsidy"]["raw"] == 1 and by["P"]["subsidy"]["response_id"] == p_v2
    assert by["Q"]["need"]["raw"] == 1 and by["Q"]["ratio"]["raw"] == 0 and by["Q"]["subsidy"]["raw"] == 0
    assert by["Q"]["ratio"]["response_id"] == q_v2
    assert by["R"]["need"]["raw"] is None and by["R"]["ratio"]["response_id"] is None
    # need: P 1, Q 0.5, R 0 (zero) ; ratio: P 1, Q 0, R worst 0 ; subsidy: P 1, Q 0, R worst 0 — weights 1/3 each
    assert [(it["facility"]["name"], it["score"]) for it in body["items"]] == [
        ("P", pytest.approx(1.0)), ("Q", pytest.approx(0.5 / 3)), ("R", 0.0)]  # fmt: skip


def test_topsis_profile_contributions_sum(client, make_key, profile) -> None:
    profile({**TEST_PROFILE, "key": "test-topsis", "method": "topsis"})
    world(client, make_key)
    body = client.get(
        "/api/v1/priorities",
        params={"profile": "test-topsis", "profile_version": 1},
        headers=make_key("planner", name="p"),
    ).json()
    assert body["method"] == "topsis"
    for it in body["items"]:
        assert 0 <= it["score"] <= 1
        assert sum(c["contribution"] for c in it["criteria"]) == pytest.approx(it["score"])


def test_as_of_reproduces_exactly(client, make_key, profile) -> None:
    profile(TEST_PROFILE)
    ids, fo = world(client, make_key)
    planner = make_key("planner", name="p")
    t1 = _now()
    first = client.get(
        "/api/v1/priorities",
        params={"profile": "test-profile", "profile_version": 1, "as_of": t1},
        headers=planner,
    )
    time.sleep(0.01)
    # Later: a new response, a revision, a facility edit, a new facility.
    client.post("/api/v1/responses", json=response_body(ids["C"], answers=loan(999_000_000)), headers=fo)
    rid = first.json()["items"][0]["criteria"][0]["response_id"]
    assert (
        client.put(
            f"/api/v1/responses/{rid}",
            json={
                "base_revision": 1,
                "answers": loan(5_000_000_000),
                "collected_at": "2026-11-25T10:00:00+07:00",
            },
            headers=fo,
        ).status_code
        == 201
    )
    assert (
        client.patch(
            f"/api/v1/facilities/{ids['A']}",
            json={"prior_support": [{"year": 2025, "programme": "KC"}] * 3},
            headers=fo,
        ).status_code
        == 200
    )
    client.post("/api/v1/facilities", json=facility_body(name="E"), headers=fo)
    from app.prioritisation import service as ranking_service

    ranking_service._cache.clear()
    again = client.get(
        "/api/v1/priorities",
        params={"profile": "test-profile", "profile_version": 1, "as_of": t1},
        headers=planner,
    )
    assert again.content == first.content
    now = client.get(
        "/api/v1/priorities", params={"profile": "test-profile", "profile_version": 1}, headers=planner
    ).json()
    assert now["candidates"] == 5  # A-D and the new E


def test_keyset_pages_and_csv(client, make_key, profile) -> None:
    profile(TEST_PROFILE)
    world(client, make_key)
    planner = make_key("planner", name="p")
    p1 = get(client, planner, limit=2)
    assert len(p1["items"]) == 2 and p1["next_cursor"]
    p2 = get(client, planner, limit=2, cursor=p1["next_cursor"])
    assert [it["rank"] for it in p2["items"]] == [3, 4] and p2["next_cursor"] is None
    csv = client.get(
        "/api/v1/priorities",
        params={"profile": "test-profile", "profile_version": 1, "format": "csv"},
        headers=planner,
    )
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert (
        lines[0].startswith("rank,facility_id,facility_name,province_code,sector,score,loan/raw")
        and len(lines) == 5
    )


def test_bad_queries(client, make_key) -> None:
    planner = make_key("planner", name="p")
    assert_problem(
        client.get("/api/v1/priorities", params={"profile": "nope", "profile_version": 1}, headers=planner),
        404,
    )
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert_problem(
        client.get(
            "/api/v1/priorities",
            params={"profile": "point-project", "profile_version": 1, "as_of": future},
            headers=planner,
        ),
        422,
        "query.as_of",
    )
    assert_problem(
        client.get("/api/v1/priorities", params={"profile": "point-project"}, headers=planner),
        422,
        "query.profile_version",
    )


def test_default_profile_ranks(client, make_key) -> None:
    world(client, make_key)
    body = client.get(
        "/api/v1/priorities",
        params={"profile": "point-project", "profile_version": 1},
        headers=make_key("planner", name="p"),
    )
    assert body.status_code == 200
    items = body.json()["items"]
    assert len(items) == 4 and {c["id"] for c in items[0]["criteria"]} >= {
        "need_intensity",
        "provincial_coverage",
        "loan_need_vs_revenue",
    }


def test_frozen_rankings_and_budget(client, make_key, profile) -> None:
    profile(TEST_PROFILE)
    ids, fo = world(client, make_key)
    planner = make_key("planner", provinces=["68"], name="p")
    body = {
        "profile": "test-profile",
        "profile_version": 1,
        "budget_vnd": 350_000_000,
        "cost_source": "loans.loan_amount_vnd",
    }
    r = client.post("/api/v1/rankings", json=body, headers=planner)
    assert r.status_code == 201, r.text
    doc = r.json()
    sel = full_selection(client, doc, planner)
    assert (
        sel["not_selectable"] == [ids["C"]]
        and sel["solver"]["status"] == "optimal"
        and "budget" in sel["binding_constraints"]
    )
    assert {s["facility_id"] for s in sel["selected"]} == {
        ids["B"]
    }  # B (300M) beats A (100M); both cost 400M > budget
    client.post("/api/v1/responses", json=response_body(ids["C"], answers=loan(1)), headers=fo)
    stored = client.get(f"/api/v1/rankings/{doc['id']}", headers=planner)
    assert stored.json() == doc
    listed = client.get("/api/v1/rankings", headers=planner).json()["items"]
    assert [x["id"] for x in listed] == [doc["id"]]
    csv = (
        client.get(f"/api/v1/rankings/{doc['id']}/export.csv", headers=planner)
        .content.decode("utf-8-sig")
        .splitlines()
    )
    assert csv[0].endswith(",selected") and csv[1].endswith(",1")
    hn = make_key("planner", provinces=["01"], name="hn")
    assert_problem(client.get(f"/api/v1/rankings/{doc['id']}", headers=hn), 404)
    assert_problem(
        client.post("/api/v1/rankings", json={**body, "per_province": {"min": 3}}, headers=planner),
        422,
        "per_province.min",
    )
    assert_problem(
        client.post("/api/v1/rankings", json={**body, "cost_source": None}, headers=planner),
        422,
        "cost_source",
    )
    assert_problem(
        client.post("/api/v1/rankings", json={**body, "cost_source": "pollution.severity"}, headers=planner),
        422,
        "cost_source",
    )
    assert_problem(client.get(f"/api/v1/rankings/{uuid.uuid4()}", headers=planner), 404)


def test_profile_loader_reports_every_problem(app) -> None:
    doc = {"key": "bad", "version": 1, "method": "magic", "criteria": [
        {"id": "a", "source": "weather.rain", "direction": "benefit", "weight": 1},
        {"id": "b", "source": "loans.nope", "direction": "benefit", "weight": 1},
        {"id": "c", "source": "pollution.severity", "map": {"none": 0, "low": 1}, "direction": "benefit", "weight": 1},
        {"id": "d", "source": "pollution.severity", "direction": "benefit", "weight": 1},
        {"id": "e", "source": "market-needs.main_products", "direction": "benefit", "weight": 0},
        {"id": "f", "source": "facility.colour", "direction": "up", "weight": 1, "missing": "maybe"},
    ]}  # fmt: skip
    _, problems = parse(doc, "bad.yaml", app.state.registry)
    got = {p.path: p.message for p in problems}
    assert "unknown method" in got["method"]
    assert "unknown questionnaire 'weather'" in got["criteria.0.source"]
    assert "no version of loans has a question 'nope'" in got["criteria.1.source"]
    assert "['medium', 'high']" in got["criteria.2.map"]
    assert "need a 'map'" in got["criteria.3.source"]
    assert "not a number" in got["criteria.4.source"] and "greater than 0" in got["criteria.4.weight"]
    assert (
        "unknown facility field" in got["criteria.5.source"]
        and "criteria.5.direction" in got
        and "criteria.5.missing" in got
    )


def test_profiles_served(client) -> None:
    listed = client.get("/api/v1/scoring-profiles").json()
    assert {
        "key": "point-project",
        "version": 1,
        "status": "published",
        "method": "weighted_sum",
    }.items() <= listed[0].items()
    p = client.get("/api/v1/scoring-profiles/point-project/versions/1")
    assert (
        p.status_code == 200 and all(c.get("rationale") for c in p.json()["criteria"]) and p.headers["etag"]
    )


def test_personal_and_non_numeric_questions_are_never_sources() -> None:
    """Personal answers (name, phone) never reach a ranking: the profile loader refuses them as sources."""
    from pathlib import Path

    from app.questionnaires.definition import load_dir
    from app.questionnaires.registry import Registry

    defs, problems = load_dir(Path(__file__).resolve().parents[1] / "questionnaires" / "schemas")
    assert problems == []
    registry = Registry(defs)
    doc = {"key": "visits", "version": 1, "method": "weighted_sum", "criteria": [
        {"id": "a", "source": "site-visit.respondent_phone", "direction": "benefit", "weight": 1},
        {"id": "b", "source": "site-visit.machine_count", "per": "site-visit.respondent_name", "direction": "benefit", "weight": 1},
        {"id": "c", "source": "site-visit.workshop_location", "direction": "benefit", "weight": 1},
        {"id": "d", "source": "site-visit.workshop_photo", "direction": "benefit", "weight": 1},
    ]}  # fmt: skip
    _, problems = parse(doc, "visits.yaml", registry)
    got = {p.path: p.message for p in problems}
    assert "personal data (v1)" in got["criteria.0.source"]
    assert "personal data" in got["criteria.1.per"] and "criteria.1.source" not in got
    assert "geopoint answer is not a number" in got["criteria.2.source"]
    assert "image answer is not a number" in got["criteria.3.source"]
    ok = {
        **doc,
        "criteria": [{"id": "m", "source": "site-visit.machine_count", "direction": "benefit", "weight": 1}],
    }
    prof, problems = parse(ok, "visits.yaml", registry)
    assert problems == [] and prof is not None
