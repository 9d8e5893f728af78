"""The events point projects tell the rest of the service, in the unit of work of the change (app.core.uow):
`ProjectChanged` at every revision of a project (created, updated, a state change), `ResultCreated` when a
response to `project-results` is stored (a handler of `ResponseStored`, so every route that stores responses
emits it). Webhooks send them as `point_project.changed` and `result.created`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.core import uow


@dataclass(frozen=True, slots=True)
class ProjectChanged(uow.Event):
    project_id: str
    code: str
    state: str
    revision: int
    change: str  # created | updated | state:<state>
    scope: tuple[str, ...]  # the provinces it touches (its own and its facilities')
    changed_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ResultCreated(uow.Event):
    response_id: str
    facility_id: str
    province_code: str
    submitted_by: str
    received_at: datetime


@uow.handles(uow.ResponseStored)
def _results_stored(session: Session, events: list[uow.ResponseStored]) -> None:
    results = [ResultCreated(response_id=e.response_id, facility_id=e.facility_id, province_code=e.province_code,
                             submitted_by=e.submitted_by, received_at=e.received_at)
               for e in events if e.questionnaire == "project-results"]  # fmt: skip
    if results:
        uow.emit(session, results)
