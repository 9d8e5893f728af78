"""Sessions: the planner workspace's (a cookie) and the feeds' (a bearer token for /v1, as ODK Central gives).

Planner workspace sessions: one more way for a key to authenticate, through a browser.

A planner or admin signs in with its key's secret once; the server keeps a row (the key it belongs to, never
the secret; a CSRF token; when it expires; when it ended) and the browser keeps only a random id in an
HttpOnly cookie. Every request resolves the id with one indexed lookup joined to the key, on its own short
connection: a revoked key, an ended or an expired session is refused at once, in every process.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.access import audit, scope, throttle
from app.access.deps import KEY_PREFIX, _key_principal, authenticate, rate_limiter
from app.access.principal import Principal, hash_secret
from app.core.config import get_settings
from app.core.db import get_engine, writing
from app.core.errors import AppError, Forbidden, NotFound, Unauthorized
from app.models import ApiKey, FeedSession, PlannerSession
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
    for another role, 429 `CredentialsThrottled` while the address is throttled (access.throttle). The key is looked up before the short write transaction opens.
    """
    throttle.refuse_if_throttled(client_ip)  # 429 (throttle.CredentialsThrottled) after repeated failures
    secret = secret.strip()
    principal = _key_principal(secret, client_ip, request_id) if secret.startswith(KEY_PREFIX) else None
    if principal is None:
        raise throttle.failed_credential(
            client_ip=client_ip, name=None, via="planner_sign_in", request_id=request_id
        ) or Unauthorized.at("key", "unknown_key", "This key is unknown or has been revoked.")
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


# -- feed sessions (/v1, ODK Central's conventions) --------------------------------------------------------
#
# pyodk, ruODK and Central's own scripts sign in with `POST /v1/sessions {"email", "password"}` and then send
# the returned token as Bearer. Here the "email" is a key's name and the "password" its secret; the token is
# good for /v1 only (never for /api/v1 or the workspace), for `feed_session_hours`, until it is ended, or
# until its key is revoked.

FEED_TOKEN_PREFIX = "kcs_"
FEED_ROLES = SIGN_IN_ROLES  # the feeds serve planners and admins (everything in the key's scope)


@dataclass(frozen=True)
class FeedSignedIn:
    """A live feed session: its key's principal, its row id, when it began and when it expires."""

    principal: Principal
    session_id: int
    created_at: datetime
    expires_at: datetime


def _failed_sign_in(name: str, client_ip: str | None, request_id: str | None) -> AppError:
    # Counted by the failed-credential throttle (per address and per key name): 429 once either is over.
    throttled = throttle.failed_credential(
        client_ip=client_ip, name=name, via="feed_session", request_id=request_id
    )
    if throttled is not None:
        return throttled
    return Unauthorized(
        "Could not authenticate with the provided credentials.",
        headers={"WWW-Authenticate": 'Bearer, Basic realm="khuyencong"'},
        code=401.2,
        message="Could not authenticate with the provided credentials.",
    )


def sign_in_feed(
    *, session: Session, name: str, secret: str, client_ip: str | None, request_id: str | None
) -> tuple[str, FeedSignedIn]:
    """Check a key's name and secret (a planner's or an admin's), then store a feed session; returns
    (bearer token, session). 401 for an unknown name, a wrong secret or a revoked key (the same answer for
    each, as Central gives); 403 for a key of another role. Runs inside the caller's write transaction."""
    throttle.refuse_if_throttled(client_ip)  # an address that kept failing: 429 before any check
    secret = secret.strip()
    principal = (
        _key_principal(secret, client_ip, request_id, name=name) if secret.startswith(KEY_PREFIX) else None
    )
    if principal is None:
        raise _failed_sign_in(name, client_ip, request_id)
    if principal.role not in FEED_ROLES:
        raise Forbidden(
            f"The feeds are for planners and admins; this key's role is {principal.role!r}.",
            code=403.1,
            message="The authentication you provided does not have rights to perform that action.",
        )
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(48)
    now = utcnow()
    row = FeedSession(
        token_hash=hash_secret(token),
        key_id=principal.key_id,
        created_at=now,
        expires_at=now + timedelta(hours=get_settings().feed_session_hours),
        client_ip=client_ip,
    )
    session.add(row)
    session.flush()
    audit.record(session, principal, "feed.signed_in", "feed_session", str(row.id),
                 province=scope.audit_province(principal.provinces))  # fmt: skip
    assert row.id is not None
    return token, FeedSignedIn(principal, row.id, row.created_at, row.expires_at)


_FEED_BY_TOKEN = (
    select(  # type: ignore[call-overload]
        FeedSession.id,
        FeedSession.created_at,
        FeedSession.expires_at,
        FeedSession.ended_at,
        col(ApiKey.id).label("key_id"),
        ApiKey.name,
        ApiKey.role,
        ApiKey.provinces,
        ApiKey.revoked_at,
    )  # fmt: skip
    .join(ApiKey, ApiKey.id == FeedSession.key_id)  # type: ignore[arg-type]
    .where(FeedSession.token_hash == bindparam("digest"))  # type: ignore[arg-type]
)


def resolve_feed(token: str, client_ip: str | None, request_id: str | None) -> FeedSignedIn | None:
    """The live feed session of a bearer token (None: unknown, ended, expired, or its key revoked)."""
    if not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 100:
        return None
    with get_engine().connect() as conn:
        row = conn.execute(_FEED_BY_TOKEN, {"digest": hash_secret(token)}).first()
    if row is None or row.ended_at is not None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    provinces = json.loads(row.provinces) if isinstance(row.provinces, str) else row.provinces
    principal = Principal(
        key_id=row.key_id,
        name=row.name,
        role=row.role,
        provinces=None if provinces is None else frozenset(provinces),
        client_ip=client_ip,
        request_id=request_id,
    )
    return FeedSignedIn(principal, row.id, row.created_at, row.expires_at)


def end_feed(*, session: Session, principal: Principal, token: str) -> None:
    """Sign a feed session out (its token never works again); only the key it belongs to may end it (404 for
    any other token, its existence not revealed). Audited."""
    found = session.execute(
        select(FeedSession.id, FeedSession.key_id).where(FeedSession.token_hash == hash_secret(token))  # type: ignore[call-overload,arg-type]
    ).first()
    if found is None or found.key_id != principal.key_id or not token.startswith(FEED_TOKEN_PREFIX):
        raise NotFound(
            "There is no session with this token that you may end.",
            code=404.1,
            message="Could not find the resource you were looking for.",
        )
    ended = session.execute(
        update(FeedSession)
        .where(FeedSession.id == found.id, FeedSession.ended_at.is_(None))  # type: ignore[union-attr,arg-type]
        .values(ended_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    if ended:
        audit.record(session, principal, "feed.signed_out", "feed_session", str(found.id),
                     province=scope.audit_province(principal.provinces))  # fmt: skip


async def _feed_principal(request: Request) -> Principal:
    """The /v1 caller: a feed session's token, or the key itself (Bearer, or Basic with name and secret, as
    Central takes Basic); 401 otherwise, 403 for a role other than planner or admin."""
    state = request.scope.setdefault("state", {})
    if "principal" in state:
        principal: Principal = state["principal"]
    else:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value.startswith(FEED_TOKEN_PREFIX):
            client_ip = request.client.host if request.client else None
            signed = await run_in_threadpool(resolve_feed, value, client_ip, state.get("request_id"))
            if signed is None:
                raise Unauthorized(
                    "This session token is unknown, has expired or was ended; sign in again (POST /v1/sessions).",
                    headers={"WWW-Authenticate": 'Bearer, Basic realm="khuyencong"'},
                    code=401.2,
                    message="Could not authenticate with the provided credentials.",
                )
            rate_limiter.enforce(
                f"key:{signed.principal.key_id}", get_settings().rate_limit_per_minute, "This key"
            )
            principal = signed.principal
            state["principal"] = principal
            state["key_name"] = principal.name
        else:
            principal = await authenticate(request)
    if principal.kind != "key" or principal.role not in FEED_ROLES:
        raise Forbidden(
            f"The feeds are for planner and admin keys; this caller's role is {principal.role!r}.",
            code=403.1,
            message="The authentication you provided does not have rights to perform that action.",
        )
    return principal


async def _feed_dep(request: Request) -> Principal:
    return await _feed_principal(request)


_feed_dep.access_roles = FEED_ROLES  # type: ignore[attr-defined]
_feed_dep.pre_body = _feed_principal  # type: ignore[attr-defined]
FeedPrincipal = Annotated[Principal, Depends(_feed_dep)]
