"""Public place lists: provinces and their wards."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.access.deps import public
from app.core.errors import PROBLEM_RESPONSES, NotFound
from app.core.routing import ApiRoute
from app.places import service

router = APIRouter(route_class=ApiRoute, prefix="/api/v1/provinces", tags=["places"])


class ProvinceRead(BaseModel):
    code: str
    name: str


class WardRead(BaseModel):
    code: str
    name: str
    division_type: str


@router.get("", response_model=list[ProvinceRead], dependencies=[public])
def list_provinces() -> list[ProvinceRead]:
    """The 34 provinces in force since 1 July 2025, with their two-digit GSO codes."""
    return [ProvinceRead(code=c, name=n) for c, n in service.provinces().items()]


@router.get(
    "/{code}/wards",
    response_model=list[WardRead],
    dependencies=[public],
    responses={404: PROBLEM_RESPONSES[404]},
)
def list_wards(code: str) -> list[WardRead]:
    """Wards, communes and special zones of one province (five-digit GSO codes)."""
    ws = service.wards(code)
    if ws is None:
        raise NotFound(f"There is no province with code {code!r}; see /api/v1/provinces.")
    return [WardRead(code=c, name=w["name"], division_type=w["division_type"]) for c, w in ws.items()]
