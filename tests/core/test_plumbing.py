"""Problem+json for every error class, request ids, JSON logs, body ceiling, metrics, OpenAPI."""

from __future__ import annotations

import json
import logging

from tests.conftest import assert_problem


def test_unknown_route_and_method(client) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert_problem(client.delete("/api/v1/questionnaires"), 405)


def test_malformed_json_and_unknown_fields(client, admin) -> None:
    h = {**admin, "Content-Type": "application/json"}
    body = assert_problem(client.post("/api/v1/keys", content=b"{nope", headers=h), 422)
    assert any(e["code"] == "json_invalid" for e in body["errors"])
    assert_problem(
        client.post("/api/v1/keys", json={"name": "x", "role": "planner", "extra": 1}, headers=admin),
        422,
        "extra",
    )
    assert_problem(
        client.post("/api/v1/keys", json={"name": 5, "role": "planner"}, headers=admin), 422, "name"
    )


def test_body_ceiling_with_and_without_content_length(client, admin) -> None:
    big = b'{"name": "' + b"a" * 2_000_000 + b'", "role": "planner"}'
    assert_problem(
        client.post("/api/v1/keys", content=big, headers={**admin, "Content-Type": "application/json"}), 413
    )

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "'
        for _ in range(40):
            yield b"a" * 50_000
        yield b'", "role": "planner"}'

    r = client.post("/api/v1/keys", content=chunks(), headers={**admin, "Content-Type": "application/json"})
    assert_problem(r, 413)


def test_request_id_generated_unless_a_trusted_proxy_sent_it(client, monkeypatch) -> None:
    # The request id goes into the audit trail: a client that is not a configured proxy does not choose it.
    r = client.get("/healthz", headers={"X-Request-ID": "device-42.sync-7"})
    assert r.headers["x-request-id"] != "device-42.sync-7" and len(r.headers["x-request-id"]) == 32
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert len(generated) == 32 and " " not in generated
    from app.core.middleware import RequestContextMiddleware, TrustedProxies

    def trusted(app):  # type: ignore[no-untyped-def]
        stack = app.middleware_stack
        while not isinstance(stack, RequestContextMiddleware):
            stack = stack.app
        return stack

    mw = trusted(client.app)
    monkeypatch.setattr(mw, "trusted", TrustedProxies(["*"]))
    assert (
        client.get("/healthz", headers={"X-Request-ID": "device-42.sync-7"}).headers["x-request-id"]
        == "device-42.sync-7"
    )


def test_logs_are_json_lines_with_request_id(client, capsys) -> None:
    from app.core.logging import JsonFormatter

    record = logging.LogRecord("khuyencong.access", logging.INFO, __file__, 1, "request", None, None)
    record.request_id = "abc"  # type: ignore[attr-defined]
    record.status = 200  # type: ignore[attr-defined]
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert parsed["request_id"] == "abc" and parsed["status"] == 200 and parsed["msg"] == "request"


def test_metrics(client) -> None:
    client.get("/api/v1/provinces")
    text = client.get("/metrics").text
    assert 'khuyencong_http_requests_total{method="GET",route="/api/v1/provinces",status="200"}' in text


def test_openapi_describes_every_route(client) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("description") or op.get("summary"), (method, path)
    assert client.get("/docs").status_code == 200
