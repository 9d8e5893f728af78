"""Review endpoints: review actions, review history and comments of a response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Response as HttpResponse

from app.access.deps import Principal, require
from app.core.db import SessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute
from app.review import service
from app.review.schemas import CommentCreate, ReviewCreate, ReviewEventRead, ReviewResult

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1/responses",
    tags=["review"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 413, 422, 429)},
)

Reviewer = Annotated[Principal, Depends(require("planner"))]
Reader = Annotated[Principal, Depends(require("planner", "field_officer"))]
MAX_BODY = 64 * 1024  # a comment is at most 4,000 characters


@router.post(
    "/{response_id}/review",
    status_code=201,
    response_model=ReviewResult,
    max_body_size=MAX_BODY,
    responses={
        200: {
            "model": ReviewResult,
            "description": "A retry (same client-chosen id and content): the stored review",
        },
        409: PROBLEM_RESPONSES[409],
    },
)
def review(
    response_id: str, body: ReviewCreate, session: WriteSessionDep, principal: Reviewer, http: HttpResponse
) -> ReviewResult:
    """Review the latest revision (planners and admins in scope): approved, has_issues or rejected, with an optional
    comment for the field officer; audited and kept in the review history."""
    out, created = service.act(session=session, principal=principal, response_id=response_id, state=body.state,
                               comment=body.comment, event_id=body.id)  # fmt: skip
    if not created:
        http.status_code = 200
    return out


@router.get("/{response_id}/reviews", response_model=Page[ReviewEventRead])
def review_history(
    response_id: str, session: SessionDep, principal: Reader, page: PageDep
) -> Page[ReviewEventRead]:
    """The review actions on a response, oldest first: the state set, the revision reviewed, by whom, when, comment."""
    items, nxt = service.history(
        session=session, principal=principal, response_id=response_id, cursor=page.cursor, limit=page.limit
    )
    return Page(items=items, next_cursor=nxt)


@router.get("/{response_id}/comments", response_model=Page[ReviewEventRead])
def list_comments(
    response_id: str, session: SessionDep, principal: Reader, page: PageDep
) -> Page[ReviewEventRead]:
    """The comment thread of a response, oldest first: comments, and review actions that carried a comment."""
    items, nxt = service.comments(
        session=session, principal=principal, response_id=response_id, cursor=page.cursor, limit=page.limit
    )
    return Page(items=items, next_cursor=nxt)


@router.post(
    "/{response_id}/comments",
    status_code=201,
    response_model=ReviewEventRead,
    max_body_size=MAX_BODY,
    responses={
        200: {
            "model": ReviewEventRead,
            "description": "A retry (same client-chosen id and content): the stored comment",
        },
        409: PROBLEM_RESPONSES[409],
    },
)
def add_comment(
    response_id: str, body: CommentCreate, session: WriteSessionDep, principal: Reader, http: HttpResponse
) -> ReviewEventRead:
    """Comment on a response (anyone who may read it: the field officer who submitted it, planners, admins)."""
    out, created = service.comment(
        session=session, principal=principal, response_id=response_id, text=body.comment, event_id=body.id
    )
    if not created:
        http.status_code = 200
    return out
