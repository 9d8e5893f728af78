"""Pure-ASGI middleware: request id + access log + metrics, and the request body ceiling."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram

from app.core.config import Settings
from app.core.errors import PayloadTooLarge, problem
from app.core.logging import request_id_var

access_log = logging.getLogger("khuyencong.access")

REQUESTS = Counter("khuyencong_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "khuyencong_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestContextMiddleware:
    """Assigns X-Request-ID, logs one JSON line per request, and records Prometheus metrics."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        status_holder = {"status": 500}
        start = time.perf_counter()

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], template, str(status_holder["status"])).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            state = scope.get("state") or {}
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                    "key_name": state.get("key_name"),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuses bodies over the ceiling while reading them (413), not after buffering them whole."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def _limit_for(self, path: str) -> int:
        if path.endswith("/batch"):
            return self.settings.max_batch_body_bytes
        if path.endswith("/import"):
            return self.settings.max_upload_bytes
        return self.settings.max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            resp = problem(
                413, "payload-too-large", "Request body too large", f"The body may be at most {limit} bytes."
            )
            await resp(scope, receive, send)
            return
        seen = 0
        refused = False
        started = False

        async def _send(message: dict) -> None:
            nonlocal started
            if refused:
                return  # the 413 already went out; whatever the app says after is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def _receive() -> dict:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not refused:
                    if not started:
                        resp = problem(
                            413,
                            "payload-too-large",
                            "Request body too large",
                            f"The body may be at most {limit} bytes.",
                        )
                        await resp(scope, receive, send)
                    refused = True
                    raise PayloadTooLarge(f"The body may be at most {limit} bytes.")
            return message

        await self.app(scope, _receive, _send)


class UrlGuardMiddleware:
    """Refuses NUL characters in the path or query string (PostgreSQL cannot compare text holding NUL)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = (scope.get("raw_path") or b"") + b"?" + (scope.get("query_string") or b"")
            if b"%00" in raw or b"\x00" in raw or "\x00" in scope.get("path", ""):
                resp = problem(422, "invalid", "Invalid request", "The URL contains a NUL character (%00).",
                               errors=[{"path": "url", "code": "nul_character", "message": "Remove %00 from the path or query."}])  # fmt: skip
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)
