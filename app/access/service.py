"""API keys (create, list, revoke) and the audit trail listing, each within the caller's scope."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.access import audit, scope
from app.access.deps import KEY_PREFIX
from app.access.principal import KEY_ROLES, Principal, hash_secret
from app.core.errors import Conflict, Invalid, NotFound, field_error
from app.core.pagination import Keyset, page
from app.models import ApiKey, AuditEvent
from app.places.service import provinces as current_provinces


def _check(role: str, province_codes: list[str] | None) -> None:
    errors = []
    if role not in KEY_ROLES:
        errors.append(field_error("role", "unknown_role", f"Role must be one of {', '.join(KEY_ROLES)}."))
    for i, code in enumerate(province_codes or []):
        if code not in current_provinces():
            errors.append(field_error(f"provinces.{i}", "unknown_province",
                                      f"{code!r} is not a current province code; see /api/v1/provinces."))  # fmt: skip
    if errors:
        raise Invalid("The key cannot be created as asked.", errors=errors)


def create(
    *, session: Session, principal: Principal | None, name: str, role: str, provinces: list[str] | None
) -> tuple[ApiKey, str]:
    """Create a key within the caller's provinces; returns the row and the secret (shown once, never stored).

    `principal` None is the CLI, which may make any key."""
    _check(role, provinces)
    scope.check_grant(principal, provinces)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=secret[:10], secret_hash=hash_secret(secret), role=role,
                 provinces=sorted(set(provinces)) if provinces is not None else None)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError:
        raise Conflict.at(
            "name", "duplicate", f"A key named {name!r} already exists; choose another name."
        ) from None
    audit.record(session, principal, "key.created", "api_key", name, {"role": role, "provinces": key.provinces},
                 province=scope.audit_province(key.provinces))  # fmt: skip
    return key, secret


def list_keys(*, session: Session, principal: Principal | None) -> list[ApiKey]:
    """The keys the caller may administer, oldest first (secrets are never stored, so never shown)."""
    rows = session.execute(select(ApiKey).order_by(ApiKey.id)).scalars()  # type: ignore[arg-type]
    return [k for k in rows if scope.may_administer(principal, k.provinces)]


def revoke(*, session: Session, principal: Principal | None, name: str) -> ApiKey:
    """Revoke a key by name (404 if the caller may not administer it); effective on the next request everywhere."""
    key = session.execute(select(ApiKey).where(ApiKey.name == name)).scalar_one_or_none()  # type: ignore[arg-type]
    if key is None or not scope.may_administer(principal, key.provinces):
        raise NotFound(f"There is no key named {name!r} that you may administer.")
    if key.revoked_at is None:
        from app.models.types import utcnow

        key.revoked_at = utcnow()
        session.add(key)
        audit.record(
            session, principal, "key.revoked", "api_key", name, province=scope.audit_province(key.provinces)
        )
        session.flush()
    return key


def list_audit(
    *,
    session: Session,
    principal: Principal,
    cursor: str | None,
    limit: int,
    action: str | None = None,
    key_name: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: datetime | None = None,
) -> tuple[list[AuditEvent], str | None]:
    """Audit events the caller may read, newest first, keyset-paginated on the event id."""
    stmt: Any = scope.readable_audit(
        select(AuditEvent), principal, AuditEvent.province_code, AuditEvent.key_name
    )
    for col, val in ((AuditEvent.action, action), (AuditEvent.key_name, key_name),
                     (AuditEvent.resource_type, resource_type), (AuditEvent.resource_id, resource_id)):  # fmt: skip
        if val is not None:
            stmt = stmt.where(col == val)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)  # type: ignore[operator]
    return page(session, stmt, Keyset(AuditEvent.id, descending=True), cursor=cursor, limit=limit)
