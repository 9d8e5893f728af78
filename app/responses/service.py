"""Response ingest (single and batch), revisions and listing.

Guarantees, and how they are kept:
- a retry is never a duplicate: the client-chosen id is UNIQUE in the database; a losing racer reads
  the winner's row and compares content hashes (same → duplicate/200, different → conflict/409);
- acknowledged means durable: the transaction holding a response commits before the response is sent
  (single posts: the group commit in committer.py wakes the request after the commit; batches and
  revisions commit in the request's own thread), SQLite in WAL with synchronous=FULL;
- the listing never skips a row: sequence numbers are handed out in commit order (SQLite has one
  writer; PostgreSQL takes a transaction-scoped advisory lock around the insert);
- nothing is overwritten: a revision is a new row; only the pointer to the latest one moves.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.access import audit
from app.access.deps import Principal
from app.access.scope import check_write, readable
from app.core.db import RowWriter, advisory_lock, row_writer, writing
from app.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    Invalid,
    InvalidAnswers,
    NotFound,
    validation_errors,
)
from app.core.jsonutil import sha256_of
from app.core.pagination import decode_cursor, encode_cursor
from app.facilities import service as facilities
from app.models import AuditEvent, Facility, Response, ResponseRevision
from app.models.types import utcnow
from app.questionnaires.registry import Registry
from app.responses.schemas import ResponseCreate, ResponseRead, ResponseRevise

INGEST_LOCK = 7_300_001  # advisory lock key: response sequence numbers in commit order
MAX_CLOCK_SKEW = timedelta(days=1)


def content_hash(body: ResponseCreate) -> str:
    """Hash of the normalised body: key order, whitespace and the offset's spelling do not matter."""
    return sha256_of(body.model_dump(mode="json", exclude_none=False))


def to_read(r: Response, rev: ResponseRevision) -> ResponseRead:
    tz = timezone(timedelta(minutes=rev.collected_offset_min))
    return ResponseRead(
        id=r.id, questionnaire=r.questionnaire, version=r.version, facility_id=r.facility_id, province_code=r.province_code,
        answers=rev.answers, collected_at=rev.collected_at.astimezone(tz), location=rev.location, revision=rev.revision,
        received_at=r.received_at, revised_at=rev.received_at,
    )  # fmt: skip


def _latest(session: Session, response_id: str) -> tuple[Response, ResponseRevision] | None:
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


def _check_collected_at(value: datetime, path: str) -> None:
    if value > utcnow() + MAX_CLOCK_SKEW:
        raise Invalid("collected_at is in the future.", errors=[{"path": path, "code": "in_future",
                      "message": "collected_at is more than a day ahead of the server's clock; check the device's date."}])  # fmt: skip


class _Outcome:
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


_STORED_HASH = select(Response.content_hash).where(Response.id == bindparam("rid"))  # type: ignore[arg-type]


def _existing(session: Session, body_id: str, digest: str) -> _Outcome | None:
    """The stored response with this id as a duplicate (same content hash), Conflict (other content), or None."""
    stored = session.connection().execute(_STORED_HASH, {"rid": body_id}).scalar()
    if stored is None:
        return None
    if stored != digest:
        raise Conflict(f"A different response with id {body_id} was already received; choose a new id for new content.",
                       errors=[{"path": "id", "code": "conflict", "message": "This id is taken by different content."}])  # fmt: skip
    found = _latest(session, body_id)
    return None if found is None else _Outcome("duplicate", *found)


class FacilityRef(Protocol):
    """What ingest needs of a facility: a Facility, or its (id, province_code) row read without the ORM."""

    @property
    def id(self) -> str: ...
    @property
    def province_code(self) -> str: ...


_FACILITY_REF = select(Facility.id, Facility.province_code).where(Facility.id == bindparam("fid"))  # type: ignore[arg-type]


def _lookup_facility(session: Session, principal: Principal, body: ResponseCreate) -> FacilityRef | None:
    """Read phase: the facility the response is about (None: an inline facility still to be registered)."""
    if (body.facility_id is None) == (body.facility is None):
        raise Invalid("Give either facility_id or facility, not both and not neither.",
                      errors=[{"path": "facility_id", "code": "one_of", "message": "Exactly one of facility_id or facility is needed."}])  # fmt: skip
    if body.facility_id is not None:
        f = session.connection().execute(_FACILITY_REF, {"fid": body.facility_id}).first()
        if f is None:
            raise Invalid("Unknown facility.", errors=[{"path": "facility_id", "code": "unknown_facility",
                          "message": f"No facility {body.facility_id} is registered; register it first or send it inline as 'facility'."}])  # fmt: skip
        check_write(principal, f.province_code, "facility_id")
        return f
    assert body.facility is not None
    if (
        body.facility.tax_code
        and (known := facilities.by_tax_code(session, body.facility.tax_code)) is not None
    ):
        check_write(principal, known.province_code, "facility.tax_code")
        return known
    facilities.check_new(principal, body.facility, prefix="facility.")
    return None


def _prepare(
    session: Session,
    registry: Registry,
    principal: Principal,
    body: ResponseCreate,
    known: dict[str, Facility] | None = None,
) -> tuple[Any, FacilityRef | None]:
    """Read-phase checks of one body: version, answers, collected_at, facility and scope.

    `known` holds facilities a batch has already fetched in one query (no per-item lookup for them).
    """
    d = registry.for_responses(body.questionnaire, body.version)
    errors = registry.validator(d).validate(body.answers)
    if errors:
        raise InvalidAnswers(f"{len(errors)} answer(s) do not fit {d.key} v{d.version}.", errors=errors)
    _check_collected_at(body.collected_at, "collected_at")
    if known and body.facility is None and body.facility_id in known:
        f = known[body.facility_id]
        check_write(principal, f.province_code, "facility_id")
        return d, f
    return d, _lookup_facility(session, principal, body)


RESPONSE_COLS = ("id", "questionnaire", "version", "facility_id", "province_code", "submitted_by", "content_hash",
                 "current_revision", "received_at")  # fmt: skip
REVISION_COLS = ("response_id", "revision", "answers", "collected_at", "collected_offset_min", "location", "submitted_by",
                 "received_at")  # fmt: skip
AUDIT_COLS = (
    "key_name",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "client_ip",
    "request_id",
    "detail",
    "at",
)


class _Pending:
    """One checked response, ready to store. Once its facility is known, its rows are already in stored
    form (the receive time, last in each row, is stamped by the write transaction), so the transaction
    holding the write lock has nothing left to do but insert."""

    __slots__ = ("principal", "body", "digest", "definition", "head", "rev", "stored")

    def __init__(self, principal: Principal, body: ResponseCreate, digest: str, d: Any, f: FacilityRef | None,
                 dialect: Any) -> None:  # fmt: skip
        self.principal, self.body, self.digest, self.definition = principal, body, digest, d
        self.head: dict[str, Any] = {}
        self.rev: dict[str, Any] = {}
        self.stored: tuple[tuple[Any, ...], ...] = ()
        if f is not None:
            self.bind(f, dialect)

    def bind(self, f: FacilityRef, dialect: Any) -> None:
        body, principal, d = self.body, self.principal, self.definition
        self.head = {"id": body.id, "questionnaire": d.key, "version": d.version, "facility_id": f.id, "province_code": f.province_code,
                     "submitted_by": principal.name, "content_hash": self.digest, "current_revision": 1, "received_at": None}  # fmt: skip
        self.rev = {"response_id": body.id, "revision": 1, "answers": body.answers, "collected_at": body.collected_at,
                    "collected_offset_min": int(body.collected_at.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
                    "location": body.location.model_dump() if body.location else None, "submitted_by": principal.name,
                    "received_at": None}  # fmt: skip
        audit_row = {"key_name": principal.name, "role": principal.role, "action": "response.created", "resource_type": "response",
                     "resource_id": body.id, "client_ip": principal.client_ip, "request_id": principal.request_id,
                     "detail": {"questionnaire": d.key, "version": d.version}, "at": None}  # fmt: skip
        responses, revisions, audits = _writers(dialect)
        self.stored = (
            responses.stored(self.head)[:-1],
            revisions.stored(self.rev)[:-1],
            audits.stored(audit_row)[:-1],
        )


def _writers(dialect: Any) -> tuple[RowWriter, RowWriter, RowWriter]:
    return (row_writer(Response.__table__, RESPONSE_COLS, dialect),  # type: ignore[attr-defined]
            row_writer(ResponseRevision.__table__, REVISION_COLS, dialect),  # type: ignore[attr-defined]
            row_writer(AuditEvent.__table__, AUDIT_COLS, dialect))  # type: ignore[attr-defined]  # fmt: skip


class _Created(_Outcome):
    """A response this request stored; its ORM objects are built only if the caller asks for them."""

    __slots__ = ("_pending", "_now")

    def __init__(self, pending: _Pending, now: datetime) -> None:
        self.status, self._pending, self._now = "created", pending, now

    @property
    def response(self) -> Response:
        return Response(**{**self._pending.head, "received_at": self._now})

    @property
    def revision(self) -> ResponseRevision:
        return ResponseRevision(**{**self._pending.rev, "received_at": self._now})

    def read(self) -> ResponseRead:
        head, rev = self._pending.head, self._pending.rev
        return ResponseRead(
            id=head["id"], questionnaire=head["questionnaire"], version=head["version"], facility_id=head["facility_id"],
            province_code=head["province_code"], answers=rev["answers"],
            collected_at=rev["collected_at"].astimezone(timezone(timedelta(minutes=rev["collected_offset_min"]))),
            location=rev["location"], revision=1, received_at=self._now, revised_at=self._now,
        )  # fmt: skip


def _store(session: Session, items: list[_Pending]) -> list[_Outcome | AppError]:
    """Write phase, in the caller's write transaction: register inline facilities, insert what is new.

    Items may come from different callers (group commit) and may repeat an id: the first of an id is
    inserted, later ones are compared with it like any retry. Results are in the order of `items`.
    """
    advisory_lock(session, INGEST_LOCK)
    dialect = session.get_bind().dialect
    responses, revisions, audits = _writers(dialect)
    now = utcnow()
    stamp = (responses.stored_value("received_at", now),)
    out: list[_Outcome | AppError | None] = [None] * len(items)
    rows: list[tuple[int, _Pending]] = []
    for k, p in enumerate(items):
        if not p.stored:  # an inline facility, registered now
            assert p.body.facility is not None
            try:
                with session.begin_nested():
                    f = facilities.create(
                        session=session, principal=p.principal, data=p.body.facility, prefix="facility."
                    )
            except Conflict as exc:  # registered by someone else since the read phase: use theirs
                known = facilities.by_tax_code(session, p.body.facility.tax_code or "")
                if known is None:
                    out[k] = exc
                    continue
                f = known
            except AppError as exc:
                out[k] = exc
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
    for k, p in rows:
        if winners.get(p.body.id) == k:
            out[k] = _Created(p, now)
        else:  # the id was already stored, or came earlier in this group: the stored row decides
            try:
                hit = _existing(session, p.body.id, p.digest)
                out[k] = hit if hit is not None else Conflict("The response could not be stored; retry.")
            except AppError as exc:
                out[k] = exc
    assert all(o is not None for o in out)  # every item is either refused above or resolved here
    return out  # type: ignore[return-value]


def ingest(*, session: Session, registry: Registry, principal: Principal, body: ResponseCreate) -> _Outcome:
    """Store one response (created), recognise a retry (duplicate), or refuse (409/422/403).

    Reads and checks happen in the request's own read transaction; the insert then joins the process's
    group commit (`committer`), which writes whatever single posts are waiting in one short transaction
    and answers each only once that transaction has committed.
    """
    digest = content_hash(body)
    if (hit := _existing(session, body.id, digest)) is not None:
        return hit
    d, f = _prepare(session, registry, principal, body)
    pending = _Pending(principal, body, digest, d, f, session.get_bind().dialect)
    session.commit()  # end the read transaction: nothing in it is needed any more
    from app.responses.committer import committer

    result = committer.submit(pending)
    if isinstance(result, AppError):
        raise result
    return result


def ingest_batch(
    *, session: Session, registry: Registry, principal: Principal, items: list[Any]
) -> list[dict[str, Any]]:
    """Each item stands alone with its own status; the new ones are stored with one multi-row insert."""
    results: list[dict[str, Any] | None] = [None] * len(items)
    parsed: list[tuple[int, ResponseCreate, str]] = []
    for i, raw in enumerate(items):
        item_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        try:
            body = ResponseCreate.model_validate(raw)
        except ValidationError as exc:
            results[i] = {
                "id": item_id,
                "status": "invalid",
                "errors": [{**e, "path": f"items.{i}.{e['path']}"} for e in validation_errors(exc.errors())],
            }
            continue
        parsed.append((i, body, content_hash(body)))
    ids = sorted({b.id for _, b, _ in parsed})
    stored = {r.id: (r.content_hash, r.current_revision) for r in session.execute(
        select(Response.id, Response.content_hash, Response.current_revision).where(col(Response.id).in_(ids)))} if ids else {}  # fmt: skip
    fids = sorted({b.facility_id for _, b, _ in parsed if b.facility_id})
    known = (
        {f.id: f for f in session.execute(select(Facility).where(col(Facility.id).in_(fids))).scalars()}
        if fids
        else {}
    )
    first_in_batch: dict[str, tuple[int, str]] = {}
    to_store: list[tuple[int, ResponseCreate, str, Any, FacilityRef | None]] = []

    def fail(i: int, body: ResponseCreate, exc: AppError) -> None:
        status = {409: "conflict", 403: "forbidden"}.get(exc.status, "invalid")
        errs = [{**e, "path": f"items.{i}.{e['path']}"} for e in exc.errors or []] or [
            {"path": f"items.{i}", "code": exc.slug, "message": exc.detail or exc.title}
        ]
        results[i] = {"id": body.id, "status": status, "errors": errs}

    for i, body, digest in parsed:
        if body.id in stored or body.id in first_in_batch:
            # Already stored, or earlier in this very batch: same content is a duplicate, other content a conflict.
            same, rev = (
                (stored[body.id][0] == digest, stored[body.id][1])
                if body.id in stored
                else (first_in_batch[body.id][1] == digest, 1)
            )
            if same:
                results[i] = {"id": body.id, "status": "duplicate", "revision": rev}
            else:
                results[i] = {
                    "id": body.id,
                    "status": "conflict",
                    "errors": [
                        {
                            "path": f"items.{i}.id",
                            "code": "conflict",
                            "message": "This id is taken by different content.",
                        }
                    ],
                }
            continue
        try:
            d, f = _prepare(session, registry, principal, body, known)
        except AppError as exc:
            fail(i, body, exc)
            continue
        first_in_batch[body.id] = (i, digest)
        to_store.append((i, body, digest, d, f))
    if to_store:
        dialect = session.get_bind().dialect
        pending = [_Pending(principal, b, dg, d, f, dialect) for _, b, dg, d, f in to_store]
        with writing(session):
            outcomes = _store(session, pending)
        for (i, body, _, _, _), o in zip(to_store, outcomes, strict=True):
            if isinstance(o, AppError):
                fail(i, body, o)
            else:
                results[i] = {"id": body.id, "status": o.status, "revision": o.revision.revision}
    return [r for r in results if r is not None]


def _readable_response(
    session: Session, principal: Principal, response_id: str
) -> tuple[Response, ResponseRevision]:
    found = _latest(session, response_id)
    if (
        found is None
        or not principal.in_scope(found[0].province_code)
        or (principal.role == "field_officer" and found[0].submitted_by != principal.name)
    ):
        raise NotFound(f"There is no response {response_id} that you may see.")
    return found


def get(*, session: Session, principal: Principal, response_id: str) -> tuple[Response, ResponseRevision]:
    """The latest revision of a response in the caller's reach (404 otherwise)."""
    return _readable_response(session, principal, response_id)


def _revision_hash(answers: dict[str, Any], collected_at: datetime, location: dict[str, Any] | None) -> str:
    return sha256_of({"answers": answers, "collected_at": collected_at.timestamp(), "location": location})


def revise(
    *, session: Session, registry: Registry, principal: Principal, response_id: str, body: ResponseRevise
) -> tuple[_Outcome, bool]:
    """Add revision base+1; returns (outcome, created). A retried identical revision returns the stored one."""
    r, latest = _readable_response(session, principal, response_id)
    if not principal.in_scope(r.province_code):
        raise Forbidden("This response's province is outside your scope.")
    d = registry.for_responses(r.questionnaire, r.version)
    errors = registry.validator(d).validate(body.answers)
    if errors:
        raise InvalidAnswers(f"{len(errors)} answer(s) do not fit {d.key} v{d.version}.", errors=errors)
    _check_collected_at(body.collected_at, "collected_at")
    location = body.location.model_dump() if body.location else None
    wanted = _revision_hash(body.answers, body.collected_at, location)
    if body.base_revision != latest.revision:
        nxt = session.execute(
            select(ResponseRevision).where(
                ResponseRevision.response_id == r.id, ResponseRevision.revision == body.base_revision + 1
            )  # type: ignore[arg-type]
        ).scalar_one_or_none()
        if nxt is not None and _revision_hash(nxt.answers, nxt.collected_at, nxt.location) == wanted:
            return _Outcome("duplicate", r, nxt), False
        raise Conflict(f"Revision {body.base_revision} is not the latest; the latest is {latest.revision}. Fetch it and revise that.",
                       errors=[{"path": "base_revision", "code": "stale", "message": f"The latest revision is {latest.revision}."}])  # fmt: skip
    now = utcnow()
    rev = ResponseRevision(
        response_id=r.id, revision=latest.revision + 1, answers=body.answers, collected_at=body.collected_at,
        collected_offset_min=int(body.collected_at.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
        location=location, received_at=now, submitted_by=principal.name,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(rev)
            session.flush()
            moved = session.execute(
                update(Response)
                .where(Response.id == r.id, Response.current_revision == latest.revision)
                .values(current_revision=rev.revision)  # type: ignore[arg-type]
            ).rowcount  # type: ignore[attr-defined]
            if moved != 1:
                raise IntegrityError("concurrent revision", None, Exception())
    except IntegrityError:
        raise Conflict("Another revision was stored at the same moment; fetch the latest and try again.",
                       errors=[{"path": "base_revision", "code": "stale", "message": "A concurrent revision won."}]) from None  # fmt: skip
    session.expire(r)
    audit.record(session, principal, "response.revised", "response", r.id, {"revision": rev.revision})
    return _Outcome("created", r, rev), True


def revisions(
    *, session: Session, principal: Principal, response_id: str, cursor: str | None, limit: int
) -> tuple[list[ResponseRead], str | None]:
    """Every revision, oldest first."""
    r, _ = _readable_response(session, principal, response_id)
    stmt = select(ResponseRevision).where(ResponseRevision.response_id == r.id)  # type: ignore[arg-type]
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        stmt = stmt.where(ResponseRevision.revision > int(last))  # type: ignore[arg-type]
    rows = list(session.execute(stmt.order_by(ResponseRevision.revision).limit(limit + 1)).scalars())  # type: ignore[arg-type]
    nxt = encode_cursor(rows[limit - 1].revision) if len(rows) > limit else None
    return [to_read(r, rev) for rev in rows[:limit]], nxt


def list_statement(
    principal: Principal,
    *,
    questionnaire: str | None = None,
    version: int | None = None,
    facility_id: str | None = None,
    province_code: list[str] | None = None,
    received_after: datetime | None = None,
    columns: tuple[Any, ...] | None = None,
) -> Any:
    """Latest revisions of the responses the caller may read, in receive order (without paging).

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
    stmt = readable(stmt, principal, Response.province_code, Response.submitted_by)
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
    return stmt


def list_page(
    *, session: Session, principal: Principal, cursor: str | None, limit: int, **filters: Any
) -> tuple[list[ResponseRead], str | None]:
    """One keyset page: WHERE seq > cursor ORDER BY seq LIMIT n."""
    stmt = list_statement(principal, **filters)
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        stmt = stmt.where(Response.seq > int(last))  # type: ignore[operator]
    rows = session.execute(stmt.order_by(Response.seq).limit(limit + 1)).all()
    nxt = encode_cursor(rows[limit - 1][0].seq) if len(rows) > limit else None
    return [to_read(r, rev) for r, rev in rows[:limit]], nxt
