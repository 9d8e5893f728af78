"""Review actions, comments and review history of responses: the one review service (API routes and planner
pages both call it; every function is keyword-only and scoped by the principal).

- A review action or a comment is an append-only `review_event` row; nothing is changed or deleted. The
  response row keeps a copy of its latest review action (state, revision reviewed, comment, by, at) so reads
  and lists need no join; the state now, and as of any instant, is derived (see app.review.states).
- Reviews, comments and history of a response are exactly as visible as the response: callers who may not
  read it get 404 (its existence is not revealed); review actions are for planners and admins (others 403).
- Writes (`act`, `comment`) run inside the caller's write transaction (`WriteSessionDep` in a route).
- A client may choose an event's id: the same id with the same content again returns the stored event
  (created False) instead of adding a second one; other content under that id is 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.access import audit, scope
from app.access.principal import Principal
from app.core import uow
from app.core.errors import Conflict
from app.core.pagination import Keyset, page
from app.models import Response, ReviewEvent
from app.models.types import utcnow
from app.responses import service as responses
from app.review.schemas import ReviewEventRead, ReviewResult
from app.review.states import derive

HISTORY_ORDER = Keyset(ReviewEvent.seq)


def to_read(e: ReviewEvent) -> ReviewEventRead:
    return ReviewEventRead(
        id=e.id, response_id=e.response_id, kind="comment" if e.state is None else "review", state=e.state,  # type: ignore[arg-type]
        comment=e.comment, revision=e.revision, author=e.author, author_role=e.author_role, at=e.at,
    )  # fmt: skip


def _stored(session: Session, event_id: str | None, response_id: str, state: str | None, text: str | None
            ) -> ReviewEvent | None:  # fmt: skip
    """The event already stored under a client-chosen id when it holds this very content; 409 for another."""
    if event_id is None:
        return None
    e = session.execute(select(ReviewEvent).where(ReviewEvent.id == event_id)).scalar_one_or_none()  # type: ignore[arg-type]
    if e is None:
        return None
    if (e.response_id, e.state, e.comment) != (response_id, state, text):
        raise Conflict.at("id", "conflict", "This id is taken by another review or comment; choose a new id for new content.",
                          detail=f"A different review event with id {event_id} was already received.")  # fmt: skip
    return e


def _add(session: Session, e: ReviewEvent) -> ReviewEvent | None:
    """Insert; None when a concurrent request stored the same client-chosen id first."""
    try:
        with session.begin_nested():
            session.add(e)
            session.flush()
    except IntegrityError:
        return None
    return e


def act(
    *,
    session: Session,
    principal: Principal,
    response_id: str,
    state: str,
    comment: str | None = None,
    event_id: str | None = None,
) -> tuple[ReviewResult, bool]:
    """Review the response's latest revision (approved | has_issues | rejected); returns (result, created)."""
    scope.check_role(principal, scope.REVIEWERS, "review responses")
    r, _ = responses.get(session=session, principal=principal, response_id=response_id)
    if (hit := _stored(session, event_id, r.id, state, comment)) is not None:
        return _result(session, hit), False
    # The response's row lock orders this review against revisions and other reviews of the same response,
    # so the revision recorded is the latest one when the review is stored (no-op on SQLite: one writer).
    current = session.execute(
        select(Response.current_revision).where(Response.id == r.id).with_for_update()  # type: ignore[arg-type]
    ).scalar_one()
    now = utcnow()
    e = ReviewEvent(id=event_id or str(uuid.uuid4()), response_id=r.id, state=state, comment=comment, revision=current,
                    author=principal.name, author_role=principal.role, at=now)  # fmt: skip
    if _add(session, e) is None:
        hit = _stored(session, event_id, r.id, state, comment)
        if hit is None:  # pragma: no cover - the unique id was taken and then vanished: nothing is deleted
            raise Conflict("The review could not be stored; retry.")
        return _result(session, hit), False
    session.execute(
        update(Response)
        .where(Response.id == r.id)  # type: ignore[arg-type]
        .values(
            review_state=state,
            review_revision=current,
            review_comment=comment,
            reviewed_by=principal.name,
            reviewed_at=now,
        )  # fmt: skip
    )
    session.expire(r)
    audit.record(session, principal, "response.reviewed", "response", r.id,
                 {"state": state, "revision": current, "review_id": e.id}, province=r.province_code)  # fmt: skip
    uow.emit(session, uow.Reviewed(response_id=r.id, review_id=e.id, state=state, revision=current,
                                   facility_id=r.facility_id, province_code=r.province_code,
                                   reviewer=principal.name, at=now))  # fmt: skip
    return ReviewResult(**to_read(e).model_dump(), review_state=state), True  # type: ignore[arg-type]


def _result(session: Session, e: ReviewEvent) -> ReviewResult:
    row = session.execute(
        select(Response.review_state, Response.review_revision, Response.current_revision).where(
            Response.id == e.response_id  # type: ignore[arg-type]
        )
    ).one()
    return ReviewResult(**to_read(e).model_dump(), review_state=derive(*row))  # type: ignore[arg-type]


def comment(
    *, session: Session, principal: Principal, response_id: str, text: str, event_id: str | None = None
) -> tuple[ReviewEventRead, bool]:
    """Add a comment (anyone who may read the response); returns (comment, created)."""
    scope.check_role(principal, scope.RESPONSE_READERS, "comment on responses")
    r, rev = responses.get(session=session, principal=principal, response_id=response_id)
    if (hit := _stored(session, event_id, r.id, None, text)) is not None:
        return to_read(hit), False
    e = ReviewEvent(id=event_id or str(uuid.uuid4()), response_id=r.id, state=None, comment=text, revision=rev.revision,
                    author=principal.name, author_role=principal.role, at=utcnow())  # fmt: skip
    if _add(session, e) is None:
        hit = _stored(session, event_id, r.id, None, text)
        if hit is None:  # pragma: no cover - see act()
            raise Conflict("The comment could not be stored; retry.")
        return to_read(hit), False
    audit.record(session, principal, "response.commented", "response", r.id, {"comment_id": e.id},
                 province=r.province_code)  # fmt: skip
    return to_read(e), True


def _events(
    session: Session, principal: Principal, response_id: str, where: Any, cursor: str | None, limit: int
) -> tuple[list[ReviewEventRead], str | None]:
    scope.check_role(principal, scope.RESPONSE_READERS, "read responses")
    r, _ = responses.get(session=session, principal=principal, response_id=response_id)
    stmt = select(ReviewEvent).where(ReviewEvent.response_id == r.id, where)  # type: ignore[arg-type]
    rows, nxt = page(session, stmt, HISTORY_ORDER, cursor=cursor, limit=limit)
    return [to_read(e) for e in rows], nxt


def history(
    *, session: Session, principal: Principal, response_id: str, cursor: str | None = None, limit: int = 100
) -> tuple[list[ReviewEventRead], str | None]:
    """The review actions on a response, oldest first (which revision, which state, by whom, when, comment)."""
    return _events(session, principal, response_id, ReviewEvent.state.is_not(None), cursor, limit)  # type: ignore[union-attr]


def comments(
    *, session: Session, principal: Principal, response_id: str, cursor: str | None = None, limit: int = 100
) -> tuple[list[ReviewEventRead], str | None]:
    """The comment thread of a response, oldest first: comments and the comments of review actions."""
    return _events(session, principal, response_id, ReviewEvent.comment.is_not(None), cursor, limit)  # type: ignore[union-attr]
