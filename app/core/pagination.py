"""Keyset pagination: opaque cursors and the page envelope."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from app.core.errors import Invalid

T = TypeVar("T")
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    """A page of a growing collection; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError
        # Integers go to SQL as bigint: anything outside 0..2^62 is not a cursor we issued.
        if any(isinstance(v, bool) or (isinstance(v, int) and not 0 <= v < 2**62) for v in values):
            raise ValueError
        return values
    except Exception as exc:  # any undecodable cursor is the client's mistake
        raise Invalid(
            "The cursor is not one this server issued.",
            errors=[
                {
                    "path": "query.cursor",
                    "code": "invalid_cursor",
                    "message": "Pass back next_cursor exactly as received.",
                }
            ],
        ) from exc


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 100


async def _page_params(
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 1000")] = 100,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageDep = Annotated[PageParams, Depends(_page_params)]
