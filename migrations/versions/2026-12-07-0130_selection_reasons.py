"""ranking_item.reason: why a candidate ranked above a selection's last selected one was passed over

Revision ID: selection02
Revises: webhooks01
Create Date: 2026-12-07 01:00:00

A budgeted selection stores, with its frozen ranking, the reason each candidate ranked above its last selected one
was not selected (no_cost, not_eligible:<rule>, province_bound, sector_bound, kind_bound, max_projects,
over_budget, optimum_prefers_others); NULL elsewhere and in rankings made before it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "selection02"
down_revision: str | None = "webhooks01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ranking_item") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ranking_item") as batch:
        batch.drop_column("reason")
