"""point projects: projects (current state), their revisions (whole documents) and current activities

Revision ID: pointproj01
Revises: selection02
Create Date: 2026-12-07 01:00:00

A facility's support from projects is recorded on the facility itself (a `prior_support` entry naming the
project, added in the transaction that moves the project to `implementing`), so the typed `prior_support`
entries already stored stay exactly as they are: they are the legacy records (entries without a
`point_project_id`), and `prior_support_count` keeps counting them; nothing is rewritten or lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "pointproj01"
down_revision: str | None = "selection02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
TS = app.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "point_project",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("doc", JSON, nullable=False),
        sa.Column("provinces", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_point_project")),
        sa.UniqueConstraint("id", name=op.f("uq_point_project_id")),
        sa.UniqueConstraint("code", name=op.f("uq_point_project_code")),
    )
    op.create_table(
        "point_project_revision",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("doc", JSON, nullable=False),
        sa.Column("change", sa.String(length=40), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["point_project.id"],
                                name=op.f("fk_point_project_revision_project_id_point_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_project_revision")),
        sa.UniqueConstraint("project_id", "revision", name="uq_point_project_revision_project_id_revision"),
    )
    with op.batch_alter_table("point_project_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_project_revision_changed_at"), ["changed_at"], unique=False)
    op.create_table(
        "point_project_activity",
        sa.Column("id", SEQ, autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("facility_id", sa.String(length=36), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("programme_vnd", sa.BigInteger(), nullable=False),
        sa.Column("counterpart_vnd", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["point_project.id"],
                                name=op.f("fk_point_project_activity_project_id_point_project")),
        sa.ForeignKeyConstraint(["facility_id"], ["facility.id"],
                                name=op.f("fk_point_project_activity_facility_id_facility")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_project_activity")),
    )
    with op.batch_alter_table("point_project_activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_project_activity_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_point_project_activity_facility_id"), ["facility_id"], unique=False)


def downgrade() -> None:
    op.drop_table("point_project_activity")
    op.drop_table("point_project_revision")
    op.drop_table("point_project")
