"""The ingest lane (app/responses/lane.py) answers exactly as the route does.

Devices' JSON posts (no Origin header) are served by the lane; a browser's (with Origin) go the whole way
through CORS, routing and the route's handler. Each case below is posted both ways, with its own ids, and
the answers must be the same: status, problem body, the headers a client acts on, what is stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from app.core.db import session_scope
from app.responses import lane
from tests.factories import response_body

ORIGIN = {"Origin": "https://portal.example.vn"}
FACILITY = {"name": "Cơ sở cà phê Cầu Đất", "kind": "household_business", "sector": "agro_food_processing"}
HEADERS_THAT_MATTER = ("content-type", "www-authenticate", "retry-after", "connection", "x-openrosa-version")


class Ctx:
    def __init__(self, client, make_key) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.fo = make_key("field_officer", provinces=["68"], name="fo-68")
        self.planner = make_key("planner", provinces=["68"], name="pl-68")
        admin = make_key("admin", name="root")
        self.fid = self.facility("68", self.fo)
        self.foreign = self.facility("01", admin)
        link = client.post("/api/v1/form-links", headers=admin, json={"name": "Cổng Lâm Đồng",
                           "questionnaires": ["loans"], "province_code": "68"}).json()  # fmt: skip
        self.link = {"Authorization": f"Bearer {link['token']}"}

    def facility(self, province: str, headers: dict[str, str]) -> str:
        r = self.client.post(
            "/api/v1/facilities", json={**FACILITY, "province_code": province}, headers=headers
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def stored(self, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post("/api/v1/responses", json=body, headers=self.fo)
        assert r.status_code == 201, r.text
        return body


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _inline(ctx: Ctx) -> dict[str, Any]:
    body = response_body("x")
    del body["facility_id"]
    body["facility"] = {**FACILITY, "province_code": "68"}
    return body


# Each case: (ctx) -> (headers, content type, raw body). Called once per way, so ids differ between ways.
Case = Callable[[Ctx], tuple[dict[str, str], str, bytes]]
JSON = "application/json"
CASES: dict[str, Case] = {
    "created": lambda c: (c.fo, JSON, _json(response_body(c.fid))),
    "created, charset in the content type": lambda c: (c.fo, "application/json; charset=utf-8", _json(response_body(c.fid))),
    "retry of a stored response": lambda c: (c.fo, JSON, _json(c.stored(response_body(c.fid)))),
    "a planner retrying a stored id": lambda c: (c.planner, JSON, _json(c.stored(response_body(c.fid)))),
    "same id, other content": lambda c: (c.fo, JSON, _json({**c.stored(response_body(c.fid)), "answers": {"needs_loan": False}})),
    "unknown facility": lambda c: (c.fo, JSON, _json(response_body(str(uuid.uuid4())))),
    "facility of another province": lambda c: (c.fo, JSON, _json(response_body(c.foreign))),
    "answers that do not fit": lambda c: (c.fo, JSON, _json(response_body(c.fid, answers={"needs_loan": "có", "loan_amount_vnd": -5}))),
    "collected in the future": lambda c: (c.fo, JSON, _json(response_body(c.fid, collected_at="2099-01-01T00:00:00+07:00"))),
    "unknown questionnaire version": lambda c: (c.fo, JSON, _json(response_body(c.fid, version=99))),
    "both facility_id and facility": lambda c: (c.fo, JSON, _json({**_inline(c), "facility_id": c.fid})),
    "inline facility": lambda c: (c.fo, JSON, _json(_inline(c))),
    "form link, inline facility": lambda c: (c.link, JSON, _json(_inline(c))),
    "form link, registered facility": lambda c: (c.link, JSON, _json(response_body(c.fid))),
    "malformed JSON": lambda c: (c.fo, JSON, b'{"id": '),
    "duplicate key": lambda c: (c.fo, JSON, b'{"id": "a", "id": "b"}'),
    "not UTF-8": lambda c: (c.fo, JSON, b'{"id": "\xff"}'),
    "missing field": lambda c: (c.fo, JSON, _json({k: v for k, v in response_body(c.fid).items() if k != "answers"})),
    "no key": lambda c: ({}, JSON, _json(response_body(c.fid))),
    "unknown key": lambda c: ({"Authorization": "Bearer kc_nope"}, JSON, _json(response_body(c.fid))),
    "wrong role": lambda c: (c.planner, JSON, _json(response_body(c.fid))),
    "body over the ceiling": lambda c: (c.fo, JSON, b"[" + b"0," * 600_000 + b"0]"),
    "not JSON": lambda c: (c.fo, "text/plain", _json(response_body(c.fid))),
}  # fmt: skip


EXPECTED = {
    "created": 201, "created, charset in the content type": 201, "retry of a stored response": 200,
    "a planner retrying a stored id": 403, "same id, other content": 409, "unknown facility": 422,
    "facility of another province": 422, "answers that do not fit": 422, "collected in the future": 422,
    "unknown questionnaire version": 422, "both facility_id and facility": 422, "inline facility": 201,
    "form link, inline facility": 201, "form link, registered facility": 201, "malformed JSON": 422,
    "duplicate key": 422, "not UTF-8": 422, "missing field": 422, "no key": 401, "unknown key": 401,
    "wrong role": 403, "body over the ceiling": 413, "not JSON": 422,
}  # fmt: skip
assert set(EXPECTED) == set(CASES)


def _normal(resp, body: bytes) -> tuple[int, dict[str, str], Any]:  # type: ignore[no-untyped-def]
    """What a client acts on, with the ids and instants of this particular post replaced."""
    headers = {h: resp.headers[h] for h in HEADERS_THAT_MATTER if h in resp.headers}
    out = resp.text
    try:
        sent = json.loads(body)
    except ValueError:
        sent = None
    if isinstance(sent, dict):
        for key in ("id", "facility_id"):
            if isinstance(sent.get(key), str):
                out = out.replace(sent[key], f"<{key}>")
    parsed = json.loads(out) if out else None
    if isinstance(parsed, dict):
        for key in ("received_at", "revised_at"):
            parsed.pop(key, None)
        if "facility" in (sent or {}) and "facility_id" in parsed:
            parsed["facility_id"] = "<registered>"
    return resp.status_code, headers, parsed


@pytest.mark.parametrize("name", list(CASES))
def test_the_lane_answers_as_the_route(client, make_key, monkeypatch, name: str) -> None:
    served: list[str] = []
    original = lane.IngestLane._serve

    async def spy(self, request, route):  # type: ignore[no-untyped-def]
        served.append(request.url.path)
        return await original(self, request, route)

    monkeypatch.setattr(lane.IngestLane, "_serve", spy)
    ctx = Ctx(client, make_key)
    answers = []
    for extra in ({}, ORIGIN):  # the lane, then the whole way
        headers, content_type, body = CASES[name](ctx)
        served.clear()
        before = _counts()
        resp = client.post(
            "/api/v1/responses", content=body, headers={**headers, **extra, "Content-Type": content_type}
        )
        answers.append((_normal(resp, body), _counts() - before))
        assert resp.status_code != 500, resp.text
        # The lane serves exactly the devices' JSON posts; a browser's (Origin) and other bodies go the whole way.
        assert served == (["/api/v1/responses"] if not extra and content_type.startswith(JSON) else []), name
    (lane_answer, lane_stored), (route_answer, route_stored) = answers
    assert lane_answer[0] == EXPECTED[name], (name, lane_answer)
    assert lane_answer == route_answer
    assert lane_stored == route_stored  # the same number of responses stored by each way


def _counts() -> int:
    with session_scope() as s:
        return int(s.execute(text("SELECT count(*) FROM response")).scalar_one())


def test_the_lane_keeps_request_id_log_template_and_metrics(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo-68")
    fid = client.post("/api/v1/facilities", json={**FACILITY, "province_code": "68"}, headers=fo).json()["id"]
    r = client.post("/api/v1/responses", json=response_body(fid), headers=fo)
    assert r.status_code == 201 and len(r.headers["x-request-id"]) == 32
    metrics = client.get("/metrics").text
    line = next(
        ln for ln in metrics.splitlines()
        if ln.startswith("khuyencong_http_requests_total{") and 'method="POST"' in ln and 'route="/api/v1/responses"' in ln and 'status="201"' in ln
    )  # fmt: skip
    assert float(line.rsplit(" ", 1)[1]) >= 1
    # The audit row carries the request id the client was given.
    with session_scope() as s:
        rid = s.execute(
            text("SELECT request_id FROM audit_event WHERE action = 'response.created'")
        ).scalar_one()
    assert rid == r.headers["x-request-id"]
