"""Who is calling: API key → Principal, role requirements declared per route, and the rate limit.

Every route declares exactly one access rule: `dependencies=[public]` or a parameter typed with
`require(...)`. tests/access/test_matrix.py enumerates the app's routes and fails on any route without one.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import bindparam, select, update

from app.core.config import get_settings
from app.core.db import SessionDep, session_scope
from app.core.errors import Forbidden, TooManyRequests, Unauthorized
from app.models import ApiKey
from app.models.types import utcnow

ROLES = ("admin", "planner", "field_officer", "portal")
KEY_PREFIX = "kc_"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    key_id: int
    name: str
    role: str
    provinces: frozenset[str] | None  # None: every province
    client_ip: str | None = None
    request_id: str | None = None

    @property
    def all_provinces(self) -> bool:
        return self.provinces is None

    def in_scope(self, province_code: str | None) -> bool:
        return self.provinces is None or (province_code is not None and province_code in self.provinces)


def hash_secret(secret: str) -> str:
    # The secret carries 256 bits of entropy, so one SHA-256 is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


class RateLimiter:
    """Fixed one-minute windows per key, per process (documented: the limit applies per worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int) -> int | None:
        """Count one request; return seconds to wait if over the limit, else None."""
        now = time.time()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._windows[key] = (start, count)
        if count > limit:
            return max(1, int((window + 1) * 60 - now) + 1)
        return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


rate_limiter = RateLimiter()
_last_used_written: dict[str, float] = {}  # by secret hash: row ids can be reused after deletion in tests
LAST_USED_EVERY_S = 60.0


_bookkeeper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="last-used")


def _write_last_used(key_id: int, when: datetime) -> None:
    try:
        with session_scope(write=True) as s:
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))  # type: ignore[arg-type]
    except Exception:  # bookkeeping must never fail anything
        pass


def _touch_last_used(key_id: int, digest: str) -> None:
    # At most once a minute per key and process, and off the request path: the request's own
    # transaction may hold SQLite's write lock, so waiting for it here would stall the request.
    now = time.monotonic()
    if now - _last_used_written.get(digest, -1e9) < LAST_USED_EVERY_S:
        return
    _last_used_written[digest] = now
    _bookkeeper.submit(_write_last_used, key_id, utcnow())


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Use the header 'Authorization: Bearer <key>'.", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


_KEY_BY_HASH = select(
    ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.provinces, ApiKey.secret_hash, ApiKey.revoked_at
).where(
    ApiKey.secret_hash == bindparam("digest")  # type: ignore[arg-type]
)


def authenticate(request: Request, session: SessionDep) -> Principal:
    """Resolve the key in the Authorization header: 401 when missing, unknown or revoked."""
    secret = _bearer(request)
    if secret is None:
        raise Unauthorized("This endpoint needs an API key.", headers={"WWW-Authenticate": "Bearer"})
    digest = hash_secret(secret)
    # One indexed lookup in the request's own transaction: revocation is seen by every process at once.
    row = session.connection().execute(_KEY_BY_HASH, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.secret_hash, digest) or row.revoked_at is not None:
        raise Unauthorized(
            "The API key is unknown or has been revoked.", headers={"WWW-Authenticate": "Bearer"}
        )
    wait = rate_limiter.hit(row.name, get_settings().rate_limit_per_minute)
    if wait is not None:
        raise TooManyRequests(
            f"This key may make {get_settings().rate_limit_per_minute} requests a minute; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    _touch_last_used(row.id, digest)
    request.scope.setdefault("state", {})["key_name"] = row.name
    return Principal(
        key_id=row.id,
        name=row.name,
        role=row.role,
        provinces=None if row.provinces is None else frozenset(row.provinces),
        client_ip=request.client.host if request.client else None,
        request_id=(request.scope.get("state") or {}).get("request_id"),
    )


def require(*roles: str) -> Callable[..., Any]:
    """A dependency admitting only these roles (admin always); 403 for any other authenticated key."""
    allowed = frozenset(roles) | {"admin"}
    unknown = allowed - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    # async: a pure check, so FastAPI need not hop to a worker thread for it
    async def _dep(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"The role {principal.role!r} may not do this; it needs one of: {', '.join(sorted(allowed))}."
            )
        return principal

    _dep.access_roles = allowed  # type: ignore[attr-defined]
    return _dep


async def _public() -> None:
    """No key needed."""


_public.access_roles = "public"  # type: ignore[attr-defined]
public = Depends(_public)

AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
PlannerPrincipal = Annotated[Principal, Depends(require("planner"))]
