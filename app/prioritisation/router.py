"""Scoring profiles, priorities (live rankings) and frozen rankings."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from app.access.deps import Principal, public, require
from app.core.db import SessionDep, StagedWriteSessionDep
from app.core.errors import PROBLEM_RESPONSES, Invalid
from app.core.fields import UtcDatetime
from app.core.pagination import MAX_LIMIT, Page, PageDep, decode_cursor, encode_cursor
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.exports import service as export
from app.facilities.schemas import Kind, Sector
from app.models import SELECTION_SELECTED
from app.prioritisation import rankings, service
from app.prioritisation.profiles import Profiles
from app.prioritisation.schemas import (
    PrioritiesPage,
    ProfileDocument,
    RankedItemsPage,
    RankingDocument,
    RankingSummary,
    SelectionPage,
)
from app.questionnaires.router import cached_json, collapse
from app.review.states import DEFAULT_FILTER, ReviewFilter

router = APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=["prioritisation"])
Planner = Annotated[Principal, Depends(require("planner"))]
_ERR: dict[int | str, dict[str, Any]] = {k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 422, 429)}


async def get_profiles(request: Request) -> Profiles:
    return request.app.state.profiles  # type: ignore[no-any-return]


ProfilesDep = Annotated[Profiles, Depends(get_profiles)]


class ProfileSummary(BaseModel):
    key: str
    version: int
    status: str
    method: str
    title: dict[str, str] | None = None


@router.get(
    "/scoring-profiles", response_model=list[ProfileSummary], dependencies=[public], tags=["prioritisation"]
)
def list_profiles(profiles: ProfilesDep) -> list[ProfileSummary]:
    """Every scoring profile version."""
    return [ProfileSummary(key=p.key, version=p.version, status=p.status, method=p.method, title=p.raw.get("title"))
            for (_, _), p in sorted(profiles.items.items())]  # fmt: skip


@router.get(
    "/scoring-profiles/{key}/versions/{version}",
    dependencies=[public],
    response_model=ProfileDocument,
    responses={
        404: PROBLEM_RESPONSES[404],
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
)
def get_profile(
    request: Request, profiles: ProfilesDep, key: str, version: int, lang: Literal["vi", "en"] | None = None
) -> Any:
    """One scoring profile as authored, with weights as written (they are normalised to sum to 1 when used)."""
    p = profiles.get(key, version)
    return cached_json(request, collapse(p.raw, lang) if lang else p.raw, p)  # type: ignore[arg-type]


def _header(first: dict[str, Any] | None) -> list[str]:
    crit_ids = [c["id"] for c in first["criteria"]] if first else []
    header = ["rank", "facility_id", "facility_name", "province_code", "sector", "score"]
    for cid in crit_ids:
        header += [f"{cid}/raw", f"{cid}/normalised", f"{cid}/contribution", f"{cid}/stale"]
    header.append("missing")
    return header


def _row(it: dict[str, Any]) -> list[Any]:
    f = it["facility"]
    row = [it["rank"], f["id"], export.neutralise(f["name"]), f["province_code"], f["sector"], it["score"]]
    for c in it["criteria"]:
        row += [c["raw"], c["normalised"], c["contribution"], int(c["stale"])]
    row.append(" ".join(it["missing"]))
    return row


def _flat(result: dict[str, Any]) -> tuple[list[str], Any]:
    """A live ranking (GET /priorities) as a table: every candidate explained."""
    items = result["items"]
    return _header(items[0] if items else None), (_row(it) for it in items)


def _decode_rank_cursor(cursor: str) -> tuple[datetime, int]:
    """A priorities cursor carries the ranking's as_of (so every page ranks the same data) and the last rank."""
    as_of_text, after = decode_cursor(cursor, str, int)
    try:
        return datetime.fromisoformat(as_of_text), after
    except ValueError:
        raise Invalid.at(
            "query.cursor", "invalid_cursor", "Pass back next_cursor exactly as received."
        ) from None


@router.get(
    "/priorities",
    response_model=PrioritiesPage,
    responses={
        **_ERR,
        200: {
            "description": "Ranked candidates (JSON), or CSV/XLSX with ?format=",
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            },
        },
    },
)
def priorities(
    session: SessionDep,
    registry: RegistryDep,
    profiles: ProfilesDep,
    principal: Planner,
    profile: str,
    profile_version: Annotated[int, Query(ge=1, le=10_000)],
    province_code: Annotated[list[str] | None, Query(description="repeatable")] = None,
    sector: Annotated[list[Sector] | None, Query(description="repeatable")] = None,
    kind: Kind | None = None,
    as_of: Annotated[
        UtcDatetime | None,
        Query(description="RFC 3339 with offset; rank with data received up to then (default: now)"),
    ] = None,
    review: Annotated[
        ReviewFilter,
        Query(
            description="which responses count, by their review state as of as_of: any | not_rejected | approved"
        ),
    ] = DEFAULT_FILTER,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    """Rank candidate facilities with a scoring profile; every item explains its score criterion by criterion."""
    prof = profiles.get(profile, profile_version)
    after = 0
    if cursor:
        as_of, after = _decode_rank_cursor(cursor)
    when = service.check_as_of(as_of, "query.as_of")
    filters = service.Filters(
        tuple(sorted(province_code or [])),
        tuple(sorted(s.value for s in sector or [])),
        kind.value if kind else None,
    )
    result = service.ranked(session=session, registry=registry, profile=prof, principal=principal, filters=filters,
                            as_of=when, review=review)  # fmt: skip
    if format != "json":
        header, rows = _flat(result)
        chunks, media = export.stream(format, header, rows, f"{prof.key}-v{prof.version}")
        return StreamingResponse(
            chunks,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="priorities-{prof.key}-v{prof.version}.{format}"'
            },
        )
    page = result["items"][after : after + limit]
    nxt = encode_cursor(when.isoformat(), after + limit) if after + limit < len(result["items"]) else None
    body = {k: v for k, v in result.items() if k not in ("items", "filters")}
    body["profile"] = {"key": prof.key, "version": prof.version}
    return JSONResponse({**body, "items": page, "next_cursor": nxt})


@router.post("/rankings", status_code=201, response_model=RankingDocument, responses=_ERR)
def create_ranking(
    body: rankings.RankingCreate,
    session: StagedWriteSessionDep,
    registry: RegistryDep,
    profiles: ProfilesDep,
    principal: Planner,
) -> Any:
    """Freeze a ranking (and, with a budget, its optimal selection); returns the stored document: inputs,
    counts, selection summary and the first page of items (the rest: /items and /selection)."""
    r = rankings.create(session=session, registry=registry, profiles=profiles, principal=principal, body=body)
    return JSONResponse(rankings.document(session, r), status_code=201)


@router.get("/rankings", response_model=Page[RankingSummary], responses=_ERR)
def list_rankings(session: SessionDep, principal: Planner, page: PageDep) -> Page[RankingSummary]:
    """Frozen rankings you may see, newest first."""
    rows, nxt = rankings.list_rankings(
        session=session, principal=principal, cursor=page.cursor, limit=page.limit
    )
    return Page(items=[RankingSummary.model_validate(r, from_attributes=True) for r in rows], next_cursor=nxt)


@router.get("/rankings/{ranking_id}", response_model=RankingDocument, responses=_ERR)
def get_ranking(ranking_id: str, session: SessionDep, principal: Planner) -> Any:
    """A frozen ranking exactly as stored: inputs, counts, selection summary and the first page of items."""
    return JSONResponse(
        rankings.document(session, rankings.get(session=session, principal=principal, ranking_id=ranking_id))
    )


@router.get("/rankings/{ranking_id}/items", response_model=RankedItemsPage, responses=_ERR)
def ranking_items(ranking_id: str, session: SessionDep, principal: Planner, page: PageDep) -> Any:
    """A page of a frozen ranking's items in rank order, each explained as when it was frozen; start from the
    document's `items_next_cursor` (or without a cursor, from rank 1)."""
    r = rankings.get(session=session, principal=principal, ranking_id=ranking_id)
    texts, nxt = rankings.item_texts(session, r, cursor=page.cursor, limit=page.limit)
    # The items' stored texts are served as they are: no parsing, no re-serialising.
    body = '{"items":[' + ",".join(texts) + '],"next_cursor":' + json.dumps(nxt) + "}"
    return Response(body, media_type="application/json")


@router.get(
    "/rankings/{ranking_id}/selection",
    response_model=SelectionPage,
    responses={
        **_ERR,
        404: {**PROBLEM_RESPONSES[404], "description": "No such ranking you may see, or it has no budget"},
    },
)
def ranking_selection(
    ranking_id: str,
    session: SessionDep,
    principal: Planner,
    page: PageDep,
    part: Annotated[
        rankings.SelectionPart,
        Query(
            description="selected (default): the selected facilities; not_selectable: ranked facilities without a "
            "cost; passed_over: the candidates ranked above the last selected one that were not selected, each "
            "with its reason"
        ),
    ] = "selected",
) -> Any:
    """A page of a frozen ranking's budgeted selection, in rank order."""
    r = rankings.get(session=session, principal=principal, ranking_id=ranking_id)
    items, nxt = rankings.selection_page(session, r, cursor=page.cursor, limit=page.limit, part=part)
    return JSONResponse({"items": items, "next_cursor": nxt})


def ranking_table(ranking: Any) -> tuple[list[str], Iterator[list[Any]]]:
    """A frozen ranking as a table: every candidate explained (as `_flat`) and a `selected` column (1/0). Items
    are read page by page as rows are written, each page in its own short session (streamed downloads)."""
    items = rankings.iter_items(ranking)
    first = next(items, None)

    def rows() -> Iterator[list[Any]]:
        if first is None:
            return
        for item, state in itertools.chain([first], items):
            yield [*_row(item), int(state == SELECTION_SELECTED)]

    return [*_header(first[0] if first else None), "selected"], rows()


@router.get(
    "/rankings/{ranking_id}/export.csv",
    response_class=StreamingResponse,
    responses={**_ERR, 200: {"content": {"text/csv": {}}, "description": "CSV"}},
)
def export_ranking(ranking_id: str, session: SessionDep, principal: Planner) -> StreamingResponse:
    """A frozen ranking as CSV, with a `selected` column when it has a budgeted selection."""
    r = rankings.get(session=session, principal=principal, ranking_id=ranking_id)
    header, rows = ranking_table(r)
    chunks, media = export.stream("csv", header, rows, "ranking")
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="ranking-{r.id}.csv"'},
    )
