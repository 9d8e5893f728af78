"""Facility registry endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from app.access.deps import Principal, require
from app.core.config import get_settings
from app.core.db import SessionDep, StagedWriteSessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute
from app.facilities import importer, service
from app.facilities.schemas import FacilityCreate, FacilityRead, FacilityUpdate, ImportResult, Kind, Sector

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1/facilities",
    tags=["facilities"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 413, 422, 429)},
)

Reader = Annotated[Principal, Depends(require("planner", "field_officer", "portal"))]
Registrar = Annotated[Principal, Depends(require("field_officer", "portal"))]
Editor = Annotated[Principal, Depends(require("field_officer"))]


@router.post(
    "",
    status_code=201,
    response_model=FacilityRead,
    responses={409: PROBLEM_RESPONSES[409]},
)
def create_facility(body: FacilityCreate, session: WriteSessionDep, principal: Registrar) -> FacilityRead:
    """Register a facility in one of your provinces; a known tax code is 409 with the existing `facility_id`."""
    return service.to_read(service.create(session=session, principal=principal, data=body))


@router.get("", response_model=Page[FacilityRead])
def list_facilities(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    province_code: Annotated[list[str] | None, Query(description="repeatable")] = None,
    sector: Annotated[list[Sector] | None, Query(description="repeatable")] = None,
    kind: Kind | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="words in name, tax code or address; accents optional")
    ] = None,
) -> Page[FacilityRead]:
    """Facilities in your provinces, keyset-paginated in registration order."""
    rows, nxt = service.list_facilities(
        session=session, principal=principal, cursor=page.cursor, limit=page.limit, province_code=province_code,
        sector=[s.value for s in sector] if sector else None, kind=kind.value if kind else None, q=q,
    )  # fmt: skip
    return Page(items=[service.to_read(f) for f in rows], next_cursor=nxt)


@router.post("/import", response_model=ImportResult, max_body_size=get_settings().max_upload_bytes)
async def import_facilities(
    session: StagedWriteSessionDep,
    principal: Registrar,
    file: Annotated[
        UploadFile, File(description=f"CSV, UTF-8 (BOM optional), at most {importer.MAX_ROWS:,} rows")
    ],
) -> ImportResult:
    """Bulk-register facilities from CSV; `province` may be a current code or name, or a pre-2025 name.

    Rows are checked before the write lock is taken; the good ones are then inserted in one short transaction."""
    raw = await file.read()

    def run() -> list[importer.ImportRow]:
        rows, _ = importer.read_csv(importer.decode(raw))
        return importer.import_rows(session=session, principal=principal, rows=rows)

    return ImportResult(results=await run_in_threadpool(run))


@router.get("/{facility_id}", response_model=FacilityRead, responses={404: PROBLEM_RESPONSES[404]})
def get_facility(facility_id: str, session: SessionDep, principal: Reader) -> FacilityRead:
    """One facility (404 when unknown or outside your provinces)."""
    return service.to_read(
        service.get_or_raise(session=session, principal=principal, facility_id=facility_id)
    )


@router.patch(
    "/{facility_id}",
    response_model=FacilityRead,
    responses={404: PROBLEM_RESPONSES[404], 409: PROBLEM_RESPONSES[409]},
)
def update_facility(
    facility_id: str, body: FacilityUpdate, session: WriteSessionDep, principal: Editor
) -> FacilityRead:
    """Change some fields; the previous state is kept as a revision (used by `as_of` rankings)."""
    return service.to_read(
        service.update(session=session, principal=principal, facility_id=facility_id, data=body)
    )
