"""Planner workspace sessions: one more way for a key to authenticate, through a browser.

A planner or admin signs in with its key's secret once; the server keeps a row (the key it belongs to, never
the secret; a CSRF token; when it expires; when it ended) and the browser keeps only a random id in an
HttpOnly cookie. Every request resolves the id with one indexed lookup joined to the key, on its own short
connection: a revoked key, an ended or an expired session is refused at once, in every process.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from app.access import audit, scope
from app.access.deps import KEY_PREFIX, _key_principal
from app.access.principal import Principal, hash_secret
from app.core.config import get_settings
from app.core.db import get_engine, writing
from app.core.errors import Forbidden, Unauthorized
from app.models import ApiKey, PlannerSession
from app.models.types import utcnow

SIGN_IN_ROLES = frozenset({"planner", "admin"})


@dataclass(frozen=True)
class SignedIn:
    """A live workspace session: who (the key's principal), its CSRF token and when it expires."""

    principal: Principal
    session_id: int
    csrf_token: str
    expires_at: datetime

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token.encode(), (token or "").encode())


def sign_in(
    *, session: Session, secret: str, client_ip: str | None, request_id: str | None
) -> tuple[str, SignedIn]:
    """Check the key (a planner's or an admin's), then store a new session; returns (cookie token, session).

    401 `unknown_key` for an unknown or revoked key (form-link tokens are not keys), 403 `role_not_allowed`
    for another role. The key is looked up before the short write transaction opens.
    """
    secret = secret.strip()
    principal = _key_principal(secret, client_ip, request_id) if secret.startswith(KEY_PREFIX) else None
    if principal is None:
        raise Unauthorized.at("key", "unknown_key", "This key is unknown or has been revoked.")
    if principal.role not in SIGN_IN_ROLES:
        raise Forbidden.at(
            "key",
            "role_not_allowed",
            f"The workspace is for planners and admins; this key's role is {principal.role!r}.",
        )
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = PlannerSession(
        token_hash=hash_secret(token),
        key_id=principal.key_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=get_settings().planner_session_hours),
        client_ip=client_ip,
    )
    with writing(session):
        session.add(row)
        session.flush()
        audit.record(session, principal, "planner.signed_in", "planner_session", str(row.id),
                     province=scope.audit_province(principal.provinces))  # fmt: skip
    assert row.id is not None
    return token, SignedIn(principal, row.id, row.csrf_token, row.expires_at)


_BY_TOKEN = (
    select(  # type: ignore[call-overload]
        PlannerSession.id,
        PlannerSession.csrf_token,
        PlannerSession.expires_at,
        PlannerSession.ended_at,
        col(ApiKey.id).label("key_id"),
        ApiKey.name,
        ApiKey.role,
        ApiKey.provinces,
        ApiKey.revoked_at,
    )  # fmt: skip
    .join(ApiKey, ApiKey.id == PlannerSession.key_id)  # type: ignore[arg-type]
    .where(PlannerSession.token_hash == bindparam("digest"))  # type: ignore[arg-type]
)


def resolve(token: str, client_ip: str | None, request_id: str | None) -> SignedIn | None:
    """The live session of a cookie token (None: unknown, ended, expired, or its key revoked)."""
    if not token or len(token) > 100:
        return None
    with get_engine().connect() as conn:
        row = conn.execute(_BY_TOKEN, {"digest": hash_secret(token)}).first()
    if row is None or row.ended_at is not None or row.revoked_at is not None:
        return None
    if row.expires_at <= utcnow():
        return None
    principal = Principal(
        key_id=row.key_id,
        name=row.name,
        role=row.role,
        provinces=None if row.provinces is None else frozenset(row.provinces),
        client_ip=client_ip,
        request_id=request_id,
    )
    return SignedIn(principal, row.id, row.csrf_token, row.expires_at)


def end(*, session: Session, signed: SignedIn) -> None:
    """Sign out: the session ends server-side (its cookie never works again); audited."""
    ended = session.execute(
        update(PlannerSession)
        .where(PlannerSession.id == signed.session_id, PlannerSession.ended_at.is_(None))  # type: ignore[union-attr,arg-type]
        .values(ended_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if ended:
        audit.record(session, signed.principal, "planner.signed_out", "planner_session", str(signed.session_id),
                     province=scope.audit_province(signed.principal.provinces))  # fmt: skip
