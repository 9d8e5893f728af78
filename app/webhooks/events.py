"""Which unit-of-work events become which webhook events, and what their payload says.

Adding an event (point projects: `point_project.changed`, `result.created`) is one line in `WEBHOOK_EVENTS`
once its `uow` event exists: its fields are the payload's `data`, and its `province_code` (or `scope`, a tuple
of provinces or None for nationwide) is what a hook's provinces are checked against.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from app.core import uow
from app.point_projects.events import ProjectChanged, ResultCreated

WEBHOOK_EVENTS: dict[type[uow.Event], str] = {
    uow.ResponseStored: "response.created",
    uow.ResponseRevised: "response.revised",
    uow.Reviewed: "response.reviewed",
    uow.RankingFrozen: "ranking.created",
    ProjectChanged: "point_project.changed",
    ResultCreated: "result.created",
}

# Every name a hook may subscribe to (the contract's list).
EVENT_TYPES: tuple[str, ...] = (
    "response.created",
    "response.revised",
    "response.reviewed",
    "ranking.created",
    "point_project.changed",
    "result.created",
)

MAX_PAYLOAD_BYTES = 8192  # a payload carries ids and a summary; never a whole document


def provinces_of(e: uow.Event) -> tuple[str, ...] | None:
    """The provinces an event belongs to (None: every province)."""
    code = getattr(e, "province_code", None)
    if code is not None:
        return (code,)
    found: tuple[str, ...] | None = getattr(e, "scope", None)
    return found


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, tuple):
        return list(v)
    return v


def payload(name: str, e: uow.Event, at: datetime) -> str:
    """The delivered body `{"type", "timestamp", "data"}` as compact JSON (at most MAX_PAYLOAD_BYTES)."""
    fields = dataclasses.fields(e)  # type: ignore[arg-type]
    data = {f.name: _value(getattr(e, f.name)) for f in fields if not f.metadata.get("internal")}
    body = json.dumps(
        {"type": name, "timestamp": _value(at), "data": data}, ensure_ascii=False, separators=(",", ":")
    )
    if len(body.encode()) > MAX_PAYLOAD_BYTES:  # pragma: no cover - events hold ids; kept bounded regardless
        ids = {k: v for k, v in data.items() if k.endswith("_id") or k == "id"}
        body = json.dumps({"type": name, "timestamp": _value(at), "data": ids}, separators=(",", ":"))
    return body
