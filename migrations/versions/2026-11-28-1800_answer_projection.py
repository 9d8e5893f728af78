"""answer projection for present rankings (one row per facility) and the ranking data generation

Revision ID: projection01
Revises: rankitems01
Create Date: 2026-11-28 18:00:00

The projection starts unbuilt (ranking_state.keys NULL: rankings read the history); the application builds it
at startup for the answers its scoring profiles read (app.prioritisation.projection.ensure).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "projection01"
down_revision: str | None = "rankitems01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_projection",
        sa.Column("facility_id", sa.String(length=36), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facility.id"], name=op.f("fk_answer_projection_facility_id_facility")
        ),
        sa.PrimaryKeyConstraint("facility_id", name=op.f("pk_answer_projection")),
    )
    state = op.create_table(
        "ranking_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("facility_generation", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("keys", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_state")),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 1, "facility_generation": 1, "changed_at": None, "keys": None}])


def downgrade() -> None:
    op.drop_table("ranking_state")
    op.drop_table("answer_projection")
