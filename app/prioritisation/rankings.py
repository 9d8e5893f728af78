"""Frozen rankings: computed once, stored with their inputs and the profile's hash, never changed."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select
from sqlalchemy.orm import defer
from sqlmodel import Session

from app.access import audit, scope
from app.access.principal import Principal
from app.core.db import writing
from app.core.errors import Invalid, NotFound, field_error
from app.core.fields import UtcDatetime
from app.core.pagination import Keyset, page
from app.facilities.schemas import Kind, Sector
from app.models import Ranking
from app.models.types import utcnow
from app.prioritisation import selection, service
from app.prioritisation.profiles import Profiles, parse_source
from app.questionnaires.definition import Problem
from app.questionnaires.registry import Registry
from app.review.states import DEFAULT_FILTER, ReviewFilter


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
    as_of: UtcDatetime | None = None
    budget_vnd: StrictInt | None = Field(default=None, ge=0, le=10**15)
    cost_source: str | None = Field(
        default=None, description="numeric source, e.g. loans.loan_amount_vnd or facility.annual_revenue_vnd"
    )
    per_province: PerProvince | None = None
    per_sector_max: StrictInt | None = Field(default=None, ge=0)
    review: ReviewFilter = Field(
        default=DEFAULT_FILTER,
        description="which responses count, by their review state as of as_of: any | not_rejected | approved",
    )
    name: str | None = Field(default=None, max_length=200)


def create(
    *, session: Session, registry: Registry, profiles: Profiles, principal: Principal, body: RankingCreate
) -> Ranking:
    """Compute (no lock held: ranking and solving take seconds), then store in one short write transaction.

    The stored result is what every later GET returns, byte for byte."""
    profile = profiles.get(body.profile, body.profile_version)
    as_of = service.check_as_of(body.as_of)
    filters = service.Filters(tuple(sorted(body.filters.province_code)), tuple(sorted(s.value for s in body.filters.sector)),
                              body.filters.kind.value if body.filters.kind else None)  # fmt: skip
    selection_args = _selection_args(registry, body)
    result = service.rank(session=session, registry=registry, profile=profile, principal=principal, filters=filters,
                          as_of=as_of, review=body.review)  # fmt: skip
    result["items"] = list(result["items"])  # a frozen ranking stores every item, explained
    if selection_args is not None:
        src, pp = selection_args
        costs = service.cost_values(session=session, registry=registry, cost=src, as_of=as_of, items=result["items"],
                                    provinces=service.provinces_of(principal, filters), review=body.review)  # fmt: skip
        result["selection"] = selection.select(
            result["items"], costs, body.budget_vnd or 0, pp.min, pp.max, body.per_sector_max
        )
        result["selection"]["cost_source"] = body.cost_source
    r = Ranking(
        id=str(uuid.uuid4()), created_at=utcnow(), created_by=principal.name, profile_key=profile.key, profile_version=profile.version,
        profile_hash=profile.content_hash, as_of=as_of, scope=sorted(principal.provinces) if principal.provinces is not None else None,
        request=body.model_dump(mode="json"), result=result,
    )  # fmt: skip
    with writing(session):
        session.add(r)
        session.flush()
        audit.record(session, principal, "ranking.created", "ranking", r.id,
                     {"profile": profile.key, "version": profile.version}, province=scope.audit_province(r.scope))  # fmt: skip
    return r


def _selection_args(registry: Registry, body: RankingCreate) -> tuple[Any, PerProvince] | None:
    """The cost source and per-province bounds of a budgeted request (None without a budget); 422 when wrong."""
    if body.budget_vnd is None:
        return None
    if not body.cost_source:
        raise Invalid.at("cost_source", "required", "Name the numeric source giving each candidate's cost, e.g. loans.loan_amount_vnd.",
                         detail="A budget needs a cost_source.")  # fmt: skip
    problems: list[Problem] = []
    src = parse_source(body.cost_source, registry, "cost_source", problems, "request", mapped=False)
    if src is None:
        raise Invalid("cost_source is not a numeric source.",
                      errors=[field_error("cost_source", "invalid_source", p.message) for p in problems])  # fmt: skip
    pp = body.per_province or PerProvince()
    if pp.min is not None and pp.max is not None and pp.min > pp.max:
        raise Invalid.at(
            "per_province.min",
            "min_above_max",
            "min must not exceed max.",
            detail="per_province.min exceeds max.",
        )
    return src, pp


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
