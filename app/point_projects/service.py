"""Point-project commands and queries: create (by hand or from a frozen selection), revise, move through the
lifecycle, read, list, history. Every change is a new revision (the whole document), audited; the support it
gives facilities is recorded on them (their prior support) while the project is implementing or completed."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.access import audit, scope
from app.access.principal import Principal
from app.core import uow
from app.core.errors import Conflict, Invalid, NotFound, field_error
from app.core.pagination import Keyset, page
from app.facilities import service as facilities
from app.models import Facility, PointProject, PointProjectActivity, PointProjectRevision
from app.models.types import utcnow
from app.places.service import provinces as current_provinces
from app.point_projects.events import ProjectChanged
from app.point_projects.schemas import (
    SUPPORTING,
    TRANSITIONS,
    ActivityIn,
    ActivityKind,
    FromSelection,
    PointProjectCreate,
    PointProjectRead,
    PointProjectSummary,
    PointProjectUpdate,
    RevisionRead,
    State,
)

DOC_FIELDS = (
    "title",
    "sector",
    "provinces",
    "start_year",
    "end_year",
    "implementing_unit",
    "ranking_id",
    "activities",
)
ORDER = Keyset(PointProject.seq, descending=True)
REVISION_ORDER = Keyset(PointProjectRevision.id)


def _not_found(project_id: str) -> NotFound:
    return NotFound(f"There is no point project {project_id} that you may see.")


def _unknown_facility(i: int, fid: str) -> dict[str, str]:
    return field_error(f"activities.{i}.facility_id", "unknown_facility",
                       f"There is no facility {fid} in your provinces.")  # fmt: skip


def _resolve(session: Session, principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    """Check a project document's places, years and facilities; returns the document with each activity's
    province filled in, and the provinces it touches under `_touches`. 422/403 name the field."""
    errors: list[dict[str, str]] = []
    known = current_provinces()
    for i, code in enumerate(doc["provinces"]):
        if code not in known:
            errors.append(field_error(f"provinces.{i}", "unknown_province",
                                      f"{code!r} is not a current province code; see /api/v1/provinces."))  # fmt: skip
    if doc["end_year"] < doc["start_year"]:
        errors.append(field_error("end_year", "before_start", "end_year must not be before start_year."))
    wanted = sorted({a["facility_id"] for a in doc["activities"] if a.get("facility_id")})
    found: dict[str, Any] = {}
    for k in range(0, len(wanted), 500):
        stmt = select(Facility.id, Facility.name, Facility.province_code).where(
            col(Facility.id).in_(wanted[k : k + 500])
        )  # type: ignore[attr-defined]
        found.update({r.id: r for r in session.execute(stmt)})
    touches = set(doc["provinces"])
    for i, a in enumerate(doc["activities"]):
        fid = a.get("facility_id")
        if fid is None:
            a["province_code"] = None
            continue
        f = found.get(fid)
        if f is None or not scope.may_read(principal, f.province_code):
            errors.append(_unknown_facility(i, fid))
            continue
        if f.province_code not in doc["provinces"]:
            errors.append(field_error(f"activities.{i}.facility_id", "facility_outside_provinces",
                                      f"Facility {fid} is in province {f.province_code}, which is not among the "
                                      f"project's provinces ({', '.join(doc['provinces'])}); add it to provinces."))  # fmt: skip
        a["province_code"] = f.province_code
        touches.add(f.province_code)
    if errors:
        raise Invalid("The point project is not valid.", errors=errors)
    scope.check_write_all(principal, touches)
    return doc


def _activities(items: list[ActivityIn]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in items]


def _totals(acts: list[dict[str, Any]]) -> tuple[int, dict[str, int]]:
    prog = sum(a["programme_vnd"] for a in acts)
    counter = sum(a["counterpart_vnd"] for a in acts)
    n = len({a["facility_id"] for a in acts if a.get("facility_id")})
    return n, {"programme": prog, "counterpart": counter, "total": prog + counter}


def _support_entries(p: PointProject) -> dict[str, dict[str, Any] | None]:
    """What the project gives each of its facilities as prior support in its current state (None: nothing)."""
    doc = p.doc
    amounts: dict[str, int] = {}
    for a in doc["activities"]:
        if a.get("facility_id"):
            amounts[a["facility_id"]] = amounts.get(a["facility_id"], 0) + a["programme_vnd"]
    if p.state not in SUPPORTING:
        return dict.fromkeys(amounts)
    return {fid: {"year": doc["start_year"], "programme": f"Đề án khuyến công điểm {p.code}", "amount_vnd": amt,
                  "point_project_id": p.id, "point_project_code": p.code} for fid, amt in amounts.items()}  # fmt: skip


def _sync(session: Session, principal: Principal, p: PointProject, before: set[str]) -> None:
    """Write the project's current activity rows and the prior support it gives (facilities it no longer
    names lose the entry)."""
    session.execute(delete(PointProjectActivity).where(PointProjectActivity.project_id == p.id))  # type: ignore[arg-type]
    rows = [{"project_id": p.id, "position": i, "kind": a["kind"], "facility_id": a.get("facility_id"),
             "province_code": a.get("province_code"), "programme_vnd": a["programme_vnd"],
             "counterpart_vnd": a["counterpart_vnd"]} for i, a in enumerate(p.doc["activities"])]  # fmt: skip
    if rows:
        session.execute(insert(PointProjectActivity), rows)
    entries = _support_entries(p)
    for fid in before - set(entries):
        entries[fid] = None
    facilities.record_project_support(session=session, principal=principal, entries=entries, project_id=p.id)


def _touched(doc: dict[str, Any]) -> list[str]:
    return sorted(
        set(doc["provinces"]) | {a["province_code"] for a in doc["activities"] if a.get("province_code")}
    )


def _revise(session: Session, principal: Principal, p: PointProject, change: str) -> None:
    session.add(PointProjectRevision(project_id=p.id, revision=p.revision, state=p.state, doc=p.doc, change=change,
                                     changed_at=p.updated_at, changed_by=principal.name))  # fmt: skip
    uow.emit(session, ProjectChanged(project_id=p.id, code=p.code, state=p.state, revision=p.revision, change=change,
                                     scope=tuple(_touched(p.doc)), changed_by=principal.name, at=p.updated_at))  # fmt: skip


def _audit(
    session: Session, principal: Principal, p: PointProject, action: str, detail: dict[str, Any]
) -> None:
    audit.record(session, principal, action, "point_project", p.id, {"code": p.code, **detail},
                 province=scope.audit_province(p.provinces))  # fmt: skip


def create(*, session: Session, principal: Principal, data: PointProjectCreate) -> PointProject:
    """Record a proposed point project (its facilities and provinces in the caller's scope)."""
    doc = {k: getattr(data, k) for k in DOC_FIELDS if k != "activities"}
    doc["title"] = data.title.model_dump(exclude_none=True)
    doc["sector"] = str(data.sector)
    doc["activities"] = _activities(data.activities)
    if data.ranking_id is not None:
        from app.prioritisation import rankings

        rankings.get(session=session, principal=principal, ranking_id=data.ranking_id)  # 404 unless visible
    return _insert(session, principal, data.code, _resolve(session, principal, doc))


def _insert(session: Session, principal: Principal, code: str, doc: dict[str, Any]) -> PointProject:
    now = utcnow()
    p = PointProject(id=str(uuid.uuid4()), code=code, state=State.proposed.value, revision=1, doc=doc,
                     provinces=_touched(doc), created_at=now, updated_at=now, created_by=principal.name)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(p)
            session.flush()
    except IntegrityError:
        raise Conflict.at("code", "duplicate", f"A point project with code {code} already exists.") from None
    _revise(session, principal, p, "created")
    _sync(session, principal, p, set())
    _audit(session, principal, p, "point_project.created", {"state": p.state})
    session.flush()
    return p


def _rule_kind(entry: dict[str, Any]) -> str:
    """The activity kind of a selected facility: its support rule's id when that names a kind."""
    rule = entry.get("support_rule") or entry.get("rule") or entry.get("kind")
    if isinstance(rule, dict):
        rule = rule.get("id")
    return str(rule) if rule in ActivityKind.__members__ else ActivityKind.other.value


def _support_kinds(
    session: Session, r: Any, registry: Any, profiles: Any, entries: list[dict[str, Any]]
) -> dict[str, str]:
    """Each selected facility's support rule (its `support_cost` rule id), read as the ranking read it: the same
    profile version, the same instant and review filter. Empty when the ranking priced another cost."""
    from app.prioritisation import service as prioritisation

    profile = profiles.items.get((r.profile_key, r.profile_version)) if profiles is not None else None
    if profile is None or profile.support_cost is None or r.request.get("cost_source") or registry is None:
        return {}
    kinds: dict[str, str | None] = {}
    prioritisation.support_costs(session=session, registry=registry, profile=profile, as_of=r.as_of,
                                 items=[{"facility": e["facility"]} for e in entries], provinces=r.scope,
                                 review=r.request.get("review") or "not_rejected", kinds_out=kinds)  # fmt: skip
    return {f: k for f, k in kinds.items() if k}


def from_selection(
    *,
    session: Session,
    principal: Principal,
    ranking_id: str,
    data: FromSelection,
    registry: Any = None,
    profiles: Any = None,
) -> PointProject:
    """A proposed project from a frozen ranking's selection: one activity per selected facility, its support
    cost as programme funds and its support rule as the kind; project-level activities may be added."""
    from app.prioritisation import rankings

    r = rankings.get(session=session, principal=principal, ranking_id=ranking_id)
    if not rankings.has_selection(r):
        raise Invalid.at("ranking_id", "no_selection",
                         f"Ranking {ranking_id} was made without a budget: it has no selection to turn into a project.")  # fmt: skip
    acts: list[dict[str, Any]] = []
    sectors: Counter[str] = Counter()
    provinces: set[str] = set()
    entries = list(rankings.iter_selected(session, r))
    kinds = _support_kinds(session, r, registry, profiles, entries)
    for e in entries:
        acts.append({"kind": _rule_kind({"kind": kinds.get(e["facility_id"])}), "facility_id": e["facility_id"], "programme_vnd": int(e["cost_vnd"] or 0),
                     "counterpart_vnd": 0, "participants": None, "description": None})  # fmt: skip
        sectors[e["facility"].get("sector") or "other"] += 1
        provinces.add(e["province_code"])
    if not acts:
        raise Invalid.at(
            "ranking_id", "empty_selection", f"The selection of ranking {ranking_id} selected no facility."
        )
    acts += _activities(data.extra_activities)
    doc = {"title": data.title.model_dump(exclude_none=True), "sector": str(data.sector or sectors.most_common(1)[0][0]),
           "provinces": sorted(data.provinces or provinces), "start_year": data.start_year, "end_year": data.end_year,
           "implementing_unit": data.implementing_unit, "ranking_id": r.id, "activities": acts}  # fmt: skip
    return _insert(session, principal, data.code, _resolve(session, principal, doc))


def _get(session: Session, principal: Principal, project_id: str, for_update: bool = False) -> PointProject:
    stmt = select(PointProject).where((PointProject.id == project_id) | (PointProject.code == project_id))  # type: ignore[arg-type]
    if for_update:
        stmt = stmt.with_for_update()
    p = session.execute(stmt).scalar_one_or_none()
    if p is None or not scope.may_read_project(principal, p.provinces):
        raise _not_found(project_id)
    return p


def get(*, session: Session, principal: Principal, project_id: str) -> PointProject:
    """A point project by id or code, if every province it touches is in the caller's scope (404 otherwise)."""
    return _get(session, principal, project_id)


def update(
    *, session: Session, principal: Principal, project_id: str, data: PointProjectUpdate
) -> PointProject:
    """A new revision with the given fields changed (`activities`: the whole new list); nothing overwritten."""
    p = _get(session, principal, project_id, for_update=True)
    if p.state in ("completed", "cancelled"):
        raise Conflict.at(
            "state", "closed", f"Point project {p.code} is {p.state}: it can no longer be changed."
        )
    changes = data.model_dump(mode="json", exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None]
    if nulls:
        raise Invalid("These fields cannot be emptied.",
                      errors=[field_error(k, "required", f"{k} cannot be null.") for k in nulls])  # fmt: skip
    if not changes:
        return p
    if data.activities is not None:  # the whole new list, with every default filled in
        changes["activities"] = _activities(data.activities)
    doc = {**p.doc}
    for k, v in changes.items():
        doc[k] = {kk: vv for kk, vv in v.items() if vv is not None} if k == "title" else v
    before = {a["facility_id"] for a in p.doc["activities"] if a.get("facility_id")}
    scope.check_write_all(principal, p.provinces)
    doc = _resolve(session, principal, doc)
    p.doc, p.provinces = doc, _touched(doc)
    p.revision += 1
    p.updated_at = utcnow()
    session.add(p)
    _revise(session, principal, p, "updated")
    _sync(session, principal, p, before)
    _audit(
        session, principal, p, "point_project.updated", {"fields": sorted(changes), "revision": p.revision}
    )
    session.flush()
    return p


def change_state(
    *, session: Session, principal: Principal, project_id: str, state: State, comment: str | None
) -> PointProject:
    """Move a project along proposed → approved → implementing → completed, or to cancelled (409 otherwise)."""
    p = _get(session, principal, project_id, for_update=True)
    scope.check_write_all(principal, p.provinces)
    allowed = TRANSITIONS[p.state]
    if state.value not in allowed:
        nxt = ", ".join(sorted(allowed)) or "none (the project is closed)"
        raise Conflict.at("state", "impossible_transition",
                          f"A {p.state} project cannot become {state.value}; possible next states: {nxt}.")  # fmt: skip
    before = {a["facility_id"] for a in p.doc["activities"] if a.get("facility_id")}
    old = p.state
    p.state = state.value
    p.revision += 1
    p.updated_at = utcnow()
    session.add(p)
    _revise(session, principal, p, f"state:{state.value}")
    _sync(session, principal, p, before)
    _audit(session, principal, p, "point_project.state", {"from": old, "to": p.state, "comment": comment})
    session.flush()
    return p


def _names(session: Session, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k in range(0, len(ids), 500):
        stmt = select(Facility.id, Facility.name).where(col(Facility.id).in_(ids[k : k + 500]))  # type: ignore[attr-defined]
        out.update(dict(session.execute(stmt).all()))  # type: ignore[arg-type]
    return out


def to_read(session: Session, p: PointProject) -> PointProjectRead:
    acts = p.doc["activities"]
    names = _names(session, sorted({a["facility_id"] for a in acts if a.get("facility_id")}))
    n, funds = _totals(acts)
    return PointProjectRead(
        id=p.id, code=p.code, state=p.state, revision=p.revision, **{k: p.doc.get(k) for k in DOC_FIELDS if k != "activities"},
        activities=[{**a, "facility_name": names.get(a.get("facility_id") or "")} for a in acts],
        facilities_count=n, funds_vnd=funds, created_at=p.created_at, updated_at=p.updated_at, created_by=p.created_by,
    )  # fmt: skip


def to_summary(p: PointProject) -> PointProjectSummary:
    n, funds = _totals(p.doc["activities"])
    d = p.doc
    return PointProjectSummary(id=p.id, code=p.code, title=d["title"], sector=d["sector"], provinces=p.provinces,
                               start_year=d["start_year"], end_year=d["end_year"], state=p.state, revision=p.revision,
                               facilities_count=n, funds_vnd=funds, updated_at=p.updated_at)  # fmt: skip


def list_projects(
    *,
    session: Session,
    principal: Principal,
    cursor: str | None,
    limit: int,
    state: str | None = None,
    province_code: str | None = None,
    facility_id: str | None = None,
) -> tuple[list[PointProject], str | None]:
    """Newest first, keyset paged; only projects every province of which is in the caller's scope."""
    stmt = select(PointProject)
    if state is not None:
        stmt = stmt.where(PointProject.state == state)  # type: ignore[arg-type]
    if facility_id is not None:
        ids = select(PointProjectActivity.project_id).where(PointProjectActivity.facility_id == facility_id)  # type: ignore[arg-type]
        stmt = stmt.where(PointProject.id.in_(ids))  # type: ignore[attr-defined]

    def keep(p: PointProject) -> bool:  # scope and province are decided on the project's province list (JSON)
        return scope.may_read_project(principal, p.provinces) and (
            province_code is None or province_code in p.provinces
        )

    return page(session, stmt, ORDER, cursor=cursor, limit=limit, keep=keep)


def revisions(
    *, session: Session, principal: Principal, project_id: str, cursor: str | None, limit: int
) -> tuple[list[RevisionRead], str | None]:
    """A project's revisions, oldest first: the whole document and state after each change."""
    p = _get(session, principal, project_id)
    stmt = select(PointProjectRevision).where(PointProjectRevision.project_id == p.id)  # type: ignore[arg-type]
    rows, nxt = page(session, stmt, REVISION_ORDER, cursor=cursor, limit=limit)
    return [RevisionRead(revision=r.revision, state=r.state, change=r.change, changed_at=r.changed_at,
                         changed_by=r.changed_by, document=r.doc) for r in rows], nxt  # fmt: skip


REPORTABLE = ("approved", "implementing", "completed")


def state_mark(session: Session) -> int:
    """Changes whenever any project is revised (what derived files, such as ODK form media, are keyed on)."""
    return int(session.execute(select(func.max(PointProjectRevision.id))).scalar() or 0)


def supported_choices(*, session: Session, principal: Principal) -> list[tuple[str, str, str]]:
    """(project code, "code — title", facility id) for every facility in the caller's provinces with an activity
    in a project that takes result reports (approved, implementing, completed), by facility then code."""
    stmt = (
        select(
            PointProject.code,
            PointProject.doc,
            PointProjectActivity.facility_id,
            PointProjectActivity.province_code,
        )
        .join(PointProjectActivity, PointProjectActivity.project_id == PointProject.id)
        .where(col(PointProject.state).in_(REPORTABLE), col(PointProjectActivity.facility_id).is_not(None))
    )
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, str]] = []
    for code, doc, fid, prov in session.execute(stmt):
        if (code, fid) in seen or not scope.may_read(principal, prov):
            continue
        seen.add((code, fid))
        out.append((code, f"{code} — {doc['title'].get('vi')}", fid))
    return sorted(out, key=lambda r: (r[2], r[0]))
