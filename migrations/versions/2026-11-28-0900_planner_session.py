"""planner workspace sessions (/planner/): a random id in an HttpOnly cookie, its SHA-256 here

Revision ID: planner01
Revises: review1
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "planner01"
down_revision: str | None = "review1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "planner_session",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_key.id"], name=op.f("fk_planner_session_key_id_api_key")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planner_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_planner_session_token_hash")),
    )
    with op.batch_alter_table("planner_session") as batch_op:
        batch_op.create_index(batch_op.f("ix_planner_session_key_id"), ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("planner_session") as batch_op:
        batch_op.drop_index(batch_op.f("ix_planner_session_key_id"))
    op.drop_table("planner_session")
