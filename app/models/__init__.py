"""Every table of the service, in one metadata (what Alembic compares against)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.models.types import JsonType, SeqType, UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _dt(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class DefinitionHash(SQLModel, table=True):
    """Content hash of a published questionnaire or scoring profile, recorded the first time it is seen."""

    __tablename__ = "definition_hash"
    kind: str = Field(sa_column=Column(String(20), primary_key=True))
    key: str = Field(sa_column=Column(String(80), primary_key=True))
    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ApiKey(SQLModel, table=True):
    """An API key: only the SHA-256 of the secret is kept."""

    __tablename__ = "api_key"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    name: str = Field(sa_column=Column(String(120), nullable=False, unique=True))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    secret_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    provinces: list[str] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = _dt(nullable=True)
    revoked_at: datetime | None = _dt(nullable=True)


class AuditEvent(SQLModel, table=True):
    """Append-only record of a write: who, when, what, from where."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    key_name: str | None = Field(default=None, sa_column=Column(String(120), nullable=True, index=True))
    role: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    action: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    resource_type: str = Field(sa_column=Column(String(40), nullable=False))
    resource_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    client_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    # The one province the resource belongs to (None: several or every province): what scopes the trail.
    province_code: str | None = Field(default=None, sa_column=Column(String(2), nullable=True))

    __table_args__ = (Index("ix_audit_event_province_code_id", "province_code", "id"),)


class Facility(SQLModel, table=True):
    """A rural industrial establishment (cơ sở công nghiệp nông thôn); its history is in facility_revision."""

    __tablename__ = "facility"
    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(300), nullable=False))
    search_text: str = Field(sa_column=Column(Text, nullable=False))
    tax_code: str | None = Field(default=None, sa_column=Column(String(14), nullable=True, unique=True))
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    sector: str = Field(sa_column=Column(String(30), nullable=False))
    vsic_code: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    province_code: str = Field(sa_column=Column(String(2), nullable=False))
    ward_code: str | None = Field(default=None, sa_column=Column(String(5), nullable=True))
    address: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    employees: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    annual_revenue_vnd: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    established_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    prior_support: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JsonType, nullable=False)
    )
    prior_support_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_support_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    location: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))

    __table_args__ = (
        Index("ix_facility_province_seq", "province_code", "seq"),
        Index("ix_facility_sector_seq", "sector", "seq"),
    )


class FacilityRevision(SQLModel, table=True):
    """A full snapshot of a facility after each change, so rankings can see it as it was."""

    __tablename__ = "facility_revision"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    facility_id: str = Field(sa_column=Column(String(36), ForeignKey("facility.id"), nullable=False))
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    changed_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))

    __table_args__ = (
        UniqueConstraint("facility_id", "revision", name="uq_facility_revision_facility_id_revision"),
    )


class Response(SQLModel, table=True):
    """A survey response's identity (client-chosen id) and receive order; its content is in revisions."""

    __tablename__ = "response"
    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    questionnaire: str = Field(sa_column=Column(String(80), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    facility_id: str = Field(
        sa_column=Column(String(36), ForeignKey("facility.id"), nullable=False, index=True)
    )
    province_code: str = Field(sa_column=Column(String(2), nullable=False))
    submitted_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    # Where it came from (app.access.principal.CHANNELS): field | portal | office, from the submitting key.
    channel: str = Field(default="field", sa_column=Column(String(8), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    current_revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    # The latest review action, denormalised from review_event (the history) for listing and reading:
    # None while never reviewed. The state now is derived by app.review.states (a revision newer than
    # review_revision makes it "edited").
    review_state: str | None = Field(default=None, sa_column=Column(String(12), nullable=True))
    review_revision: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    review_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    reviewed_at: datetime | None = _dt(nullable=True)

    __table_args__ = (
        Index("ix_response_questionnaire_version_seq", "questionnaire", "version", "seq"),
        # A questionnaire's responses of every version in receive order (the /v1 feed's table, one per form).
        Index("ix_response_questionnaire_seq", "questionnaire", "seq"),
        Index("ix_response_review_state_seq", "review_state", "seq"),
        Index("ix_response_province_seq", "province_code", "seq"),
        Index("ix_response_submitted_by_seq", "submitted_by", "seq"),
        Index("ix_response_received_at", "received_at"),
    )


class ResponseRevision(SQLModel, table=True):
    """One revision of a response's answers; revisions are only ever added."""

    __tablename__ = "response_revision"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    response_id: str = Field(sa_column=Column(String(36), ForeignKey("response.id"), nullable=False))
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    answers: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    collected_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    collected_offset_min: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    location: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    submitted_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    # The id the client gave this revision, when it names revisions itself (an edited OpenRosa instance gets a
    # new instanceID and names the one it replaces): how a later edit finds the revision it was based on.
    instance_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True, unique=True))

    __table_args__ = (
        UniqueConstraint("response_id", "revision", name="uq_response_revision_response_id_revision"),
    )


class ReviewEvent(SQLModel, table=True):
    """Append-only: a review action (state set) or a comment (state None) on a response, with the revision
    that was current then. Review states as of any instant are derived from these rows."""

    __tablename__ = "review_event"
    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    response_id: str = Field(sa_column=Column(String(36), ForeignKey("response.id"), nullable=False))
    state: str | None = Field(default=None, sa_column=Column(String(12), nullable=True))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    author: str = Field(sa_column=Column(String(120), nullable=False))
    author_role: str = Field(sa_column=Column(String(20), nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))

    __table_args__ = (Index("ix_review_event_response_id_seq", "response_id", "seq"),)


class Attachment(SQLModel, table=True):
    """A file an `image`/`file` answer names: its bytes are in the blob store under their SHA-256."""

    __tablename__ = "attachment"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    response_id: str = Field(sa_column=Column(String(36), ForeignKey("response.id"), nullable=False))
    name: str = Field(sa_column=Column(String(255), nullable=False))
    content_type: str = Field(sa_column=Column(String(255), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    received_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))

    __table_args__ = (UniqueConstraint("response_id", "name", name="uq_attachment_response_id_name"),)


class Ranking(SQLModel, table=True):
    """A frozen ranking: its inputs, the profile's hash and the full result, never changed."""

    __tablename__ = "ranking"
    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    profile_key: str = Field(sa_column=Column(String(80), nullable=False))
    profile_version: int = Field(sa_column=Column(Integer, nullable=False))
    profile_hash: str = Field(sa_column=Column(String(64), nullable=False))
    as_of: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    scope: list[str] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    request: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    result: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))


class RankingItem(SQLModel, table=True):
    """One ranked candidate of a frozen ranking, as computed then: the ranking's items are rows, so a page of
    them (or of its selection) is read by key, never the whole ranking. `item` is the explained item's JSON
    text exactly as served; `selection` is NULL without a budget, else SELECTION_* below; `reason` says why a
    candidate ranked above the last selected one was passed over."""

    __tablename__ = "ranking_item"
    ranking_seq: int = Field(
        sa_column=Column(SeqType, ForeignKey("ranking.seq"), primary_key=True, autoincrement=False)
    )
    rank: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    facility_id: str = Field(sa_column=Column(String(36), nullable=False))
    province_code: str = Field(sa_column=Column(String(2), nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    selection: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    cost_vnd: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    item: str = Field(sa_column=Column(Text, nullable=False))
    # Why a candidate ranked above the selection's last selected one was passed over (NULL elsewhere).
    reason: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))

    __table_args__ = (
        Index("ix_ranking_item_ranking_seq_selection_rank", "ranking_seq", "selection", "rank"),
    )


SELECTION_NOT_CHOSEN, SELECTION_SELECTED, SELECTION_NOT_SELECTABLE = 0, 1, 2


class FormLink(SQLModel, table=True):
    """A provincial portal's form link. Its token (only the SHA-256 is kept) registers facilities inline and
    submits responses to its questionnaires in its province, nothing else, until revoked, expired or full."""

    __tablename__ = "form_link"
    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    province_code: str = Field(sa_column=Column(String(2), nullable=False))
    questionnaires: list[str] = Field(sa_column=Column(JsonType, nullable=False))
    expires_at: datetime | None = _dt(nullable=True)
    max_submissions: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # Responses stored through the link; raised in the transaction that stores each one (never past the cap).
    submission_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    revoked_at: datetime | None = _dt(nullable=True)

    __table_args__ = (Index("ix_form_link_province_code_seq", "province_code", "seq"),)


class PlannerSession(SQLModel, table=True):
    """A signed-in planner workspace session (/planner/): the key it belongs to (never its secret), its CSRF token,
    when it expires and when it was ended. The browser holds only a random id; this row keeps its SHA-256."""

    __tablename__ = "planner_session"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    key_id: int = Field(sa_column=Column(SeqType, ForeignKey("api_key.id"), nullable=False, index=True))
    csrf_token: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = _dt(nullable=True)
    client_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class FeedSession(SQLModel, table=True):
    """A session of the ODK Central–style feed (/v1/sessions): signed in with a planner's or an admin's key name
    and secret, it is a bearer token for /v1 only. The client holds the token; this row keeps its SHA-256."""

    __tablename__ = "feed_session"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    key_id: int = Field(sa_column=Column(SeqType, ForeignKey("api_key.id"), nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = _dt(nullable=True)
    client_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class AnswerProjection(SQLModel, table=True):
    """Per facility, its latest response per questionnaire version under each review filter, with the answers
    rankings read (app.prioritisation.projection): kept in the transaction of every response and review write,
    so a present ranking reads one row per facility instead of every response's history."""

    __tablename__ = "answer_projection"
    __table_args__ = (Index("ix_answer_projection_generation", "generation"),)
    facility_id: str = Field(sa_column=Column(String(36), ForeignKey("facility.id"), primary_key=True))
    doc: str = Field(sa_column=Column(Text, nullable=False))
    # The ranking data generation that last wrote the row: a process reads only the rows written since.
    generation: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))


class RankingState(SQLModel, table=True):
    """One row: the generation of ranking data (bumped by every write a ranking sees) and of facility data (by
    facility writes only), when it last changed, and which answers the projection holds per questionnaire
    (JSON; None while the projection is unbuilt)."""

    __tablename__ = "ranking_state"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    generation: int = Field(sa_column=Column(BigInteger, nullable=False))
    facility_generation: int = Field(sa_column=Column(BigInteger, nullable=False))
    changed_at: datetime | None = _dt(nullable=True)
    keys: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Webhook(SQLModel, table=True):
    """A subscription: events of these types, in these provinces, POSTed signed to `url` (app.webhooks).

    The secret is kept as given (it signs every delivery); it is shown once, at creation or rotation. After a
    rotation the previous secret also signs deliveries until `previous_secret_until`."""

    __tablename__ = "webhook"
    id: str = Field(sa_column=Column(String(36), primary_key=True))
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: list[str] = Field(sa_column=Column(JsonType, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    # The provinces whose events it receives: its creator's (None: every province).
    provinces: list[str] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    secret: str = Field(sa_column=Column(String(80), nullable=False))
    previous_secret: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    previous_secret_until: datetime | None = _dt(nullable=True)
    created_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    deleted_at: datetime | None = _dt(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one message for one hook, written in the transaction of the change it reports, then
    delivered (and retried under the same `msg_id`) by the deliverer. `next_attempt_at` is also the lease: a
    claimed row is not due again until its attempt has had time to finish."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    msg_id: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    webhook_id: str = Field(
        sa_column=Column(String(36), ForeignKey("webhook.id"), nullable=False, index=True)
    )
    event_type: str = Field(sa_column=Column(String(40), nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="pending", sa_column=Column(String(12), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = _dt(nullable=True)
    claim: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    last_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    last_attempt_at: datetime | None = _dt(nullable=True)
    delivered_at: datetime | None = _dt(nullable=True)


class WebhookState(SQLModel, table=True):
    """One row: bumped by every write to `webhook`, so each process knows when its cached hooks are stale."""

    __tablename__ = "webhook_state"
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    generation: int = Field(sa_column=Column(BigInteger, nullable=False))


class PointProject(SQLModel, table=True):
    """A point project (đề án khuyến công điểm): its current state; every change adds a point_project_revision
    (the full document then), so nothing is overwritten and a report as of any instant reads the revisions."""

    __tablename__ = "point_project"
    seq: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    code: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    state: str = Field(sa_column=Column(String(12), nullable=False))
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    # The document as last revised: title, sector, provinces, years, implementing unit, ranking, activities.
    doc: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    # Provinces of the project and of its facilities: what scopes it (JSON list of codes).
    provinces: list[str] = Field(sa_column=Column(JsonType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))


class PointProjectRevision(SQLModel, table=True):
    """One revision of a point project: the whole document and state after a change (only ever added)."""

    __tablename__ = "point_project_revision"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    project_id: str = Field(sa_column=Column(String(36), ForeignKey("point_project.id"), nullable=False))
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    state: str = Field(sa_column=Column(String(12), nullable=False))
    doc: dict[str, Any] = Field(sa_column=Column(JsonType, nullable=False))
    change: str = Field(sa_column=Column(String(40), nullable=False))
    changed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    changed_by: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))

    __table_args__ = (
        UniqueConstraint("project_id", "revision", name="uq_point_project_revision_project_id_revision"),
    )


class PointProjectActivity(SQLModel, table=True):
    """The activities of a project's current revision, one row each (rewritten with each revision; the history
    is in point_project_revision): how a facility's projects and an officer's follow-ups are found by index."""

    __tablename__ = "point_project_activity"
    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True, autoincrement=True))
    project_id: str = Field(
        sa_column=Column(String(36), ForeignKey("point_project.id"), nullable=False, index=True)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    facility_id: str | None = Field(
        default=None, sa_column=Column(String(36), ForeignKey("facility.id"), nullable=True, index=True)
    )
    province_code: str | None = Field(default=None, sa_column=Column(String(2), nullable=True))
    programme_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))
    counterpart_vnd: int = Field(sa_column=Column(BigInteger, nullable=False))


__all__ = [
    "AnswerProjection",
    "ApiKey",
    "Attachment",
    "AuditEvent",
    "DefinitionHash",
    "FeedSession",
    "Facility",
    "FacilityRevision",
    "FormLink",
    "PlannerSession",
    "PointProject",
    "PointProjectActivity",
    "PointProjectRevision",
    "Ranking",
    "RankingItem",
    "RankingState",
    "Response",
    "ResponseRevision",
    "ReviewEvent",
    "SQLModel",
    "Webhook",
    "WebhookDelivery",
    "WebhookState",
]
