"""Issue 10: what an attack on a running copy found, each as a regression test through HTTP."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import threading
import uuid
from urllib.parse import urlparse

import httpx
import openpyxl
import pytest

from app.access.deps import RateLimiter
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

NO_68 = re.compile(r"(?<![0-9a-f])68(?![0-9a-f])")  # province 68 named anywhere (not inside an id)

# -- 2. authentication before the body; per-route ceilings ---------------------------------------------


def _raw_request(base: str, head: str, timeout: float = 20.0) -> bytes:
    """Send only the request head (a body is announced, never sent) and return what the server answers."""
    u = urlparse(base)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(head.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read(live_server) -> None:
    # 16 MiB announced, not one byte sent: the 401 can only come from the headers alone.
    for auth in ("", "Authorization: Bearer kc_not-a-key\r\n"):
        head = (f"POST /api/v1/responses/batch HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
                f"Content-Length: {16 * 1024 * 1024}\r\n\r\n")  # fmt: skip
        answer = _raw_request(live_server, head)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"application/problem+json" in answer


def test_wrong_role_is_refused_before_the_body(client, make_key, live_server) -> None:
    planner = make_key("planner", name="p")["Authorization"]
    head = (f"POST /api/v1/responses/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {planner}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {8 * 1024 * 1024}\r\n\r\n")  # fmt: skip
    assert _raw_request(live_server, head).startswith(b"HTTP/1.1 403")


def test_body_ceilings_are_per_route_not_by_path_suffix(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    big = b'{"name": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    # PATCH /facilities/import is the ordinary PATCH route (1 MiB), not the CSV upload (32 MiB).
    body = assert_problem(
        client.patch(
            "/api/v1/facilities/import", content=big, headers={**fo, "Content-Type": "application/json"}
        ),
        413,
    )
    assert "1,048,576" in body["detail"]
    # The batch route takes 16 MiB: 2 MiB passes the ceiling (and fails later, as malformed items would).
    r = client.post("/api/v1/responses/batch", content=b'{"items": [' + b'"x",' * (500_000) + b'"x"]}',
                    headers={**fo, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422


# -- 3. making a ranking never holds the write lock -------------------------------------------------------


def test_single_posts_are_acknowledged_while_a_ranking_is_computed(client, make_key, monkeypatch) -> None:
    from app.prioritisation import service

    fo = make_key("field_officer", provinces=["68"], name="fo")
    planner = make_key("planner", name="planner")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
    ranking_started, post_done = threading.Event(), threading.Event()
    real_rank = service.rank

    def slow_rank(**kwargs):  # type: ignore[no-untyped-def]
        ranking_started.set()
        post_done.wait(timeout=60)  # the ranking stays in its compute phase until the post is acknowledged
        return real_rank(**kwargs)

    monkeypatch.setattr(service, "rank", slow_rank)
    outcome: dict[str, object] = {}

    def make_ranking() -> None:
        body = {
            "profile": "point-project",
            "profile_version": 1,
            "budget_vnd": 10**9,
            "cost_source": "loans.loan_amount_vnd",
        }
        outcome["ranking"] = client.post("/api/v1/rankings", json=body, headers=planner).status_code

    t = threading.Thread(target=make_ranking)
    t.start()
    assert ranking_started.wait(timeout=60)
    r = client.post("/api/v1/responses", json=response_body(fid), headers=fo)
    outcome["post_before_ranking_finished"] = "ranking" not in outcome
    post_done.set()
    t.join(timeout=120)
    assert r.status_code == 201 and outcome["post_before_ranking_finished"] is True
    assert outcome["ranking"] == 201


# -- 4. no 500 from client input ----------------------------------------------------------------------------

BAD_CURSORS = [base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=") for v in
               ([None], ["a"], [1.5], [True], [[1]], [{"a": 1}], [-1], [2**63], "x", [1, 2])]  # fmt: skip


@pytest.mark.parametrize(
    "path", ["/api/v1/facilities", "/api/v1/responses", "/api/v1/audit", "/api/v1/rankings"]
)
def test_cursors_of_any_json_value_are_422(client, admin, path) -> None:
    for cursor in BAD_CURSORS:
        assert_problem(client.get(path, params={"cursor": cursor}, headers=admin), 422, "query.cursor")


def test_priorities_cursor_of_wrong_types_is_422(client, admin) -> None:
    for v in (["2026-01-01T00:00:00+00:00", None], [None, 1], ["not a date", 1], [1, 1]):
        cursor = base64.urlsafe_b64encode(json.dumps(v).encode()).decode()
        r = client.get(
            "/api/v1/priorities",
            params={"profile": "point-project", "profile_version": 1, "cursor": cursor},
            headers=admin,
        )
        assert_problem(r, 422, "query.cursor")


OVERFLOW = "0001-01-01T00:00:00+14:00"  # its UTC instant is before year 1


def test_datetimes_that_overflow_in_utc_are_422_everywhere(client, admin, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
    assert_problem(
        client.post("/api/v1/responses", json=response_body(fid, collected_at=OVERFLOW), headers=fo),
        422,
        "collected_at",
    )
    assert_problem(
        client.get("/api/v1/responses", params={"received_after": OVERFLOW}, headers=admin),
        422,
        "query.received_after",
    )
    assert_problem(client.get("/api/v1/audit", params={"since": OVERFLOW}, headers=admin), 422, "query.since")
    q = {"profile": "point-project", "profile_version": 1, "as_of": OVERFLOW}
    assert_problem(client.get("/api/v1/priorities", params=q, headers=admin), 422, "query.as_of")
    assert_problem(client.post("/api/v1/rankings", json={"profile": "point-project", "profile_version": 1, "as_of": OVERFLOW},
                               headers=admin), 422, "as_of")  # fmt: skip
    # In a batch, such an item is one invalid item; the others are stored.
    good = response_body(fid)
    r = client.post(
        "/api/v1/responses/batch",
        json={"items": [response_body(fid, collected_at=OVERFLOW), good]},
        headers=fo,
    )
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == ["invalid", "created"]
    assert r.json()["results"][0]["errors"][0]["path"] == "items.0.collected_at"


def test_lone_surrogates_are_malformed_json(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    for raw in ('{"name": "\\ud800", "kind": "cooperative", "sector": "other", "province_code": "68"}',
                '{"\\udfff": 1}'):  # fmt: skip
        r = client.post(
            "/api/v1/facilities", content=raw.encode(), headers={**fo, "Content-Type": "application/json"}
        )
        body = assert_problem(r, 422, "body")
        assert "surrogate" in body["errors"][0]["message"]


# -- 5. XLSX with control characters ---------------------------------------------------------------------------


def test_xlsx_export_survives_control_characters_in_stored_text(client, admin, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post(
        "/api/v1/facilities", json=facility_body(name="Cơ sở \u0007 chuông"), headers=fo
    ).json()["id"]
    answers = {"needs_loan": True, "loan_amount_vnd": 500_000_000, "loan_purpose": ["machinery"], "has_collateral": False,
               "wants_interest_subsidy": True, "investment_plan": "Máy \u0007\u001b rang cà phê"}  # fmt: skip
    assert (
        client.post("/api/v1/responses", json=response_body(fid, answers=answers), headers=fo).status_code
        == 201
    )
    for url, params in (("/api/v1/exports/responses.csv", {"questionnaire": "loans", "version": 2, "format": "xlsx"}),
                        ("/api/v1/exports/facilities.csv", {"format": "xlsx"})):  # fmt: skip
        r = client.get(url, params=params, headers=admin)
        assert r.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
        cells = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        assert any("\ufffd" in c for c in cells), cells


# -- 6. the duplicate check never answers before scope -----------------------------------------------------------


def test_reposting_another_province_or_officers_body_reveals_nothing(client, make_key) -> None:
    ld = make_key("field_officer", provinces=["68"], name="ld")
    ld2 = make_key("field_officer", provinces=["68"], name="ld2")
    hn = make_key("field_officer", provinces=["01"], name="hn")
    portal = make_key("portal", provinces=["68"], name="portal")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=ld).json()["id"]
    body = response_body(fid)
    assert client.post("/api/v1/responses", json=body, headers=ld).status_code == 201
    # The officer revises it: a re-post of the original must not reveal the new answers to anyone else.
    revised = {
        "base_revision": 1,
        "answers": {"needs_loan": False},
        "collected_at": "2026-11-21T09:00:00+07:00",
    }
    assert client.put(f"/api/v1/responses/{body['id']}", json=revised, headers=ld).status_code == 201
    other = assert_problem(client.post("/api/v1/responses", json=body, headers=hn), 422, "facility_id")
    assert not NO_68.search(json.dumps(other)) and "needs_loan" not in json.dumps(other)
    for key in (ld2, portal):
        r = client.post("/api/v1/responses", json=body, headers=key)
        assert r.status_code == 200
        assert (
            set(r.json()) == {"id", "questionnaire", "version", "status"}
            and r.json()["status"] == "duplicate"
        )
    mine = client.post("/api/v1/responses", json=body, headers=ld)
    assert (
        mine.status_code == 200
        and mine.json()["answers"] == {"needs_loan": False}
        and mine.json()["revision"] == 2
    )


def test_a_known_tax_code_outside_scope_reveals_no_facility(client, make_key) -> None:
    ld = make_key("field_officer", provinces=["68"], name="ld")
    hn = make_key("field_officer", provinces=["01"], name="hn")
    client.post("/api/v1/facilities", json=facility_body(tax_code="0101234567"), headers=ld)
    r = client.post(
        "/api/v1/facilities", json=facility_body(tax_code="0101234567", province_code="01"), headers=hn
    )
    body = assert_problem(r, 409, "tax_code")
    assert "facility_id" not in body and not NO_68.search(json.dumps(body))
    inline = {k: v for k, v in response_body("x").items() if k != "facility_id"}
    inline["facility"] = facility_body(tax_code="0101234567", province_code="01")
    body = assert_problem(client.post("/api/v1/responses", json=inline, headers=hn), 409, "facility.tax_code")
    assert "facility_id" not in body and not NO_68.search(json.dumps(body))
    # A caller who may read it still gets the id, as v1 promises.
    mine = assert_problem(
        client.post("/api/v1/facilities", json=facility_body(tax_code="0101234567"), headers=ld), 409
    )
    assert mine["facility_id"]


# -- 7. the lower findings ---------------------------------------------------------------------------------------


def test_tax_and_vsic_codes_take_ascii_digits_only(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    assert_problem(
        client.post("/api/v1/facilities", json=facility_body(tax_code="０１０１２３４５６７"), headers=fo),
        422,
        "tax_code",
    )
    assert_problem(
        client.post("/api/v1/facilities", json=facility_body(vsic_code="１０７７"), headers=fo),
        422,
        "vsic_code",
    )
    assert_problem(
        client.post("/api/v1/facilities", json=facility_body(ward_code="２６７３４"), headers=fo),
        422,
        "ward_code",
    )
    assert (
        client.post(
            "/api/v1/facilities", json=facility_body(tax_code="0101234567", vsic_code="1077"), headers=fo
        ).status_code
        == 201
    )


def test_a_moved_facility_and_its_responses_leave_the_old_provinces_officers(client, make_key, admin) -> None:
    ld = make_key("field_officer", provinces=["68"], name="ld")
    hn = make_key("field_officer", provinces=["01"], name="hn")
    both = make_key("field_officer", provinces=["01", "68"], name="both")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=both).json()["id"]
    body = response_body(fid)
    assert client.post("/api/v1/responses", json=body, headers=ld).status_code == 201
    assert_problem(client.patch(f"/api/v1/facilities/{fid}", json={"province_code": "01"}, headers=hn), 404)
    assert_problem(
        client.patch(f"/api/v1/facilities/{fid}", json={"province_code": "01"}, headers=ld),
        403,
        "province_code",
    )
    assert (
        client.patch(f"/api/v1/facilities/{fid}", json={"province_code": "01"}, headers=both).status_code
        == 200
    )
    revised = {
        "base_revision": 1,
        "answers": {"needs_loan": False},
        "collected_at": "2026-11-21T09:00:00+07:00",
    }
    assert_problem(client.put(f"/api/v1/responses/{body['id']}", json=revised, headers=ld), 404)
    assert_problem(client.get(f"/api/v1/responses/{body['id']}", headers=ld), 404)
    stored = client.get(f"/api/v1/responses/{body['id']}", headers=admin).json()
    assert stored["province_code"] == "01" and stored["revision"] == 1


def test_forwarded_for_from_an_untrusted_peer_is_not_the_audited_ip(
    client, make_key, admin, live_server
) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    r = httpx.post(f"{live_server}/api/v1/facilities", json=facility_body(), timeout=20,
                   headers={**fo, "X-Forwarded-For": "203.0.113.9", "X-Request-ID": "forged-id"})  # fmt: skip
    assert r.status_code == 201 and r.headers["x-request-id"] != "forged-id"
    events = client.get("/api/v1/audit", params={"action": "facility.created"}, headers=admin).json()["items"]
    assert events[0]["client_ip"] == "127.0.0.1" and events[0]["request_id"] == r.headers["x-request-id"]


def test_refused_cors_preflight_is_problem_json(client) -> None:
    r = client.options(
        "/api/v1/responses",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert_problem(r, 400, "header.origin")
    portal = "https://portal.example.gov.vn"
    for extra in ({"Access-Control-Request-Method": "TRACE"},
                  {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Evil"}):  # fmt: skip
        assert_problem(client.options("/api/v1/responses", headers={"Origin": portal, **extra}), 400)
    ok = client.options(
        "/api/v1/responses",
        headers={"Origin": "https://portal.example.gov.vn", "Access-Control-Request-Method": "POST"},
    )
    assert ok.status_code == 200


def test_protocol_errors_are_problem_json(client, admin) -> None:
    for r in (
        client.request("DELETE", "/api/v1/facilities", headers=admin),
        client.get("/nowhere"),
        client.post(
            "/api/v1/keys", content=b"\xff\xfe", headers={**admin, "Content-Type": "application/json"}
        ),
        client.post(
            "/api/v1/keys",
            content=b"name=x",
            headers={**admin, "Content-Type": "application/x-www-form-urlencoded"},
        ),
        client.post(
            "/api/v1/facilities/import",
            content=b"--x\r\nbroken",
            headers={**admin, "Content-Type": "multipart/form-data; boundary=x"},
        ),
    ):
        assert r.status_code >= 400 and r.headers["content-type"].startswith("application/problem+json"), (
            r.status_code,
            r.text,
        )


def test_rate_limit_never_passes_twice_the_limit_at_a_minute_edge() -> None:
    now = [59.5]
    limiter = RateLimiter(clock=lambda: now[0])
    passed = sum(limiter.hit("k", 10) is None for _ in range(10))
    now[0] = 60.5  # the next fixed minute: a fixed window would let 10 more through
    passed += sum(limiter.hit("k", 10) is None for _ in range(10))
    assert passed == 10
    wait = limiter.hit("k", 10)
    assert wait is not None and 1 <= wait <= 60
    now[0] = 59.5 + 60 + 1  # the first burst has slid out of the window
    assert limiter.hit("k", 10) is None


def test_csv_import_answers_in_proportion_and_refuses_oversized_files(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    from app.facilities.importer import MAX_ROWS

    bad_row = "Xưởng,not-a-kind,not-a-sector,Atlantis,x,x,x,x,x,x,x\n"
    header = "name,kind,sector,province,ward_code,tax_code,address,employees,annual_revenue_vnd,established_year,vsic_code\n"
    data = (header + bad_row * 5000).encode()
    r = client.post("/api/v1/facilities/import", files={"file": ("bad.csv", data)}, headers=fo)
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 5000 and all(x["status"] == "invalid" for x in results)
    assert len(r.content) < 520 * 5000, len(r.content)  # each refused row: at most 3 errors of 120 characters
    too_many = (header + "Xưởng,cooperative,other,68,,,,,,,\n" * (MAX_ROWS + 1)).encode()
    assert_problem(
        client.post("/api/v1/facilities/import", files={"file": ("big.csv", too_many)}, headers=fo),
        422,
        "file",
    )


def test_csv_import_checks_rows_before_taking_the_write_lock(client, make_key, monkeypatch) -> None:
    from app.facilities import importer

    fo = make_key("field_officer", provinces=["68"], name="fo")
    seen: list[str] = []
    real_check, real_writing = importer.check_rows, importer.writing

    def check_rows(*a, **k):  # type: ignore[no-untyped-def]
        seen.append("check")
        return real_check(*a, **k)

    def writing(session):  # type: ignore[no-untyped-def]
        seen.append("write")
        return real_writing(session)

    monkeypatch.setattr(importer, "check_rows", check_rows)
    monkeypatch.setattr(importer, "writing", writing)
    csv = "name,kind,sector,province\nXưởng mộc,household_business,handicrafts,Lâm Đồng\n"
    r = client.post("/api/v1/facilities/import", files={"file": ("f.csv", csv.encode())}, headers=fo)
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "created"
    assert seen == ["check", "write"]


def test_ranking_cache_is_safe_under_threads() -> None:
    from app.prioritisation.service import _RankingCache

    cache = _RankingCache(size=2)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(300):
                key = (n % 3, i % 5)
                assert cache.get_or_compute(key, lambda key=key: {"k": key})["k"] == key
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache._items) <= 2


def test_unknown_uuid_ids_stay_404(client, admin) -> None:
    assert_problem(client.get(f"/api/v1/responses/{uuid.uuid4()}", headers=admin), 404)
