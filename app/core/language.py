"""The language a request asks for, where a reply carries words a person reads (a check's message).

`?lang=vi|en` wins; else the best of vi and en in `Accept-Language` (by q); else Vietnamese. The request
context middleware remembers the two raw values per request; they are read only when a message is needed.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import parse_qs

LANGS = ("vi", "en")
DEFAULT = "vi"

_asked: ContextVar[tuple[bytes, bytes] | None] = ContextVar("asked_language", default=None)


def remember(scope: dict[str, Any]) -> Token[tuple[bytes, bytes] | None]:
    accept = next((v for k, v in scope.get("headers") or () if k == b"accept-language"), b"")
    return _asked.set((scope.get("query_string") or b"", accept))


def forget(token: Token[tuple[bytes, bytes] | None]) -> None:
    _asked.reset(token)


def choose(query_string: bytes, accept_language: bytes) -> str:
    """The language of `?lang=`, else of Accept-Language, else Vietnamese."""
    if b"lang=" in query_string:
        asked = parse_qs(query_string.decode("latin-1")).get("lang", [])
        if asked and asked[-1] in LANGS:
            return asked[-1]
    best, best_q = DEFAULT, -1.0
    for part in accept_language.decode("latin-1").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q and q > 0:
            best, best_q = primary, q
    return best


def requested() -> str:
    """This request's language (Vietnamese outside a request)."""
    asked = _asked.get()
    return DEFAULT if asked is None else choose(*asked)
