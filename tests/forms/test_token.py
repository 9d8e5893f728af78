"""A form link's token: it registers a facility inline and submits to its questionnaires in its province —
nothing else — and stops at once when revoked, expired or full. Through HTTP, on both databases."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.core.config import get_settings
from app.core.db import session_scope
from app.models import Facility, FormLink, Response
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

PROBLEMS = "https://khuyencong.example/problems/"


def inline(**facility: Any) -> dict[str, Any]:
    """A response registering its facility inline, as the hosted page sends it."""
    body = response_body("x")
    del body["facility_id"], body["location"]
    body["facility"] = {"name": "HTX cà phê Cầu Đất", "kind": "cooperative", "sector": "agro_food_processing",
                        "province_code": "68", "ward_code": "22933", **facility}  # fmt: skip
    return body


def count(link_id: str) -> int:
    with session_scope() as s:
        return int(s.execute(select(FormLink.submission_count).where(FormLink.id == link_id)).scalar_one())


def stored_responses() -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(Response)).scalar_one())


def test_a_link_registers_a_facility_inline_and_submits(client, admin, make_link) -> None:
    link = make_link()
    body = inline(tax_code="5800123456")
    r = client.post("/api/v1/responses", json=body, headers=link["headers"])
    assert r.status_code == 201, r.text
    stored = r.json()
    assert (
        stored["id"] == body["id"]
        and stored["province_code"] == "68"
        and stored["answers"] == body["answers"]
    )
    facility = client.get(f"/api/v1/facilities/{stored['facility_id']}", headers=admin).json()
    assert (facility["name"], facility["tax_code"], facility["ward_code"]) == (
        "HTX cà phê Cầu Đất",
        "5800123456",
        "22933",
    )
    # The same establishment again (its tax code), another questionnaire: recognised, not registered twice.
    again = inline(tax_code="5800123456", name="Tên khác")
    again.update(questionnaire="market-needs", version=1, answers={
        "main_products": "Cà phê", "product_group": "agro_food", "has_ocop_product": False,
        "current_markets": ["local"], "sales_channels": ["direct"], "needs_trade_promotion": False})  # fmt: skip
    r2 = client.post("/api/v1/responses", json=again, headers=link["headers"])
    assert r2.status_code == 201, r2.text
    assert r2.json()["facility_id"] == stored["facility_id"]
    assert count(link["id"]) == 2
    events = client.get("/api/v1/audit", params={"action": "response.created"}, headers=admin).json()["items"]
    assert {(e["key_name"], e["role"], e["province_code"]) for e in events} == {
        (f"form-link:{link['id']}", "form_link", "68")
    }


def test_the_token_reads_nothing_and_writes_nothing_else(client, make_key, make_link) -> None:
    link = make_link()
    h = link["headers"]
    fo = make_key("field_officer", provinces=["68"])
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
    rid = client.post("/api/v1/responses", json=response_body(fid), headers=fo).json()["id"]
    for path, params in [
        ("/api/v1/facilities", {}), (f"/api/v1/facilities/{fid}", {}), ("/api/v1/responses", {}),
        (f"/api/v1/responses/{rid}", {}), (f"/api/v1/responses/{rid}/revisions", {}),
        ("/api/v1/exports/responses.csv", {"questionnaire": "loans", "version": 2}),
        ("/api/v1/exports/facilities.csv", {}), ("/api/v1/priorities", {"profile": "point-project", "profile_version": 1}),
        ("/api/v1/rankings", {}), ("/api/v1/keys", {}), ("/api/v1/audit", {}), ("/api/v1/form-links", {}),
    ]:  # fmt: skip
        assert_problem(client.get(path, params=params, headers=h), 403)
    assert_problem(client.post("/api/v1/facilities", json=facility_body(name="Khác"), headers=h), 403)
    assert_problem(client.patch(f"/api/v1/facilities/{fid}", json={"employees": 1}, headers=h), 403)
    revise = {
        "base_revision": 1,
        "answers": {"needs_loan": False},
        "collected_at": "2026-11-21T09:00:00+07:00",
    }
    assert_problem(client.put(f"/api/v1/responses/{rid}", json=revise, headers=h), 403)
    assert_problem(
        client.post("/api/v1/rankings", json={"profile": "point-project", "profile_version": 1}, headers=h),
        403,
    )
    csv = "name,kind,sector,province\nXưởng mộc,household_business,handicrafts,68\n".encode()
    assert_problem(client.post("/api/v1/facilities/import", files={"file": ("f.csv", csv)}, headers=h), 403)
    assert_problem(client.post("/api/v1/keys", json={"name": "x", "role": "planner"}, headers=h), 403)
    # Someone else's response sent again (same id, same content): acknowledged, but its body is not shown.
    theirs = client.get(f"/api/v1/responses/{rid}", headers=fo).json()
    again = response_body(fid, id=rid, collected_at=theirs["collected_at"])
    r = client.post("/api/v1/responses", json=again, headers=h)
    assert r.status_code == 200 and r.json() == {
        "id": rid,
        "questionnaire": "loans",
        "version": 2,
        "status": "duplicate",
    }
    assert stored_responses() == 1 and count(link["id"]) == 0


def test_the_token_submits_only_its_questionnaires_in_its_province(client, make_key, make_link) -> None:
    link = make_link(questionnaires=["loans"])
    h = link["headers"]
    other_q = inline()
    other_q.update(questionnaire="pollution", version=1, answers={})
    assert_problem(client.post("/api/v1/responses", json=other_q, headers=h), 403, "questionnaire")
    # Another province, inline: refused at the province.
    r = client.post("/api/v1/responses", json=inline(province_code="01", ward_code=None), headers=h)
    assert_problem(r, 403, "facility.province_code")
    # Another province's facility by id, or by tax code: as if unknown (nothing about it is revealed).
    hanoi = make_key("field_officer", provinces=["01"])
    theirs = client.post("/api/v1/facilities", json=facility_body(province_code="01", tax_code="0101234567"),
                         headers=hanoi).json()["id"]  # fmt: skip
    by_id = response_body(theirs)
    del by_id["location"]
    body = assert_problem(client.post("/api/v1/responses", json=by_id, headers=h), 422, "facility_id")
    nowhere = {**by_id, "id": str(uuid.uuid4()), "facility_id": str(uuid.uuid4())}  # no such facility at all
    ghost = assert_problem(client.post("/api/v1/responses", json=nowhere, headers=h), 422, "facility_id")
    said = body["errors"][0]["message"].replace(theirs, "<id>")  # (the id itself may contain "01")
    assert said == ghost["errors"][0]["message"].replace(nowhere["facility_id"], "<id>") and "01" not in said
    body = assert_problem(client.post("/api/v1/responses", json=inline(tax_code="0101234567"), headers=h), 409,
                          "facility.tax_code")  # fmt: skip
    assert "facility_id" not in body and theirs not in str(body)
    # Its own province's facility by id is fine (the page sends later questionnaires so).
    own = client.post("/api/v1/responses", json=inline(), headers=h).json()["facility_id"]
    by_own = response_body(own)
    assert client.post("/api/v1/responses", json=by_own, headers=h).status_code == 201
    assert stored_responses() == 2
    with session_scope() as s:
        assert (
            s.execute(
                select(func.count()).select_from(Facility).where(Facility.province_code == "68")
            ).scalar_one()
            == 1
        )


def test_a_retry_is_acknowledged_without_the_stored_body_and_counts_once(client, make_link) -> None:
    """The link's own retry after a lost reply: a receipt with what its 201 said of it (when it was received,
    the establishment it registered, so the page's next questionnaire goes there), never the answers."""
    link = make_link()
    body = inline()
    first = client.post("/api/v1/responses", json=body, headers=link["headers"])
    assert first.status_code == 201
    r = client.post("/api/v1/responses", json=body, headers=link["headers"])
    assert r.status_code == 200
    assert r.json() == {"id": body["id"], "questionnaire": "loans", "version": 2, "status": "duplicate",
                        "received_at": first.json()["received_at"], "facility_id": first.json()["facility_id"]}  # fmt: skip
    assert count(link["id"]) == 1 and stored_responses() == 1
    other = {**body, "answers": {"needs_loan": False}}
    assert_problem(client.post("/api/v1/responses", json=other, headers=link["headers"]), 409, "id")
    assert count(link["id"]) == 1


def test_revocation_stops_the_token_at_once(client, admin, make_link) -> None:
    link = make_link()
    assert client.post("/api/v1/responses", json=inline(), headers=link["headers"]).status_code == 201
    assert client.post(f"/api/v1/form-links/{link['id']}/revoke", headers=admin).status_code == 200
    body = assert_problem(client.post("/api/v1/responses", json=inline(), headers=link["headers"]), 401)
    assert body["type"] == PROBLEMS + "form-link-revoked"
    assert stored_responses() == 1


def test_expiry_stops_the_token(client, make_link) -> None:
    link = make_link(expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert client.post("/api/v1/responses", json=inline(), headers=link["headers"]).status_code == 201
    with session_scope(write=True) as s:
        s.execute(
            update(FormLink)
            .where(FormLink.id == link["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )  # type: ignore[arg-type]
    body = assert_problem(client.post("/api/v1/responses", json=inline(), headers=link["headers"]), 401)
    assert body["type"] == PROBLEMS + "form-link-expired"
    assert stored_responses() == 1


def test_the_cap_stops_new_responses_but_not_retries_of_counted_ones(client, admin, make_link) -> None:
    link = make_link(max_submissions=2)
    first, second = inline(), inline()
    assert client.post("/api/v1/responses", json=first, headers=link["headers"]).status_code == 201
    assert client.post("/api/v1/responses", json=second, headers=link["headers"]).status_code == 201
    body = assert_problem(client.post("/api/v1/responses", json=inline(), headers=link["headers"]), 403)
    assert body["type"] == PROBLEMS + "form-link-exhausted"
    # The retry of a counted response (its answer was lost, say) is still acknowledged, and counts nothing.
    assert client.post("/api/v1/responses", json=second, headers=link["headers"]).status_code == 200
    batch = client.post("/api/v1/responses/batch", json={"items": [inline(), first]}, headers=link["headers"])
    assert [x["status"] for x in batch.json()["results"]] == ["forbidden", "duplicate"]
    assert count(link["id"]) == 2 and stored_responses() == 2
    listed = client.get("/api/v1/form-links", headers=admin).json()["items"][0]
    assert (listed["state"], listed["submission_count"]) == ("exhausted", 2)


def test_a_batch_counts_each_new_response_once(client, make_link) -> None:
    link = make_link(max_submissions=3)
    a, b = inline(), inline()
    other_q = {**inline(), "questionnaire": "pollution", "version": 1, "answers": {}}
    r = client.post(
        "/api/v1/responses/batch",
        json={"items": [a, a, other_q, b, inline(), inline()]},
        headers=link["headers"],
    )
    assert [x["status"] for x in r.json()["results"]] == [
        "created",
        "duplicate",
        "forbidden",
        "created",
        "created",
        "forbidden",
    ]
    assert count(link["id"]) == 3 and stored_responses() == 3


def test_a_facility_that_cannot_be_registered_gives_its_take_back(client, make_key, make_link) -> None:
    """The tax code is registered in another province between the checks and the write: nothing stored, nothing counted."""
    link = make_link(max_submissions=1)
    body = inline(tax_code="5800999999")
    from app.responses import ingest

    original = ingest._facility

    def register_elsewhere_meanwhile(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        with session_scope(write=True) as s:
            s.add(Facility(id=str(uuid.uuid4()), name="Nơi khác", search_text="noi khac", tax_code="5800999999",
                           kind="enterprise", sector="other", province_code="01"))  # fmt: skip
        return out

    ingest._facility = register_elsewhere_meanwhile  # type: ignore[assignment]
    try:
        r = client.post("/api/v1/responses", json=body, headers=link["headers"])
    finally:
        ingest._facility = original  # type: ignore[assignment]
    assert_problem(r, 409, "facility.tax_code")
    assert count(link["id"]) == 0 and stored_responses() == 0
    assert client.post("/api/v1/responses", json=inline(), headers=link["headers"]).status_code == 201


def facilities_registered() -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(Facility)).scalar_one())


def test_each_link_has_its_own_rate_limit(client, make_link, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "form_link_rate_limit_per_minute", 6)
    busy, quiet = make_link(), make_link(name="Khác")
    for _ in range(3):  # each registers its facility: two units each
        assert client.post("/api/v1/responses", json=inline(), headers=busy["headers"]).status_code == 201
    r = client.post("/api/v1/responses", json=inline(), headers=busy["headers"])
    assert_problem(r, 429)
    assert r.json()["type"].endswith("form-link-rate-limited") and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "6 responses and new facilities a minute" in r.json()["detail"]
    assert client.post("/api/v1/responses", json=inline(), headers=quiet["headers"]).status_code == 201
    assert stored_responses() == 4 and count(busy["id"]) == 3


def _known_facilities(client, make_key, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    officer = make_key("field_officer", provinces=["68"], name="can-bo")
    out = []
    for i in range(n):
        r = client.post("/api/v1/facilities", json=facility_body(name=f"Đã đăng ký {i}"), headers=officer)
        assert r.status_code == 201, r.text
        out.append(r.json()["id"])
    return out


def test_the_allowance_counts_stored_responses_not_requests(
    client, admin, make_key, make_link, monkeypatch
) -> None:
    """Allowance 5 a minute: one batch of 20 stores 5 and refuses the other 15 item by item (rate_limited with
    retry_after, the reply's Retry-After); a single post over it is 429 with Retry-After; retries of stored
    responses (200, duplicates) are answered and take nothing, however many."""
    monkeypatch.setattr(get_settings(), "form_link_rate_limit_per_minute", 5)
    fids = _known_facilities(client, make_key, 20)
    link = make_link()
    bodies = [response_body(fid) for fid in fids]
    r = client.post("/api/v1/responses/batch", json={"items": bodies}, headers=link["headers"])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["created"] * 5 + ["rate_limited"] * 15
    for i, x in enumerate(results[5:], start=5):
        assert x["id"] == bodies[i]["id"] and 1 <= x["retry_after"] <= 60 and "revision" not in x
        assert x["errors"][0]["path"] == f"items.{i}" and x["errors"][0]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert stored_responses() == 5 and count(link["id"]) == 5
    again = client.post("/api/v1/responses/batch", json={"items": bodies[:5]}, headers=link["headers"])
    assert [x["status"] for x in again.json()["results"]] == [
        "duplicate"
    ] * 5 and "retry-after" not in again.headers
    for b in bodies[:5] * 2:
        assert client.post("/api/v1/responses", json=b, headers=link["headers"]).status_code == 200
    r = client.post("/api/v1/responses", json=bodies[5], headers=link["headers"])
    assert_problem(r, 429)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert stored_responses() == 5 and count(link["id"]) == 5
    # Another link's allowance is its own; an API key is not held to a link's.
    other = make_link(name="Khác")
    assert client.post("/api/v1/responses", json=bodies[5], headers=other["headers"]).status_code == 201


def test_registrations_count_and_a_refused_registration_stores_nothing(client, admin, make_key, make_link,
                                                                      monkeypatch) -> None:  # fmt: skip
    """A response registering its facility takes two of the allowance (the response and the facility): with 5 a
    minute, a batch of 20 inline registrations stores 2 (2 facilities); the third, with one left, is refused
    whole (neither its facility nor its response stored), while a response about a known facility still fits."""
    monkeypatch.setattr(get_settings(), "form_link_rate_limit_per_minute", 5)
    (known,) = _known_facilities(client, make_key, 1)
    link = make_link()
    bodies = [inline(name=f"Cơ sở {i}", tax_code=f"58001000{i:02d}") for i in range(20)]
    r = client.post(
        "/api/v1/responses/batch", json={"items": [*bodies, response_body(known)]}, headers=link["headers"]
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["created"] * 2 + ["rate_limited"] * 18 + ["created"]
    assert stored_responses() == 3 and facilities_registered() == 1 + 2 and count(link["id"]) == 3
    tax = {
        f["tax_code"]
        for f in client.get("/api/v1/facilities", headers=admin, params={"limit": 100}).json()["items"]
    }
    assert "5800100002" not in tax and {"5800100000", "5800100001"} <= tax  # nothing half-stored
    r = client.post("/api/v1/responses", json=bodies[2], headers=link["headers"])
    assert_problem(r, 429)
    assert facilities_registered() == 3


@pytest.mark.parametrize("racers", [12])
def test_the_cap_is_exact_when_submissions_race(client, live_server, make_link, racers: int) -> None:
    """Against a real server process (group commit, several requests at once): never past the cap."""
    link = make_link(max_submissions=5)
    bodies = [inline() for _ in range(racers)]

    def post(body: dict[str, Any]) -> int:
        return httpx.post(
            f"{live_server}/api/v1/responses", json=body, headers=link["headers"], timeout=60
        ).status_code

    with ThreadPoolExecutor(max_workers=racers) as pool:
        statuses = list(pool.map(post, bodies))
    assert sorted(statuses) == [201] * 5 + [403] * (racers - 5), statuses
    assert count(link["id"]) == 5 and stored_responses() == 5
    # Racing retries of one new response: stored once, counted once.
    one = make_link(max_submissions=1)
    body = inline()

    def retry(_: int) -> int:
        return httpx.post(
            f"{live_server}/api/v1/responses", json=body, headers=one["headers"], timeout=60
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(retry, range(8)))
    assert sorted(statuses) == [200] * 7 + [201], statuses
    assert count(one["id"]) == 1 and stored_responses() == 6
