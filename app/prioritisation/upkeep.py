"""The answer projection and the ranking state kept as handlers of the unit of work (docs/pipeline.md).

Each write command says what happened (`uow.emit`); these handlers keep what present rankings read, in the same
transaction, after every other handler of the event (`last=True`): a write takes its own rows' locks first,
then the ranking-state row, then projection rows (the lock order every write path keeps).
"""

from __future__ import annotations

from sqlmodel import Session

from app.core import uow
from app.prioritisation import projection


@uow.handles(uow.ResponseStored, last=True)
def responses_stored(session: Session, events: list[uow.ResponseStored]) -> None:
    """New responses: each is `received`, so it becomes the one read under `any` and `not_rejected`."""
    projection.created(session, [(e.response_id, e.facility_id, e.questionnaire, e.version, e.collected_at,
                                  e.answers or {}, e.channel or "field") for e in events])  # type: ignore[misc]  # fmt: skip


@uow.handles(uow.ResponseRevised, uow.Reviewed, last=True)
def responses_changed(session: Session, events: list[uow.ResponseRevised] | list[uow.Reviewed]) -> None:
    """A revision may change which response is the latest; a review which one counts under a review filter."""
    projection.refresh(session, [e.facility_id for e in events])


@uow.handles(uow.FacilitiesChanged, last=True)
def facilities_changed(session: Session, events: list[uow.FacilitiesChanged]) -> None:
    """Rankings show a facility's attributes and place, and list every registered one."""
    projection.touch(session, facilities=True)
