"""The one place that turns a principal into "the rows it may read" and checks writes against scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false

from app.access.deps import Principal
from app.core.errors import Forbidden


def readable(
    stmt: Select[Any], principal: Principal, province_col: Any, owner_col: Any | None = None
) -> Select[Any]:
    """Filter a query to the caller's provinces (and, for field officers, to what it submitted itself)."""
    if principal.provinces is not None:
        stmt = (
            stmt.where(province_col.in_(sorted(principal.provinces)))
            if principal.provinces
            else stmt.where(false())
        )
    if owner_col is not None and principal.role == "field_officer":
        stmt = stmt.where(owner_col == principal.name)
    return stmt


def may_read(
    principal: Principal, province_code: str | None, owner: str | None = None, *, owned: bool = False
) -> bool:
    if not principal.in_scope(province_code):
        return False
    return not (owned and principal.role == "field_officer" and owner != principal.name)


def check_write(principal: Principal, province_code: str, path: str = "province_code") -> None:
    """403 when a write names a province outside the caller's scope."""
    if not principal.in_scope(province_code):
        raise Forbidden(
            f"This key may not write in province {province_code}.",
            errors=[
                {
                    "path": path,
                    "code": "out_of_scope",
                    "message": f"Province {province_code} is outside this key's provinces.",
                }
            ],
        )
