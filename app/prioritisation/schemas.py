"""Response bodies of profiles, priorities and frozen rankings (documented in the OpenAPI, checked by fuzzing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    normalised: float
    weight: float
    contribution: float = Field(
        description="this criterion's share of the score; contributions sum to the score"
    )
    response_id: str | None = Field(
        description="the response the value was read from (null: a facility field)"
    )
    collected_at: str | None
    stale: bool = Field(
        description="the answer is older than the profile's max_age_days and counted as missing"
    )


class RankedItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int
    facility: FacilitySummary
    score: float
    criteria: list[CriterionExplanation]
    missing: list[str]


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
    rank: int
    facility_id: str
    province_code: str
    score: float
    cost_vnd: int


class Selection(BaseModel):
    """The budgeted selection: the set of greatest total score within the budget and bounds (exact optimum)."""

    model_config = ConfigDict(extra="allow")
    budget_vnd: int
    cost_source: str | None = None
    candidates_selectable: int
    not_selectable: list[str] = Field(description="ranked facilities without a cost")
    solver: dict[str, Any]
    objective: float
    total_cost_vnd: int
    binding_constraints: list[str]
    selected: list[SelectedItem]


class RankingDocument(BaseModel):
    """A frozen ranking: its request, the profile's hash, and the result exactly as computed then."""

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
    items: list[RankedItem]
    selection: Selection | None = None


class RankingSummary(BaseModel):
    id: str
    created_at: datetime
    created_by: str | None
    profile_key: str
    profile_version: int
    profile_hash: str
    as_of: datetime
    request: dict[str, Any]
