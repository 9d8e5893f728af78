"""Frozen rankings: computed once, stored with their inputs and the profile's hash, never changed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import func, select
from sqlalchemy.orm import defer
from sqlmodel import Session

from app.access import audit, scope
from app.access.principal import Principal
from app.core import uow
from app.core.db import row_writer, session_scope, writing
from app.core.errors import Invalid, NotFound, field_error
from app.core.fields import UtcDatetime
from app.core.pagination import Keyset, encode_cursor, page, pages
from app.facilities.schemas import Kind, Sector
from app.models import (
    SELECTION_NOT_CHOSEN,
    SELECTION_NOT_SELECTABLE,
    SELECTION_SELECTED,
    Ranking,
    RankingItem,
)
from app.models.types import utcnow
from app.prioritisation import selection, service
from app.prioritisation.profiles import Profile, Profiles, parse_source
from app.questionnaires.definition import Problem
from app.questionnaires.registry import Registry
from app.review.states import DEFAULT_FILTER, ReviewFilter


class RankingFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    province_code: list[str] = Field(default_factory=list)
    sector: list[Sector] = Field(default_factory=list)
    kind: Kind | None = None


class PerProvince(BaseModel):
    """At least `min`, at most `max` selected per group (a group with fewer candidates than `min` gives all it
    has, for provinces and sectors; a named kind's `min` is as written)."""

    model_config = ConfigDict(extra="forbid")
    min: StrictInt | None = Field(default=None, ge=0)
    max: StrictInt | None = Field(default=None, ge=0)


Bound = PerProvince


class EligibilityRules(BaseModel):
    """Who may be selected; candidates outside it stay ranked (passed over as `not_eligible:<rule>`)."""

    model_config = ConfigDict(extra="forbid")
    min_score: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    max_rank: StrictInt | None = Field(default=None, ge=1)
    min_cost_vnd: StrictInt | None = Field(default=None, ge=0, le=10**15)
    max_cost_vnd: StrictInt | None = Field(default=None, ge=0, le=10**15)
    kinds: list[str] | None = Field(
        default=None, min_length=1, description="support kinds (the ids of the profile's support_cost rules)"
    )
    approved_only: StrictBool | None = Field(
        default=None, description="only candidates whose support cost comes from an approved response"
    )


Strategy = Literal["max_total_score", "rank_order"]


class RankingCreate(BaseModel):
    """Freeze a ranking; with `budget_vnd` also select the best set that fits the budget (exact MILP)."""

    model_config = ConfigDict(extra="forbid")
    profile: str
    profile_version: StrictInt = Field(ge=1, le=10_000)
    filters: RankingFilters = Field(default_factory=RankingFilters)
    as_of: UtcDatetime | None = None
    budget_vnd: StrictInt | None = Field(default=None, ge=0, le=10**15)
    cost_source: str | None = Field(
        default=None, description="numeric source, e.g. loans.loan_amount_vnd or facility.annual_revenue_vnd"
    )
    per_province: PerProvince | None = None
    per_sector_max: StrictInt | None = Field(default=None, ge=0, description="the same as per_sector.max")
    strategy: Strategy | None = Field(
        default=None,
        description="max_total_score (the exact optimum; the default unless the profile's default_selection names "
        "another) or rank_order (down the ranking from rank 1, each candidate that fits the budget left and every bound)",
    )
    max_projects: StrictInt | None = Field(default=None, ge=0, description="at most this many selected")
    eligibility: EligibilityRules | None = Field(
        default=None, description="absent: the profile's default_selection.eligibility, if any"
    )
    per_sector: PerProvince | None = None
    per_kind: dict[str, PerProvince] | None = Field(
        default=None, description="per support kind (the ids of the profile's support_cost rules)"
    )
    min_provinces: StrictInt | None = Field(
        default=None, ge=0, description="at least this many distinct provinces among the selected"
    )
    review: ReviewFilter = Field(
        default=DEFAULT_FILTER,
        description="which responses count, by their review state as of as_of: any | not_rejected | approved",
    )
    name: str | None = Field(default=None, max_length=200)


def create(
    *, session: Session, registry: Registry, profiles: Profiles, principal: Principal, body: RankingCreate
) -> Ranking:
    """Compute (no lock held: ranking and solving take seconds), then store in one short write transaction.

    The stored ranking (inputs, summary, items as rows) is what every later GET returns, byte for byte."""
    profile = profiles.get(body.profile, body.profile_version)
    as_of = service.check_as_of(body.as_of)
    filters = service.Filters(tuple(sorted(body.filters.province_code)), tuple(sorted(s.value for s in body.filters.sector)),
                              body.filters.kind.value if body.filters.kind else None)  # fmt: skip
    selection_args = _selection_args(registry, body, profile)
    result = service.rank(session=session, registry=registry, profile=profile, principal=principal, filters=filters,
                          as_of=as_of, review=body.review)  # fmt: skip
    items = list(result.pop("items"))  # a frozen ranking stores every item, explained (as rows)
    chosen: dict[str, dict[str, Any]] = {}
    unselectable: set[str] = set()
    passed: dict[str, str] = {}
    over_costs: dict[str, int | None] = {}
    if selection_args is not None:
        src, args = selection_args
        where = {"session": session, "registry": registry, "as_of": as_of, "items": items,
                 "provinces": service.provinces_of(principal, filters), "review": body.review}  # fmt: skip
        kinds: dict[str, str | None] = {}
        costs = (
            service.cost_values(cost=src, **where)
            if src
            else service.support_costs(profile=profile, kinds_out=kinds, **where)
        )
        approved = None
        if args["eligibility"].approved_only:  # the cost as read from approved responses only, where the same
            where["review"] = "approved"
            again = (
                service.cost_values(cost=src, **where)
                if src
                else service.support_costs(profile=profile, **where)
            )
            approved = {f for f, c in costs.items() if c is not None and again.get(f) == c}
        sel = selection.select(items, costs, body.budget_vnd or 0, strategy=args["strategy"], limits=args["limits"],
                               eligibility=args["eligibility"], kinds=kinds, approved=approved, compare=True)  # fmt: skip
        sel["cost_source"] = body.cost_source
        if src is None and profile.support_cost is not None:  # the profile's rule: what the programme pays
            rule = profile.support_cost
            sel.update(cost_source=rule.source_text, support_cost=rule.raw)
        chosen = {s["facility_id"]: s for s in sel.pop("selected")}
        unselectable = set(sel.pop("not_selectable"))
        over = sel.pop("passed_over")
        passed = {p["facility_id"]: p["reason"] for p in over}
        over_costs = {p["facility_id"]: p["cost_vnd"] for p in over}
        sel.update(selected_count=len(chosen), not_selectable_count=len(unselectable), passed_over_count=len(over),
                   eligibility=args["eligibility_read"], eligibility_from=args["eligibility_from"],
                   strategy_from=args["strategy_from"], bounds=args["bounds"])  # fmt: skip
        result["selection"] = sel
    r = Ranking(
        id=str(uuid.uuid4()), created_at=utcnow(), created_by=principal.name, profile_key=profile.key, profile_version=profile.version,
        profile_hash=profile.content_hash, as_of=as_of, scope=sorted(principal.provinces) if principal.provinces is not None else None,
        request=body.model_dump(mode="json"), result=result,
    )  # fmt: skip
    # Every row is serialised here, before the write lock: the transaction only inserts text.
    dialect = session.get_bind().dialect  # type: ignore[attr-defined]
    writer = row_writer(Ranking.__table__, RANKING_COLS, dialect)  # type: ignore[attr-defined]
    row = writer.stored({c: getattr(r, c) for c in RANKING_COLS})
    no_selection = selection_args is None
    rows = []
    for it in items:
        fid = it["facility"]["id"]
        state = (
            None
            if no_selection
            else SELECTION_SELECTED
            if fid in chosen
            else SELECTION_NOT_SELECTABLE
            if fid in unselectable
            else SELECTION_NOT_CHOSEN
        )
        cost = chosen[fid]["cost_vnd"] if fid in chosen else over_costs.get(fid) if fid in passed else None
        rows.append((it["rank"], fid, it["facility"]["province_code"], it["score"], state, cost, _text(it),
                     passed.get(fid)))  # fmt: skip
    items_writer = row_writer(RankingItem.__table__, ITEM_COLS, dialect)  # type: ignore[attr-defined]
    with writing(session):
        writer.insert(session, [row])
        r.seq = session.execute(select(Ranking.seq).where(Ranking.id == r.id)).scalar_one()  # type: ignore[arg-type]
        items_writer.insert(session, [(r.seq, *x) for x in rows])
        audit.record(session, principal, "ranking.created", "ranking", r.id,
                     {"profile": profile.key, "version": profile.version}, province=scope.audit_province(r.scope))  # fmt: skip
        uow.emit(session, uow.RankingFrozen(ranking_id=r.id, profile_key=profile.key, profile_version=profile.version,
                                            scope=tuple(r.scope) if r.scope is not None else None,
                                            created_by=principal.name, created_at=r.created_at, items=len(rows)))  # fmt: skip
    return r


def _text(item: dict[str, Any]) -> str:
    """An item's stored text: compact JSON, exactly the bytes its pages serve."""
    return json.dumps(item, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


ITEM_COLS = ("ranking_seq", "rank", "facility_id", "province_code", "score", "selection", "cost_vnd", "item",
             "reason")  # fmt: skip


RANKING_COLS = ("id", "created_at", "created_by", "profile_key", "profile_version", "profile_hash", "as_of", "scope",
                "request", "result")  # fmt: skip


def _selection_args(
    registry: Registry, body: RankingCreate, profile: Profile
) -> tuple[Any, dict[str, Any]] | None:
    """The cost source and the selection's strategy, eligibility and bounds of a budgeted request (None without a
    budget); 422 when wrong. The source is None when the request names none and the profile's `support_cost`
    prices the candidates. Strategy and eligibility the request omits come from the profile's
    `default_selection`."""
    if body.budget_vnd is None:
        return None
    if not body.cost_source and profile.support_cost is None:
        raise Invalid.at("cost_source", "required", "Name the numeric source giving each candidate's cost, e.g. loans.loan_amount_vnd "
                         "(profiles with a support_cost use it when no cost_source is named).",
                         detail="A budget needs a cost_source.")  # fmt: skip
    problems: list[Problem] = []
    src = (
        parse_source(body.cost_source, registry, "cost_source", problems, "request", mapped=False)
        if body.cost_source
        else None
    )
    if src is None and body.cost_source:
        raise Invalid("cost_source is not a numeric source.",
                      errors=[field_error("cost_source", "invalid_source", p.message) for p in problems])  # fmt: skip
    pp = body.per_province or PerProvince()
    ps = body.per_sector or PerProvince()
    if body.per_sector_max is not None and ps.max is not None and ps.max != body.per_sector_max:
        raise Invalid.at("per_sector_max", "conflict", "per_sector_max is per_sector.max: give one of them.")
    ps = PerProvince(min=ps.min, max=ps.max if ps.max is not None else body.per_sector_max)
    defaults = profile.default_selection or {}
    elig_from = (
        "request" if body.eligibility is not None else "profile" if "eligibility" in defaults else None
    )
    elig = body.eligibility or EligibilityRules.model_validate(defaults.get("eligibility", {}))
    strategy = body.strategy or defaults.get("strategy") or "max_total_score"
    strategy_from = "request" if body.strategy else "profile" if "strategy" in defaults else "default"
    errors = []
    groups = [
        ("per_province", pp),
        ("per_sector", ps),
        *[(f"per_kind.{k}", b) for k, b in (body.per_kind or {}).items()],
    ]
    for path, b in groups:
        if b.min is not None and b.max is not None and b.min > b.max:
            errors.append(field_error(f"{path}.min", "min_above_max", "min must not exceed max."))
    if (
        elig.min_cost_vnd is not None
        and elig.max_cost_vnd is not None
        and elig.min_cost_vnd > elig.max_cost_vnd
    ):
        errors.append(
            field_error(
                "eligibility.min_cost_vnd", "min_above_max", "min_cost_vnd must not exceed max_cost_vnd."
            )
        )
    known = [r.id for r in profile.support_cost.rules if r.id] if src is None and profile.support_cost else []
    named = [(f"per_kind.{k}", k) for k in body.per_kind or {}]
    named += [(f"eligibility.kinds.{i}", k) for i, k in enumerate(elig.kinds or [])]
    for path, k in named:
        if k not in known:
            why = (f"one of {', '.join(known)} (the ids of the profile's support_cost rules)" if known else
                   "kinds are the rules of the profile's support_cost, and this selection is priced by "
                   + (f"cost_source {body.cost_source}" if src else "a support_cost without rule ids"))  # fmt: skip
            errors.append(field_error(path, "unknown_kind", f"Unknown support kind {k!r}: {why}."))
    if errors:
        raise Invalid("The selection's bounds are not valid.", errors=errors)
    limits = selection.Limits(
        province_min=pp.min, province_max=pp.max, sector_min=ps.min, sector_max=ps.max,
        kind=tuple((k, b.min, b.max) for k, b in sorted((body.per_kind or {}).items())),
        max_projects=body.max_projects, min_provinces=body.min_provinces,
    )  # fmt: skip
    eligibility = selection.Eligibility(
        min_score=elig.min_score, max_rank=elig.max_rank, min_cost_vnd=elig.min_cost_vnd, max_cost_vnd=elig.max_cost_vnd,
        kinds=tuple(elig.kinds) if elig.kinds is not None else None, approved_only=bool(elig.approved_only),
    )  # fmt: skip
    bounds = {"per_province": pp.model_dump(exclude_none=True), "per_sector": ps.model_dump(exclude_none=True),
              "per_kind": {k: b.model_dump(exclude_none=True) for k, b in sorted((body.per_kind or {}).items())},
              "max_projects": body.max_projects, "min_provinces": body.min_provinces}  # fmt: skip
    return src, {"strategy": strategy, "strategy_from": strategy_from, "limits": limits, "eligibility": eligibility,
                 "eligibility_read": elig.model_dump(exclude_none=True), "eligibility_from": elig_from, "bounds": bounds}  # fmt: skip


def get(*, session: Session, principal: Principal, ranking_id: str) -> Ranking:
    """A frozen ranking the caller may see (404 otherwise)."""
    r = session.execute(select(Ranking).where(Ranking.id == ranking_id)).scalar_one_or_none()  # type: ignore[arg-type]
    if r is None or not scope.may_read_ranking(principal, r.scope):
        raise NotFound(f"There is no ranking {ranking_id} that you may see.")
    return r


def list_rankings(
    *, session: Session, principal: Principal, cursor: str | None, limit: int
) -> tuple[list[Ranking], str | None]:
    """Newest first, keyset on the sequence; filtered to what the caller may see."""
    return page(session, select(Ranking).options(defer(Ranking.result)), Keyset(Ranking.seq, descending=True), cursor=cursor, limit=limit,
                keep=lambda r: scope.may_read_ranking(principal, r.scope))  # fmt: skip


# -- reading a frozen ranking: a bounded document, then pages of its items and of its selection -------------

DOC_ITEMS = 100  # items in the document (its first page), fewer if they would pass DOC_ITEM_BYTES
DOC_ITEM_BYTES = 512 * 1024
ITEM_KEY = Keyset(RankingItem.rank)  # type: ignore[arg-type]


def _rank_of(row: Any) -> int:
    return int(row.rank)


def item_texts(
    session: Session, ranking: Ranking, *, cursor: str | None, limit: int, max_bytes: int | None = None
) -> tuple[list[str], str | None]:
    """A page of the ranking's items in rank order, as their stored JSON texts, and the next page's cursor.
    One indexed range read of `limit` rows (keyset on rank), whatever the candidate count."""
    stmt = select(RankingItem.rank, RankingItem.item).where(RankingItem.ranking_seq == ranking.seq)  # type: ignore[arg-type]
    rows, nxt = page(session, stmt, ITEM_KEY, cursor=cursor, limit=limit, scalars=False, key=_rank_of)
    if max_bytes is not None:  # the document's first page: never more than max_bytes of items (at least one)
        kept, size = 0, 0
        while kept < len(rows) and (kept == 0 or size + len(rows[kept].item) <= max_bytes):
            size += len(rows[kept].item)
            kept += 1
        if kept < len(rows):
            rows, nxt = rows[:kept], encode_cursor(rows[kept - 1].rank)
    return [r.item for r in rows], nxt


def items_page(
    session: Session, ranking: Ranking, *, cursor: str | None = None, limit: int = DOC_ITEMS
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the ranking's items as dicts (for pages that show them; the API serves the texts)."""
    texts, nxt = item_texts(session, ranking, cursor=cursor, limit=limit)
    return [json.loads(t) for t in texts], nxt


def document(session: Session, ranking: Ranking) -> dict[str, Any]:
    """What POST /rankings and GET /rankings/{id} return: inputs, counts, selection summary, the first page of
    items and the cursor of the next — under a megabyte at any candidate count."""
    texts, nxt = item_texts(session, ranking, cursor=None, limit=DOC_ITEMS, max_bytes=DOC_ITEM_BYTES)
    head = dict(ranking.result)
    sel = head.pop("selection", None)
    return {"id": ranking.id, "created_at": ranking.created_at.isoformat(), "created_by": ranking.created_by,
            "profile_hash": ranking.profile_hash, "request": ranking.request, **head,
            "items": [json.loads(t) for t in texts], "items_next_cursor": nxt, "selection": sel}  # fmt: skip


def iter_items(ranking: Ranking, size: int = 500) -> Iterator[tuple[dict[str, Any], int | None]]:
    """Every item in rank order with its selection state (models.SELECTION_*), page by page, each page in its
    own short read session (streamed downloads: constant memory, no transaction left open)."""
    stmt = select(RankingItem.rank, RankingItem.selection, RankingItem.item).where(
        RankingItem.ranking_seq == ranking.seq
    )  # type: ignore[arg-type]
    for rows in pages(session_scope, stmt, ITEM_KEY, size=size, scalars=False, key=_rank_of):
        for r in rows:
            yield json.loads(r.item), r.selection


SelectionPart = Literal["selected", "not_selectable", "passed_over"]


def has_selection(ranking: Ranking) -> bool:
    return ranking.result.get("selection") is not None


def selection_page(
    session: Session, ranking: Ranking, *, cursor: str | None, limit: int, part: SelectionPart = "selected"
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the budgeted selection in rank order: the selected facilities (with their cost), the ranked
    facilities that had no cost (`not_selectable`), or the candidates ranked above the last selected one that
    were not selected, each with its `reason` (`passed_over`). 404 for a ranking made without a budget."""
    if not has_selection(ranking):
        raise NotFound(f"Ranking {ranking.id} was made without a budget: it has no selection.")
    cols = (
        RankingItem.rank,
        RankingItem.facility_id,
        RankingItem.province_code,
        RankingItem.score,
        RankingItem.cost_vnd,
    )
    if part == "passed_over":
        stmt = select(*cols, RankingItem.reason).where(RankingItem.ranking_seq == ranking.seq, RankingItem.reason.is_not(None))  # type: ignore[arg-type,union-attr]  # fmt: skip
        rows, nxt = page(session, stmt, ITEM_KEY, cursor=cursor, limit=limit, scalars=False, key=_rank_of)
        return [{**_entry(r), "reason": r.reason} for r in rows], nxt
    state = SELECTION_SELECTED if part == "selected" else SELECTION_NOT_SELECTABLE
    stmt = select(*cols).where(RankingItem.ranking_seq == ranking.seq, RankingItem.selection == state)  # type: ignore[arg-type]
    rows, nxt = page(session, stmt, ITEM_KEY, cursor=cursor, limit=limit, scalars=False, key=_rank_of)
    return [_entry(r) for r in rows], nxt


def _entry(r: Any) -> dict[str, Any]:
    return {"rank": r.rank, "facility_id": r.facility_id, "province_code": r.province_code, "score": r.score,
            "cost_vnd": r.cost_vnd}  # fmt: skip


def passed_over_with_names(
    session: Session, ranking: Ranking, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the passed-over candidates (as `selection_page`), each with its ranked item's facility summary:
    for pages that show them by name."""
    if not has_selection(ranking):
        return [], None
    stmt = select(RankingItem.rank, RankingItem.facility_id, RankingItem.province_code, RankingItem.score, RankingItem.cost_vnd,
                  RankingItem.reason, RankingItem.item).where(RankingItem.ranking_seq == ranking.seq, RankingItem.reason.is_not(None))  # type: ignore[arg-type,union-attr]  # fmt: skip
    rows, nxt = page(session, stmt, ITEM_KEY, cursor=cursor, limit=limit, scalars=False, key=_rank_of)
    return [{**_entry(r), "reason": r.reason, "facility": json.loads(r.item)["facility"]} for r in rows], nxt


def iter_selected(session: Session, ranking: Ranking, size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every selected facility in rank order (page by page in this session), each with its ranked item's
    facility summary: for pages that show the whole selection."""
    if not has_selection(ranking):
        return
    stmt = select(RankingItem.rank, RankingItem.facility_id, RankingItem.province_code, RankingItem.score, RankingItem.cost_vnd,
                  RankingItem.item).where(RankingItem.ranking_seq == ranking.seq, RankingItem.selection == SELECTION_SELECTED)  # type: ignore[arg-type]  # fmt: skip
    cursor: str | None = None
    while True:
        rows, cursor = page(session, stmt, ITEM_KEY, cursor=cursor, limit=size, scalars=False, key=_rank_of)
        for r in rows:
            yield {**_entry(r), "facility": json.loads(r.item)["facility"]}
        if cursor is None:
            return


def province_tallies(session: Session, ranking: Ranking) -> tuple[dict[str, int], dict[str, int]]:
    """Per province: the ranking's candidates and its selected facilities (counted in SQL)."""
    base = select(RankingItem.province_code, func.count()).where(RankingItem.ranking_seq == ranking.seq)  # type: ignore[arg-type]
    candidates = dict(session.execute(base.group_by(RankingItem.province_code)).all())  # type: ignore[arg-type]
    selected = dict(session.execute(base.where(RankingItem.selection == SELECTION_SELECTED).group_by(RankingItem.province_code)).all())  # type: ignore[arg-type]  # fmt: skip
    return candidates, selected


def facility_ids(session: Session, ranking: Ranking) -> set[str]:
    return set(session.execute(select(RankingItem.facility_id).where(RankingItem.ranking_seq == ranking.seq)).scalars())  # type: ignore[arg-type]  # fmt: skip
