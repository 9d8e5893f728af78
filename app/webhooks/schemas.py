"""Request and response bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.webhooks.events import EVENT_TYPES

EventName = Annotated[StrictStr, Field(description=f"one of {', '.join(EVENT_TYPES)}")]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[
        StrictStr,
        Field(min_length=1, max_length=2000,
              description="http(s) URL the events are POSTed to; a public address (see WEBHOOK_ALLOW_PRIVATE_URLS)"),
    ]  # fmt: skip
    events: Annotated[list[EventName], Field(min_length=1, max_length=len(EVENT_TYPES) * 2)]
    description: Annotated[StrictStr | None, Field(max_length=500)] = None


class WebhookRead(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    provinces: list[str] | None = Field(
        description="the provinces whose events it receives (null: every one)"
    )
    created_at: datetime
    created_by: str | None


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="`whsec_…`, shown once: verify each delivery's `webhook-signature` with it"
    )


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="the new secret, shown once")
    previous_secret_valid_until: datetime = Field(
        description="until then each delivery also carries a signature made with the previous secret"
    )


class DeliveryRead(BaseModel):
    id: str = Field(description="the message id: the `webhook-id` header of every attempt")
    event_type: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempts: int
    last_status: int | None = Field(description="the HTTP status of the last answer (null: none received)")
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="when it is tried next (pending only)")
    created_at: datetime
    delivered_at: datetime | None
