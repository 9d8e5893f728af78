"""Bulk, as-of extraction of what a ranking needs: facility attributes and latest answers.

Facilities: the facility table for rows unchanged since `as_of`, facility_revision snapshots for the
rest. Answers: one query per questionnaire returning, for every response received by `as_of`, its latest
revision received by `as_of` (a plain join on current_revision when nothing newer exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from app.models import Facility, FacilityRevision, Response, ResponseRevision
from app.prioritisation.profiles import FACILITY_FIELDS

SNAP_COLS = ("name", "province_code", "sector", "kind", "employees", "annual_revenue_vnd", "established_year",
             "prior_support_count", "last_support_year")  # fmt: skip


@dataclass
class Snapshot:
    id: str
    name: str
    province_code: str
    sector: str
    kind: str
    attrs: dict[str, float | None]


def facilities_as_of(session: Session, as_of: datetime, provinces: list[str] | None) -> list[Snapshot]:
    """Every facility registered by `as_of`, with its attributes as they were then (in facility id order)."""
    cols = [Facility.id, Facility.updated_at, *(getattr(Facility, c) for c in SNAP_COLS)]
    stmt: Any = select(*cols).where(Facility.created_at <= as_of)  # type: ignore[operator]
    if provinces is not None:
        stmt = stmt.where(Facility.province_code.in_(provinces))  # type: ignore[attr-defined]
    rows: dict[str, dict[str, Any]] = {}
    changed: list[str] = []
    for r in session.execute(stmt):
        if r.updated_at > as_of:
            changed.append(r.id)
        else:
            rows[r.id] = {c: getattr(r, c) for c in SNAP_COLS}
    for i in range(0, len(changed), 500):
        chunk = changed[i : i + 500]
        latest = (
            select(FacilityRevision.facility_id, func.max(FacilityRevision.revision).label("rev"))
            .where(FacilityRevision.facility_id.in_(chunk), FacilityRevision.changed_at <= as_of)  # type: ignore[attr-defined,operator]
            .group_by(FacilityRevision.facility_id)
            .subquery()
        )
        q = select(FacilityRevision.facility_id, FacilityRevision.data).join(
            latest,
            and_(
                latest.c.facility_id == FacilityRevision.facility_id,
                latest.c.rev == FacilityRevision.revision,
            ),
        )
        for fid, data in session.execute(q):
            if provinces is None or data["province_code"] in provinces:
                rows[fid] = {c: data.get(c) for c in SNAP_COLS}
    out = []
    for fid in sorted(rows):
        d = rows[fid]
        attrs: dict[str, float | None] = {f: _num(d.get(f)) for f in FACILITY_FIELDS if f in d}
        last = d.get("last_support_year")
        attrs["years_since_last_support"] = float(as_of.year - last) if last is not None else None
        out.append(Snapshot(fid, d["name"], d["province_code"], d["sector"], d["kind"], attrs))
    return out


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass
class AnswerRow:
    facility_id: str
    response_id: str
    version: int
    seq: int
    collected_at: datetime
    answers: dict[str, Any]


def latest_revisions(
    session: Session, questionnaire: str, as_of: datetime, provinces: list[str] | None
) -> list[AnswerRow]:
    """Every response to `questionnaire` received by `as_of`, each at its latest revision received by then."""
    newest = session.execute(
        select(func.max(ResponseRevision.received_at))
        .join(Response, Response.id == ResponseRevision.response_id)  # type: ignore[arg-type]
        .where(Response.questionnaire == questionnaire)  # type: ignore[arg-type]
    ).scalar()
    cols = [
        Response.facility_id,
        Response.id,
        Response.version,
        Response.seq,
        ResponseRevision.collected_at,
        ResponseRevision.answers,
    ]
    if newest is None or newest <= as_of:
        join_on = and_(
            ResponseRevision.response_id == Response.id,
            ResponseRevision.revision == Response.current_revision,
        )  # type: ignore[arg-type]
        stmt: Any = select(*cols).join(ResponseRevision, join_on)
    else:
        x = ResponseRevision.__table__.alias("x")  # type: ignore[attr-defined]
        best = (
            select(func.max(x.c.revision))
            .where(x.c.response_id == Response.id, x.c.received_at <= as_of)
            .scalar_subquery()
        )
        join_on = and_(ResponseRevision.response_id == Response.id, ResponseRevision.revision == best)  # type: ignore[arg-type]
        stmt = select(*cols).join(ResponseRevision, join_on)
    stmt = stmt.where(Response.questionnaire == questionnaire, Response.received_at <= as_of)  # type: ignore[arg-type,operator]
    if provinces is not None:
        stmt = stmt.where(Response.province_code.in_(provinces))  # type: ignore[attr-defined]
    return [AnswerRow(*r) for r in session.execute(stmt)]
