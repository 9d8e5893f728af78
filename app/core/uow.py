"""The unit of work's events: what a domain command tells the rest of the service, inside its transaction.

A write runs in one unit of work, opened by the route class (`WriteSessionDep`), by a staged route's
`writing()`, or by the group committer (`session_scope(write=True)`) — see docs/pipeline.md. A domain
command does its own rows, then says what happened with `emit(session, event, ...)`. Events are small frozen
dataclasses (ids and a summary, never a whole document).

- Handlers (`@handles(EventType)`) run at `emit`, synchronously, on the emitting session, so in the same
  transaction as the change: their rows commit with it or roll back with it (a savepoint rolled back takes
  the handler's rows along). A handler receives every event of its type passed to one `emit` at once (a group
  commit emits its whole group in one call), so it can write them with one statement.
- After-commit hooks (`after_commit(session, fn)`) run once the outermost transaction has committed, in the
  committing thread (e.g. wake the webhook deliverer); they are dropped on rollback. A hook must be quick and
  must not raise (an exception is logged and swallowed: the commit has happened).

Adding an event: a dataclass here (or in the domain that emits it), `emit` it from the command, and handlers
register for it; nothing else changes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

log = logging.getLogger(__name__)


class Event:
    """Base of every unit-of-work event (a frozen dataclass)."""

    __slots__ = ()


# A field for handlers in this process (derived state), never part of a webhook payload (app.webhooks.events).
INTERNAL = {"internal": True}


@dataclass(frozen=True, slots=True)
class ResponseStored(Event):
    """A new response (revision 1) was stored."""

    response_id: str
    questionnaire: str
    version: int
    facility_id: str
    province_code: str
    submitted_by: str
    received_at: datetime
    channel: str | None = None
    # What the answer projection reads (a reference to the stored answers, not a copy):
    collected_at: datetime | None = field(default=None, metadata=INTERNAL)
    answers: Mapping[str, Any] | None = field(default=None, metadata=INTERNAL)


@dataclass(frozen=True, slots=True)
class ResponseRevised(Event):
    """A response got a new revision (which became its current one)."""

    response_id: str
    revision: int
    questionnaire: str
    version: int
    facility_id: str
    province_code: str
    submitted_by: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Reviewed(Event):
    """A review decision was recorded on a response's revision."""

    response_id: str
    review_id: str
    state: str
    revision: int
    facility_id: str
    province_code: str
    reviewer: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RankingFrozen(Event):
    """A ranking was computed and stored (frozen)."""

    ranking_id: str
    profile_key: str
    profile_version: int
    scope: tuple[str, ...] | None  # the provinces it covers (None: every province)
    created_by: str
    created_at: datetime
    items: int


@dataclass(frozen=True, slots=True)
class FacilitiesChanged(Event):
    """Facility rows were registered or changed (attributes, place, prior support): what rankings read."""

    count: int


E = TypeVar("E", bound=Event)
Handler = Callable[[Session, list[Any]], None]

_handlers: dict[type[Event], list[Handler]] = defaultdict(list)
_last: dict[type[Event], list[Handler]] = defaultdict(list)
_installed = False


def handles(*types: type[Event], last: bool = False) -> Callable[[Handler], Handler]:
    """Register `fn(session, events)` for these event types (at import of the handler's module, which
    `app/handlers.py` lists). `last`: after every other handler of the type — derived ranking state, whose
    row locks come after every other row a write takes (docs/pipeline.md: the lock order)."""

    def register(fn: Handler) -> Handler:
        table = _last if last else _handlers
        for t in types:
            if fn not in table[t]:
                table[t].append(fn)
        return fn

    return register


def handlers_of(t: type[Event]) -> list[Handler]:
    return [*_handlers.get(t, ()), *_last.get(t, ())]


def installed() -> None:
    """Called by `app.handlers` once it has imported every handler module (the composition root: `app.main`,
    `app.cli` and anything else that writes import it). `emit` refuses to run before, so no process — server,
    CLI, benchmark — can write without its derived state."""
    global _installed
    _installed = True


def emit(session: Session, *events: Event | Iterable[Event]) -> None:
    """Run the handlers of these events now, in the session's (write) transaction.

    Accepts events and iterables of events; handlers of one type get all of that type in one call, types in
    the order they first appear."""
    by_type: dict[type[Event], list[Event]] = {}
    for item in events:
        for e in (item,) if isinstance(item, Event) else item:
            by_type.setdefault(type(e), []).append(e)
    if not by_type:
        return
    if not session.in_transaction():  # pragma: no cover - a programming error, never a user's
        raise RuntimeError("uow.emit outside a transaction: emit from a command running in a unit of work")
    if (
        not _installed
    ):  # pragma: no cover - a programming error: a process that writes must import app.handlers
        raise RuntimeError("uow.emit before app.handlers was imported: its handlers would not run")
    for t, batch in by_type.items():
        for handler in (*_handlers.get(t, ()), *_last.get(t, ())):
            handler(session, batch)


_AFTER = "uow_after_commit"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run `fn()` once the session's current transaction has committed (dropped if it rolls back).

    The same `fn` registered twice in one transaction runs once."""
    hooks: list[Callable[[], None]] = session.info.setdefault(_AFTER, [])
    if fn not in hooks:
        hooks.append(fn)


@sa_event.listens_for(OrmSession, "after_commit")
def _run_after_commit(session: OrmSession) -> None:
    if session.in_nested_transaction():  # a savepoint's commit: the transaction is still open
        return
    hooks = session.info.pop(_AFTER, None)
    for fn in hooks or ():
        try:
            fn()
        except Exception:  # noqa: BLE001 - the commit has happened; a hook never undoes or fails it
            log.exception("after-commit hook %r failed", fn)


@sa_event.listens_for(OrmSession, "after_rollback")
def _drop_after_commit(session: OrmSession) -> None:
    # A savepoint's rollback keeps the transaction's hooks; the transaction's own rollback drops them.
    if not session.in_nested_transaction():
        session.info.pop(_AFTER, None)
