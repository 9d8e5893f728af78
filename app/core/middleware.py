"""Pure-ASGI middleware: request id, URL guard, access log and metrics in one layer; CORS speaking problem+json.

Body ceilings are not here: each route declares its own (`max_body_size=`), enforced while the body is read,
after the route's access check (core.routing).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from app.core import language
from app.core.errors import field_error, problem
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
# Path forms that carry a secret: the form page's /embed/<token> (whatever follows it, a token mistyped or
# not), and any segment holding a key's, a form link's or a feed session's prefix (kc_, kf_, kcs_).
_EMBED_TOKEN = re.compile(r"^/embed/[^/]+")
_SECRET_SEGMENT = re.compile(r"(?<=/)[^/]*(?:kc|kf|kcs)_[^/]*")


def loggable_path(path: str) -> str:
    """The request path as the access log shows it: every form that may carry a token, key or secret is
    replaced by a placeholder (`/embed/{token}`, `{secret}`); the query string is never logged at all."""
    return _SECRET_SEGMENT.sub("{secret}", _EMBED_TOKEN.sub("/embed/{token}", path[:2048]))


_counters: dict[
    tuple[str, str, str], Any
] = {}  # label children, looked up once (labels() takes a lock each call)
_timers: dict[tuple[str, str], Any] = {}


def _observe(method: str, template: str, status: str, elapsed: float) -> None:
    counter = _counters.get((method, template, status))
    if counter is None:
        counter = _counters[(method, template, status)] = REQUESTS.labels(method, template, status)
    timer = _timers.get((method, template))
    if timer is None:
        timer = _timers[(method, template)] = LATENCY.labels(method, template)
    counter.inc()
    timer.observe(elapsed)


class TrustedProxies:
    """The peers whose forwarding headers are believed (TRUSTED_PROXIES); nobody's by default."""

    def __init__(self, entries: list[str]) -> None:
        self._nets = [ipaddress.ip_network(e, strict=False) for e in entries if e != "*"]
        self._all = "*" in entries

    def __contains__(self, host: str | None) -> bool:
        if self._all:
            return True
        try:
            addr = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(addr in net for net in self._nets)


class RequestContextMiddleware:
    """Refuses NUL in the URL; assigns X-Request-ID; logs one JSON line per request; records metrics.

    A client's own X-Request-ID is adopted only from a trusted proxy: the id is written to the audit trail,
    so nobody else chooses it (theirs is still logged, as `client_request_id`)."""

    def __init__(
        self,
        app: Any,
        trusted: TrustedProxies,
        path_headers: dict[str, list[tuple[bytes, bytes]]] | None = None,
    ) -> None:
        self.app = app
        self.trusted = trusted
        # Headers every reply under a path prefix carries (OpenRosa's version header, even on 404/405): added
        # here rather than by one more middleware layer around every request.
        self.path_headers = [(prefix.rstrip("/") + "/", h) for prefix, h in (path_headers or {}).items()]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = (scope.get("raw_path") or b"") + b"?" + (scope.get("query_string") or b"")
        if b"%00" in raw or b"\x00" in raw or "\x00" in scope.get("path", ""):
            resp = problem(422, "invalid", "Invalid request", "The URL contains a NUL character (%00).",
                           errors=[field_error("url", "nul_character", "Remove %00 from the path or query.")])  # fmt: skip
            await resp(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        peer = (scope.get("client") or ("", 0))[0]
        rid = incoming if incoming and _SAFE_ID.match(incoming) and peer in self.trusted else uuid.uuid4().hex
        token = request_id_var.set(rid)
        asked = language.remember(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status_holder = {"status": 500}
        start = time.perf_counter()
        extra = [(b"x-request-id", rid.encode())]
        path = scope["path"] + "/"
        for prefix, headers in self.path_headers:
            if path.startswith(prefix):
                extra.extend(headers)

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            _observe(scope["method"], template, str(status_holder["status"]), elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        # Never a secret: no query string, and no path segment that may carry a token.
                        "path": loggable_path(scope["path"]),
                        "status": status_holder["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                        "key_name": state.get("key_name"),
                        "client": peer,
                        "client_request_id": incoming[:64] if incoming and incoming != rid else None,
                    },
                )
            request_id_var.reset(token)
            language.forget(asked)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = response.body.decode(errors="replace") if isinstance(response.body, bytes) else "refused"
        refused = problem(
            response.status_code, "cors-refused", "CORS preflight refused",
            f"{reason}. Allowed origins are configured with CORS_ORIGINS.",
            errors=[field_error("header.origin", "cors_refused", reason)],
        )  # fmt: skip
        for k, v in response.headers.items():
            if k.lower() not in ("content-length", "content-type"):
                refused.headers[k] = v
        return refused
