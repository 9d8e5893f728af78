"""form links: a portal's token that submits to some questionnaires in one province

Revision ID: form_links
Revises: 0002
Create Date: 2026-11-27 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.types

revision = "form_links"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_link",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("questionnaires", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("expires_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("max_submissions", sa.Integer(), nullable=True),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=True),
        sa.Column("revoked_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_form_link")),
        sa.UniqueConstraint("id", name=op.f("uq_form_link_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_form_link_token_hash")),
    )
    with op.batch_alter_table("form_link") as batch:
        batch.create_index("ix_form_link_province_code_seq", ["province_code", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("form_link") as batch:
        batch.drop_index("ix_form_link_province_code_seq")
    op.drop_table("form_link")
