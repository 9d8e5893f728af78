"""Strict JSON bodies for every route: duplicate keys, NaN/Infinity, NUL characters, lone surrogates and deep
nesting are refused as malformed JSON (422) before any model sees them. PostgreSQL cannot store NUL in text,
a lone surrogate (\ud800) cannot be encoded as UTF-8 anywhere downstream, and duplicate keys make a body mean
different things to different parsers. The route class (`core.routing.ApiRoute`) uses the request below."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

MAX_DEPTH = 32
OFF_LOOP_BYTES = 64 * 1024  # bodies larger than this are parsed in a worker thread
_SURROGATE = re.compile("[\ud800-\udfff]")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(v, str):
            _check_text(v, "text")
        elif isinstance(v, dict):
            for k, item in v.items():
                _check_text(k, "keys")
                stack.append((item, depth + 1))
        elif isinstance(v, list):
            stack.extend((item, depth + 1) for item in v)


def _check_text(v: str, what: str) -> None:
    if "\x00" in v:
        raise ValueError(f"{what} may not contain NUL characters (\\u0000)")
    if _SURROGATE.search(v):
        raise ValueError(
            f"{what} may not contain a lone UTF-16 surrogate (\\ud800-\\udfff); send real characters"
        )


def loads(body: bytes) -> Any:
    """Parse like json.loads, raising json.JSONDecodeError for everything refused here."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(
            f"byte {exc.start} is not UTF-8; send the body as UTF-8 text", "", exc.start
        ) from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except RecursionError:
        raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels deep", text, 0) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), text, 0) from None
    try:
        _check(value)
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = await run_in_threadpool(loads, body) if len(body) > OFF_LOOP_BYTES else loads(body)
        return self._json
