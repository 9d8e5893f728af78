"""response.channel: where each response came from (field | portal | office)

Revision ID: channel01
Revises: projgen01
Create Date: 2026-12-07 01:00:00

Existing rows are filled from the key that submitted them (`response.submitted_by` is the key's name):
a field officer's key → `field`; a portal key or a form link (`form-link:<id>`) → `portal`; an admin or a
planner key → `office`. A row whose key is not in `api_key` (keys are revoked, never deleted, so only rows
written around the API: the demo generator's `demo-data`, manual loads) is `office`: it was put there by
the operator, not through a public door, and ranks beside officers' data as it always did
(docs/provenance.md).

The answer projection's documents gain the channel of each response (app.prioritisation.projection): they
are dropped and `ranking_state.keys` cleared, so the application rebuilds them at startup in the new form.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "channel01"
down_revision: str | None = "projgen01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=8), nullable=True))
    op.execute(
        """
        UPDATE response SET channel = CASE
            WHEN submitted_by LIKE 'form-link:%' THEN 'portal'
            ELSE COALESCE(
                (SELECT CASE api_key.role WHEN 'field_officer' THEN 'field' WHEN 'portal' THEN 'portal'
                                          ELSE 'office' END
                   FROM api_key WHERE api_key.name = response.submitted_by),
                'office')
        END
        """
    )
    with op.batch_alter_table("response") as batch:
        batch.alter_column("channel", existing_type=sa.String(length=8), nullable=False)
    op.execute("DELETE FROM answer_projection")
    op.execute("UPDATE ranking_state SET keys = NULL, generation = generation + 1")


def downgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.drop_column("channel")
    op.execute("DELETE FROM answer_projection")
    op.execute("UPDATE ranking_state SET keys = NULL, generation = generation + 1")
