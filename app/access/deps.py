"""Authentication from the headers alone, role requirements declared per route, and the rate limit.

Every route declares exactly one access rule: `dependencies=[public]` or a parameter typed with
`require(...)`. tests/access/test_matrix.py enumerates the app's routes and fails on any route without one.
`require(...)` carries its check as `pre_body`, which the route class (core.routing.ApiRoute) runs before
the body is read: a request without a valid key, or with the wrong role, costs the server its headers.

Credentials: `Authorization: Bearer <secret>` or HTTP Basic with the key's name and secret (ODK Collect).
Other kinds of principal (form links) register a resolver for their token prefix with `register_token_kind`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import bindparam, select, update
from starlette.concurrency import run_in_threadpool

from app.access import throttle
from app.access.principal import KEY_ROLES, ROLES, Principal, hash_secret
from app.core.config import get_settings
from app.core.db import get_engine, session_scope
from app.core.errors import Forbidden, TooManyRequests, Unauthorized
from app.models import ApiKey
from app.models.types import utcnow

__all__ = ["KEY_PREFIX", "KEY_ROLES", "ROLES", "Principal", "hash_secret", "public", "require"]

KEY_PREFIX = "kc_"


class RateLimiter:
    """Sliding one-minute window per key and process (documented: the limit applies per worker).

    Requests are counted in one-second buckets; a request passes when fewer than `limit` were counted in the
    last 60 s, so no burst at a minute's edge passes twice the limit (as fixed windows did). A refused request
    is not counted, and Retry-After says when enough of the window will have slid past.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._windows: dict[
            str, tuple[deque[list[int]], list[int]]
        ] = {}  # key -> ([second, count] buckets, [total])
        self._clock = clock

    def hit(self, key: str, limit: int) -> int | None:
        """Count one request; return seconds to wait if over the limit, else None."""
        now = self._clock()
        second = int(now)
        with self._lock:
            buckets, total = self._windows.setdefault(key, (deque(), [0]))
            while buckets and buckets[0][0] <= second - 60:
                total[0] -= buckets.popleft()[1]
            if total[0] + 1 > limit:
                left = total[0]
                for at, count in buckets:  # the oldest buckets leave the window first
                    left -= count
                    if left + 1 <= limit:
                        return max(1, math.ceil(at + 60 - now))
                return 60
            if buckets and buckets[-1][0] == second:
                buckets[-1][1] += 1
            else:
                buckets.append([second, 1])
            total[0] += 1
        return None

    def enforce(self, key: str, limit: int, who: str) -> None:
        """Count one request of `key`; 429 with Retry-After when over the limit (`who`: "This key", ...)."""
        wait = self.hit(key, limit)
        if wait is not None:
            raise TooManyRequests(
                f"{who} may make {limit} requests a minute; retry in {wait} s.",
                headers={"Retry-After": str(wait)},
            )

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
    # At most once a minute per key and process, and off the request path.
    now = time.monotonic()
    if now - _last_used_written.get(digest, -1e9) < LAST_USED_EVERY_S:
        return
    _last_used_written[digest] = now
    _bookkeeper.submit(_write_last_used, key_id, utcnow())


_KEY_BY_HASH = select(
    ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.provinces, ApiKey.secret_hash, ApiKey.revoked_at
).where(
    ApiKey.secret_hash == bindparam("digest")  # type: ignore[arg-type]
)

# A resolver turns a token into a Principal (None: unknown/revoked/expired), given the request's client ip
# and request id. API keys are built in; form links register theirs.
Resolver = Callable[[str, str | None, str | None], Principal | None]
_token_kinds: dict[str, Resolver] = {}


def register_token_kind(prefix: str, resolve: Resolver) -> None:
    """Let tokens starting with `prefix` authenticate as another kind of principal (e.g. form links)."""
    _token_kinds[prefix] = resolve


class _KeyRow:
    __slots__ = ("id", "name", "role", "provinces", "secret_hash", "revoked_at")

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.id, self.name, self.role, provinces, self.secret_hash, self.revoked_at = row
        self.provinces = json.loads(provinces) if isinstance(provinces, str) else provinces


_KEY_SQL = "SELECT id, name, role, provinces, secret_hash, revoked_at FROM api_key WHERE secret_hash = ?"
_sqlite_reader: Any = None  # the event loop's own connection for key lookups (SQLite only; see below)


def _lookup_key(digest: str) -> Any:
    """The key row with this secret hash, read on its own connection: revocation is seen by every process at once.

    On SQLite this runs on the event loop (an indexed read of a local file costs less than a hop to a worker
    thread), through one connection the loop keeps, as a plain driver query — the ORM's per-statement work
    would cost more than the read. On PostgreSQL it runs in a worker thread through the pool."""
    global _sqlite_reader
    if get_settings().is_sqlite:
        if _sqlite_reader is None:
            _sqlite_reader = (
                get_engine().raw_connection()
            )  # autocommit (isolation_level None): no transaction held
        row = _sqlite_reader.cursor().execute(_KEY_SQL, (digest,)).fetchone()
        return None if row is None else _KeyRow(row)
    with get_engine().connect() as conn:
        return conn.execute(_KEY_BY_HASH, {"digest": digest}).first()


def reset_key_reader() -> None:
    """Forget the loop's SQLite connection (tests that replace the database file)."""
    global _sqlite_reader
    if _sqlite_reader is not None:
        _sqlite_reader.close()
        _sqlite_reader = None


def _key_principal(
    secret: str, client_ip: str | None, request_id: str | None, name: str | None = None
) -> Principal | None:
    digest = hash_secret(secret)
    row = _lookup_key(digest)
    if row is None or not hmac.compare_digest(row.secret_hash, digest) or row.revoked_at is not None:
        return None
    if name is not None and not hmac.compare_digest(row.name.encode(), name.encode()):
        return None
    _touch_last_used(row.id, digest)
    return Principal(
        key_id=row.id,
        name=row.name,
        role=row.role,
        provinces=None if row.provinces is None else frozenset(row.provinces),
        client_ip=client_ip,
        request_id=request_id,
    )


def _unauthorized(detail: str) -> Unauthorized:
    return Unauthorized(detail, headers={"WWW-Authenticate": 'Bearer, Basic realm="khuyencong"'})


def _credentials(request: Request) -> tuple[str, str | None]:
    """(secret, key name for Basic or None) from the Authorization header; 401 when missing or malformed."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("This endpoint needs an API key: send 'Authorization: Bearer <key>'.")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value, None
    if scheme.lower() == "basic" and value:
        try:
            name, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            name, sep, secret = "", "", ""
        if sep and name and secret:
            return secret, name
    raise _unauthorized("Use 'Authorization: Bearer <key>' (or HTTP Basic with the key's name and secret).")


def _resolve(
    secret: str, name: str | None, client_ip: str | None, request_id: str | None
) -> Principal | None:
    for prefix, resolve in _token_kinds.items():
        if secret.startswith(prefix):
            return None if name is not None else resolve(secret, client_ip, request_id)
    return _key_principal(secret, client_ip, request_id, name)


async def authenticate(request: Request) -> Principal:
    """The caller, from the headers only: 401 when missing, unknown, revoked or expired; 429 over the rate."""
    state = request.scope.setdefault("state", {})
    if "principal" in state:
        return state["principal"]  # type: ignore[no-any-return]
    client_ip = request.client.host if request.client else None
    if not request.headers.get("authorization"):
        raise _unauthorized("This endpoint needs an API key: send 'Authorization: Bearer <key>'.")
    throttle.refuse_if_throttled(client_ip)  # an address that kept failing: refused before any check
    rid = state.get("request_id")
    try:
        secret, name = _credentials(request)
    except Unauthorized as exc:  # a credential that cannot be read is a failed one
        raise throttle.failed_credential(client_ip=client_ip, name=None, via="unreadable", request_id=rid,
                                         reason="malformed") or exc from None  # fmt: skip
    if get_settings().is_sqlite:  # an indexed read of the embedded database: cheaper than a worker-thread hop
        principal = _resolve(secret, name, client_ip, rid)
    else:  # a network round trip: off the event loop
        principal = await run_in_threadpool(_resolve, secret, name, client_ip, rid)
    if principal is None:
        via = "basic" if name is not None else "bearer"
        raise throttle.failed_credential(
            client_ip=client_ip, name=name, via=via, request_id=rid
        ) or _unauthorized("The API key is unknown or has been revoked.")
    rate_limiter.enforce(
        f"{principal.kind}:{principal.key_id}", get_settings().rate_limit_per_minute, "This key"
    )
    state["principal"] = principal
    state["key_name"] = principal.name
    return principal


def require(*roles: str) -> Callable[..., Any]:
    """A dependency admitting only these roles (admin always); 403 for any other authenticated caller."""
    allowed = frozenset(roles) | {"admin"}
    unknown = allowed - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def check(request: Request) -> Principal:
        principal = await authenticate(request)
        if not principal.has_role(*roles):
            raise Forbidden(
                f"The role {principal.role!r} may not do this; it needs one of: {', '.join(sorted(allowed))}."
            )
        return principal

    async def _dep(request: Request) -> Principal:
        return await check(request)

    _dep.access_roles = allowed  # type: ignore[attr-defined]
    _dep.pre_body = check  # type: ignore[attr-defined]
    return _dep


async def _public() -> None:
    """No key needed."""


_public.access_roles = "public"  # type: ignore[attr-defined]
public = Depends(_public)

AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
PlannerPrincipal = Annotated[Principal, Depends(require("planner"))]
