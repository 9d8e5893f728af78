"""The ingest lane: single JSON posts to POST /api/v1/responses served just inside the request-context layer.

Field officers' devices sync one response per request, in bursts; most of a post's server time went to the
layers every request crosses (CORS, exception middleware, routing, FastAPI's request wrappers) rather than
to the response itself. This pure-ASGI layer serves exactly those posts — method POST, that path, a JSON
body, no `Origin` header (browsers send one and go the whole way, through CORS) — with the same steps the
route takes, in the same order, through the same functions:

1. the route's access rule from the headers alone (`require(...)`'s `pre_body`: key, role, rate limit);
2. the body, read up to the route's ceiling (413 beyond; `Connection: close` when refused before reading);
3. the route's own fast path (`router._submit_fast`: strict JSON, the model, the checks, the group commit);
4. any error rendered by the app's own exception handlers (problem+json, the same bodies and headers).

The request-context layer outside still assigns the request id, logs and records metrics; the route is set
on the scope so logs and metrics name its template. Everything else goes on to the app untouched; the
route itself keeps serving (and documenting) every request the lane declines.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.core.routing import ApiRoute, admit
from app.core.strictjson import StrictJSONRequest

PATH = "/api/v1/responses"


class IngestLane:
    """`route`: the POST /api/v1/responses route (its access rule, body ceiling and fast path)."""

    def __init__(self, app: Any, route: ApiRoute) -> None:
        if route.lane is None or route.path != PATH or "POST" not in (route.methods or ()):
            raise ValueError("the ingest lane serves POST /api/v1/responses, a route with a fast path")
        self.app = app
        self.route = route

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        content_type: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                await self.app(scope, receive, send)  # a browser: CORS decides, on the whole way
                return
            if name == b"content-type" and content_type is None:  # the first one, as the route reads it
                content_type = value
        is_json = (content_type or b"").split(b";")[0].strip().lower() == b"application/json"
        if not is_json:
            await self.app(scope, receive, send)
            return
        route = scope["route"] = self.route
        request = StrictJSONRequest(scope, receive)
        response = await self._serve(request, route)
        await response(scope, receive, send)

    async def _serve(self, request: Request, route: ApiRoute) -> Response:
        checks, fast = route.lane  # type: ignore[misc]
        try:
            await admit(request, checks, route.body_limit)
            response = await fast(request)
            if response is None:  # cannot happen for a JSON body; kept honest all the same
                raise RuntimeError("the ingest lane's handler declined a JSON body")
            return response
        except Exception as exc:  # noqa: BLE001 - rendered by the app's handlers, like any route's error
            return await self._render(request, exc)

    @staticmethod
    async def _render(request: Request, exc: Exception) -> Response:
        handlers = request.scope["app"].exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return await handler(request, exc)  # type: ignore[no-any-return]
        raise exc
