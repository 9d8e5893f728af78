"""Survey response endpoints: submit (single, batch), revise, read, list."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Response as HttpResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.access.deps import Principal, authenticate, require
from app.core.config import get_settings
from app.core.db import SessionDep, StagedWriteSessionDep, WriteSessionDep, get_engine
from app.core.errors import PROBLEM_RESPONSES
from app.core.fields import UtcDatetime
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute, ModelResponse, body_errors, fast_path
from app.deps import RegistryDep
from app.questionnaires.registry import Registry
from app.responses import ingest, service
from app.responses.schemas import (
    BatchIn,
    BatchItemResult,
    BatchOut,
    ResponseCreate,
    ResponseRead,
    ResponseReceipt,
    ResponseRevise,
)
from app.review.states import ReviewState

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1/responses",
    tags=["responses"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 413, 422, 429)},
)

Submitter = Annotated[Principal, Depends(require(*service.SUBMITTERS))]
Reviser = Annotated[Principal, Depends(require(*service.REVISERS))]
Reader = Annotated[Principal, Depends(require(*service.READERS))]


# A post with more answers than this (no questionnaire has that many questions: every extra one is an error
# to list) is checked in a worker thread rather than on the event loop.
LOOP_ANSWERS = 300


def _ingest_one(registry: Registry, principal: Principal, body: ResponseCreate) -> ModelResponse:
    with Session(bind=get_engine(), expire_on_commit=False) as session:
        out = ingest.ingest(session=session, registry=registry, principal=principal, body=body)
        # Serialised once here (no second validation of the return value).
        return ModelResponse(out.read_for(principal), status_code=200 if out.status == "duplicate" else 201)


async def _submit_fast(request: Request) -> ModelResponse | None:
    """POST /responses without FastAPI's per-request dependency solving: the ingest hot path (field officers
    syncing in bulk). Same access check (done before the body), same strict JSON, same model, same checks.
    A post about a registered facility by an API key is checked on the event loop and awaits its group
    commit there (`ingest.ingest_async`); anything else (an inline facility, a form link, more than
    LOOP_ANSWERS answers) runs `ingest.ingest` in one worker thread. Bodies that are not JSON go to `submit` itself."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return None
    principal = await authenticate(request)  # checked before the body was read; here it is only looked up
    try:
        body = ResponseCreate.model_validate(await request.json())
    except (json.JSONDecodeError, ValidationError) as exc:
        raise body_errors(exc) from None
    registry = request.app.state.registry
    small = len(body.answers) <= LOOP_ANSWERS  # thousands of answers are checked in a worker thread
    if body.facility_id is not None and body.facility is None and principal.kind == "key" and small:
        out = await ingest.ingest_async(
            registry=registry, principal=principal, body=body, dialect=get_engine().dialect
        )
        return ModelResponse(out.read_for(principal), status_code=200 if out.status == "duplicate" else 201)
    return await run_in_threadpool(_ingest_one, registry, principal, body)


@router.post(
    "",
    status_code=201,
    response_model=ResponseRead | ResponseReceipt,
    responses={
        200: {
            "model": ResponseRead | ResponseReceipt,
            "description": "A retry of a stored response: the stored body if you may read it, else a receipt",
        },
        409: PROBLEM_RESPONSES[409],
        429: {
            **PROBLEM_RESPONSES[429],
            "description": "Over the key's request rate, or (`form-link-rate-limited`) "
            "over a form link's allowance of responses stored plus facilities registered a minute; nothing was "
            "stored; `Retry-After` says when to send it again (a retry of a stored response is never refused)",
        },
    },  # fmt: skip
)
@fast_path(_submit_fast)
def submit(
    body: ResponseCreate,
    session: StagedWriteSessionDep,
    registry: RegistryDep,
    principal: Submitter,
) -> ModelResponse:
    """Submit one response; the same id and content again is 200 (the stored body if you may read it), other
    content under the same id 409."""
    out = ingest.ingest(session=session, registry=registry, principal=principal, body=body)
    return ModelResponse(out.read_for(principal), status_code=200 if out.status == "duplicate" else 201)


@router.post("/batch", response_model=BatchOut, max_body_size=get_settings().max_batch_body_bytes)
def submit_batch(
    body: BatchIn, session: StagedWriteSessionDep, registry: RegistryDep, principal: Submitter
) -> ModelResponse:
    """Up to 500 responses; each item gets its own status, in input order, and never affects the others.

    A form link's items beyond its allowance a minute are `rate_limited` (with `retry_after` seconds; the
    reply's `Retry-After` is the longest), each on its own: the others are stored."""
    results = ingest.ingest_batch(session=session, registry=registry, principal=principal, items=body.items)
    waits = [r["retry_after"] for r in results if r.get("retry_after") is not None]
    out = BatchOut(results=[BatchItemResult(**r) for r in results])
    return ModelResponse(out, headers={"Retry-After": str(max(waits))} if waits else None)


@router.get("", response_model=Page[ResponseRead])
def list_responses(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    questionnaire: str | None = None,
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    facility_id: str | None = None,
    province_code: Annotated[list[str] | None, Query(description="repeatable")] = None,
    received_after: Annotated[UtcDatetime | None, Query(description="RFC 3339 with offset")] = None,
    review_state: Annotated[
        list[ReviewState] | None,
        Query(description="repeatable; e.g. a field officer's to-do list: review_state=has_issues"),
    ] = None,
) -> Page[ResponseRead]:
    """Latest revisions in the order received, keyset-paginated; stable while new responses arrive."""
    items, nxt = service.list_page(
        session=session, principal=principal, cursor=page.cursor, limit=page.limit, questionnaire=questionnaire,
        version=version, facility_id=facility_id, province_code=province_code, received_after=received_after,
        review_state=review_state,
    )  # fmt: skip
    return Page(items=items, next_cursor=nxt)


@router.get("/{response_id}", response_model=ResponseRead, responses={404: PROBLEM_RESPONSES[404]})
def get_response(response_id: str, session: SessionDep, principal: Reader) -> ResponseRead:
    """The latest revision of one response (field officers: only their own)."""
    return service.to_read(*service.get(session=session, principal=principal, response_id=response_id))


@router.put(
    "/{response_id}",
    response_model=ResponseRead,
    status_code=201,
    responses={
        200: {"model": ResponseRead, "description": "A retry of a stored revision"},
        404: PROBLEM_RESPONSES[404],
        409: PROBLEM_RESPONSES[409],
    },
)
def revise_response(
    response_id: str,
    body: ResponseRevise,
    session: WriteSessionDep,
    registry: RegistryDep,
    principal: Reviser,
    http: HttpResponse,
) -> ResponseRead:
    """Store a new revision on top of `base_revision` (which must be the latest); nothing is overwritten."""
    out, created = service.revise(
        session=session, registry=registry, principal=principal, response_id=response_id, body=body
    )
    if not created:
        http.status_code = 200
    return service.to_read(out.response, out.revision)


@router.get(
    "/{response_id}/revisions", response_model=Page[ResponseRead], responses={404: PROBLEM_RESPONSES[404]}
)
def list_revisions(
    response_id: str, session: SessionDep, principal: Reader, page: PageDep
) -> Page[ResponseRead]:
    """Every revision of a response, oldest first."""
    items, nxt = service.revisions(
        session=session, principal=principal, response_id=response_id, cursor=page.cursor, limit=page.limit
    )
    return Page(items=items, next_cursor=nxt)


def submit_route() -> ApiRoute:
    """The POST /api/v1/responses route (served by app.responses.lane for devices' JSON posts)."""
    return next(r for r in router.routes if isinstance(r, ApiRoute) and r.endpoint is submit)
