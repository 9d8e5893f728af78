"""Export endpoints: spreadsheets (CSV, XLSX) and GeoJSON for mapping tools, all streamed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.access.deps import Principal, require
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.exports import geojson
from app.exports import service as export
from app.exports.labels import Lang
from app.facilities.schemas import Sector

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


LabelsQuery = Annotated[
    Lang | None,
    Query(
        description="vi | en: question labels as column names and choice labels as values (default: codes)"
    ),
]
Provinces = Annotated[list[str] | None, Query(description="repeatable")]
Sectors = Annotated[list[Sector] | None, Query(description="repeatable")]
_GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {geojson.MEDIA_TYPE: {}},
        "description": "A GeoJSON FeatureCollection (RFC 7946), streamed",
    }
}


@router.get("/responses.csv", response_class=StreamingResponse, responses=_FILE)
def export_responses(
    registry: RegistryDep,
    principal: Exporter,
    questionnaire: str,
    version: Annotated[int, Query(ge=1, le=10_000)],
    province_code: Provinces = None,
    format: Format = "csv",
    labels: LabelsQuery = None,
) -> StreamingResponse:
    """One row per response (latest revision) to one questionnaire version; `select_multiple` as 0/1 columns."""
    d = registry.get(questionnaire, version)
    rows = export.response_rows(principal, d, province_code, labels)
    chunks, media = export.stream(format, export.response_columns(d, labels), rows, f"{d.key}-v{d.version}")
    return _download(chunks, media, f"{d.key}-v{d.version}.{format}")


@router.get("/facilities.csv", response_class=StreamingResponse, responses=_FILE)
def export_facilities(
    principal: Exporter,
    province_code: Provinces = None,
    sector: Sectors = None,
    format: Format = "csv",
    labels: LabelsQuery = None,
) -> StreamingResponse:
    """Every facility in your provinces."""
    rows = export.facility_rows(
        principal, province_code, [s.value for s in sector] if sector else None, labels
    )
    chunks, media = export.stream(format, export.facility_columns(labels), rows, "facilities")
    return _download(chunks, media, f"facilities.{format}")


@router.get("/facilities.geojson", response_class=StreamingResponse, responses=_GEOJSON)
def export_facilities_geojson(
    principal: Exporter, province_code: Provinces = None, sector: Sectors = None, labels: LabelsQuery = None
) -> StreamingResponse:
    """Every facility in your provinces with a location, as points; the others are counted in `without_location`."""
    features = geojson.facility_features(
        principal, province_code, [s.value for s in sector] if sector else None, labels
    )
    return _download(geojson.collection("facilities", features), geojson.MEDIA_TYPE, "facilities.geojson")


@router.get("/responses.geojson", response_class=StreamingResponse, responses=_GEOJSON)
def export_responses_geojson(
    registry: RegistryDep,
    principal: Exporter,
    questionnaire: str,
    version: Annotated[int, Query(ge=1, le=10_000)],
    province_code: Provinces = None,
    labels: LabelsQuery = None,
) -> StreamingResponse:
    """Responses (latest revision) to one questionnaire version as points: where collected, else at the facility
    (`location_source`); responses with neither are counted in `without_location`."""
    d = registry.get(questionnaire, version)
    features = geojson.response_features(principal, d, province_code, labels)
    name = f"{d.key}-v{d.version}"
    return _download(geojson.collection(name, features), geojson.MEDIA_TYPE, f"{name}.geojson")
