"""feed sessions (/v1/sessions, ODK Central's conventions): a bearer token for /v1, its SHA-256 here; and the
index a questionnaire's feed walks (every version, in receive order)

Revision ID: feeds01
Revises: channel01
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "feeds01"
down_revision: str | None = "channel01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_session",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_key.id"], name=op.f("fk_feed_session_key_id_api_key")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feed_session_token_hash")),
    )
    with op.batch_alter_table("feed_session") as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_session_key_id"), ["key_id"], unique=False)
    with op.batch_alter_table("response") as batch_op:
        batch_op.create_index("ix_response_questionnaire_seq", ["questionnaire", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("response") as batch_op:
        batch_op.drop_index("ix_response_questionnaire_seq")
    with op.batch_alter_table("feed_session") as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_session_key_id"))
    op.drop_table("feed_session")
