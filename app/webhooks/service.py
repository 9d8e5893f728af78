"""Webhook subscriptions: create, list, delete, rotate the secret, read the delivery log (no HTTP here).

Administered like keys: an admin sees and changes the hooks whose provinces lie inside its own; a hook gets
its creator's provinces and receives only events inside them (rules in app.access.scope)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from app.access import audit, scope
from app.access.principal import Principal
from app.core.errors import Invalid, NotFound
from app.core.pagination import Keyset, page
from app.models import Webhook, WebhookDelivery
from app.models.types import utcnow
from app.webhooks import outbox, urls
from app.webhooks.events import EVENT_TYPES

# After a rotation, deliveries carry a signature by the previous secret too, for this long.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str, path: str = "url") -> None:
    try:
        urls.check(url)
    except urls.Refused as exc:
        raise Invalid.at(path, exc.code, exc.message) from None


def check_events(events: list[str], path: str = "events") -> list[str]:
    if not events:
        raise Invalid.at(path, "empty", f"List at least one event: {', '.join(EVENT_TYPES)}.")
    for i, name in enumerate(events):
        if name not in EVENT_TYPES:
            raise Invalid.at(f"{path}.{i}", "unknown_event",
                             f"Unknown event {name!r}; events are {', '.join(EVENT_TYPES)}.")  # fmt: skip
    return sorted(set(events), key=EVENT_TYPES.index)


def create(
    *, session: Session, principal: Principal, url: str, events: list[str], description: str | None
) -> Webhook:
    """A new hook for the caller's provinces; its secret is on the returned row (shown once by the route)."""
    names = check_events(events)
    check_url(url)
    hook = Webhook(id=str(uuid.uuid4()), url=url, events=names, description=description,
                   provinces=scope.hook_provinces(principal), secret=new_secret(), created_by=principal.name,
                   created_at=utcnow())  # fmt: skip
    session.add(hook)
    outbox.bump(session)
    audit.record(session, principal, "webhook.created", "webhook", hook.id, {"url": url, "events": names},
                 province=scope.audit_province(hook.provinces))  # fmt: skip
    session.flush()
    return hook


def list_hooks(*, session: Session, principal: Principal) -> list[Webhook]:
    """The hooks the caller may administer (not deleted), oldest first."""
    rows = session.execute(
        select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(Webhook.created_at, Webhook.id)  # type: ignore[union-attr, arg-type]
    ).scalars()
    return [h for h in rows if scope.may_administer(principal, h.provinces)]


def get(*, session: Session, principal: Principal, hook_id: str) -> Webhook:
    """A hook the caller may administer (404 otherwise: existence is not revealed)."""
    hook = session.get(Webhook, hook_id)
    if hook is None or hook.deleted_at is not None or not scope.may_administer(principal, hook.provinces):
        raise NotFound(f"There is no webhook {hook_id} that you may administer.")
    return hook


def delete(*, session: Session, principal: Principal, hook_id: str) -> None:
    """Stop the hook: nothing more is queued for it and what is still pending is cancelled (the log stays)."""
    hook = get(session=session, principal=principal, hook_id=hook_id)
    hook.deleted_at = utcnow()
    session.add(hook)
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == "pending")  # type: ignore[arg-type]
        .values(status="cancelled", next_attempt_at=None)
    )
    outbox.bump(session)
    audit.record(session, principal, "webhook.deleted", "webhook", hook.id,
                 province=scope.audit_province(hook.provinces))  # fmt: skip
    session.flush()


def rotate(*, session: Session, principal: Principal, hook_id: str) -> tuple[Webhook, datetime]:
    """A new secret (returned once); the previous one still signs deliveries for PREVIOUS_SECRET_GRACE."""
    hook = get(session=session, principal=principal, hook_id=hook_id)
    until = utcnow() + PREVIOUS_SECRET_GRACE
    hook.previous_secret, hook.previous_secret_until, hook.secret = hook.secret, until, new_secret()
    session.add(hook)
    outbox.bump(session)
    audit.record(session, principal, "webhook.secret_rotated", "webhook", hook.id,
                 province=scope.audit_province(hook.provinces))  # fmt: skip
    session.flush()
    return hook, until


NEWEST_FIRST = Keyset(WebhookDelivery.id, descending=True)


def deliveries(
    *,
    session: Session,
    principal: Principal,
    hook_id: str,
    cursor: str | None,
    limit: int,
    status: str | None,
) -> tuple[list[Any], str | None]:
    """The hook's delivery log, newest first."""
    hook = get(session=session, principal=principal, hook_id=hook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)  # type: ignore[arg-type]
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)  # type: ignore[arg-type]
    return page(session, stmt, NEWEST_FIRST, cursor=cursor, limit=limit)
