"""Admin endpoints: API keys and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from app.access import service
from app.access.deps import AdminPrincipal
from app.access.principal import KEY_ROLES
from app.core.db import SessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.fields import UtcDatetime
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1",
    tags=["access"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 429)},
)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120, pattern=r"^[\w.\-@ ]+$")
    role: str = Field(description=f"one of {', '.join(KEY_ROLES)}")
    provinces: list[str] | None = Field(
        default=None,
        max_length=34,
        description="province codes, at least one; omit or null for every province (only a nationwide admin may)",
    )


class KeyRead(BaseModel):
    name: str
    role: str
    provinces: list[str] | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    secret: str = Field(description="shown once; only its hash is stored")


class AuditRead(BaseModel):
    id: int
    at: datetime
    key_name: str | None
    role: str | None
    action: str
    resource_type: str
    resource_id: str
    client_ip: str | None
    request_id: str | None
    detail: dict | None
    province_code: str | None


def _read(k) -> KeyRead:  # type: ignore[no-untyped-def]
    return KeyRead.model_validate(k, from_attributes=True)


@router.post(
    "/keys",
    status_code=201,
    response_model=KeyCreated,
    responses={k: PROBLEM_RESPONSES[k] for k in (409, 422)},
)
def create_key(body: KeyCreate, session: WriteSessionDep, principal: AdminPrincipal) -> KeyCreated:
    """Create an API key within your provinces; the secret is in this response only."""
    key, secret = service.create(
        session=session, principal=principal, name=body.name, role=body.role, provinces=body.provinces
    )
    return KeyCreated(**_read(key).model_dump(), secret=secret)


@router.get("/keys", response_model=list[KeyRead])
def list_keys(session: SessionDep, principal: AdminPrincipal) -> list[KeyRead]:
    """The keys you may administer (all within your provinces), with role, scope and state (never a secret)."""
    return [_read(k) for k in service.list_keys(session=session, principal=principal)]


@router.post("/keys/{name}/revoke", response_model=KeyRead, responses={404: PROBLEM_RESPONSES[404]})
def revoke_key(name: str, session: WriteSessionDep, principal: AdminPrincipal) -> KeyRead:
    """Revoke a key within your provinces; the next request with it is refused, in every process."""
    return _read(service.revoke(session=session, principal=principal, name=name))


@router.get("/audit", response_model=Page[AuditRead], responses={422: PROBLEM_RESPONSES[422]})
def list_audit(
    session: SessionDep,
    principal: AdminPrincipal,
    page: PageDep,
    action: Annotated[str | None, Query(description="e.g. response.created")] = None,
    key_name: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: Annotated[
        UtcDatetime | None, Query(description="RFC 3339 with offset; events at or after")
    ] = None,
) -> Page[AuditRead]:
    """The append-only audit trail of your provinces (and your own actions), newest first."""
    rows, nxt = service.list_audit(
        session=session, principal=principal, cursor=page.cursor, limit=page.limit, action=action, key_name=key_name,
        resource_type=resource_type, resource_id=resource_id, since=since,
    )  # fmt: skip
    return Page(items=[AuditRead.model_validate(r, from_attributes=True) for r in rows], next_cursor=nxt)
