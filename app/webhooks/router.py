"""Webhook routes (admin, in scope): subscribe, list, delete, rotate the secret, read the delivery log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.access.deps import AdminPrincipal
from app.core.db import SessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.pagination import Page, PageDep
from app.core.routing import ApiRoute
from app.models import Webhook, WebhookDelivery
from app.webhooks import service
from app.webhooks.schemas import DeliveryRead, SecretRotated, WebhookCreate, WebhookCreated, WebhookRead

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 429)},
)


def _read(h: Webhook) -> WebhookRead:
    return WebhookRead.model_validate(h, from_attributes=True)


def _delivery(d: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead.model_validate({**d.model_dump(), "id": d.msg_id})


@router.post("", status_code=201, response_model=WebhookCreated, responses={422: PROBLEM_RESPONSES[422]})
def create_webhook(
    body: WebhookCreate, session: WriteSessionDep, principal: AdminPrincipal
) -> WebhookCreated:
    """Subscribe `url` to events of your provinces; the secret is in this response only.

    Each event is POSTed as `{"type", "timestamp", "data"}` (ids and a summary), signed per Standard Webhooks
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`), at least once: a non-2xx answer or a timeout is
    retried under the same `webhook-id`. The URL must be http(s) and resolve to public addresses only."""
    hook = service.create(session=session, principal=principal, url=body.url, events=body.events,
                          description=body.description)  # fmt: skip
    return WebhookCreated(**_read(hook).model_dump(), secret=hook.secret)


@router.get("", response_model=list[WebhookRead])
def list_webhooks(session: SessionDep, principal: AdminPrincipal) -> list[WebhookRead]:
    """The webhooks you may administer (those of your provinces), oldest first; never a secret."""
    return [_read(h) for h in service.list_hooks(session=session, principal=principal)]


@router.delete(
    "/{hook_id}", status_code=204, response_class=Response, responses={404: PROBLEM_RESPONSES[404]}
)
def delete_webhook(hook_id: str, session: WriteSessionDep, principal: AdminPrincipal) -> Response:
    """Delete a webhook: nothing more is sent to it, pending deliveries are cancelled."""
    service.delete(session=session, principal=principal, hook_id=hook_id)
    return Response(status_code=204)


@router.post(
    "/{hook_id}/rotate-secret", response_model=SecretRotated, responses={404: PROBLEM_RESPONSES[404]}
)
def rotate_secret(hook_id: str, session: WriteSessionDep, principal: AdminPrincipal) -> SecretRotated:
    """A new secret, in this response only. For 24 hours each delivery carries two signatures (new and
    previous secret) in `webhook-signature`, so the receiver can switch without missing one."""
    hook, until = service.rotate(session=session, principal=principal, hook_id=hook_id)
    return SecretRotated(id=hook.id, secret=hook.secret, previous_secret_valid_until=until)


@router.get(
    "/{hook_id}/deliveries",
    response_model=Page[DeliveryRead],
    responses={k: PROBLEM_RESPONSES[k] for k in (404, 422)},
)
def list_deliveries(
    hook_id: str,
    session: SessionDep,
    principal: AdminPrincipal,
    page: PageDep,
    status: Annotated[Literal["pending", "delivered", "failed", "cancelled"] | None, Query()] = None,
) -> Page[DeliveryRead]:
    """The webhook's delivery log, newest first: status, attempts, last answer or error, next attempt."""
    rows, nxt = service.deliveries(session=session, principal=principal, hook_id=hook_id, cursor=page.cursor,
                                   limit=page.limit, status=status)  # fmt: skip
    return Page(items=[_delivery(d) for d in rows], next_cursor=nxt)
