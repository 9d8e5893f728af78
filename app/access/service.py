"""API keys (create, list, revoke) and the audit trail listing."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.access import audit
from app.access.deps import KEY_PREFIX, ROLES, Principal, hash_secret
from app.core.errors import Conflict, Invalid, NotFound
from app.core.pagination import decode_cursor, encode_cursor
from app.models import ApiKey, AuditEvent
from app.models.types import utcnow
from app.places.service import provinces as current_provinces


def _check(role: str, province_codes: list[str] | None) -> None:
    errors = []
    if role not in ROLES:
        errors.append(
            {"path": "role", "code": "unknown_role", "message": f"Role must be one of {', '.join(ROLES)}."}
        )
    for i, code in enumerate(province_codes or []):
        if code not in current_provinces():
            errors.append({"path": f"provinces.{i}", "code": "unknown_province",
                           "message": f"{code!r} is not a current province code; see /api/v1/provinces."})  # fmt: skip
    if errors:
        raise Invalid("The key cannot be created as asked.", errors=errors)


def create(
    *, session: Session, principal: Principal | None, name: str, role: str, provinces: list[str] | None
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (shown once, never stored)."""
    _check(role, provinces)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=secret[:10], secret_hash=hash_secret(secret), role=role,
                 provinces=sorted(set(provinces)) if provinces else None)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A key named {name!r} already exists; choose another name.",
                       errors=[{"path": "name", "code": "duplicate", "message": "Key names are unique."}]) from exc  # fmt: skip
    audit.record(
        session, principal, "key.created", "api_key", name, {"role": role, "provinces": key.provinces}
    )
    return key, secret


def list_keys(*, session: Session) -> list[ApiKey]:
    """Every key, oldest first (secrets are never stored, so never shown)."""
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())  # type: ignore[arg-type]


def revoke(*, session: Session, principal: Principal | None, name: str) -> ApiKey:
    """Revoke a key by name; effective on the very next request in every process."""
    key = session.execute(select(ApiKey).where(ApiKey.name == name)).scalar_one_or_none()  # type: ignore[arg-type]
    if key is None:
        raise NotFound(f"There is no key named {name!r}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        audit.record(session, principal, "key.revoked", "api_key", name)
        session.flush()
    return key


def list_audit(
    *,
    session: Session,
    cursor: str | None,
    limit: int,
    action: str | None = None,
    key_name: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
) -> tuple[list[AuditEvent], str | None]:
    """Audit events, newest first, keyset-paginated on the event id."""
    stmt: Any = select(AuditEvent)
    for col, val in ((AuditEvent.action, action), (AuditEvent.key_name, key_name),
                     (AuditEvent.resource_type, resource_type), (AuditEvent.resource_id, resource_id)):  # fmt: skip
        if val is not None:
            stmt = stmt.where(col == val)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)  # type: ignore[operator]
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        stmt = stmt.where(AuditEvent.id < int(last))  # type: ignore[operator]
    rows = list(session.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)).scalars())  # type: ignore[union-attr]
    nxt = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], nxt
