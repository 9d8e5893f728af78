"""The route class every router uses: the rules a route must not be able to forget, applied by construction.

- Checks before the body: dependencies that carry a `pre_body` coroutine (the access rule of `require(...)`)
  run from the headers alone, before one byte of the body is read — a request without a valid key costs
  its headers. The body ceiling is per route: `max_body_size=` on the decorator (default MAX_BODY_BYTES),
  checked against Content-Length and while the body is read, answered 413 problem+json.
- Strict JSON: duplicate keys, NaN/Infinity, NUL, lone surrogates and deep nesting are malformed (422);
  a large body is parsed in a worker thread, never on the event loop.
- Write transactions: an endpoint taking `WriteSessionDep` runs inside `writing(session)` (committed before
  the response is sent); one taking `StagedWriteSessionDep` does its slow work first and opens `writing()`
  itself for the short write. tests/access/test_matrix.py fails on a write route with neither.
- A router may render its errors its own way (OpenRosa speaks XML): subclass and set `render_error`.
- A hot route may serve JSON bodies through a `fast_path` (see `fast_path()`): the same access check, body
  ceiling and strict parse, then one function instead of FastAPI's per-request dependency solving. The route's
  declared endpoint still defines its OpenAPI and serves every request the fast path declines.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, ClassVar, get_args, get_origin

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from app.core.config import get_settings
from app.core.db import in_write_transaction
from app.core.errors import AppError
from app.core.strictjson import StrictJSONRequest

BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})

PreBody = Callable[[Request], Awaitable[Any]]


def _session_kind_params(endpoint: Callable[..., Any]) -> dict[str, str]:
    """Parameter name → session kind ('read' | 'write' | 'staged') of the endpoint's session dependencies."""
    out: dict[str, str] = {}
    for name, p in inspect.signature(endpoint, eval_str=True).parameters.items():
        if get_origin(p.annotation) is not Annotated:
            continue
        for meta in get_args(p.annotation)[1:]:
            kind = getattr(getattr(meta, "dependency", None), "session_kind", None)
            if isinstance(meta, Depends) and kind:
                out[name] = kind
    return out


def _pre_body_checks(dependant: Any) -> list[PreBody]:
    found: list[PreBody] = []
    stack = [dependant]
    while stack:
        dep = stack.pop()
        check = getattr(dep.call, "pre_body", None)
        if check is not None and check not in found:
            found.append(check)
        stack.extend(dep.dependencies)
    return found


class ModelResponse(Response):
    """A pydantic model rendered once as the JSON body (hot paths: no second validation by FastAPI; the
    route's declared `response_model` still documents it)."""

    media_type = "application/json"

    def __init__(
        self, model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            model.__pydantic_serializer__.to_json(model), status_code=status_code, headers=headers
        )


FastHandler = Callable[[Request], Awaitable[Response | None]]


def fast_path(handler: FastHandler) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve the decorated endpoint's requests with `handler(request)` (body already read, access checked;
    return None to let the endpoint itself serve the request)."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.fast_path = handler  # type: ignore[attr-defined]
        return endpoint

    return mark


def body_errors(exc: Exception) -> RequestValidationError:
    """A parse or validation failure of a fast path's body, as FastAPI reports its own (loc from `body`)."""
    if isinstance(exc, json.JSONDecodeError):
        err = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {},
               "ctx": {"error": exc.msg}}  # fmt: skip
        return RequestValidationError([err])
    assert isinstance(exc, ValidationError)
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, detail=f"The body may be at most {limit:,} bytes on this route.")


async def read_body(request: Request, limit: int) -> None:
    """Read the whole body (at most `limit` bytes) so the handler parses it from memory; 413 beyond."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    request._body = b"".join(chunks)


def _has_unread_body(request: Request) -> bool:
    if getattr(request, "_body", None) is not None:
        return False
    length = request.headers.get("content-length")
    return bool(length and length != "0") or "chunked" in request.headers.get("transfer-encoding", "").lower()


async def admit(request: Request, checks: list[PreBody], limit: int) -> None:
    """A route's checks from the headers alone (its access rule), then its body up to `limit` bytes."""
    try:
        for check in checks:
            await check(request)
        if request.method not in BODILESS:
            await read_body(request, limit)
    except (AppError, HTTPException) as exc:
        if _has_unread_body(request):
            # Refused before its body was read: close the connection after the answer, so the server does
            # not go on reading (and discarding) what the client still sends.
            exc.headers = {**(exc.headers or {}), "Connection": "close"}
        raise


class ApiRoute(APIRoute):
    render_error: ClassVar[Callable[[Request, Exception], Awaitable[Response]] | None] = None

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kinds = _session_kind_params(endpoint)
        writes = [name for name, kind in kinds.items() if kind == "write"]
        if writes:
            if inspect.iscoroutinefunction(endpoint):
                raise TypeError(
                    f"{endpoint.__name__}: a WriteSessionDep endpoint must be a plain def (it runs in a worker "
                    "thread inside its write transaction); use StagedWriteSessionDep and writing() instead"
                )
            endpoint = in_write_transaction(endpoint, writes[0])
        self.session_kinds = frozenset(kinds.values())
        # (pre-body checks, fast path) of a route with a fast path: what app.responses.lane serves it with.
        self.lane: tuple[list[PreBody], FastHandler] | None = None
        # FastAPI's own ceiling would answer text/plain, and before the access check: ours replaces it.
        self.body_limit: int = kwargs.pop("max_body_size", None) or get_settings().max_body_bytes
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        fast: FastHandler | None = getattr(inspect.unwrap(self.endpoint), "fast_path", None)
        checks = _pre_body_checks(self.dependant)
        render = type(self).render_error
        limit = self.body_limit
        self.lane = (checks, fast) if fast is not None else None

        async def route_handler(request: Request) -> Response:
            req = StrictJSONRequest(request.scope, request.receive)
            try:
                await admit(req, checks, limit)
                if fast is not None and (response := await fast(req)) is not None:
                    return response
                return await handler(req)
            except Exception as exc:
                if render is None:
                    raise
                return await render(req, exc)

        return route_handler
