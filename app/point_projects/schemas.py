"""Request and response bodies of point projects and of the results report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from app.facilities.schemas import Money, Sector


class ActivityKind(StrEnum):
    demonstration_model = "demonstration_model"
    advanced_machinery = "advanced_machinery"
    production_line = "production_line"
    training = "training"
    workshop = "workshop"
    trade_promotion = "trade_promotion"
    other = "other"


ACTIVITY_LABELS: dict[str, dict[str, str]] = {
    "demonstration_model": {"vi": "Mô hình trình diễn kỹ thuật", "en": "Technical demonstration model"},
    "advanced_machinery": {"vi": "Ứng dụng máy móc thiết bị tiên tiến", "en": "Advanced machinery"},
    "production_line": {"vi": "Dây chuyền công nghệ", "en": "Production line"},
    "training": {"vi": "Đào tạo nghề, truyền nghề", "en": "Skills training"},
    "workshop": {"vi": "Hội nghị, hội thảo", "en": "Workshop"},
    "trade_promotion": {"vi": "Xúc tiến thương mại", "en": "Trade promotion"},
    "other": {"vi": "Hoạt động khác", "en": "Other activity"},
}
assert set(ACTIVITY_LABELS) == set(ActivityKind)


class State(StrEnum):
    proposed = "proposed"
    approved = "approved"
    implementing = "implementing"
    completed = "completed"
    cancelled = "cancelled"


STATE_LABELS: dict[str, dict[str, str]] = {
    "proposed": {"vi": "Đề xuất", "en": "Proposed"},
    "approved": {"vi": "Đã phê duyệt", "en": "Approved"},
    "implementing": {"vi": "Đang thực hiện", "en": "Implementing"},
    "completed": {"vi": "Đã hoàn thành", "en": "Completed"},
    "cancelled": {"vi": "Đã hủy", "en": "Cancelled"},
}

# The lifecycle: proposed → approved → implementing → completed, or cancelled before completion.
TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"implementing", "cancelled"}),
    "implementing": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
# A facility in a project in one of these states counts as supported (prior support, rankings).
SUPPORTING = frozenset({"implementing", "completed"})

Code = Annotated[
    StrictStr,
    Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
          description="the project's code, e.g. 'ĐA-KCĐ-2019-01' written as DA-KCD-2019-01"),
]  # fmt: skip
Year = Annotated[StrictInt, Field(ge=2000, le=2100)]


class Title(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vi: Annotated[StrictStr, Field(min_length=1, max_length=300)]
    en: Annotated[StrictStr | None, Field(min_length=1, max_length=300)] = None


class ActivityIn(BaseModel):
    """One activity: for one facility (a demonstration model, machinery, a line) or for the whole project
    (a workshop, a course: no facility_id)."""

    model_config = ConfigDict(extra="forbid")
    kind: ActivityKind
    facility_id: Annotated[StrictStr | None, Field(max_length=36)] = None
    programme_vnd: Money = Field(description="funds from the industrial-extension programme, whole VND")
    counterpart_vnd: Money = Field(
        0, description="the establishment's (or locality's) counterpart funds, whole VND"
    )
    participants: Annotated[StrictInt | None, Field(ge=0, le=1_000_000)] = Field(
        None, description="people taking part (trainees, workshop participants)"
    )
    description: Annotated[StrictStr | None, Field(max_length=500)] = None


class _ProjectFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    sector: Sector | None = None
    provinces: Annotated[list[Annotated[StrictStr, Field(pattern=r"^[0-9]{2}$")]] | None,
                         Field(min_length=1, max_length=34)] = None  # fmt: skip
    start_year: Year | None = None
    end_year: Year | None = None
    implementing_unit: Annotated[StrictStr | None, Field(min_length=1, max_length=300)] = None
    activities: Annotated[list[ActivityIn] | None, Field(max_length=5000)] = None


class PointProjectCreate(_ProjectFields):
    """A new point project, state `proposed`."""

    code: Code
    title: Title
    sector: Sector
    provinces: Annotated[
        list[Annotated[StrictStr, Field(pattern=r"^[0-9]{2}$")]], Field(min_length=1, max_length=34)
    ]
    start_year: Year
    end_year: Year
    implementing_unit: Annotated[StrictStr, Field(min_length=1, max_length=300)]
    ranking_id: Annotated[StrictStr | None, Field(max_length=36)] = None
    activities: Annotated[list[ActivityIn], Field(max_length=5000)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _years(self) -> PointProjectCreate:
        if self.end_year < self.start_year:
            raise ValueError("end_year must not be before start_year")
        return self


class PointProjectUpdate(_ProjectFields):
    """Fields to change (a new revision); omitted fields stay. `activities`, when given, is the whole new list."""


class FromSelection(BaseModel):
    """A point project made from a frozen ranking's budgeted selection: one activity per selected facility."""

    model_config = ConfigDict(extra="forbid")
    code: Code
    title: Title
    sector: Sector | None = Field(None, description="default: the selected facilities' most common sector")
    provinces: Annotated[list[Annotated[StrictStr, Field(pattern=r"^[0-9]{2}$")]] | None,
                         Field(min_length=1, max_length=34)] = Field(None, description="default: the selected facilities' provinces")  # fmt: skip
    start_year: Year
    end_year: Year
    implementing_unit: Annotated[StrictStr, Field(min_length=1, max_length=300)]
    extra_activities: Annotated[list[ActivityIn], Field(max_length=500)] = Field(
        default_factory=list,
        description="project-level activities (workshops, courses) added to the selection's",
    )


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: State
    comment: Annotated[StrictStr | None, Field(max_length=2000)] = None


class Activity(BaseModel):
    kind: str
    facility_id: str | None
    facility_name: str | None = None
    province_code: str | None
    programme_vnd: int
    counterpart_vnd: int
    participants: int | None = None
    description: str | None = None


class PointProjectRead(BaseModel):
    id: str
    code: str
    title: dict[str, Any]
    sector: str
    provinces: list[str]
    start_year: int
    end_year: int
    implementing_unit: str
    ranking_id: str | None
    state: str
    revision: int
    activities: list[Activity]
    facilities_count: int = Field(description="distinct facilities with an activity")
    funds_vnd: dict[str, int] = Field(description="programme, counterpart and total of the activities")
    created_at: datetime
    updated_at: datetime
    created_by: str | None


class PointProjectSummary(BaseModel):
    id: str
    code: str
    title: dict[str, Any]
    sector: str
    provinces: list[str]
    start_year: int
    end_year: int
    state: str
    revision: int
    facilities_count: int
    funds_vnd: dict[str, int]
    updated_at: datetime


class RevisionRead(BaseModel):
    revision: int
    state: str
    change: str
    changed_at: datetime
    changed_by: str | None
    document: dict[str, Any]
