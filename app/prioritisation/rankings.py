"""Frozen rankings: computed once, stored with their inputs and the profile's hash, never changed."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select
from sqlmodel import Session

from app.access import audit
from app.access.deps import Principal
from app.core.errors import Invalid, NotFound
from app.core.pagination import decode_cursor, encode_cursor
from app.facilities.schemas import Kind, Sector
from app.models import Ranking
from app.models.types import utcnow
from app.prioritisation import selection, service
from app.prioritisation.profiles import Profiles, parse_source
from app.questionnaires.definition import Problem
from app.questionnaires.registry import Registry


class RankingFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    province_code: list[str] = Field(default_factory=list)
    sector: list[Sector] = Field(default_factory=list)
    kind: Kind | None = None


class PerProvince(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: StrictInt | None = Field(default=None, ge=0)
    max: StrictInt | None = Field(default=None, ge=0)


class RankingCreate(BaseModel):
    """Freeze a ranking; with `budget_vnd` also select the best set that fits the budget (exact MILP)."""

    model_config = ConfigDict(extra="forbid")
    profile: str
    profile_version: StrictInt = Field(ge=1, le=10_000)
    filters: RankingFilters = Field(default_factory=RankingFilters)
    as_of: AwareDatetime | None = None
    budget_vnd: StrictInt | None = Field(default=None, ge=0, le=10**15)
    cost_source: str | None = Field(
        default=None, description="numeric source, e.g. loans.loan_amount_vnd or facility.annual_revenue_vnd"
    )
    per_province: PerProvince | None = None
    per_sector_max: StrictInt | None = Field(default=None, ge=0)
    name: str | None = Field(default=None, max_length=200)


def create(
    *, session: Session, registry: Registry, profiles: Profiles, principal: Principal, body: RankingCreate
) -> Ranking:
    """Compute and store; the stored result is what every later GET returns, byte for byte."""
    profile = profiles.get(body.profile, body.profile_version)
    as_of = service.check_as_of(body.as_of)
    filters = service.Filters(tuple(sorted(body.filters.province_code)), tuple(sorted(s.value for s in body.filters.sector)),
                              body.filters.kind.value if body.filters.kind else None)  # fmt: skip
    result = service.rank(
        session=session, registry=registry, profile=profile, principal=principal, filters=filters, as_of=as_of
    )
    result["items"] = list(result["items"])  # a frozen ranking stores every item, explained
    if body.budget_vnd is not None:
        if not body.cost_source and profile.support_cost is None:
            raise Invalid(
                "A budget needs a cost_source.",
                errors=[
                    {
                        "path": "cost_source",
                        "code": "required",
                        "message": "Name the numeric source giving each candidate's cost, e.g. loans.loan_amount_vnd "
                        "(profiles with a support_cost use it when no cost_source is named).",
                    }
                ],
            )
        problems: list[Problem] = []
        src = (
            parse_source(body.cost_source, registry, "cost_source", problems, "request", mapped=False)
            if body.cost_source
            else None
        )
        if src is None and body.cost_source:
            raise Invalid(
                "cost_source is not a numeric source.",
                errors=[
                    {"path": "cost_source", "code": "invalid_source", "message": p.message} for p in problems
                ],
            )
        pp = body.per_province or PerProvince()
        if pp.min is not None and pp.max is not None and pp.min > pp.max:
            raise Invalid(
                "per_province.min exceeds max.",
                errors=[
                    {
                        "path": "per_province.min",
                        "code": "min_above_max",
                        "message": "min must not exceed max.",
                    }
                ],
            )
        where = {"session": session, "registry": registry, "as_of": as_of, "items": result["items"],
                 "provinces": service._provinces(principal, filters)}  # fmt: skip
        costs = (
            service.cost_values(cost=src, **where) if src else service.support_costs(profile=profile, **where)
        )
        result["selection"] = selection.select(
            result["items"], costs, body.budget_vnd, pp.min, pp.max, body.per_sector_max
        )
        result["selection"]["cost_source"] = body.cost_source
        if src is None and profile.support_cost is not None:  # the profile's rule: what the programme pays
            rule = profile.support_cost
            result["selection"].update(cost_source=rule.source_text, support_cost=rule.raw)
    r = Ranking(
        id=str(uuid.uuid4()), created_at=utcnow(), created_by=principal.name, profile_key=profile.key, profile_version=profile.version,
        profile_hash=profile.content_hash, as_of=as_of, scope=sorted(principal.provinces) if principal.provinces is not None else None,
        request=body.model_dump(mode="json"), result=result,
    )  # fmt: skip
    session.add(r)
    session.flush()
    audit.record(
        session,
        principal,
        "ranking.created",
        "ranking",
        r.id,
        {"profile": profile.key, "version": profile.version},
    )
    return r


def _visible(principal: Principal, r: Ranking) -> bool:
    """A ranking is visible to keys whose scope covers everything it was computed over."""
    if principal.provinces is None:
        return True
    return r.scope is not None and set(r.scope) <= set(principal.provinces)


def get(*, session: Session, principal: Principal, ranking_id: str) -> Ranking:
    r = session.execute(select(Ranking).where(Ranking.id == ranking_id)).scalar_one_or_none()  # type: ignore[arg-type]
    if r is None or not _visible(principal, r):
        raise NotFound(f"There is no ranking {ranking_id} that you may see.")
    return r


def list_rankings(
    *, session: Session, principal: Principal, cursor: str | None, limit: int
) -> tuple[list[Ranking], str | None]:
    """Newest first, keyset on the sequence; filtered to what the caller may see."""
    out: list[Ranking] = []
    last = int(decode_cursor(cursor, 1)[0]) if cursor else None
    while len(out) <= limit:
        stmt: Any = select(Ranking).order_by(Ranking.seq.desc()).limit(limit + 1)  # type: ignore[union-attr]
        if last is not None:
            stmt = stmt.where(Ranking.seq < last)  # type: ignore[operator]
        rows = list(session.execute(stmt).scalars())
        out.extend(r for r in rows if _visible(principal, r))
        if len(rows) <= limit:
            break
        last = rows[-1].seq
    nxt = encode_cursor(out[limit - 1].seq) if len(out) > limit else None
    return out[:limit], nxt
