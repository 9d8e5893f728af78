"""Request and response bodies of review actions, comments and review history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from app.review.states import ReviewAction, ReviewState

MAX_COMMENT = 4000
EventKind = Literal["review", "comment"]

_ID_DOC = (
    "optional UUID chosen by the client: the same id with the same content again is answered 200 with the "
    "stored event (a retry is never a second event); another content under it is 409"
)


def _uuid(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ValueError("must be a UUID, e.g. 0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d20") from None


def _text(value: str | None) -> str | None:
    """Comments are kept as written, without surrounding blanks; an empty one is no comment."""
    if value is None:
        return None
    value = value.strip()
    return value or None


class ReviewCreate(BaseModel):
    """A review action on the response's latest revision."""

    model_config = ConfigDict(extra="forbid")
    id: StrictStr | None = Field(default=None, description=_ID_DOC)
    state: ReviewAction
    comment: Annotated[StrictStr | None, Field(max_length=MAX_COMMENT)] = Field(
        default=None, description="shown to the field officer who submitted the response"
    )

    _v_id = field_validator("id")(classmethod(lambda cls, v: _uuid(v)))
    _v_comment = field_validator("comment")(classmethod(lambda cls, v: _text(v)))


class CommentCreate(BaseModel):
    """A comment on a response (it changes no review state)."""

    model_config = ConfigDict(extra="forbid")
    id: StrictStr | None = Field(default=None, description=_ID_DOC)
    comment: Annotated[StrictStr, Field(max_length=MAX_COMMENT)]

    _v_id = field_validator("id")(classmethod(lambda cls, v: _uuid(v)))

    @field_validator("comment")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        text = _text(v)
        if text is None:
            raise ValueError("write the comment; it must not be empty")
        return text


class ReviewEventRead(BaseModel):
    """One entry of a response's review history or comment thread (both are append-only)."""

    id: str
    response_id: str
    kind: EventKind = Field(description="review: a review action (state set); comment: a comment only")
    state: ReviewAction | None = Field(description="the state the review action set (null for a comment)")
    comment: str | None
    revision: int = Field(description="the response's latest revision when this was received")
    author: str = Field(description="the key name of who wrote it")
    author_role: str
    at: datetime = Field(description="when it was received")


class ReviewResult(ReviewEventRead):
    """The review action stored, and the response's review state after it."""

    review_state: ReviewState
