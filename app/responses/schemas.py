"""Request and response bodies for survey responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from app.core.fields import UtcDatetime
from app.facilities.schemas import FacilityCreate, Finite
from app.review.states import ReviewAction, ReviewState

MAX_BATCH = 500
Channel = Literal["field", "portal", "office"]


class GeoPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: Annotated[Finite, Field(ge=-90, le=90)]
    lon: Annotated[Finite, Field(ge=-180, le=180)]
    accuracy_m: Annotated[Finite | None, Field(ge=0, le=100_000)] = None


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(
            "must be a UUID chosen by the client, e.g. 0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d20"
        ) from None


class ResponseCreate(BaseModel):
    """One survey response; `id` is chosen by the client so retries are recognised."""

    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    questionnaire: Annotated[StrictStr, Field(min_length=1, max_length=80)]
    version: Annotated[StrictInt, Field(ge=1, le=10_000)]
    facility_id: StrictStr | None = None
    facility: FacilityCreate | None = Field(
        default=None, description="register a new facility inline (a known tax code resolves to it)"
    )
    answers: dict[str, Any]
    collected_at: UtcDatetime = Field(description="RFC 3339 with offset, when the answers were collected")
    location: GeoPoint | None = None

    _v_id = field_validator("id")(classmethod(lambda cls, v: _uuid(v)))
    _v_fid = field_validator("facility_id")(classmethod(lambda cls, v: None if v is None else _uuid(v)))


class ResponseRevise(BaseModel):
    """A new revision of a response's answers, based on the latest revision."""

    model_config = ConfigDict(extra="forbid")
    base_revision: Annotated[StrictInt, Field(ge=1, le=1_000_000)]
    answers: dict[str, Any]
    collected_at: UtcDatetime
    location: GeoPoint | None = None


class LastReview(BaseModel):
    """The latest review action on a response (its full history: GET /responses/{id}/reviews)."""

    state: ReviewAction
    revision: int = Field(description="the revision that was reviewed")
    comment: str | None
    by: str = Field(description="the reviewer's key name")
    at: datetime


class ResponseRead(BaseModel):
    id: str
    questionnaire: str
    version: int
    facility_id: str
    province_code: str
    answers: dict[str, Any]
    collected_at: datetime
    location: dict[str, Any] | None
    revision: int
    received_at: datetime
    revised_at: datetime = Field(description="when this revision was received")
    channel: Channel = Field(
        default="field",
        description="where the response came from: field (a field officer's key, JSON or OpenRosa), portal (a "
        "portal key or a form link: the establishment's own report) or office (an admin or planner key)",
    )
    submitted_by: str | None = Field(
        default=None, description="the submitting key's name, or form-link:<id> for a form link"
    )
    review_state: ReviewState = Field(
        default="received",
        description="the response's review state now: received | has_issues | approved | rejected | edited "
        "(a revision newer than the reviewed one arrived); on every revision of a response it is the response's",
    )
    last_review: LastReview | None = Field(
        default=None, description="the latest review action (null: none yet)"
    )


class ResponseReceipt(BaseModel):
    """A retry acknowledged for a caller who may not read the stored response (e.g. a portal): no stored body."""

    id: str
    questionnaire: str
    version: int
    status: str = Field(description="duplicate: this exact content was already received under this id")
    received_at: datetime | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="when the server received it; only for the caller who submitted it (a retry after a lost reply)",
    )
    facility_id: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="the facility it was stored for (registered inline, perhaps); only for the caller who submitted it",
    )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[
        list[Any],
        Field(min_length=1, max_length=MAX_BATCH, description="response bodies; each is checked on its own"),
    ]


class BatchItemResult(BaseModel):
    id: str | None
    status: str = Field(description="created | duplicate | conflict | invalid | forbidden | rate_limited")
    revision: int | None = Field(default=None, exclude_if=lambda v: v is None)
    retry_after: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="rate_limited: seconds until the form link's allowance takes this item (not stored)",
    )
    errors: list[dict[str, str]] | None = Field(default=None, exclude_if=lambda v: v is None)
    more_errors: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="How many more field errors this item had than `errors` lists (at most the first 50 per "
        "item, and at most 1,000 in the whole reply, each item keeping its first); absent when none were left out",
    )


class BatchOut(BaseModel):
    results: list[BatchItemResult]
