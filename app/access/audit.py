"""Append-only audit trail, written in the same transaction as the change it describes."""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import Session

from app.access.principal import Principal
from app.models import AuditEvent

log = logging.getLogger("khuyencong.audit")


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


# -- rows written off the request path ------------------------------------------------------------------------
#
# An event with no transaction of its own to join (a failed credential: nothing was written) is queued and
# written by one background thread, many rows per transaction, never on the event loop. At most MAX_QUEUED
# wait at once; beyond that they are counted and the count is written as one `audit.dropped` row.

MAX_QUEUED = 10_000
_queue: deque[AuditEvent] = deque()
_dropped = [0]
_lock = threading.Lock()
_scheduled = [False]
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")


def record_detached(
    key_name: str | None,
    action: str,
    resource_type: str,
    resource_id: str,
    detail: dict[str, Any] | None = None,
    *,
    client_ip: str | None = None,
    request_id: str | None = None,
) -> None:
    """Queue one audit row written in its own transaction, soon, off the request path (no province: read by
    admins of every province)."""
    row = AuditEvent(key_name=key_name, role=None, action=action, resource_type=resource_type,
                     resource_id=resource_id[:64], client_ip=client_ip, request_id=request_id, detail=detail)  # fmt: skip
    with _lock:
        if len(_queue) >= MAX_QUEUED:
            _dropped[0] += 1
            return
        _queue.append(row)
        start = not _scheduled[0]
        _scheduled[0] = True
    if start:
        _writer.submit(_drain)


def _drain() -> None:
    from app.core.db import session_scope

    while True:
        with _lock:
            rows, dropped = list(_queue), _dropped[0]
            _queue.clear()
            _dropped[0] = 0
            if not rows and not dropped:
                _scheduled[0] = False
                return
        if dropped:
            rows.append(AuditEvent(key_name=None, role=None, action="audit.dropped", resource_type="audit",
                                   resource_id="queue", detail={"rows": dropped}))  # fmt: skip
        try:
            with session_scope(write=True) as s:
                s.add_all(rows)
        except Exception:  # the trail must never fail a request; the loss is logged
            log.exception("could not write %d audit rows", len(rows))


def flush_detached(timeout: float = 10.0) -> None:
    """Wait until every row queued so far is written (tests, shutdown): the writer is one thread, in order."""
    _writer.submit(lambda: None).result(timeout)
