"""Keyset pagination, once: opaque cursors, the page envelope, pages for APIs and for streamed exports.

Every growing collection is read `WHERE key > :last ORDER BY key LIMIT n` (or `<` and descending) on a
unique key handed out in commit order, so a page never skips or repeats a row while rows are added.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlmodel import Session

from app.core.errors import Invalid

T = TypeVar("T")
MAX_LIMIT = 1000
_MAX_INT = 2**62  # integers go to SQL as bigint


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


def _bad_cursor() -> Invalid:
    return Invalid.at(  # type: ignore[return-value]
        "query.cursor",
        "invalid_cursor",
        "The cursor is not one this server issued; pass back next_cursor exactly as received.",
    )


def decode_cursor(cursor: str, *types: type) -> list[Any]:
    """The values of a cursor this server issued, each checked against its expected type (int or str)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except Exception:  # any undecodable cursor is the client's mistake
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(types):
        raise _bad_cursor()
    for v, t in zip(values, types, strict=True):
        if type(v) is not t:  # bool is not int, None is nothing
            raise _bad_cursor()
        if isinstance(v, int) and not 0 <= v < _MAX_INT:
            raise _bad_cursor()
        if isinstance(v, str) and (len(v) > 200 or "\x00" in v):
            raise _bad_cursor()
    return values


@dataclass(frozen=True)
class Keyset:
    """A unique integer column assigned in commit order, and the direction pages walk it."""

    column: Any
    descending: bool = False

    def after(self, stmt: Select[Any], last: int | None) -> Select[Any]:
        """The statement restricted to rows after `last`, in key order."""
        if last is not None:
            stmt = stmt.where(self.column < last if self.descending else self.column > last)
        return stmt.order_by(self.column.desc() if self.descending else self.column)


def _key_of(column: Any) -> Callable[[Any], int]:
    name = column.key

    def key(row: Any) -> int:
        return int(getattr(row, name))

    return key


def page(
    session: Session,
    stmt: Select[Any],
    keyset: Keyset,
    *,
    cursor: str | None,
    limit: int,
    scalars: bool = True,
    key: Callable[[Any], int] | None = None,
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` and the cursor of the next (None at the end).

    `scalars`: rows are the first entity (ORM objects) rather than row tuples; `key` reads the key from a
    row (default: the attribute named like the key column). `keep` filters rows in Python for rules SQL
    cannot express; pages are then refilled until `limit` rows are kept or the table ends.
    """
    key = key or _key_of(keyset.column)
    last = decode_cursor(cursor, int)[0] if cursor else None
    out: list[Any] = []
    while True:
        result = session.execute(keyset.after(stmt, last).limit(limit + 1))
        rows = list(result.scalars() if scalars else result.all())
        for i, row in enumerate(rows[:limit]):
            if keep is None or keep(row):
                out.append(row)
                if len(out) == limit:  # a next page exists when a row follows this one
                    return out, encode_cursor(key(row)) if i + 1 < len(rows) else None
        if len(rows) <= limit:
            return out, None
        last = key(rows[limit - 1])


def pages(
    open_session: Callable[[], Any],
    stmt: Select[Any],
    keyset: Keyset,
    *,
    size: int,
    scalars: bool = True,
    key: Callable[[Any], int] | None = None,
) -> Iterator[list[Any]]:
    """Every row of `stmt`, page by page, each page read in its own short transaction (streamed exports:
    memory stays constant and no transaction stays open while the client reads)."""
    key = key or _key_of(keyset.column)
    last: int | None = None
    while True:
        with open_session() as s:
            result = s.execute(keyset.after(stmt, last).limit(size))
            rows = list(result.scalars() if scalars else result.all())
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = key(rows[-1])


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 100


async def _page_params(
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor from the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 1000")] = 100,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageDep = Annotated[PageParams, Depends(_page_params)]
