"""Export endpoints for planners' spreadsheets (streamed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.access.deps import Principal, require
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import ApiRoute
from app.facilities.schemas import Sector
from app.questionnaires.router import RegistryDep
from app.responses import export

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1/exports",
    tags=["exports"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 422, 429)},
)
Exporter = Annotated[Principal, Depends(require("planner"))]
Format = Literal["csv", "xlsx"]
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
        "description": "The file",
    }
}


def _download(chunks, media: str, filename: str) -> StreamingResponse:  # type: ignore[no-untyped-def]
    return StreamingResponse(
        chunks, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/responses.csv", response_class=StreamingResponse, responses=_FILE)
def export_responses(
    registry: RegistryDep,
    principal: Exporter,
    questionnaire: str,
    version: Annotated[int, Query(ge=1, le=10_000)],
    province_code: Annotated[list[str] | None, Query(description="repeatable")] = None,
    format: Format = "csv",
) -> StreamingResponse:
    """One row per response (latest revision) to one questionnaire version; `select_multiple` as 0/1 columns."""
    d = registry.get(questionnaire, version)
    rows = export.response_rows(principal, d, province_code)
    chunks, media = export.stream(format, export.response_columns(d), rows, f"{d.key}-v{d.version}")
    return _download(chunks, media, f"{d.key}-v{d.version}.{format}")


@router.get("/facilities.csv", response_class=StreamingResponse, responses=_FILE)
def export_facilities(
    principal: Exporter,
    province_code: Annotated[list[str] | None, Query(description="repeatable")] = None,
    sector: Annotated[list[Sector] | None, Query(description="repeatable")] = None,
    format: Format = "csv",
) -> StreamingResponse:
    """Every facility in your provinces."""
    rows = export.facility_rows(principal, province_code, [s.value for s in sector] if sector else None)
    chunks, media = export.stream(format, export.FACILITY_COLUMNS, rows, "facilities")
    return _download(chunks, media, f"facilities.{format}")
