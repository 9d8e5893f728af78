"""answer_projection.generation: the ranking data generation that last wrote each row

Revision ID: projgen01
Revises: projection01
Create Date: 2026-11-29 09:00:00

Present rankings keep each facility's decoded rows in the process and read only the rows written since the
generation they hold (app.prioritisation.data). Rows written before this column existed carry 0: a process's
first present ranking reads every row, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "projgen01"
down_revision: str | None = "projection01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answer_projection") as batch:
        batch.add_column(sa.Column("generation", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
        batch.create_index("ix_answer_projection_generation", ["generation"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("answer_projection") as batch:
        batch.drop_index("ix_answer_projection_generation")
        batch.drop_column("generation")
