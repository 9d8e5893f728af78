"""Response bodies of profiles, priorities and frozen rankings (documented in the OpenAPI, checked by fuzzing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ProfileRef(BaseModel):
    key: str
    version: int
    hash: str | None = Field(
        default=None, description="SHA-256 of the profile file's content (frozen rankings)"
    )


class CriterionDefinition(BaseModel):
    """One criterion as authored (see the README's scoring-profile format)."""

    model_config = ConfigDict(extra="allow")
    id: str
    source: str | list[str]
    direction: str
    weight: float
    missing: str | None = None


class ProfileDocument(BaseModel):
    """A scoring profile exactly as authored; weights as written (normalised to sum to 1 when used)."""

    model_config = ConfigDict(extra="allow")
    key: str
    version: int
    status: str | None = None
    title: Any = None
    description: Any = None
    method: str
    max_age_days: int | None = None
    criteria: list[CriterionDefinition]


class FacilitySummary(BaseModel):
    id: str
    name: str
    province_code: str
    sector: str


class CriterionExplanation(BaseModel):
    """How one criterion made a facility's score: raw value, normalised value, weight and contribution."""

    model_config = ConfigDict(extra="allow")
    id: str
    raw: float | None = Field(description="the value before normalisation (null: missing)")
    normalised: float | None = Field(
        description="in [0, 1]; null where the criterion does not apply to the facility (applies_when)"
    )
    normalise: str | None = Field(
        default=None,
        description="minmax | rank | log_minmax (vector for topsis); present in profiles using the extensions",
    )
    applies: bool | None = Field(
        default=None,
        description="false: the criterion does not concern this facility (applies_when), so is neutral",
    )
    weight: float = Field(description="the profile's weight, normalised to sum to 1")
    effective_weight: float | None = Field(
        default=None,
        description="the weight used for this facility: a neutral criterion's weight shared among the others",
    )
    contribution: float = Field(
        description="this criterion's share of the score; contributions sum to the score"
    )
    response_id: str | None = Field(
        description="the response the value was read from (null: a facility field)"
    )
    collected_at: str | None
    channel: str | None = Field(
        default=None,
        description="where that response came from: field | office | portal (null: a facility field). Rankings read, "
        "per facility and questionnaire, an approved response first, then the latest field/office one, then the "
        "latest portal one",
    )
    stale: bool = Field(
        description="the answer is older than the profile's max_age_days and counted as missing"
    )
    state: Literal["value", "missing", "not_asked", "not_applicable", "stale"] = Field(
        description="what the criterion did: value; missing (asked, not answered); not_asked (the facility's "
        "questionnaire version has no such question); not_applicable (its applies_when does not hold); stale"
    )
    weight_used: float = Field(
        description="the weight after any redistribution (equal to weight unless a criterion that does not apply "
        "gave its weight to the others); normalised × weight_used = contribution"
    )


class RankedItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int
    facility: FacilitySummary
    score: float
    criteria: list[CriterionExplanation]
    missing: list[str] = Field(
        description="the criteria in state missing (asked, not answered), nothing else"
    )


class RankingFiltersRead(BaseModel):
    province_code: list[str]
    sector: list[str]
    kind: str | None = None


class PrioritiesPage(BaseModel):
    """A page of a live ranking; `next_cursor` carries its as_of, so every page ranks the same data."""

    model_config = ConfigDict(extra="allow")
    profile: ProfileRef
    method: str
    as_of: str
    review: str | None = Field(default=None, description="the review filter: which responses counted")
    candidates: int = Field(description="facilities ranked")
    excluded: int = Field(description="facilities dropped by a `missing: exclude` criterion")
    constant_criteria: list[str] = Field(
        description="criteria with one value for every candidate (they add 0)"
    )
    items: list[RankedItem]
    next_cursor: str | None


class SelectedItem(BaseModel):
    """One facility of a budgeted selection (or, in its `not_selectable` part, a ranked facility without a cost;
    in its `passed_over` part, a candidate ranked above the last selected one that was not selected)."""

    rank: int
    facility_id: str
    province_code: str
    score: float
    cost_vnd: int | None = Field(description="what selecting it costs (null: it has no cost)")
    reason: str | None = Field(
        default=None,
        description="passed_over part only: no_cost, not_eligible:<rule>, province_bound, sector_bound, kind_bound, "
        "max_projects, over_budget (its cost exceeded the budget left after the better-ranked selected) or "
        "optimum_prefers_others",
    )


class TopFunded(BaseModel):
    n: int = Field(description="the best-ranked eligible candidates looked at (50)")
    count: int = Field(description="how many of them the selection funds")


class SelectionSummary(BaseModel):
    """What one strategy selects on the ranking's inputs."""

    model_config = ConfigDict(extra="allow")
    strategy: str
    selected_count: int
    total_cost_vnd: int
    total_score: float
    provinces_covered: int = Field(description="distinct provinces among the selected")
    median_cost_vnd: int | None = Field(description="the median cost of the selected (null: none selected)")
    top_funded: TopFunded


class Selection(BaseModel):
    """The budgeted selection's summary: the set of greatest total score within the budget and bounds (exact
    optimum). Its facilities are paged by GET /rankings/{id}/selection."""

    model_config = ConfigDict(extra="allow")
    budget_vnd: int
    cost_source: str | None = None
    support_cost: Any = Field(
        default=None, description="the profile's support_cost rule(s) that priced the candidates, as written"
    )
    candidates_selectable: int
    selected_count: int = Field(description="facilities selected (GET /rankings/{id}/selection pages them)")
    not_selectable_count: int = Field(
        description="ranked facilities without a cost (GET /rankings/{id}/selection?part=not_selectable)"
    )
    solver: dict[str, Any]
    objective: float
    total_cost_vnd: int
    binding_constraints: list[str]
    strategy: str | None = Field(default=None, description="max_total_score | rank_order")
    total_score: float | None = None
    provinces_covered: int | None = None
    median_cost_vnd: int | None = None
    top_funded: TopFunded | None = None
    not_eligible_count: int | None = Field(
        default=None, description="candidates with a cost outside eligibility"
    )
    passed_over_count: int | None = Field(
        default=None,
        description="GET /rankings/{id}/selection?part=passed_over pages them, each with its reason",
    )
    eligibility: dict[str, Any] | None = Field(default=None, description="the eligibility rules applied")
    eligibility_from: str | None = Field(
        default=None, description="request | profile (default_selection) | null"
    )
    strategy_from: str | None = Field(
        default=None, description="request | profile (default_selection) | default"
    )
    bounds: dict[str, Any] | None = Field(default=None, description="the bounds applied")
    comparison: dict[str, SelectionSummary] | None = Field(
        default=None, description="the same summary for each strategy on the same inputs"
    )


class RankingDocument(BaseModel):
    """A frozen ranking: its request, the profile's hash, counts, the selection's summary and the first page
    of its items, exactly as computed then; under 1 MB at any candidate count. The rest of the items are paged
    by GET /rankings/{id}/items (from `items_next_cursor`), the selection by GET /rankings/{id}/selection."""

    model_config = ConfigDict(extra="allow")
    id: str
    created_at: datetime
    created_by: str | None
    profile_hash: str
    request: dict[str, Any]
    profile: ProfileRef
    method: str
    as_of: str
    filters: RankingFiltersRead
    review: str | None = Field(
        default=None,
        description="the review filter: which responses counted (absent in rankings made before it)",
    )
    candidates: int
    excluded: int
    constant_criteria: list[str]
    items: list[RankedItem] = Field(description="the first page of items in rank order (at most 100)")
    items_next_cursor: str | None = Field(
        description="pass as `cursor` to GET /rankings/{id}/items for the next page (null: no more)"
    )
    selection: Selection | None = None


class RankedItemsPage(BaseModel):
    """A page of a frozen ranking's items, in rank order."""

    items: list[RankedItem]
    next_cursor: str | None


class SelectionPage(BaseModel):
    """A page of a frozen ranking's selection (or of its not-selectable facilities), in rank order."""

    items: list[SelectedItem]
    next_cursor: str | None


class RankingSummary(BaseModel):
    id: str
    created_at: datetime
    created_by: str | None
    profile_key: str
    profile_version: int
    profile_hash: str
    as_of: datetime
    request: dict[str, Any]
