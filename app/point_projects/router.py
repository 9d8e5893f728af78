"""Point projects and the results report: /api/v1/point-projects, /api/v1/rankings/{id}/point-project,
/api/v1/results and /api/v1/results.xlsx (planners and admins, in scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder as jsonable
from fastapi.responses import JSONResponse, Response

from app.access.deps import Principal, require
from app.core.db import SessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES, Invalid
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.facilities.schemas import Sector
from app.point_projects import checks, results, service, workbook
from app.point_projects.schemas import (
    FromSelection,
    PointProjectCreate,
    PointProjectRead,
    PointProjectSummary,
    PointProjectUpdate,
    RevisionRead,
    State,
    StateChange,
)
from app.prioritisation.router import ProfilesDep

checks.install()  # project-results responses are checked against the projects when stored

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1",
    tags=["point projects"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 413, 422, 429)},
)
Planner = Annotated[Principal, Depends(require("planner"))]
MAX_BODY = 4 * 1024 * 1024
_WRITE: dict[int | str, dict[str, Any]] = {409: PROBLEM_RESPONSES[409]}


@router.post(
    "/point-projects",
    status_code=201,
    response_model=PointProjectRead,
    max_body_size=MAX_BODY,
    responses=_WRITE,
)
def create_project(
    body: PointProjectCreate, session: WriteSessionDep, principal: Planner
) -> PointProjectRead:
    """Record a point project (state `proposed`): its activities for facilities (demonstration models, machinery,
    lines) and for the whole project (workshops, courses); every facility and province in your scope. 409 when
    the code exists."""
    p = service.create(session=session, principal=principal, data=body)
    return service.to_read(session, p)


@router.post("/rankings/{ranking_id}/point-project", status_code=201, response_model=PointProjectRead,
             max_body_size=MAX_BODY, responses=_WRITE)  # fmt: skip
def project_from_selection(
    ranking_id: str,
    body: FromSelection,
    session: WriteSessionDep,
    principal: Planner,
    registry: RegistryDep,
    profiles: ProfilesDep,
) -> PointProjectRead:
    """Make a proposed point project from a frozen ranking's budgeted selection: one activity per selected
    facility, its support cost as programme funds and its support rule as the activity's kind."""
    p = service.from_selection(session=session, principal=principal, ranking_id=ranking_id, data=body,
                               registry=registry, profiles=profiles)  # fmt: skip
    return service.to_read(session, p)


@router.get("/point-projects", response_model=Page[PointProjectSummary])
def list_projects(
    session: SessionDep,
    principal: Planner,
    page: PageDep,
    state: State | None = None,
    province_code: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    facility_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[PointProjectSummary]:
    """Point projects you may see (every province they touch in your scope), newest first."""
    rows, nxt = service.list_projects(session=session, principal=principal, cursor=page.cursor, limit=page.limit,
                                      state=state.value if state else None, province_code=province_code,
                                      facility_id=facility_id)  # fmt: skip
    return Page(items=[service.to_summary(p) for p in rows], next_cursor=nxt)


@router.get("/point-projects/{project_id}", response_model=PointProjectRead)
def get_project(project_id: str, session: SessionDep, principal: Planner) -> PointProjectRead:
    """A point project by id or code, with its activities and funds."""
    return service.to_read(session, service.get(session=session, principal=principal, project_id=project_id))


@router.patch(
    "/point-projects/{project_id}", response_model=PointProjectRead, max_body_size=MAX_BODY, responses=_WRITE
)
def update_project(
    project_id: str, body: PointProjectUpdate, session: WriteSessionDep, principal: Planner
) -> PointProjectRead:
    """Change a project (a new revision; the previous ones stay at /revisions). `activities`, when given, is
    the whole new list. A completed or cancelled project is closed (409)."""
    p = service.update(session=session, principal=principal, project_id=project_id, data=body)
    return service.to_read(session, p)


@router.get("/point-projects/{project_id}/revisions", response_model=Page[RevisionRead])
def project_revisions(
    project_id: str, session: SessionDep, principal: Planner, page: PageDep
) -> Page[RevisionRead]:
    """Every revision of a project, oldest first: the whole document and state after each change, who, when."""
    items, nxt = service.revisions(session=session, principal=principal, project_id=project_id,
                                   cursor=page.cursor, limit=page.limit)  # fmt: skip
    return Page(items=items, next_cursor=nxt)


@router.post("/point-projects/{project_id}/state", response_model=PointProjectRead, responses=_WRITE)
def change_state(
    project_id: str, body: StateChange, session: WriteSessionDep, principal: Planner
) -> PointProjectRead:
    """Move a project: proposed → approved → implementing → completed, or cancelled (409 for any other move);
    audited. Implementing or completed, its facilities count as supported (their prior support)."""
    p = service.change_state(session=session, principal=principal, project_id=project_id, state=body.state,
                             comment=body.comment)  # fmt: skip
    return service.to_read(session, p)


def _filters(
    point_project: Annotated[str | None, Query(max_length=40, description="a project's id or code")] = None,
    province_code: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    sector: Sector | None = None,
    from_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    to_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> results.Filters:
    if from_year is not None and to_year is not None and to_year < from_year:
        raise Invalid.at("query.to_year", "before_from_year", "to_year must not be before from_year.")
    return results.Filters(point_project, province_code, sector.value if sector else None, from_year, to_year)


FiltersDep = Annotated[results.Filters, Depends(_filters)]
AsOf = Annotated[
    datetime | None, Query(description="the report as it stood then (ISO 8601 with offset); default now")
]


def _as_of(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid.at(
            "query.as_of", "naive_datetime", "as_of needs a UTC offset, e.g. 2021-01-01T00:00:00+07:00."
        )
    return value


@router.get("/results")
def results_report(session: SessionDep, principal: Planner, filters: FiltersDep, as_of: AsOf = None) -> Any:
    """What the point projects funded and achieved, as the programme's reviews report it: projects,
    establishments supported, demonstration models, activities by kind, funds by source, jobs (women), people
    trained, provinces covered out of 34, by project, province, sector and year, and reporting rates per stage.
    Reproducible with `as_of`; in your scope. `sources` says where each figure comes from."""
    return JSONResponse(
        results.report(session=session, principal=principal, filters=filters, as_of=_as_of(as_of))
    )


@router.get("/results/facilities")
def results_facilities(
    session: SessionDep,
    principal: Planner,
    filters: FiltersDep,
    figure: Annotated[
        str,
        Query(
            pattern=r"^[a-z_]+$",
            description="facilities_supported, demonstration_models, jobs_created, workers_trained, ...",
        ),
    ] = "facilities_supported",
    as_of: AsOf = None,
) -> Any:
    """The establishments behind one figure of the report (with the same filters): each with its project,
    activity kinds, funds and latest result."""
    allowed = {"facilities_supported", "demonstration_models", *results.METRICS}
    if figure not in allowed:
        raise Invalid.at(
            "query.figure", "unknown_figure", f"figure must be one of: {', '.join(sorted(allowed))}."
        )
    rows = results.facilities_behind(
        session=session, principal=principal, filters=filters, as_of=_as_of(as_of), figure=figure
    )
    return JSONResponse({"figure": figure, "items": rows})


FollowUpReader = Annotated[Principal, Depends(require("planner", "field_officer"))]


@router.get("/follow-ups")
def follow_ups(session: SessionDep, principal: FollowUpReader) -> Any:
    """The result reports due and not yet received for the supported establishments of your provinces (a
    baseline once a project is approved, a completion report once completed, a 12-month follow-up a year later):
    what a field officer's device lists to visit; send each as a `project-results` response."""
    return JSONResponse({"items": jsonable(results.follow_ups(session=session, principal=principal))})


@router.get("/results.xlsx", response_class=Response,
            responses={200: {"content": {workbook.XLSX: {}}, "description": "The results report as a workbook"}})  # fmt: skip
def results_workbook(session: SessionDep, principal: Planner, filters: FiltersDep, as_of: AsOf = None,
                     lang: Annotated[str, Query(pattern="^(vi|en)$")] = "vi") -> Response:  # fmt: skip
    """The results report as an Excel workbook: a summary sheet as the review presents it, then by project,
    province, sector and year, and reporting rates."""
    rep = results.report(session=session, principal=principal, filters=filters, as_of=_as_of(as_of))
    return Response(workbook.build(rep, lang), media_type=workbook.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="results.xlsx"'})  # fmt: skip
