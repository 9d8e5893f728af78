"""Response ingest, single and batch: the reads and checks, then the write (group commit or one batch insert).

Every client that submits responses (JSON API, OpenRosa, the hosted form page) comes through here.
Order of the checks, so that nothing is revealed through a side door: the questionnaire version and what
the caller may submit to, the answers, the facility and its scope, and only then whether the id is already
stored (a duplicate returns the stored body only to a caller who may read it; see store.Outcome.read_for).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from app.access import scope
from app.access.principal import Principal
from app.core.db import writing
from app.core.errors import (
    MAX_FIELD_ERRORS,
    AppError,
    Conflict,
    Invalid,
    InvalidAnswers,
    bounded,
    clip,
    field_error,
    prefixed,
    validation_errors,
)
from app.core.jsonutil import sha256_of
from app.facilities import service as facilities
from app.models import Facility, Response
from app.models.types import utcnow
from app.questionnaires.registry import Registry
from app.responses.committer import committer
from app.responses.schemas import ResponseCreate
from app.responses.store import _UNREAD, FacilityRef, Outcome, Pending, existing, store, unknown_facility

MAX_CLOCK_SKEW = timedelta(days=1)


def content_hash(body: ResponseCreate) -> str:
    """Hash of the normalised body: key order, whitespace and the offset's spelling do not matter."""
    return sha256_of(body.model_dump(mode="json", exclude_none=False))


def check_answers(registry: Registry, d: Any, answers: dict[str, Any], prefix: str = "answers") -> None:
    """422 with one error per broken answer."""
    errors = registry.validator(d).validate(answers, prefix)
    if errors:
        raise InvalidAnswers(f"{len(errors)} answer(s) do not fit {d.key} v{d.version}.", errors=errors)


def check_collected_at(value: Any, path: str = "collected_at") -> None:
    if value > utcnow() + MAX_CLOCK_SKEW:
        raise Invalid.at(path, "in_future", "collected_at is more than a day ahead of the server's clock; check the device's date.",
                         detail="collected_at is in the future.")  # fmt: skip


_FACILITY_REF = select(Facility.id, Facility.province_code).where(Facility.id == bindparam("fid"))  # type: ignore[arg-type]
# The single post's read phase in one round trip: its facility, and the content hash stored under its id.
_FACILITY_AND_STORED = select(
    Facility.id,
    Facility.province_code,
    select(Response.content_hash).where(Response.id == bindparam("rid")).scalar_subquery().label("stored"),  # type: ignore[arg-type]
).where(Facility.id == bindparam("fid"))  # type: ignore[arg-type]


def _facility(
    session: Session, principal: Principal, body: ResponseCreate, known: dict[str, Any] | None = None
) -> FacilityRef | None:
    """The facility the response is about, in the caller's scope (None: an inline facility still to register).

    A facility id or tax code the caller may not read answers as if it did not exist (no province, no id)."""
    if (body.facility_id is None) == (body.facility is None):
        raise Invalid.at("facility_id", "one_of", "Exactly one of facility_id or facility is needed.",
                         detail="Give either facility_id or facility, not both and not neither.")  # fmt: skip
    if body.facility_id is not None:
        f = known.get(body.facility_id) if known else None
        if f is None and known is None:  # a single post: the stored hash of its id comes along (see ingest)
            f = (
                session.connection()
                .execute(_FACILITY_AND_STORED, {"fid": body.facility_id, "rid": body.id})
                .first()
            )
        elif f is None:
            f = session.connection().execute(_FACILITY_REF, {"fid": body.facility_id}).first()
        if f is None or not scope.covers(principal, f.province_code):
            raise unknown_facility(body.facility_id)
        return f  # type: ignore[no-any-return]
    assert body.facility is not None
    if body.facility.tax_code and (f := facilities.by_tax_code(session, body.facility.tax_code)) is not None:
        if not scope.covers(principal, f.province_code):
            raise facilities.duplicate_tax_code(f, principal, "facility.tax_code")
        return f
    facilities.check_new(principal, body.facility, prefix="facility.")
    return None


def _prepare(
    session: Session,
    registry: Registry,
    principal: Principal,
    body: ResponseCreate,
    known: dict[str, Any] | None = None,
) -> tuple[Any, FacilityRef | None]:
    """Read-phase checks of one body: version, what the caller may submit, answers, collected_at, facility."""
    d = _check_content(registry, principal, body)
    return d, _facility(session, principal, body, known)


def _check_content(registry: Registry, principal: Principal, body: ResponseCreate) -> Any:
    """The checks that read no data: the version, what the caller may submit to, the answers, collected_at."""
    d = registry.for_responses(body.questionnaire, body.version)
    scope.check_submit(principal, d.key)
    check_answers(registry, d, body.answers)
    check_collected_at(body.collected_at)
    return d


def ingest(*, session: Session, registry: Registry, principal: Principal, body: ResponseCreate) -> Outcome:
    """Store one response (created), recognise a retry (duplicate), or refuse (409/422/403).

    Reads and checks happen in the request's own read transaction; the insert then joins the process's
    group commit (`committer`), which writes whatever single posts are waiting in one short transaction
    and answers each only once that transaction has committed.
    """
    digest = content_hash(body)
    d, f = _prepare(session, registry, principal, body)
    stored = f.stored if isinstance(f, Row) and "stored" in f._fields else _UNREAD
    if (hit := existing(session, body.id, digest, stored)) is not None:
        return hit
    pending = Pending(principal, body, digest, d, f, session.get_bind().dialect)
    session.commit()  # end the read transaction: nothing in it is needed any more
    result = committer.submit(pending)
    if isinstance(result, AppError):
        raise result
    return result  # type: ignore[no-any-return]


async def ingest_async(
    *, registry: Registry, principal: Principal, body: ResponseCreate, dialect: Any
) -> Outcome:
    """`ingest` for a post about a registered facility, awaited on the event loop (the single post's hot path).

    The same checks in the same order, without a read transaction of its own: the checks that need no data
    run here; the facility (and its scope) and the stored id are read in the group's write transaction,
    where `store` checks them in that order before inserting — one read for the whole group, and the scope
    as it is when the response is stored."""
    assert body.facility_id is not None and body.facility is None
    digest = content_hash(body)
    d = _check_content(registry, principal, body)
    result = await committer.submit_async(
        Pending(principal, body, digest, d, None, dialect, lookup=body.facility_id)
    )
    if isinstance(result, AppError):
        raise result
    return result  # type: ignore[no-any-return]


# A batch reply lists at most this many field errors in all (each item at most MAX_FIELD_ERRORS, and always
# its first): 500 items of thousands of errors each answer in well under a megabyte (see `_bound_reply`).
MAX_BATCH_FIELD_ERRORS = 1000


def _failed(i: int, item_id: str | None, exc: AppError) -> dict[str, Any]:
    status = {409: "conflict", 403: "forbidden", 429: "rate_limited"}.get(exc.status, "invalid")
    errs = prefixed(exc.errors, f"items.{i}.") or [
        field_error(f"items.{i}", exc.slug, clip(exc.detail or exc.title, 500))
    ]
    out = {"id": item_id, "status": status, "errors": errs, "more_errors": exc.more_errors}
    if (wait := getattr(exc, "retry_after", None)) is not None:
        out["retry_after"] = wait
    return out


def _bound_reply(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The whole batch reply bounded: after MAX_BATCH_FIELD_ERRORS listed errors, items list only their first
    (the rest counted in their `more_errors`)."""
    budget = MAX_BATCH_FIELD_ERRORS
    for r in results:
        errs = r.get("errors")
        if not errs:
            r.pop("more_errors", None)
            continue
        keep = max(1, min(len(errs), budget))
        budget -= keep
        more = r.get("more_errors", 0) + len(errs) - keep
        r["errors"] = errs[:keep]
        if more:
            r["more_errors"] = more
        else:
            r.pop("more_errors", None)
    return results


def _item_id(raw: Any) -> str | None:
    """The id an item gave (echoed in its result, cut like any echoed text), when it is a string."""
    value = raw.get("id") if isinstance(raw, dict) else None
    return clip(value, 100) if isinstance(value, str) else None


def ingest_batch(
    *, session: Session, registry: Registry, principal: Principal, items: list[Any]
) -> list[dict[str, Any]]:
    """Each item stands alone with its own status; the new ones are stored with one multi-row insert."""
    results: list[dict[str, Any] | None] = [None] * len(items)
    parsed: list[tuple[int, ResponseCreate, str]] = []
    for i, raw in enumerate(items):
        item_id = _item_id(raw)
        try:
            body = ResponseCreate.model_validate(raw)
        except ValidationError as exc:
            errs, more = bounded(validation_errors(exc.errors()), MAX_FIELD_ERRORS)
            results[i] = {"id": item_id, "status": "invalid", "errors": prefixed(errs, f"items.{i}."),
                          "more_errors": more}  # fmt: skip
            continue
        parsed.append((i, body, content_hash(body)))
    ids = sorted({b.id for _, b, _ in parsed})
    stored = {r.id: (r.content_hash, r.current_revision) for r in session.execute(
        select(Response.id, Response.content_hash, Response.current_revision).where(col(Response.id).in_(ids)))} if ids else {}  # fmt: skip
    fids = sorted({b.facility_id for _, b, _ in parsed if b.facility_id})
    known = {f.id: f for f in session.execute(select(Facility.id, Facility.province_code).where(col(Facility.id).in_(fids)))} if fids else {}  # fmt: skip
    first_in_batch: dict[str, str] = {}
    to_store: list[tuple[int, ResponseCreate, str, Any, FacilityRef | None]] = []
    for i, body, digest in parsed:
        try:
            d, f = _prepare(session, registry, principal, body, known)
        except AppError as exc:
            results[i] = _failed(i, body.id, exc)
            continue
        if body.id in stored or body.id in first_in_batch:
            # Already stored, or earlier in this very batch: same content is a duplicate, other content a conflict.
            same_hash, rev = stored[body.id] if body.id in stored else (first_in_batch[body.id], 1)
            if same_hash == digest:
                results[i] = {"id": body.id, "status": "duplicate", "revision": rev}
            else:
                results[i] = _failed(
                    i, body.id, Conflict.at("id", "conflict", "This id is taken by different content.")
                )
            continue
        first_in_batch[body.id] = digest
        to_store.append((i, body, digest, d, f))
    if to_store:
        dialect = session.get_bind().dialect
        pending = [Pending(principal, b, dg, d, f, dialect) for _, b, dg, d, f in to_store]
        with writing(session):
            outcomes = store(session, pending)
        for (i, body, _, _, _), o in zip(to_store, outcomes, strict=True):
            if isinstance(o, AppError):
                results[i] = _failed(i, body.id, o)
            else:
                results[i] = {"id": body.id, "status": o.status, "revision": o.revision.revision}
    return _bound_reply([r for r in results if r is not None])
