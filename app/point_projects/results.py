"""The results report: what the point projects funded and achieved, as the programme's own reviews count it.

Figures, each from one place:
- projects, facilities, activities, funds: the projects' documents at their latest revision made by `as_of`
  (point_project_revision), counting projects then `implementing` or `completed` (funded); `by_state` counts
  every state. Funds are the activities' programme and counterpart amounts.
- jobs, women's jobs, trained, revenue, demonstrations, visitors, adoption, funds spent: responses to the
  `project-results` questionnaire received by `as_of` (each at its latest revision by then, not rejected as of
  then: the rankings' default review filter), per facility and project the latest stage received
  (follow_up_12m, else completion, else baseline; within a stage the latest collected).
- reporting per stage: expected — baseline for every supported facility, completion for those of completed
  projects, follow_up_12m for those of projects completed at least 12 months before `as_of`; received — those
  (facility, project) pairs with a result of that stage.
The same `as_of` gives the same report whatever was written later (tests/point_projects prove it).

A present report (no `as_of`) reads the process's copy of the result responses and of the projects, brought up
to date by reading only the responses whose revisions or review events are new (`_Present`); a report with
`as_of` reads the history whole. Both give the same figures (tests/point_projects/test_results.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.access import scope
from app.access.principal import Principal
from app.models import (
    Facility,
    PointProject,
    PointProjectRevision,
    RankingState,
    Response,
    ResponseRevision,
    ReviewEvent,
)
from app.models.types import utcnow
from app.places.service import provinces as current_provinces
from app.point_projects.schemas import SUPPORTING
from app.prioritisation import data, projection
from app.review.states import DEFAULT_FILTER

QUESTIONNAIRE = "project-results"
STAGES = ("baseline", "completion", "follow_up_12m")
METRICS = ("jobs_created", "jobs_created_women", "workers_trained", "demonstration_sessions", "demonstration_visitors",
           "establishments_adopting", "programme_funds_spent_vnd", "counterpart_funds_spent_vnd")  # fmt: skip
KEYS = ("point_project_code", "stage", *METRICS)
KINDS = (
    "demonstration_model",
    "advanced_machinery",
    "production_line",
    "training",
    "workshop",
    "trade_promotion",
    "other",
)


@dataclass(frozen=True)
class Filters:
    point_project: str | None = None
    province_code: str | None = None
    sector: str | None = None
    from_year: int | None = None
    to_year: int | None = None


@dataclass
class _Tally:
    """One row of the report (the whole, a project, a province, a sector or a year)."""

    projects: set[str] = field(default_factory=set)
    facilities: set[str] = field(default_factory=set)
    demonstration_models: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    programme: int = 0
    counterpart: int = 0
    participants: int = 0
    provinces: set[str] = field(default_factory=set)
    metrics: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (project, facility) counted for metrics

    def add_activity(self, pid: str, a: dict[str, Any]) -> None:
        self.projects.add(pid)
        if a.get("facility_id"):
            self.facilities.add(a["facility_id"])
        if a.get("province_code"):
            self.provinces.add(a["province_code"])
        self.kinds[a["kind"]] = self.kinds.get(a["kind"], 0) + 1
        if a["kind"] == "demonstration_model":
            self.demonstration_models += 1
        self.programme += a["programme_vnd"]
        self.counterpart += a["counterpart_vnd"]
        self.participants += a.get("participants") or 0

    def add_result(self, pid: str, fid: str, values: dict[str, Any]) -> None:
        if (pid, fid) in self.pairs:
            return
        self.pairs.add((pid, fid))
        for m in METRICS:
            v = values.get(m)
            if isinstance(v, int | float) and not isinstance(v, bool):
                self.metrics[m] += int(v)

    def merge(self, other: _Tally) -> None:
        """Add another row's figures (rows of disjoint (project, facility) pairs: results are summed as they are)."""
        self.projects |= other.projects
        self.facilities |= other.facilities
        self.provinces |= other.provinces
        self.demonstration_models += other.demonstration_models
        self.programme += other.programme
        self.counterpart += other.counterpart
        self.participants += other.participants
        for k, n in other.kinds.items():
            self.kinds[k] = self.kinds.get(k, 0) + n
        for m, n in other.metrics.items():
            self.metrics[m] += n

    def render(self) -> dict[str, Any]:
        return {
            "projects": len(self.projects),
            "facilities_supported": len(self.facilities),
            "demonstration_models": self.demonstration_models,
            "activities_by_kind": dict(self.kinds),
            "funds_vnd": {
                "programme": self.programme,
                "counterpart": self.counterpart,
                "total": self.programme + self.counterpart,
            },  # fmt: skip
            "participants": self.participants,
            "jobs_created": self.metrics["jobs_created"],
            "jobs_created_women": self.metrics["jobs_created_women"],
            "workers_trained": self.metrics["workers_trained"],
            "demonstration_sessions": self.metrics["demonstration_sessions"],
            "demonstration_visitors": self.metrics["demonstration_visitors"],
            "establishments_adopting": self.metrics["establishments_adopting"],
            "funds_spent_vnd": {
                "programme": self.metrics["programme_funds_spent_vnd"],
                "counterpart": self.metrics["counterpart_funds_spent_vnd"],
            },  # fmt: skip
            "provinces_covered": sorted(self.provinces),
            "provinces_covered_count": len(self.provinces),
        }


@dataclass(frozen=True, slots=True)
class _Project:
    id: str
    code: str


@dataclass(frozen=True, slots=True)
class _Revision:
    state: str
    doc: dict[str, Any]


_Projects = list[tuple[_Project, _Revision, datetime | None]]
_projects_copy: tuple[tuple[int, int, str | None], _Projects] | None = None


def _projects_as_of(session: Session, as_of: datetime, present: bool = False) -> _Projects:
    """Every project with its latest revision made by `as_of`, and when it became completed (None: not by then).
    `present` (as_of is now): the process's copy while no project revision was added since (count and max id,
    as _Present reads them). The documents are shared: callers read them, never change them."""
    global _projects_copy
    if present:
        n, top = session.execute(
            select(func.count(), func.coalesce(func.max(PointProjectRevision.id), 0))
        ).one()
        at = session.execute(
            select(PointProjectRevision.project_id).where(PointProjectRevision.id == top)  # type: ignore[arg-type]
        ).scalar()
        marks = (int(n), int(top), at)  # the project at the mark: a database emptied and filled again differs
        got = _projects_copy
        if got is not None and got[0] == marks:
            return got[1]
        out = _projects_read(session, utcnow())
        _projects_copy = (marks, out)
        return out
    return _projects_read(session, as_of)


def _projects_read(session: Session, as_of: datetime) -> _Projects:
    best = (
        select(PointProjectRevision.project_id, func.max(PointProjectRevision.revision).label("rev"))
        .where(PointProjectRevision.changed_at <= as_of)  # type: ignore[arg-type,operator]
        .group_by(PointProjectRevision.project_id)
        .subquery()
    )
    stmt = (
        select(PointProject.id, PointProject.code, PointProjectRevision.state, PointProjectRevision.doc)
        .join(best, best.c.project_id == PointProject.id)
        .join(
            PointProjectRevision,
            (PointProjectRevision.project_id == best.c.project_id)
            & (PointProjectRevision.revision == best.c.rev),
        )  # type: ignore[arg-type]
        .order_by(PointProject.seq)  # type: ignore[arg-type]
    )
    rows = session.execute(stmt).all()
    completed: dict[str, datetime] = dict(session.execute(
        select(PointProjectRevision.project_id, func.min(PointProjectRevision.changed_at))
        .where(PointProjectRevision.change == "state:completed", PointProjectRevision.changed_at <= as_of)  # type: ignore[arg-type,operator]
        .group_by(PointProjectRevision.project_id)).all())  # type: ignore[arg-type]  # fmt: skip
    return [(_Project(r.id, r.code), _Revision(r.state, r.doc), completed.get(r.id)) for r in rows]


def _touched(doc: dict[str, Any]) -> set[str]:
    return set(doc["provinces"]) | {a["province_code"] for a in doc["activities"] if a.get("province_code")}


@dataclass(frozen=True, slots=True)
class _Row:
    """One result response as the report reads it."""

    key: tuple[str, str]  # (project code, facility id)
    stage: int  # its place in STAGES
    first: tuple[int, float, int]  # smaller is read first: (precedence rank, −collected, −seq)
    values: dict[str, Any]


def _rows_of(t: data.AnswerTable) -> dict[str, _Row]:
    order = {s: i for i, s in enumerate(STAGES)}
    cols = [t.answers[k] for k in KEYS]
    out: dict[str, _Row] = {}
    for r, fid in enumerate(t.facility_id):
        code, stage = cols[0][r], cols[1][r]
        if not isinstance(code, str) or stage not in order:
            continue
        first = (projection.rank_of(t.code[r]), -t.collected_at(r).timestamp(), -t.seq[r])
        out[t.response_id[r]] = _Row(
            (code, fid), order[stage], first, {k: cols[i][r] for i, k in enumerate(KEYS)}
        )
    return out


def _best(rows: Iterable[_Row]) -> dict[str, Any] | None:
    """The answers of the latest stage received (within a stage the row read first), with `_stages`."""
    best: _Row | None = None
    stages: set[str] = set()
    for row in rows:
        stages.add(STAGES[row.stage])
        if best is None or (row.stage, tuple(-x for x in row.first)) > (
            best.stage,
            tuple(-x for x in best.first),
        ):
            best = row
    return None if best is None else {**best.values, "_stages": stages}


def _results(
    session: Session, as_of: datetime, present: bool = False
) -> dict[tuple[str, str], dict[str, Any]]:
    """(project code, facility id) → the answers of its latest stage received by `as_of` (with `_stages`: every
    stage received). `present` (as_of is now): from the process's copy, brought up to date (_Present)."""
    if present:
        return _present.current(session)
    t = data.latest_revisions(session, QUESTIONNAIRE, KEYS, as_of, None, review=DEFAULT_FILTER)
    grouped: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    for row in _rows_of(t).values():
        grouped[row.key].append(row)
    return {k: b for k, rows in grouped.items() if (b := _best(rows)) is not None}


# Response revisions (count, max id, the response of that revision), review events (count, max seq, its id).
_Marks = tuple[int, int, str | None, int, int, str | None]


def _marks(conn: Any) -> _Marks:
    rc, rmax = conn.execute(select(func.count(), func.coalesce(func.max(ResponseRevision.id), 0))).one()
    ec, emax = conn.execute(select(func.count(), func.coalesce(func.max(ReviewEvent.seq), 0))).one()
    return (int(rc), int(rmax), _at_revision(conn, int(rmax)), int(ec), int(emax), _at_event(conn, int(emax)))


def _at_revision(conn: Any, rid: int) -> str | None:
    return conn.execute(select(ResponseRevision.response_id).where(ResponseRevision.id == rid)).scalar()  # type: ignore[arg-type]


def _at_event(conn: Any, seq: int) -> str | None:
    return conn.execute(select(ReviewEvent.id).where(ReviewEvent.seq == seq)).scalar()  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Copy:
    marks: _Marks
    rows: dict[str, _Row]  # response id → row
    by_key: dict[tuple[str, str], frozenset[str]]
    results: dict[tuple[str, str], dict[str, Any]]


class _Present:
    """The present results, kept per process and brought up to date by reading only the responses whose
    revisions or review events are newer than the copy's (each process asks the database, so a write in any
    process is seen by the next report in every process).

    A revision or review event committed late with an id below the copy's mark (concurrent writers on
    PostgreSQL) is noticed by the counts: the rows above the mark plus the copy's count must be the count now,
    else the copy is read again whole. Responses, revisions and review events are never deleted (nothing is
    lost), so a count can only grow; a copy is also read again whole when more than 5,000 rows are new. Copies are replaced, never changed, so readers in other threads need no lock."""

    def __init__(self) -> None:
        self._copy: _Copy | None = None
        self._lock = threading.Lock()

    def current(self, session: Session) -> dict[tuple[str, str], dict[str, Any]]:
        conn = session.connection()
        marks = _marks(conn)
        with self._lock:
            old = self._copy
            if old is not None and old.marks == marks:
                return old.results
            changed = None if old is None else self._changed(conn, old, marks)
            if changed is None:
                self._copy = self._whole(session, marks)
            else:
                self._copy = self._update(session, old, marks, changed)  # type: ignore[arg-type]
            return self._copy.results

    @staticmethod
    def _changed(conn: Any, old: _Copy, marks: _Marks) -> list[str] | None:
        """The responses to re-read, or None when the copy must be read again whole (also when the rows at the
        copy's marks are not the ones it saw: a database emptied and filled again, as tests do)."""
        orc, ormax, oranchor, oec, oemax, oeanchor = old.marks
        rc, _, _, ec, _, _ = marks
        if _at_revision(conn, ormax) != oranchor or _at_event(conn, oemax) != oeanchor:
            return None
        above_r = conn.execute(select(func.count()).where(ResponseRevision.id > ormax)).scalar()  # type: ignore[operator]
        above_e = conn.execute(select(func.count()).where(ReviewEvent.seq > oemax)).scalar()  # type: ignore[operator]
        if rc != orc + above_r or ec != oec + above_e or above_r + above_e > 5000:
            return None
        ids = set(conn.execute(
            select(ResponseRevision.response_id).join(Response, Response.id == ResponseRevision.response_id)
            .where(ResponseRevision.id > ormax, Response.questionnaire == QUESTIONNAIRE)).scalars())  # type: ignore[arg-type,operator]  # fmt: skip
        ids |= set(conn.execute(
            select(ReviewEvent.response_id).join(Response, Response.id == ReviewEvent.response_id)
            .where(ReviewEvent.seq > oemax, Response.questionnaire == QUESTIONNAIRE)).scalars())  # type: ignore[arg-type,operator]  # fmt: skip
        return sorted(ids)

    @staticmethod
    def _whole(session: Session, marks: _Marks) -> _Copy:
        t = data.latest_revisions(session, QUESTIONNAIRE, KEYS, utcnow(), None, review=DEFAULT_FILTER)
        rows = _rows_of(t)
        by_key: dict[tuple[str, str], set[str]] = defaultdict(set)
        for rid, row in rows.items():
            by_key[row.key].add(rid)
        results = {k: b for k, ids in by_key.items() if (b := _best(rows[i] for i in ids)) is not None}
        return _Copy(marks, rows, {k: frozenset(v) for k, v in by_key.items()}, results)

    @staticmethod
    def _update(session: Session, old: _Copy, marks: _Marks, changed: list[str]) -> _Copy:
        rows = dict(old.rows)
        by_key = dict(old.by_key)
        touched: set[tuple[str, str]] = set()
        for (
            rid
        ) in changed:  # dropped first: a response now rejected, or moved to another project, leaves its key
            row = rows.pop(rid, None)
            if row is not None:
                touched.add(row.key)
                by_key[row.key] = by_key[row.key] - {rid}
        now = utcnow()
        for k in range(0, len(changed), 500):
            t = data.latest_revisions(session, QUESTIONNAIRE, KEYS, now, None, review=DEFAULT_FILTER,
                                      response_ids=changed[k : k + 500])  # fmt: skip
            for rid, row in _rows_of(t).items():
                rows[rid] = row
                touched.add(row.key)
                by_key[row.key] = by_key.get(row.key, frozenset()) | {rid}
        results = dict(old.results)
        for key in touched:
            b = _best(rows[i] for i in by_key.get(key, frozenset()))
            if b is None:
                results.pop(key, None)
                by_key.pop(key, None)
            else:
                results[key] = b
        return _Copy(marks, rows, by_key, results)


_present = _Present()


_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_lock = threading.Lock()


def _generation(session: Session) -> tuple[int, int]:
    """What a present report depends on: ranking data (responses, reviews, facilities) and project revisions."""
    gen = session.execute(select(RankingState.generation).where(RankingState.id == 1)).scalar() or 0  # type: ignore[arg-type]
    rev = session.execute(select(func.max(PointProjectRevision.id))).scalar() or 0
    return int(gen), int(rev)


def report(
    *, session: Session, principal: Principal, filters: Filters, as_of: datetime | None
) -> dict[str, Any]:
    """The results report in the caller's scope (projects every province of which it may read)."""
    present = as_of is None
    as_of = as_of or utcnow()
    visible = None if principal.provinces is None else tuple(sorted(principal.provinces))
    key: tuple[Any, ...] | None = None
    if present:
        key = (_generation(session), visible, filters)
        with _lock:
            hit = _cache.get(key)
        if hit is not None:
            return {**hit, "as_of": as_of.isoformat()}
    out = _compute(session, principal, filters, as_of, present)
    if key is not None:
        with _lock:
            _cache[key] = out
            while len(_cache) > 16:
                _cache.popitem(last=False)
    return {**out, "as_of": as_of.isoformat()}


def _compute(
    session: Session, principal: Principal, f: Filters, as_of: datetime, present: bool
) -> dict[str, Any]:
    total = _Tally()
    by_project: dict[str, _Tally] = {}
    by_province: dict[str, _Tally] = defaultdict(_Tally)
    by_sector: dict[str, _Tally] = defaultdict(_Tally)
    by_year: dict[int, _Tally] = defaultdict(_Tally)
    by_state: dict[str, int] = defaultdict(int)
    meta: dict[str, dict[str, Any]] = {}
    reporting = {s: {"expected": 0, "received": 0} for s in STAGES}
    results = _results(session, as_of, present)
    year_ago = as_of - timedelta(days=365)
    for p, rev, completed_at in _projects_as_of(session, as_of, present):
        doc = rev.doc
        if not scope.may_read_project(principal, _touched(doc)):
            continue
        if f.point_project is not None and f.point_project not in (p.id, p.code):
            continue
        if f.sector is not None and doc["sector"] != f.sector:
            continue
        if f.from_year is not None and doc["end_year"] < f.from_year:
            continue
        if f.to_year is not None and doc["start_year"] > f.to_year:
            continue
        if f.province_code is not None and f.province_code not in _touched(doc):
            continue
        by_state[rev.state] += 1
        if rev.state not in SUPPORTING:
            continue
        meta[p.id] = {"id": p.id, "code": p.code, "title": doc["title"], "sector": doc["sector"], "state": rev.state,
                      "start_year": doc["start_year"], "end_year": doc["end_year"], "provinces": sorted(doc["provinces"])}  # fmt: skip
        # One pass over the activities into one row per (project, province); every other row is a merge of those.
        cells: dict[str, _Tally] = {}
        single = doc["provinces"][0] if len(doc["provinces"]) == 1 else None
        shared = doc["provinces"] if f.province_code is None else [f.province_code]
        for a in doc["activities"]:
            where = a.get("province_code") or single
            if f.province_code is not None and where != f.province_code:
                continue
            x = cells.get(where or "")  # "": a project-level activity of several provinces
            if x is None:
                x = cells[where or ""] = _Tally()
            x.add_activity(p.id, a)
            if not a.get("province_code"):
                x.provinces.update(shared)
            fid = a.get("facility_id")
            if fid is not None and (res := results.get((p.code, fid))) is not None:
                x.add_result(p.id, fid, res)
        t = by_project[p.id] = _Tally()
        for where, x in cells.items():
            t.merge(x)
            by_province[where].merge(x)
        for row in (by_sector[doc["sector"]], by_year[doc["start_year"]], total):
            row.merge(t)
        facilities = {a["facility_id"] for a in doc["activities"] if a.get("facility_id")
                      and (f.province_code is None or a.get("province_code") == f.province_code)}  # fmt: skip
        due = {"baseline": True, "completion": rev.state == "completed",
               "follow_up_12m": completed_at is not None and completed_at <= year_ago}  # fmt: skip
        for fid in facilities:
            got = results.get((p.code, fid), {}).get("_stages", set())
            for s in STAGES:
                if due[s]:
                    reporting[s]["expected"] += 1
                    reporting[s]["received"] += s in got
    names = current_provinces()
    head = total.render()
    return {
        **head,
        "provinces_total": len(names),
        "by_state": dict(by_state),
        "by_project": [{**meta[pid], **t.render()} for pid, t in by_project.items()],
        # The last row (province_code null) holds project-level activities of projects in several provinces.
        "by_province": [
            {"province_code": c or None, "province_name": names.get(c), **t.render()}
            for c, t in sorted(by_province.items(), key=lambda kv: (kv[0] == "", kv[0]))
        ],  # fmt: skip
        "by_sector": [{"sector": s, **t.render()} for s, t in sorted(by_sector.items())],
        "by_year": [{"year": y, **t.render()} for y, t in sorted(by_year.items())],
        "reporting": reporting,
        "filters": {k: v for k, v in f.__dict__.items() if v is not None},
        "sources": {
            "projects": "point_project_revision: each project's latest revision by as_of, states implementing and completed",
            "results": f"responses to {QUESTIONNAIRE} received by as_of, not rejected; per facility and project the latest stage",
        },
    }


def facilities_behind(
    *, session: Session, principal: Principal, filters: Filters, as_of: datetime | None, figure: str
) -> list[dict[str, Any]]:
    """The establishments behind a figure of the report (`facilities_supported`, `demonstration_models`,
    `jobs_created`, ...): each with its project, activity kinds, funds and latest result."""
    present = as_of is None
    as_of = as_of or utcnow()
    results = _results(session, as_of, present)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for p, rev, _ in _projects_as_of(session, as_of, present):
        doc = rev.doc
        if rev.state not in SUPPORTING or not scope.may_read_project(principal, _touched(doc)):
            continue
        if filters.point_project is not None and filters.point_project not in (p.id, p.code):
            continue
        if filters.sector is not None and doc["sector"] != filters.sector:
            continue
        if (filters.from_year is not None and doc["end_year"] < filters.from_year) or (
            filters.to_year is not None and doc["start_year"] > filters.to_year
        ):
            continue
        for a in doc["activities"]:
            fid = a.get("facility_id")
            if fid is None or (
                filters.province_code is not None and a.get("province_code") != filters.province_code
            ):
                continue
            if figure == "demonstration_models" and a["kind"] != "demonstration_model":
                continue
            e = out.setdefault((p.code, fid), {"facility_id": fid, "province_code": a.get("province_code"),
                                               "point_project_code": p.code, "point_project_id": p.id, "kinds": [],
                                               "programme_vnd": 0, "counterpart_vnd": 0, "result": None})  # fmt: skip
            e["kinds"].append(a["kind"])
            e["programme_vnd"] += a["programme_vnd"]
            e["counterpart_vnd"] += a["counterpart_vnd"]
            res = results.get((p.code, fid))
            if res is not None:
                e["result"] = {k: v for k, v in res.items() if k != "_stages"} | {
                    "stages": sorted(res["_stages"])
                }
    rows = list(out.values())
    if figure in METRICS:
        rows = [r for r in rows if r["result"] and (r["result"].get(figure) or 0) > 0]
    ids = sorted({r["facility_id"] for r in rows})
    names: dict[str, str] = {}
    for k in range(0, len(ids), 500):
        names.update(
            dict(
                session.execute(
                    select(Facility.id, Facility.name).where(col(Facility.id).in_(ids[k : k + 500]))
                ).all()
            )
        )  # type: ignore[attr-defined,arg-type]
    for r in rows:
        r["facility_name"] = names.get(r["facility_id"])
    return rows


def _due_since(stage: str, completed_at: datetime | None) -> datetime | None:
    if completed_at is None or stage == "baseline":
        return None
    return completed_at + timedelta(days=365) if stage == "follow_up_12m" else completed_at


def follow_ups(*, session: Session, principal: Principal, limit: int = 1000) -> list[dict[str, Any]]:
    """The result reports due now and not yet received, per supported facility of the caller's provinces: a
    baseline once a project is approved, a completion report once it is completed, a 12-month follow-up a year
    after completion (what an officer's device lists to visit, as it lists responses with issues)."""
    now = utcnow()
    results = _results(session, now, present=True)
    year_ago = now - timedelta(days=365)
    out: list[dict[str, Any]] = []
    for p, rev, completed_at in _projects_as_of(session, now, present=True):
        if rev.state not in ("approved", "implementing", "completed"):
            continue
        due = {"baseline": True, "completion": rev.state == "completed",
               "follow_up_12m": completed_at is not None and completed_at <= year_ago}  # fmt: skip
        for a in rev.doc["activities"]:
            fid = a.get("facility_id")
            if fid is None or not scope.may_read(principal, a.get("province_code")):
                continue
            got = results.get((p.code, fid), {}).get("_stages", set())
            for stage in STAGES:
                if due[stage] and stage not in got:
                    out.append({"facility_id": fid, "province_code": a.get("province_code"), "point_project_id": p.id,
                                "point_project_code": p.code, "stage": stage,
                                "due_since": _due_since(stage, completed_at)})  # fmt: skip
    unique = {(r["facility_id"], r["point_project_code"], r["stage"]): r for r in out}
    rows = sorted(
        unique.values(),
        key=lambda r: (
            r["province_code"] or "",
            r["point_project_code"],
            r["facility_id"],
            STAGES.index(r["stage"]),
        ),
    )
    ids = sorted({r["facility_id"] for r in rows[:limit]})
    names: dict[str, str] = {}
    for k in range(0, len(ids), 500):
        names.update(
            dict(
                session.execute(
                    select(Facility.id, Facility.name).where(col(Facility.id).in_(ids[k : k + 500]))
                ).all()
            )
        )
    return [{**r, "facility_name": names.get(r["facility_id"])} for r in rows[:limit]]
