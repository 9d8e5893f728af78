"""Response ingest through HTTP: statuses, bad input, retries and races, revisions, listing, batch."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from app.core.db import session_scope
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

URL = "/api/v1/responses"


@pytest.fixture
def fo(make_key):  # type: ignore[no-untyped-def]
    return make_key("field_officer", provinces=["68"], name="fo")


@pytest.fixture
def fid(client, fo) -> str:  # type: ignore[no-untyped-def]
    return client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]


def count(table: str) -> int:
    with session_scope() as s:
        return int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def test_created_then_retry_then_conflict(client, fo, fid) -> None:
    body = response_body(fid)
    r = client.post(URL, json=body, headers=fo)
    assert r.status_code == 201
    stored = r.json()
    assert stored["revision"] == 1 and stored["facility_id"] == fid and stored["received_at"]
    assert stored["collected_at"] == "2026-11-20T08:30:00+07:00"
    # Same content, different key order and whitespace: a retry.
    raw = json.dumps(dict(reversed(list(body.items()))), indent=3, ensure_ascii=False)
    again = client.post(URL, content=raw.encode(), headers={**fo, "Content-Type": "application/json"})
    assert again.status_code == 200 and again.json() == stored
    # Same instant written with another offset is the same content only if the text matches; different answers conflict.
    other = dict(body, answers={"needs_loan": False})
    assert_problem(client.post(URL, json=other, headers=fo), 409, "id")
    assert count("response") == 1 and count("response_revision") == 1


def test_answers_breaking_the_definition(client, fo, fid) -> None:
    body = response_body(
        fid, answers={"needs_loan": True, "loan_amount_vnd": "500", "loan_purpose": ["yacht"], "zzz": 1}
    )
    problem = assert_problem(
        client.post(URL, json=body, headers=fo),
        422,
        "answers.loan_amount_vnd",
        "answers.loan_purpose",
        "answers.zzz",
        "answers.has_collateral",
    )
    assert len(problem["errors"]) == 5  # also the required wants_interest_subsidy
    assert count("response") == 0


def test_versions_retired_accepted_draft_and_unknown_refused(client, app, fo, fid) -> None:
    v1 = response_body(fid, version=1, answers={"needs_loan": True, "loan_amount_vnd": 200_000_000, "loan_purpose": ["workshop"],
                                                "has_collateral": True, "collateral_type": "land_use_rights", "counterpart_share_pct": 30.5})  # fmt: skip
    assert client.post(URL, json=v1, headers=fo).status_code == 201
    assert_problem(client.post(URL, json=response_body(fid, version=7), headers=fo), 422, "version")
    assert_problem(
        client.post(URL, json=response_body(fid, questionnaire="weather"), headers=fo), 422, "questionnaire"
    )
    reg = app.state.registry
    draft = dataclasses.replace(reg.definitions[("loans", 2)], version=3, status="draft")
    reg.definitions[("loans", 3)] = draft
    try:
        body = assert_problem(
            client.post(URL, json=response_body(fid, version=3), headers=fo), 422, "version"
        )
        assert "draft" in body["detail"]
    finally:
        del reg.definitions[("loans", 3)]


def test_bad_input_classes(client, fo, fid) -> None:
    h = {**fo, "Content-Type": "application/json"}
    assert_problem(client.post(URL, content=b'{"id": ', headers=h), 422)
    assert_problem(client.post(URL, content=b"[1, 2]", headers=h), 422)
    assert_problem(client.post(URL, json=response_body(fid, version="2"), headers=fo), 422, "version")
    assert_problem(client.post(URL, json=response_body(fid, id="not-a-uuid"), headers=fo), 422, "id")
    assert_problem(client.post(URL, json=response_body(fid, extra_field=1), headers=fo), 422, "extra_field")
    assert_problem(
        client.post(URL, json=response_body(fid, collected_at="2026-11-20T08:30:00"), headers=fo),
        422,
        "collected_at",
    )
    assert_problem(
        client.post(URL, json=response_body(fid, collected_at="2099-01-01T00:00:00Z"), headers=fo),
        422,
        "collected_at",
    )
    nan = json.dumps(
        response_body(fid, answers={"needs_loan": True, "loan_amount_vnd": float("nan")})
    ).encode()
    assert (
        "NaN" in assert_problem(client.post(URL, content=nan, headers=h), 422, "body")["errors"][0]["message"]
    )
    inf = json.dumps(response_body(fid, location={"lat": float("inf"), "lon": 1})).encode()
    assert (
        "Infinity"
        in assert_problem(client.post(URL, content=inf, headers=h), 422, "body")["errors"][0]["message"]
    )
    big = response_body(fid, answers={"needs_loan": False, "x": "a" * 1_100_000})
    assert_problem(client.post(URL, json=big, headers=fo), 413)
    assert_problem(client.post(URL, json=response_body(str(uuid.uuid4())), headers=fo), 422, "facility_id")
    assert_problem(
        client.post(URL, json=response_body(fid, facility=facility_body()), headers=fo), 422, "facility_id"
    )
    assert count("response") == 0


def test_out_of_scope_facility_answers_as_unknown(client, make_key, fid) -> None:
    # v1.1 "Scope rules, tightened": an id the caller may not read answers as if it did not exist.
    hn = make_key("field_officer", provinces=["01"], name="hn")
    body = assert_problem(client.post(URL, json=response_body(fid), headers=hn), 422, "facility_id")
    assert "province" not in body["detail"].lower().replace("your provinces", "")
    assert body == assert_problem(
        client.post(URL, json=response_body(str(uuid.uuid4())), headers=hn), 422
    ) | {"detail": body["detail"], "errors": body["errors"]}


def test_inline_facility_registration_and_tax_code_resolution(client, fo) -> None:
    body = response_body("x", facility=facility_body(tax_code="0109999999"))
    del body["facility_id"]
    r = client.post(URL, json=body, headers=fo)
    assert r.status_code == 201
    new_fid = r.json()["facility_id"]
    again = client.post(URL, json=body, headers=fo)  # retry: no second facility
    assert again.status_code == 200 and count("facility") == 1
    second = dict(body, id=str(uuid.uuid4()))
    assert client.post(URL, json=second, headers=fo).json()["facility_id"] == new_fid
    assert count("facility") == 1
    bad = dict(body, id=str(uuid.uuid4()), facility=facility_body(province_code="99"))
    assert_problem(client.post(URL, json=bad, headers=fo), 422, "facility.province_code")


def test_threads_racing_the_same_id_store_one(client, fo, fid) -> None:
    body = response_body(fid)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: client.post(URL, json=body, headers=fo).status_code, range(16)))
    assert sorted(codes) == [200] * 15 + [201]
    assert count("response") == 1 and count("response_revision") == 1


def test_revisions(client, fo, fid) -> None:
    body = response_body(fid)
    rid = body["id"]
    client.post(URL, json=body, headers=fo)
    rev = {"base_revision": 1, "answers": {"needs_loan": False}, "collected_at": "2026-11-23T09:00:00+07:00"}
    r = client.put(f"{URL}/{rid}", json=rev, headers=fo)
    assert r.status_code == 201 and r.json()["revision"] == 2 and r.json()["answers"] == {"needs_loan": False}
    assert client.put(f"{URL}/{rid}", json=rev, headers=fo).status_code == 200  # retried PUT
    stale = dict(
        rev,
        answers={
            "needs_loan": True,
            "loan_amount_vnd": 10**8,
            "loan_purpose": ["machinery"],
            "has_collateral": False,
            "wants_interest_subsidy": False,
        },
    )
    assert_problem(client.put(f"{URL}/{rid}", json=stale, headers=fo), 409, "base_revision")
    assert_problem(
        client.put(f"{URL}/{rid}", json=dict(rev, base_revision=2, answers={"needs_loan": "no"}), headers=fo),
        422,
        "answers.needs_loan",
    )
    assert client.put(f"{URL}/{rid}", json=dict(stale, base_revision=2), headers=fo).json()["revision"] == 3
    assert client.get(f"{URL}/{rid}", headers=fo).json()["revision"] == 3
    revs = client.get(f"{URL}/{rid}/revisions", headers=fo).json()["items"]
    assert [x["revision"] for x in revs] == [1, 2, 3] and revs[0]["answers"] == body["answers"]
    assert_problem(client.put(f"{URL}/{uuid.uuid4()}", json=rev, headers=fo), 404)
    assert (
        client.post(URL, json=body, headers=fo).status_code == 200
    )  # the original body is still a retry, not a conflict


def test_concurrent_revisions_one_wins(client, fo, fid) -> None:
    body = response_body(fid)
    client.post(URL, json=body, headers=fo)

    def put(i: int) -> int:
        rev = {
            "base_revision": 1,
            "answers": {"needs_loan": False, **({} if i == 0 else {})},
            "collected_at": f"2026-11-23T09:{i:02d}:00+07:00",
        }
        return client.put(f"{URL}/{body['id']}", json=rev, headers=fo).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(put, range(6)))
    assert codes == [201] + [409] * 5
    assert count("response_revision") == 2


def test_field_officer_reads_only_its_own(client, make_key, fo, fid) -> None:
    other = make_key("field_officer", provinces=["68"], name="other")
    planner = make_key("planner", provinces=["68"], name="planner")
    hn_planner = make_key("planner", provinces=["01"], name="hn")
    mine = response_body(fid)
    client.post(URL, json=mine, headers=fo)
    theirs = response_body(fid)
    client.post(URL, json=theirs, headers=other)
    assert [x["id"] for x in client.get(URL, headers=fo).json()["items"]] == [mine["id"]]
    assert_problem(client.get(f"{URL}/{theirs['id']}", headers=fo), 404)
    assert_problem(
        client.put(
            f"{URL}/{theirs['id']}",
            json={
                "base_revision": 1,
                "answers": {"needs_loan": False},
                "collected_at": "2026-11-23T09:00:00+07:00",
            },
            headers=fo,
        ),
        404,
    )
    assert len(client.get(URL, headers=planner).json()["items"]) == 2
    assert client.get(URL, headers=hn_planner).json()["items"] == []
    assert_problem(client.get(f"{URL}/{mine['id']}", headers=hn_planner), 404)


def test_listing_filters(client, fo, fid, admin) -> None:
    client.post(URL, json=response_body(fid), headers=fo)
    client.post(URL, json=response_body(fid, questionnaire="pollution", version=1, answers={
        "pollution_sources": ["none"], "severity": "none", "treatment_in_place": ["none"], "environmental_permit": "not_required",
        "had_violation": False, "needs_treatment_investment": False}), headers=fo)  # fmt: skip
    assert len(client.get(URL, params={"questionnaire": "loans"}, headers=admin).json()["items"]) == 1
    assert (
        len(client.get(URL, params={"questionnaire": "loans", "version": 1}, headers=admin).json()["items"])
        == 0
    )
    assert len(client.get(URL, params={"facility_id": fid}, headers=admin).json()["items"]) == 2
    assert len(client.get(URL, params={"province_code": "01"}, headers=admin).json()["items"]) == 0
    assert (
        len(client.get(URL, params={"received_after": "2000-01-01T00:00:00Z"}, headers=admin).json()["items"])
        == 2
    )
    assert (
        len(client.get(URL, params={"received_after": "2999-01-01T00:00:00Z"}, headers=admin).json()["items"])
        == 0
    )


def test_pagination_is_complete_under_concurrent_inserts(client, fo, fid, admin) -> None:
    """Paging while others write: no row twice, every row that existed before paging began is seen, receive order kept."""
    first = [response_body(fid) for _ in range(60)]
    client.post(f"{URL}/batch", json={"items": first}, headers=fo)
    stop = threading.Event()
    sent: list[str] = []

    def writer() -> None:
        while not stop.is_set():
            b = response_body(fid)
            if client.post(URL, json=b, headers=fo).status_code == 201:
                sent.append(b["id"])

    t = threading.Thread(target=writer)
    t.start()
    seen: list[str] = []
    cursor = None
    try:
        while True:
            page = client.get(
                URL, params={"limit": 7, **({"cursor": cursor} if cursor else {})}, headers=admin
            ).json()
            seen += [x["id"] for x in page["items"]]
            if not page["next_cursor"]:
                break
            cursor = page["next_cursor"]
    finally:
        stop.set()
        t.join()
    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert seen[:60] == [b["id"] for b in first]
    full = [x["id"] for x in client.get(URL, params={"limit": 1000}, headers=admin).json()["items"]]
    assert full == [b["id"] for b in first] + sent, (
        "receive order differs from submission order of a single writer"
    )
    assert seen == full[: len(seen)], (
        "paging skipped a row that a later full read shows before the end of what was paged"
    )


def test_batch_statuses_in_order(client, make_key, fo, fid) -> None:
    hn = make_key("field_officer", provinces=["01"], name="hn")
    hn_fid = client.post("/api/v1/facilities", json=facility_body(province_code="01"), headers=hn).json()[
        "id"
    ]
    stored = response_body(fid)
    client.post(URL, json=stored, headers=fo)
    items = [
        response_body(fid),  # created
        stored,  # duplicate
        dict(stored, answers={"needs_loan": False}),  # conflict
        response_body(fid, answers={"needs_loan": "maybe"}),  # invalid (answers)
        {"id": str(uuid.uuid4()), "questionnaire": "loans"},  # invalid (shape)
        {
            **{k: v for k, v in response_body(fid).items() if k != "facility_id"},
            "facility": facility_body(province_code="01"),
        },  # forbidden: names a province outside scope
        "not an object",  # invalid
        response_body(hn_fid),  # another province's facility id: as if unknown (invalid), nothing revealed
    ]
    r = client.post(f"{URL}/batch", json={"items": items}, headers=fo)
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["status"] for x in res] == [
        "created",
        "duplicate",
        "conflict",
        "invalid",
        "invalid",
        "forbidden",
        "invalid",
        "invalid",
    ]
    assert res[7]["errors"][0]["code"] == "unknown_facility"
    assert res[3]["errors"][0]["path"] == "items.3.answers.needs_loan"
    assert {e["path"] for e in res[4]["errors"]} >= {"items.4.version", "items.4.answers"}
    assert res[0]["id"] == items[0]["id"] and res[6]["id"] is None
    assert count("response") == 2
    assert_problem(
        client.post(f"{URL}/batch", json={"items": [response_body(fid)] * 501}, headers=fo), 422, "items"
    )
    assert_problem(client.post(f"{URL}/batch", json={"items": []}, headers=fo), 422, "items")


def test_batch_of_500_in_one_request(client, fo, fid) -> None:
    items = [response_body(fid) for _ in range(500)]
    r = client.post(f"{URL}/batch", json={"items": items}, headers=fo)
    assert [x["status"] for x in r.json()["results"]] == ["created"] * 500
    r = client.post(f"{URL}/batch", json={"items": items}, headers=fo)
    assert [x["status"] for x in r.json()["results"]] == ["duplicate"] * 500
    assert count("response") == 500


def test_every_response_says_where_it_came_from(client, make_key, fo, fid, admin) -> None:
    """`channel` and `submitted_by` on the stored body, GET by id, the listing and a batch: a field officer's
    key is field, a portal key or a form link portal, an admin or planner key office."""
    portal = make_key("portal", provinces=["68"], name="cong-68")
    planner = make_key("planner", provinces=["68"], name="ke-hoach")
    r = client.post("/api/v1/form-links", json={"name": "Cổng", "questionnaires": ["loans"], "province_code": "68"},
                    headers=admin)  # fmt: skip
    link = r.json()
    link_key = {"Authorization": f"Bearer {link['token']}"}
    sent = {}
    for who, headers in (
        ("fo", fo),
        ("cong-68", portal),
        ("admin", admin),
        (f"form-link:{link['id']}", link_key),
    ):
        body = response_body(fid)
        r = client.post(URL, json=body, headers=headers)
        assert r.status_code == 201, r.text
        if who != "cong-68" and not who.startswith("form-link"):  # keys that may read what they stored
            assert r.json()["submitted_by"] == who
        sent[body["id"]] = who
    batch = response_body(fid)
    assert (
        client.post(f"{URL}/batch", json={"items": [batch]}, headers=planner).status_code == 403
    )  # planners read
    assert client.post(f"{URL}/batch", json={"items": [batch]}, headers=portal).status_code == 200
    sent[batch["id"]] = "cong-68"
    channel = {"fo": "field", "cong-68": "portal", "admin": "office", f"form-link:{link['id']}": "portal"}
    for rid, who in sent.items():
        got = client.get(f"{URL}/{rid}", headers=planner).json()
        assert (got["channel"], got["submitted_by"]) == (channel[who], who)
    listed = {
        x["id"]: (x["channel"], x["submitted_by"]) for x in client.get(URL, headers=admin).json()["items"]
    }
    assert listed == {rid: (channel[who], who) for rid, who in sent.items()}
    assert client.get(f"{URL}/{next(iter(sent))}", headers=fo).json()["channel"] == "field"
    # A revision by another key keeps the response's channel (where the response came from).
    first = next(iter(sent))
    r = client.put(f"{URL}/{first}", headers=admin, json={"base_revision": 1, "answers": {"needs_loan": False},
                                                          "collected_at": "2026-11-21T10:00:00+07:00"})  # fmt: skip
    assert r.status_code == 201 and (r.json()["channel"], r.json()["submitted_by"]) == ("field", "fo")
