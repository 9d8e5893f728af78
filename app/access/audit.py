"""Append-only audit trail, written in the same transaction as the change it describes."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.access.principal import Principal
from app.models import AuditEvent


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str,
    detail: dict[str, Any] | None = None,
    *,
    province: str | None = None,
) -> None:
    """Add one audit row; the caller's transaction commits it together with the change.

    `province`: the one province the resource belongs to (see access.scope.audit_province), which decides
    which province-scoped admins read the event."""
    session.add(
        AuditEvent(
            key_name=principal.name if principal else "cli",
            role=principal.role if principal else "cli",
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            client_ip=principal.client_ip if principal else None,
            request_id=principal.request_id if principal else None,
            detail=detail,
            province_code=province,
        )
    )
