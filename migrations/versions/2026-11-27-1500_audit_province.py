"""audit events carry the province of their resource (scopes the audit trail)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("province_code", sa.String(length=2), nullable=True))
        batch.create_index("ix_audit_event_province_code_id", ["province_code", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_index("ix_audit_event_province_code_id")
        batch.drop_column("province_code")
