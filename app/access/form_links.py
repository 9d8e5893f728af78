"""Form links: a provincial portal's token, one more kind of principal.

A link's token (`kf_` + 256 random bits; only its SHA-256 is stored) authenticates as `Bearer <token>` with
exactly one right: register a facility inline and submit responses to the link's questionnaires in the link's
province (role `form_link`, which no read route admits; `scope.check_submit` holds it to its questionnaires;
its one province is its scope). It stops at once when revoked or expired (checked on every request, in every
process: one indexed lookup, like keys), and when it has stored `max_submissions` responses: the count is
raised in the very transaction that stores each new response, under the ingest lock, so racing submissions
never pass the cap and a retry of a counted response (a duplicate) never counts again.

Its allowance (FORM_LINK_RATE_LIMIT_PER_MINUTE) counts what it stores, not requests: in any 60 seconds, the
responses a link stores plus the facilities it registers with them stay within it. It is counted in the same place
and transaction as the cap (`Quota.take`, under the ingest lock, from the rows the link stored in the last
minute), so every route that stores responses (a single post, a batch, the hosted page) obeys it, in every
process; what exceeds it is refused item by item (429 with Retry-After), a response whose inline facility
could not be registered is not stored either, and a retry of a stored response (a duplicate) takes nothing.
"""

from __future__ import annotations

import hmac
import math
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import Session, col

from app.access import audit, scope
from app.access.principal import Principal, hash_secret
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.errors import AppError, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized, field_error
from app.core.pagination import Keyset, page
from app.models import Facility, FormLink, Response
from app.models.types import utcnow
from app.places.service import provinces as current_provinces
from app.questionnaires.registry import Registry

TOKEN_PREFIX = "kf_"
ROLE = "form_link"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="khuyencong"'}


class FormLinkRevoked(Unauthorized):
    slug, title = "form-link-revoked", "Form link revoked"


class FormLinkExpired(Unauthorized):
    slug, title = "form-link-expired", "Form link expired"


class FormLinkExhausted(Forbidden):
    slug, title = "form-link-exhausted", "Form link has received all its submissions"


class FormLinkRateLimited(TooManyRequests):
    """Over the link's allowance of stored responses (or registered facilities) a minute."""

    slug, title = "form-link-rate-limited", "Form link over its allowance a minute"

    def __init__(self, limit: int, wait: int) -> None:
        super().__init__(
            f"This form link may store {limit} responses and new facilities a minute (a response registering its "
            f"facility counts twice); this one was not stored: retry in {wait} s.",
            headers={"Retry-After": str(wait)},
            errors=[field_error("", "rate_limited", f"Over this form link's {limit} responses and new facilities a "
                                                    f"minute; send it again after {wait} s.")],
        )  # fmt: skip
        self.retry_after = wait


def state(link: Any, now: datetime | None = None) -> str:
    """active | revoked | expired | exhausted (`link`: a FormLink or a row with the same columns)."""
    now = now or utcnow()
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired"
    if link.max_submissions is not None and link.submission_count >= link.max_submissions:
        return "exhausted"
    return "active"


def _refusal(link: Any) -> AppError:
    """Why a link takes no more submissions, as the error the page and the API show."""
    st = state(link)
    if st == "revoked":
        return FormLinkRevoked("This form link has been revoked.", headers=_CHALLENGE)
    if st == "expired":
        return FormLinkExpired(
            f"This form link expired at {link.expires_at.isoformat()}.", headers=_CHALLENGE
        )
    return FormLinkExhausted(
        f"This form link has received all the {link.max_submissions} submissions it allows."
    )


def principal_name(link_id: str) -> str:
    """How a link appears as `submitted_by` and in the audit trail (key names cannot contain ':')."""
    return f"form-link:{link_id}"


def display_names(*, session: Session, principals: list[str | None]) -> dict[str, str]:
    """The form links among these principal names (`form-link:<id>`) → the link's own name, for pages that show
    who registered or submitted something (one query, whatever the count)."""
    ids = {p.removeprefix("form-link:") for p in principals if p and p.startswith("form-link:")}
    if not ids:
        return {}
    rows = session.execute(
        select(col(FormLink.id), col(FormLink.name)).where(col(FormLink.id).in_(sorted(ids)))
    )
    return {principal_name(i): name for i, name in rows}


_LINK_COLUMNS = [col(c) for c in (FormLink.seq, FormLink.id, FormLink.token_hash, FormLink.province_code, FormLink.questionnaires,
                                   FormLink.expires_at, FormLink.revoked_at, FormLink.max_submissions, FormLink.submission_count)]  # fmt: skip
_LINK_BY_HASH = select(*_LINK_COLUMNS).where(FormLink.token_hash == bindparam("digest"))  # type: ignore[arg-type]


def find(token: str) -> Any | None:
    """The link row of a token (None when unknown), read on its own short connection: always current."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_secret(token)
    with get_engine().connect() as conn:
        row = conn.execute(_LINK_BY_HASH, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


def resolve(token: str, client_ip: str | None, request_id: str | None) -> Principal | None:
    """The token kind registered with access.deps: a form link's principal, or why it no longer works.

    A full link still authenticates (a retry of its last counted response must get its 200); its next new
    response is refused when stored."""
    row = find(token)
    if row is None:
        return None
    if state(row) in ("revoked", "expired"):
        raise _refusal(row)
    return Principal(
        key_id=row.seq,
        name=principal_name(row.id),
        role=ROLE,
        provinces=frozenset({row.province_code}),
        client_ip=client_ip,
        request_id=request_id,
        kind=ROLE,
        questionnaires=frozenset(row.questionnaires),
    )


def _check(
    registry: Registry, questionnaires: list[str], province_code: str, expires_at: datetime | None
) -> list[str]:
    errors = []
    keys: list[str] = []
    for i, key in enumerate(questionnaires):
        if key in keys:
            errors.append(field_error(f"questionnaires.{i}", "duplicate", f"{key!r} is listed twice."))
        elif key not in registry.keys:
            errors.append(field_error(f"questionnaires.{i}", "unknown_questionnaire",
                                      f"There is no questionnaire {key!r}; known: {', '.join(registry.keys)}."))  # fmt: skip
        elif registry.latest_published(key) is None:
            errors.append(field_error(f"questionnaires.{i}", "not_published",
                                      f"{key!r} has no published version to offer on the page."))  # fmt: skip
        keys.append(key)
    if province_code not in current_provinces():
        errors.append(field_error("province_code", "unknown_province",
                                  f"{province_code!r} is not a current province code; see /api/v1/provinces."))  # fmt: skip
    if expires_at is not None and expires_at <= utcnow():
        errors.append(field_error("expires_at", "in_past", "The expiry must be in the future."))
    if errors:
        raise Invalid("The form link cannot be created as asked.", errors=errors)
    return keys


def create(
    *,
    session: Session,
    principal: Principal | None,
    registry: Registry,
    name: str,
    questionnaires: list[str],
    province_code: str,
    expires_at: datetime | None = None,
    max_submissions: int | None = None,
) -> tuple[FormLink, str]:
    """Create a link for a province inside the caller's scope; returns it with its token (shown once)."""
    keys = _check(registry, questionnaires, province_code, expires_at)
    scope.check_grant(principal, [province_code], "province_code")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = FormLink(id=str(uuid.uuid4()), name=name, prefix=token[:10], token_hash=hash_secret(token),
                    province_code=province_code, questionnaires=keys, expires_at=expires_at,
                    max_submissions=max_submissions, created_by=principal.name if principal else "cli")  # fmt: skip
    session.add(link)
    session.flush()
    audit.record(session, principal, "form_link.created", "form_link", link.id,
                 {"name": name, "questionnaires": keys, "province_code": province_code,
                  "expires_at": expires_at.isoformat() if expires_at else None, "max_submissions": max_submissions},
                 province=province_code)  # fmt: skip
    return link, token


def list_page(
    *,
    session: Session,
    principal: Principal,
    cursor: str | None,
    limit: int,
    province_code: list[str] | None = None,
) -> tuple[list[FormLink], str | None]:
    """The links the caller may administer (its provinces), oldest first, keyset-paginated."""
    stmt: Any = select(FormLink)
    if principal.provinces is not None:
        stmt = stmt.where(col(FormLink.province_code).in_(sorted(principal.provinces)))
    if province_code:
        stmt = stmt.where(col(FormLink.province_code).in_(province_code))
    return page(session, stmt, Keyset(FormLink.seq), cursor=cursor, limit=limit)


def get_or_raise(*, session: Session, principal: Principal | None, link_id: str) -> FormLink:
    """The link if the caller may administer it; 404 otherwise (its existence is not revealed)."""
    link = session.execute(select(FormLink).where(col(FormLink.id) == link_id)).scalar_one_or_none()
    if link is None or not scope.may_administer(principal, [link.province_code]):
        raise NotFound(f"There is no form link {link_id} that you may administer.")
    return link


def revoke(*, session: Session, principal: Principal | None, link_id: str) -> FormLink:
    """Revoke a link: its very next request is refused, in every process (revoking twice changes nothing)."""
    link = get_or_raise(session=session, principal=principal, link_id=link_id)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.add(link)
        audit.record(
            session, principal, "form_link.revoked", "form_link", link.id, province=link.province_code
        )
        session.flush()
    return link


# -- the cap, inside the ingest write transaction ----------------------------------------------------------


class _Item(Protocol):
    @property
    def principal(self) -> Principal: ...
    @property
    def body(self) -> Any: ...


def _take(link_seq: int) -> Any:
    now = utcnow()
    return (
        update(FormLink)
        .where(
            col(FormLink.seq) == link_seq,
            col(FormLink.revoked_at).is_(None),
            or_(col(FormLink.expires_at).is_(None), col(FormLink.expires_at) > now),
            or_(
                col(FormLink.max_submissions).is_(None),
                col(FormLink.submission_count) < FormLink.max_submissions,
            ),
        )
        .values(submission_count=FormLink.submission_count + 1)
        .execution_options(synchronize_session=False)
    )


WINDOW_S = 60


class _Window:
    """What one link stored in the last minute, as the times of its units: one per response stored, one per
    facility registered with one (every facility a link registers comes with a response of its own)."""

    def __init__(self, limit: int, times: list[datetime]) -> None:
        self.limit, self.times = limit, times

    @classmethod
    def read(cls, session: Session, name: str, limit: int, now: datetime) -> _Window:
        since = now - timedelta(seconds=WINDOW_S)
        # The link's latest `limit` responses, by the (submitted_by, seq) index: enough to know whether the window
        # is full (and, when it is not, every response and hence every registration of the window).
        r, f = Response.__table__, Facility.__table__  # type: ignore[attr-defined]
        rows = session.execute(
            select(r.c.received_at, r.c.facility_id, f.c.created_at, f.c.created_by == name)
            .join(f, f.c.id == r.c.facility_id)
            .where(r.c.submitted_by == name)
            .order_by(r.c.seq.desc())
            .limit(max(limit, 1))
        ).all()
        registered = {fid: at for _, fid, at, mine in rows if mine and at > since}
        return cls(limit, sorted([*(at for at, _, _, _ in rows if at > since), *registered.values()]))

    def take(self, *, registers: bool, now: datetime) -> AppError | None:
        """Take the units of one response (two when it registers its facility), or say why not (429 with
        Retry-After: when enough of the window will have slid past). An empty window always takes one item."""
        need, used = 1 + registers, len(self.times)
        if used and used + need > self.limit:
            expire = used - max(self.limit - need, 0)  # units that must leave the window first
            wait = max(1, math.ceil((self.times[expire - 1] - now).total_seconds() + WINDOW_S))
            return FormLinkRateLimited(self.limit, wait)
        self.times.extend([now] * need)
        return None


class Quota:
    """The submissions of form links among a group of responses about to be stored.

    Made by `take` in the write transaction that stores them, which holds the ingest lock (no other insert of
    a response runs meanwhile): an id already stored, or earlier in the group, is a retry and takes nothing;
    every other one takes one submission of its link by a conditional UPDATE (never past the cap, and not on
    a link revoked or expired since the request was authenticated), or is refused."""

    def __init__(self, taken: dict[int, int], refused: dict[int, AppError]) -> None:
        self._taken = taken  # item index -> link seq
        self.refused = refused

    @classmethod
    def take(cls, session: Session, items: Sequence[_Item], now: datetime | None = None) -> Quota:
        links = [p for p in items if p.principal.kind == ROLE]
        if not links:
            return cls({}, {})
        now = now or utcnow()
        limit = get_settings().form_link_rate_limit_per_minute
        ids = sorted({p.body.id for p in links})
        stored = set(session.execute(select(col(Response.id)).where(col(Response.id).in_(ids))).scalars())
        windows = {
            name: _Window.read(session, name, limit, now)
            for name in sorted({p.principal.name for p in links})
        }
        taken: dict[int, int] = {}
        refused: dict[int, AppError] = {}
        seen: set[str] = set()
        for k, p in enumerate(items):
            rid = p.body.id
            first = rid not in seen
            seen.add(rid)
            if p.principal.kind != ROLE or not first or rid in stored:
                continue
            over = windows[p.principal.name].take(registers=not getattr(p, "stored", True), now=now)
            if over is not None:
                refused[k] = over
                continue
            seq = p.principal.key_id
            if session.execute(_take(seq)).rowcount == 1:  # type: ignore[attr-defined]
                taken[k] = seq
            else:
                link = session.execute(select(FormLink).where(col(FormLink.seq) == seq)).scalar_one()
                refused[k] = _refusal(link)
        return cls(taken, refused)

    def give_back(self, session: Session, k: int) -> None:
        """Item `k` was not stored after all (its inline facility could not be registered): return its take."""
        seq = self._taken.pop(k, None)
        if seq is not None:
            session.execute(
                update(FormLink)
                .where(col(FormLink.seq) == seq, col(FormLink.submission_count) > 0)
                .values(submission_count=FormLink.submission_count - 1)
                .execution_options(synchronize_session=False)
            )
