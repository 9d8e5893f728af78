"""The lowest layer of the response write path: stored forms of rows, the writers, outcomes, and `store()`.

Nothing here imports the layers above (committer → ingest → service); they import this.

Guarantees kept here:
- a retry is never a duplicate: the client-chosen id is UNIQUE in the database; a losing racer reads the
  winner's row and compares content hashes (same → duplicate, different → conflict);
- the listing never skips a row: sequence numbers are handed out in commit order (SQLite has one writer;
  PostgreSQL takes a transaction-scoped advisory lock around the insert).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, select
from sqlmodel import Session

from app.access import scope
from app.access.form_links import Quota
from app.access.principal import Principal
from app.core import uow
from app.core.db import RowWriter, advisory_lock, row_writer
from app.core.errors import AppError, Conflict, Invalid
from app.facilities import service as facilities
from app.models import AuditEvent, Facility, Response, ResponseRevision
from app.responses import rules
from app.responses.schemas import LastReview, ResponseCreate, ResponseRead, ResponseReceipt
from app.review.states import derive

INGEST_LOCK = 7_300_001  # advisory lock key: response sequence numbers in commit order


def to_read(r: Response, rev: ResponseRevision) -> ResponseRead:
    tz = timezone(timedelta(minutes=rev.collected_offset_min))
    last = None
    if r.review_state is not None:
        last = LastReview(state=r.review_state, revision=r.review_revision, comment=r.review_comment,  # type: ignore[arg-type]
                          by=r.reviewed_by, at=r.reviewed_at)  # fmt: skip
    return ResponseRead(
        id=r.id, questionnaire=r.questionnaire, version=r.version, facility_id=r.facility_id, province_code=r.province_code,
        answers=rev.answers, collected_at=rev.collected_at.astimezone(tz), location=rev.location, revision=rev.revision,
        received_at=r.received_at, revised_at=rev.received_at, channel=r.channel, submitted_by=r.submitted_by,
        review_state=derive(r.review_state, r.review_revision, r.current_revision), last_review=last,  # type: ignore[arg-type]
    )  # fmt: skip


def latest(session: Session, response_id: str) -> tuple[Response, ResponseRevision] | None:
    """A response with its current revision (None when unknown)."""
    row = session.execute(
        select(Response, ResponseRevision)
        .join(
            ResponseRevision,
            and_(
                ResponseRevision.response_id == Response.id,
                ResponseRevision.revision == Response.current_revision,
            ),
        )  # type: ignore[arg-type]
        .where(Response.id == response_id)  # type: ignore[arg-type]
    ).first()
    return (row[0], row[1]) if row else None


class Outcome:
    """What happened to one submitted response: created, or a duplicate of the stored one."""

    __slots__ = ("status", "_response", "_revision")

    def __init__(self, status: str, response: Response, revision: ResponseRevision) -> None:
        self.status, self._response, self._revision = status, response, revision

    @property
    def response(self) -> Response:
        return self._response

    @property
    def revision(self) -> ResponseRevision:
        return self._revision

    def read(self) -> ResponseRead:
        return to_read(self.response, self.revision)

    def visible_to(self, principal: Principal) -> bool:
        """Whether the caller may learn anything of the stored response (always when it just stored it)."""
        if self.status == "created":
            return True
        r = self.response
        return scope.may_read_response(principal, r.province_code, r.submitted_by)

    def read_for(self, principal: Principal) -> ResponseRead | ResponseReceipt:
        """The stored body for a caller who may read it (always when just created); else only a receipt (with
        when it was received and for which facility when the caller submitted it itself)."""
        if self.visible_to(principal):
            return self.read()
        r = self.response
        if r.submitted_by == principal.name:
            # Its own retry after a lost reply (a form link): what its 201 would have told it, not the answers.
            return ResponseReceipt(id=r.id, questionnaire=r.questionnaire, version=r.version, status=self.status,
                                   received_at=r.received_at, facility_id=r.facility_id)  # fmt: skip
        return ResponseReceipt(id=r.id, questionnaire=r.questionnaire, version=r.version, status=self.status)


_STORED_HASH = select(Response.content_hash).where(Response.id == bindparam("rid"))  # type: ignore[arg-type]


_UNREAD: Any = object()


def existing(session: Session, body_id: str, digest: str, stored: Any = _UNREAD) -> Outcome | None:
    """The stored response with this id as a duplicate (same content hash), Conflict (other content), or None.

    `stored`: the stored content hash when the caller already read it (None: no such response)."""
    if stored is _UNREAD:
        stored = session.connection().execute(_STORED_HASH, {"rid": body_id}).scalar()
    if stored is None:
        return None
    if stored != digest:
        raise Conflict.at("id", "conflict", "This id is taken by different content; choose a new id for new content.",
                          detail=f"A different response with id {body_id} was already received.")  # fmt: skip
    found = latest(session, body_id)
    return None if found is None else Outcome("duplicate", *found)


class FacilityRef(Protocol):
    """What ingest needs of a facility: a Facility, or its (id, province_code) row read without the ORM."""

    @property
    def id(self) -> str: ...
    @property
    def province_code(self) -> str: ...


RESPONSE_COLS = ("id", "questionnaire", "version", "facility_id", "province_code", "submitted_by", "channel",
                 "content_hash", "current_revision", "received_at")  # fmt: skip
REVISION_COLS = ("response_id", "revision", "answers", "collected_at", "collected_offset_min", "location", "submitted_by",
                 "received_at")  # fmt: skip
AUDIT_COLS = ("key_name", "role", "action", "resource_type", "resource_id", "client_ip", "request_id", "detail",
              "province_code", "at")  # fmt: skip


def _writers(dialect: Any) -> tuple[RowWriter, RowWriter, RowWriter]:
    return (row_writer(Response.__table__, RESPONSE_COLS, dialect),  # type: ignore[attr-defined]
            row_writer(ResponseRevision.__table__, REVISION_COLS, dialect),  # type: ignore[attr-defined]
            row_writer(AuditEvent.__table__, AUDIT_COLS, dialect))  # type: ignore[attr-defined]  # fmt: skip


def unknown_facility(fid: str) -> Invalid:
    return Invalid.at("facility_id", "unknown_facility",  # type: ignore[return-value]
                      f"No facility {fid} is registered in your provinces; register it first or send it inline as 'facility'.")  # fmt: skip


_FACILITIES_BY_ID = select(Facility.id, Facility.province_code).where(
    Facility.id.in_(bindparam("ids", expanding=True))  # type: ignore[attr-defined]
)


class Pending:
    """One checked response, ready to store. Once its facility is known, its rows are already in stored
    form (the receive time, last in each row, is stamped by the write transaction), so the transaction
    holding the write lock has nothing left to do but insert.

    Its facility is known (`f`), an inline one still to register (`f` None), or — the single post's hot
    path — an id to read in the write transaction itself (`lookup`): one read of all a group's facilities,
    and the scope checked against the row as it is when the response is stored."""

    __slots__ = ("principal", "body", "digest", "definition", "head", "rev", "stored", "lookup")

    def __init__(self, principal: Principal, body: ResponseCreate, digest: str, d: Any, f: FacilityRef | None,
                 dialect: Any, lookup: str | None = None) -> None:  # fmt: skip
        self.principal, self.body, self.digest, self.definition = principal, body, digest, d
        self.head: dict[str, Any] = {}
        self.rev: dict[str, Any] = {}
        self.stored: tuple[tuple[Any, ...], ...] = ()
        self.lookup = lookup
        if f is not None:
            self.bind(f, dialect)

    def bind(self, f: FacilityRef, dialect: Any) -> None:
        body, principal, d = self.body, self.principal, self.definition
        self.head = {"id": body.id, "questionnaire": d.key, "version": d.version, "facility_id": f.id, "province_code": f.province_code,
                     "submitted_by": principal.name, "channel": principal.channel, "content_hash": self.digest, "current_revision": 1, "received_at": None}  # fmt: skip
        self.rev = {"response_id": body.id, "revision": 1, "answers": body.answers, "collected_at": body.collected_at,
                    "collected_offset_min": int(body.collected_at.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
                    "location": body.location.model_dump() if body.location else None, "submitted_by": principal.name,
                    "received_at": None}  # fmt: skip
        audit_row = {"key_name": principal.name, "role": principal.role, "action": "response.created", "resource_type": "response",
                     "resource_id": body.id, "client_ip": principal.client_ip, "request_id": principal.request_id,
                     "detail": {"questionnaire": d.key, "version": d.version}, "province_code": f.province_code, "at": None}  # fmt: skip
        responses, revisions, audits = _writers(dialect)
        self.stored = (
            responses.stored(self.head)[:-1],
            revisions.stored(self.rev)[:-1],
            audits.stored(audit_row)[:-1],
        )


class Created(Outcome):
    """A response this request stored; its ORM objects are built only if the caller asks for them."""

    __slots__ = ("_pending", "_now")

    def __init__(self, pending: Pending, now: datetime) -> None:
        self.status, self._pending, self._now = "created", pending, now

    @property
    def response(self) -> Response:
        return Response(**{**self._pending.head, "received_at": self._now})

    @property
    def revision(self) -> ResponseRevision:
        return ResponseRevision(**{**self._pending.rev, "received_at": self._now})

    def read(self) -> ResponseRead:
        head, rev = self._pending.head, self._pending.rev
        # Built from values this request checked and stored: no second validation (the hot path's answer).
        return ResponseRead.model_construct(
            id=head["id"], questionnaire=head["questionnaire"], version=head["version"], facility_id=head["facility_id"],
            province_code=head["province_code"], answers=rev["answers"],
            collected_at=rev["collected_at"].astimezone(timezone(timedelta(minutes=rev["collected_offset_min"]))),
            location=rev["location"], revision=1, received_at=self._now, revised_at=self._now,
            channel=head["channel"], submitted_by=head["submitted_by"], review_state="received", last_review=None,
        )  # fmt: skip


def stored_event(p: Pending, now: datetime) -> uow.ResponseStored:
    h = p.head
    return uow.ResponseStored(response_id=h["id"], questionnaire=h["questionnaire"], version=h["version"],
                              facility_id=h["facility_id"], province_code=h["province_code"],
                              submitted_by=h["submitted_by"], received_at=now, channel=h["channel"],
                              collected_at=p.body.collected_at, answers=p.body.answers)  # fmt: skip


def _resolve_lookups(session: Session, items: list[Pending], out: list[Any], dialect: Any) -> None:
    """Bind the items whose facility is still an id: one read for the group; unknown or out of scope → 422."""
    wanted = sorted({p.lookup for p in items if p.lookup is not None})
    if not wanted:
        return
    found = {r.id: r for r in session.connection().execute(_FACILITIES_BY_ID, {"ids": wanted})}
    for k, p in enumerate(items):
        if p.lookup is None:
            continue
        f = found.get(p.lookup)
        if f is None or not scope.covers(p.principal, f.province_code):
            out[k] = unknown_facility(p.lookup)
            continue
        # Bound again in every transaction that stores it (a group retried item by item included).
        p.bind(f, dialect)


def store(session: Session, items: list[Pending]) -> list[Outcome | AppError]:
    """Write phase, in the caller's write transaction: register inline facilities, insert what is new.

    Items may come from different callers (group commit) and may repeat an id: the first of an id is
    inserted, later ones are compared with it like any retry. Results are in the order of `items`.
    """
    from app.models.types import utcnow

    advisory_lock(session, INGEST_LOCK)
    dialect = session.get_bind().dialect
    responses, revisions, audits = _writers(dialect)
    now = utcnow()
    stamp = (responses.stored_value("received_at", now),)
    out: list[Outcome | AppError | None] = [None] * len(items)
    _resolve_lookups(session, items, out, dialect)
    rules.check(session, items, out)  # other domains' rules over their questionnaires (project results)
    live = [k for k, o in enumerate(out) if o is None]
    # Form links' caps: new submissions counted here, exactly (over the items still standing).
    quota = Quota.take(session, [items[k] for k in live], now)
    refused = {live[j]: e for j, e in quota.refused.items()}
    rows: list[tuple[int, Pending]] = []
    registered = False  # an inline facility was registered
    for j, k in enumerate(live):
        p = items[k]
        if k in refused:
            out[k] = refused[k]
            continue
        if not p.stored:  # an inline facility, registered now
            assert p.body.facility is not None
            try:
                with session.begin_nested():
                    f: FacilityRef = facilities.create(
                        session=session,
                        principal=p.principal,
                        data=p.body.facility,
                        prefix="facility.",
                        touch=False,
                    )
                    registered = True
            except Conflict as exc:  # registered by someone else since the read phase: use theirs if in scope
                known = facilities.by_tax_code(session, p.body.facility.tax_code or "")
                if known is None or not scope.covers(p.principal, known.province_code):
                    out[k] = exc
                    quota.give_back(session, j)
                    continue
                f = known
            except AppError as exc:
                out[k] = exc
                quota.give_back(session, j)
                continue
            p.bind(f, dialect)
        rows.append((k, p))
    inserted = responses.insert(session, [p.stored[0] + stamp for _, p in rows], conflict_key="id")
    winners: dict[str, int] = {}
    for k, p in rows:
        if p.body.id in inserted and p.body.id not in winners:
            winners[p.body.id] = k
    new = [p for k, p in rows if winners.get(p.body.id) == k]
    if new:
        revisions.insert(session, [p.stored[1] + stamp for p in new])
        audits.insert(session, [p.stored[2] + stamp for p in new])
    # The answer projection and ranking state are handlers of these events (prioritisation.upkeep).
    uow.emit(session, [stored_event(p, now) for p in new],
             [uow.FacilitiesChanged(count=1)] if registered else [])  # fmt: skip
    for k, p in rows:
        if winners.get(p.body.id) == k:
            out[k] = Created(p, now)
        else:  # the id was already stored, or came earlier in this group: the stored row decides
            try:
                hit = existing(session, p.body.id, p.digest)
                out[k] = hit if hit is not None else Conflict("The response could not be stored; retry.")
            except AppError as exc:
                out[k] = exc
    assert all(o is not None for o in out)  # every item is either refused above or resolved here
    return out  # type: ignore[return-value]
