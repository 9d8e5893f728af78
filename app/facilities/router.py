"""Facility registry endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile

from app.access.deps import Principal, require
from app.core.db import SessionDep, WriteSessionDep, writes, writing
from app.core.errors import PROBLEM_RESPONSES, Invalid
from app.core.pagination import Page, PageDep
from app.core.strictjson import StrictJSONRoute
from app.facilities import importer, service
from app.facilities.schemas import FacilityCreate, FacilityRead, FacilityUpdate, ImportResult, Kind, Sector

router = APIRouter(
    route_class=StrictJSONRoute,
    prefix="/api/v1/facilities",
    tags=["facilities"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 422, 429)},
)

Reader = Annotated[Principal, Depends(require("planner", "field_officer", "portal"))]
Registrar = Annotated[Principal, Depends(require("field_officer", "portal"))]
Editor = Annotated[Principal, Depends(require("field_officer"))]


@router.post(
    "",
    status_code=201,
    response_model=FacilityRead,
    responses={409: PROBLEM_RESPONSES[409], 413: PROBLEM_RESPONSES[413]},
)
@writes
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


@router.post("/import", response_model=ImportResult, responses={413: PROBLEM_RESPONSES[413]})
async def import_facilities(
    session: WriteSessionDep,
    principal: Registrar,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 (BOM optional)")],
) -> ImportResult:
    """Bulk-register facilities from CSV; `province` may be a current code or name, or a pre-2025 name."""
    raw = await file.read()
    try:
        text = importer.decode(raw)
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text; save the CSV as UTF-8.",
                      errors=[{"path": "file", "code": "encoding", "message": f"Byte {exc.start} is not UTF-8."}]) from None  # fmt: skip
    rows, header = importer.read_csv(text)
    missing = [c for c in ("name", "kind", "sector", "province") if c not in header]
    if missing:
        raise Invalid(f"The CSV header lacks columns {missing}.",
                      errors=[{"path": "file", "code": "missing_columns", "message": f"Expected columns: {', '.join(importer.COLUMNS)}."}])  # fmt: skip
    from starlette.concurrency import run_in_threadpool

    def run() -> list:  # type: ignore[type-arg]
        with writing(session):
            return importer.import_rows(session=session, principal=principal, rows=rows)

    results = await run_in_threadpool(run)
    return ImportResult(results=results)


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
@writes
def update_facility(
    facility_id: str, body: FacilityUpdate, session: WriteSessionDep, principal: Editor
) -> FacilityRead:
    """Change some fields; the previous state is kept as a revision (used by `as_of` rankings)."""
    return service.to_read(
        service.update(session=session, principal=principal, facility_id=facility_id, data=body)
    )
