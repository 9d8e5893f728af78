"""Response reads, revisions and listing (ingest is in ingest.py, the stored forms in store.py).

- nothing is overwritten: a revision is a new row; only the pointer to the latest one moves;
- the listing is keyset-paginated on the receive sequence, so it never skips a row while rows arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.access import audit, scope
from app.access.principal import Principal
from app.core import uow
from app.core.errors import Conflict, NotFound
from app.core.jsonutil import sha256_of
from app.core.pagination import Keyset, page
from app.models import Response, ResponseRevision
from app.models.types import utcnow
from app.questionnaires.registry import Registry
from app.responses.ingest import check_answers, check_collected_at
from app.responses.schemas import ResponseRead, ResponseRevise
from app.responses.store import Outcome, latest, to_read
from app.review import states

__all__ = ["READERS", "REVISERS", "SUBMITTERS", "get", "list_page", "list_statement", "revise", "revision_for_instance",
           "revisions", "stores_revision", "to_read"]  # fmt: skip


def get(*, session: Session, principal: Principal, response_id: str) -> tuple[Response, ResponseRevision]:
    """The latest revision of a response the caller may read (404 otherwise, existence not revealed)."""
    found = latest(session, response_id)
    if found is None or not scope.may_read_response(principal, found[0].province_code, found[0].submitted_by):
        raise NotFound(f"There is no response {response_id} that you may see.")
    return found


def _revision_hash(answers: dict[str, Any], collected_at: datetime, location: dict[str, Any] | None) -> str:
    return sha256_of({"answers": answers, "collected_at": collected_at.timestamp(), "location": location})


# Who may do what with responses (admin always): the JSON routes and every other client of this service
# (OpenRosa, attachments) require exactly these.
SUBMITTERS = ("field_officer", "portal", "form_link")
REVISERS = ("field_officer",)
READERS = ("planner", "field_officer")


def revision_for_instance(session: Session, instance_id: str) -> tuple[str, int] | None:
    """(response id, revision) that a client-named instance denotes: a response's own id names its first
    revision; a later revision is named by the instance_id it was stored with. None when unknown."""
    rev = session.execute(
        select(ResponseRevision.response_id, ResponseRevision.revision).where(
            ResponseRevision.instance_id == instance_id  # type: ignore[arg-type]
        )
    ).first()
    if rev is not None:
        return rev[0], rev[1]
    head = session.execute(select(Response.id).where(Response.id == instance_id)).first()  # type: ignore[arg-type]
    return (head[0], 1) if head is not None else None


def stores_revision(session: Session, response_id: str, revision: int, body: ResponseRevise) -> bool:
    """Whether that stored revision holds exactly this content (answers, collected_at, location): how a resend of
    a revision is told from other content under the same client-chosen name."""
    rev = session.execute(
        select(ResponseRevision).where(
            ResponseRevision.response_id == response_id, ResponseRevision.revision == revision
        )  # type: ignore[arg-type]
    ).scalar_one_or_none()
    location = body.location.model_dump() if body.location else None
    return rev is not None and _revision_hash(rev.answers, rev.collected_at, rev.location) == _revision_hash(
        body.answers, body.collected_at, location
    )


def revise(
    *,
    session: Session,
    registry: Registry,
    principal: Principal,
    response_id: str,
    body: ResponseRevise,
    instance_id: str | None = None,
) -> tuple[Outcome, bool]:
    """Add revision base+1; returns (outcome, created). A retried identical revision returns the stored one.

    `instance_id`: the client's own name for the new revision (an OpenRosa instanceID), kept with it."""
    r, current = get(session=session, principal=principal, response_id=response_id)
    scope.check_write(principal, r.province_code)
    d = registry.for_responses(r.questionnaire, r.version)
    check_answers(registry, d, body.answers)
    check_collected_at(body.collected_at)
    location = body.location.model_dump() if body.location else None
    wanted = _revision_hash(body.answers, body.collected_at, location)
    if body.base_revision != current.revision:
        nxt = session.execute(
            select(ResponseRevision).where(
                ResponseRevision.response_id == r.id, ResponseRevision.revision == body.base_revision + 1
            )  # type: ignore[arg-type]
        ).scalar_one_or_none()
        if nxt is not None and _revision_hash(nxt.answers, nxt.collected_at, nxt.location) == wanted:
            return Outcome("duplicate", r, nxt), False
        raise Conflict.at("base_revision", "stale", f"The latest revision is {current.revision}.",
                          detail=f"Revision {body.base_revision} is not the latest; the latest is {current.revision}. Fetch it and revise that.")  # fmt: skip
    rev = ResponseRevision(
        response_id=r.id, revision=current.revision + 1, answers=body.answers, collected_at=body.collected_at,
        collected_offset_min=int(body.collected_at.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
        location=location, received_at=utcnow(), submitted_by=principal.name, instance_id=instance_id,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(rev)
            session.flush()
            moved = session.execute(
                update(Response)
                .where(Response.id == r.id, Response.current_revision == current.revision)
                .values(current_revision=rev.revision)  # type: ignore[arg-type]
            ).rowcount  # type: ignore[attr-defined]
            if moved != 1:
                raise IntegrityError("concurrent revision", None, Exception())
    except IntegrityError:
        raise Conflict.at("base_revision", "stale", "A concurrent revision won; fetch the latest and try again.",
                          detail="Another revision was stored at the same moment.") from None  # fmt: skip
    session.expire(r)
    audit.record(
        session,
        principal,
        "response.revised",
        "response",
        r.id,
        {"revision": rev.revision},
        province=r.province_code,
    )
    uow.emit(session, uow.ResponseRevised(response_id=r.id, revision=rev.revision, questionnaire=r.questionnaire,
                                          version=r.version, facility_id=r.facility_id, province_code=r.province_code,
                                          submitted_by=principal.name, received_at=rev.received_at))  # fmt: skip
    return Outcome("created", r, rev), True


def revisions(
    *, session: Session, principal: Principal, response_id: str, cursor: str | None, limit: int
) -> tuple[list[ResponseRead], str | None]:
    """Every revision, oldest first."""
    r, _ = get(session=session, principal=principal, response_id=response_id)
    stmt = select(ResponseRevision).where(ResponseRevision.response_id == r.id)  # type: ignore[arg-type]
    rows, nxt = page(session, stmt, Keyset(ResponseRevision.revision), cursor=cursor, limit=limit)
    return [to_read(r, rev) for rev in rows], nxt


def list_statement(
    principal: Principal,
    *,
    questionnaire: str | None = None,
    version: int | None = None,
    facility_id: str | None = None,
    province_code: list[str] | None = None,
    received_after: datetime | None = None,
    review_state: list[str] | None = None,
    columns: tuple[Any, ...] | None = None,
) -> Any:
    """Latest revisions of the responses the caller may read, in receive order (without paging).

    `review_state`: only responses whose review state now is one of these (see app.review.states).
    `columns` selects plain columns instead of the two entities (exports: no ORM objects per row).
    """
    stmt: Any = (
        select(*(columns or (Response, ResponseRevision)))
        .select_from(Response)
        .join(
            ResponseRevision,
            and_(
                ResponseRevision.response_id == Response.id,
                ResponseRevision.revision == Response.current_revision,
            ),  # type: ignore[arg-type]
        )
    )
    stmt = scope.readable(stmt, principal, Response.province_code, Response.submitted_by)
    if questionnaire:
        stmt = stmt.where(Response.questionnaire == questionnaire)
    if version is not None:
        stmt = stmt.where(Response.version == version)
    if facility_id:
        stmt = stmt.where(Response.facility_id == facility_id)
    if province_code:
        stmt = stmt.where(Response.province_code.in_(province_code))  # type: ignore[attr-defined]
    if received_after is not None:
        stmt = stmt.where(Response.received_at > received_after)  # type: ignore[operator]
    if review_state:
        stmt = stmt.where(states.current_is(review_state))
    return stmt


RECEIVE_ORDER = Keyset(Response.seq)


def list_page(
    *, session: Session, principal: Principal, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[ResponseRead], str | None]:
    """One keyset page in receive order."""
    rows, nxt = page(session, list_statement(principal, **filters), RECEIVE_ORDER, cursor=cursor, limit=limit,
                     scalars=False, key=lambda row: row[0].seq)  # fmt: skip
    return [to_read(r, rev) for r, rev in rows], nxt
