"""Admin endpoints: API keys, form links and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app.access import form_links, service
from app.access.deps import AdminPrincipal
from app.access.principal import KEY_ROLES
from app.core.db import SessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.fields import UtcDatetime
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.forms import page

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


class FormLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[StrictStr, Field(min_length=1, max_length=200, description="e.g. the portal's name")]
    questionnaires: Annotated[
        list[StrictStr], Field(min_length=1, max_length=20, description='questionnaire keys, e.g. ["loans"]')
    ]
    province_code: Annotated[StrictStr, Field(pattern=r"^\d{2}$", description="inside your provinces")]
    expires_at: Annotated[
        UtcDatetime | None, Field(description="RFC 3339 with offset; no expiry if omitted")
    ] = None
    max_submissions: Annotated[
        StrictInt | None,
        Field(ge=1, le=10_000_000, description="responses the link may store; no cap if omitted"),
    ] = None


class FormLinkRead(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    province_code: str
    questionnaires: list[str]
    expires_at: datetime | None
    max_submissions: int | None
    submission_count: int = Field(description="responses stored through the link (retries count once)")
    state: str = Field(description="active | revoked | expired | exhausted")
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


class FormLinkCreated(FormLinkRead):
    token: str = Field(
        description="shown once; only its hash is stored. Works as `Authorization: Bearer <token>`"
    )
    url: str = Field(description="the hosted form page, for an <iframe> (add ?lang=en for English)")
    iframe: str = Field(
        description="the HTML to paste into the portal page: the iframe, and the script that sizes it to the "
        "page's height (README, Forms for provincial portals)"
    )


def _link(link) -> FormLinkRead:  # type: ignore[no-untyped-def]
    return FormLinkRead.model_validate({**link.model_dump(), "state": form_links.state(link)})


@router.post(
    "/form-links",
    status_code=201,
    response_model=FormLinkCreated,
    responses={k: PROBLEM_RESPONSES[k] for k in (422,)},
)
def create_form_link(
    body: FormLinkCreate,
    request: Request,
    session: WriteSessionDep,
    principal: AdminPrincipal,
    registry: RegistryDep,
) -> FormLinkCreated:
    """Create a form link for some questionnaires in one province inside your provinces; the token is in this
    response only."""
    link, token = form_links.create(
        session=session, principal=principal, registry=registry, **body.model_dump()
    )
    url = f"{str(request.base_url).rstrip('/')}/embed/{token}"
    iframe = page.portal_html(url)
    return FormLinkCreated(**_link(link).model_dump(), token=token, url=url, iframe=iframe)


@router.get("/form-links", response_model=Page[FormLinkRead], responses={422: PROBLEM_RESPONSES[422]})
def list_form_links(
    session: SessionDep,
    principal: AdminPrincipal,
    page: PageDep,
    province_code: Annotated[list[str] | None, Query(description="repeatable")] = None,
) -> Page[FormLinkRead]:
    """The form links of your provinces with their state and count of submissions (never a token)."""
    rows, nxt = form_links.list_page(
        session=session,
        principal=principal,
        cursor=page.cursor,
        limit=page.limit,
        province_code=province_code,
    )
    return Page(items=[_link(r) for r in rows], next_cursor=nxt)


@router.post(
    "/form-links/{link_id}/revoke", response_model=FormLinkRead, responses={404: PROBLEM_RESPONSES[404]}
)
def revoke_form_link(link_id: str, session: WriteSessionDep, principal: AdminPrincipal) -> FormLinkRead:
    """Revoke a form link of your provinces: its next request is refused, in every process, and its page says so."""
    return _link(form_links.revoke(session=session, principal=principal, link_id=link_id))
