"""Hostile inputs a schema fuzzer does not generate: each is a clear 4xx problem, never a 500, and stores nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from app.core.db import session_scope
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

URL = "/api/v1/responses"


@pytest.fixture
def fo(make_key):  # type: ignore[no-untyped-def]
    return make_key("field_officer", name="fo")


@pytest.fixture
def fid(client, fo) -> str:  # type: ignore[no-untyped-def]
    return client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]


def raw(client, headers, body: bytes, url: str = URL, ctype: str = "application/json"):  # type: ignore[no-untyped-def]
    return client.post(url, content=body, headers={**headers, "Content-Type": ctype})


def stored() -> int:
    with session_scope() as s:
        return int(s.execute(text("SELECT count(*) FROM response")).scalar() or 0)


def test_deeply_nested_json(client, fo, fid) -> None:
    deep = b'{"answers": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    assert_problem(raw(client, fo, deep), 422, "body")
    moderately = json.dumps(
        response_body(fid, answers={"needs_loan": False, "x": json.loads("[" * 40 + "]" * 40)})
    ).encode()
    assert "nested" in assert_problem(raw(client, fo, moderately), 422, "body")["errors"][0]["message"]


def test_huge_numbers(client, fo, fid) -> None:
    assert_problem(
        raw(client, fo, json.dumps(response_body(fid)).replace("500000000", "1" + "0" * 5000).encode()), 422
    )
    big = json.dumps(response_body(fid)).replace("500000000", "1" + "0" * 400).encode()
    assert_problem(raw(client, fo, big), 422, "answers.loan_amount_vnd")
    assert_problem(
        raw(client, fo, json.dumps(response_body(fid)).replace("500000000", "1e400").encode()), 422
    )
    assert_problem(
        client.post("/api/v1/facilities", json=facility_body(employees=10**30), headers=fo), 422, "employees"
    )
    assert_problem(client.post(URL, json=response_body(fid, version=10**30), headers=fo), 422, "version")
    assert stored() == 0


def test_nul_bytes_everywhere(client, fo, fid, admin) -> None:
    body = response_body(fid, answers={"needs_loan": True, "loan_amount_vnd": 10**8, "loan_purpose": ["machinery"], "has_collateral": False,
                                       "wants_interest_subsidy": True, "investment_plan": "máy\x00rang"})  # fmt: skip
    assert (
        "NUL" in assert_problem(client.post(URL, json=body, headers=fo), 422, "body")["errors"][0]["message"]
    )
    assert_problem(
        client.post("/api/v1/facilities", json=facility_body(name="Cơ sở\x00"), headers=fo), 422, "body"
    )
    assert_problem(client.get("/api/v1/facilities/%00", headers=fo), 422, "url")
    assert_problem(client.get("/api/v1/facilities", params={"q": "cà\x00phê"}, headers=fo), 422, "url")
    assert_problem(
        client.post(
            "/api/v1/facilities/import",
            files={"file": ("f.csv", b"name,kind,sector,province\nA\x00,enterprise,other,01\n")},
            headers=fo,
        ),
        422,
        "file",
    )
    assert stored() == 0


def test_overlong_strings(client, fo, fid) -> None:
    assert_problem(
        client.post("/api/v1/facilities", json=facility_body(name="x" * 301), headers=fo), 422, "name"
    )
    long_answer = response_body(fid, answers={"needs_loan": True, "loan_amount_vnd": 10**8, "loan_purpose": ["machinery"], "has_collateral": False,
                                              "wants_interest_subsidy": True, "investment_plan": "x" * 1001})  # fmt: skip
    assert_problem(client.post(URL, json=long_answer, headers=fo), 422, "answers.investment_plan")
    assert_problem(client.get("/api/v1/facilities", params={"q": "x" * 201}, headers=fo), 422, "query.q")
    assert_problem(
        client.get("/api/v1/responses", params={"cursor": "A" * 5000}, headers=fo), 422, "query.cursor"
    )
    assert client.get("/api/v1/facilities/" + "a" * 5000, headers=fo).status_code == 404


def test_wrong_content_types(client, fo, fid) -> None:
    body = json.dumps(response_body(fid)).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        r = raw(client, fo, body, ctype=ctype)
        assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith(
            "application/problem+json"
        ), (ctype, r.status_code)
    r = client.post(
        "/api/v1/facilities/import", content=b"name,kind\n", headers={**fo, "Content-Type": "text/csv"}
    )
    assert_problem(r, 422)
    assert stored() == 0


def test_duplicate_json_keys(client, fo, fid) -> None:
    body = json.dumps(response_body(fid))
    dup = body[:-1] + ', "questionnaire": "pollution"}'
    assert (
        "appears twice" in assert_problem(raw(client, fo, dup.encode()), 422, "body")["errors"][0]["message"]
    )
    assert stored() == 0


def test_non_utf8_bytes(client, fo, fid) -> None:
    body = (
        json.dumps(response_body(fid), ensure_ascii=False)
        .encode("utf-8")
        .replace("Cầu".encode(), "Cầu".encode("utf-16"))
    )
    assert_problem(raw(client, fo, b'{"id": "\xff\xfe"}'), 422, "body")
    assert_problem(raw(client, fo, body + b"\xc3\x28"), 422, "body")
    assert_problem(client.post("/api/v1/facilities", content="{\"name\": \"Cà phê\"}".encode("cp1258", errors="replace") + b"\xff",
                               headers={**fo, "Content-Type": "application/json"}), 422, "body")  # fmt: skip
    assert stored() == 0


def test_integers_beyond_the_database_range(client, fo, fid, admin) -> None:
    """Regression (found by fuzzing on PostgreSQL): a huge integer in a query must be a 422, not an overflow."""
    assert_problem(client.get(URL, params={"version": 2**40}, headers=admin), 422, "query.version")
    from app.core.pagination import encode_cursor

    assert_problem(
        client.get(URL, params={"cursor": encode_cursor(2**70)}, headers=admin), 422, "query.cursor"
    )
    body = response_body(fid)
    client.post(URL, json=body, headers=fo)
    revise = {
        "base_revision": 2**40,
        "answers": {"needs_loan": False},
        "collected_at": "2026-11-21T09:00:00+07:00",
    }
    assert_problem(client.put(f"{URL}/{body['id']}", json=revise, headers=fo), 422, "base_revision")
