"""The outbox handler: in the transaction of every change a webhook may report, one row per subscribed hook.

Costs one indexed read of one row (`webhook_state.generation`) per unit of work when no hook is subscribed:
the hooks are cached per process under the generation they were read at, and every write to `webhook`
bumps it in the same transaction, so every process sees a new or deleted hook from its first transaction
after that commit. After the commit, the in-process deliverer is woken (`due`); deliverers of other
processes find the rows by polling.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, update
from sqlmodel import Session, col

from app.access import scope
from app.core import uow
from app.core.db import row_writer
from app.models import Webhook, WebhookDelivery, WebhookState
from app.models.types import utcnow
from app.webhooks.events import WEBHOOK_EVENTS, payload, provinces_of

# Set after a commit that wrote outbox rows: the in-process deliverer wakes at once instead of at its poll.
due = threading.Event()


@dataclass(frozen=True, slots=True)
class HookRef:
    id: str
    events: frozenset[str]
    provinces: frozenset[str] | None


_GENERATION = text("SELECT generation FROM webhook_state WHERE id = 1")
_ACTIVE = select(col(Webhook.id), col(Webhook.events), col(Webhook.provinces)).where(
    col(Webhook.deleted_at).is_(None)
)
_cache: tuple[int, tuple[HookRef, ...]] = (-1, ())

COLS = (
    "msg_id",
    "webhook_id",
    "event_type",
    "payload",
    "created_at",
    "status",
    "attempts",
    "next_attempt_at",
)


def bump(session: Session) -> None:
    """Every write to `webhook` calls this in its transaction: each process's cached hooks become stale."""
    generation = col(WebhookState.generation)
    session.execute(update(WebhookState).where(col(WebhookState.id) == 1).values(generation=generation + 1))


def active_hooks(session: Session) -> tuple[HookRef, ...]:
    """The hooks not deleted, as of this transaction (cached per process by generation)."""
    global _cache
    conn = session.connection()
    generation = conn.execute(_GENERATION).scalar_one()
    cached = _cache
    if cached[0] == generation:
        return cached[1]
    hooks = tuple(
        HookRef(r.id, frozenset(r.events), frozenset(r.provinces) if r.provinces is not None else None)
        for r in conn.execute(_ACTIVE)
    )
    _cache = (generation, hooks)
    return hooks


def new_msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def wake() -> None:
    due.set()


@uow.handles(*WEBHOOK_EVENTS)
def write_outbox(session: Session, events: list[Any]) -> None:
    hooks = active_hooks(session)
    if not hooks:
        return
    name = WEBHOOK_EVENTS[type(events[0])]
    subscribed = [h for h in hooks if name in h.events]
    if not subscribed:
        return
    writer = row_writer(WebhookDelivery.__table__, COLS, session.get_bind().dialect)  # type: ignore[attr-defined]
    now = utcnow()
    rows = []
    for e in events:
        where = provinces_of(e)
        body: str | None = None
        for h in subscribed:
            if scope.hook_sees(h.provinces, where):
                body = body or payload(name, e, now)
                rows.append(writer.stored({"msg_id": new_msg_id(), "webhook_id": h.id, "event_type": name, "payload": body,
                                           "created_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now}))  # fmt: skip
    if rows:
        writer.insert(session, rows)
        uow.after_commit(session, wake)
