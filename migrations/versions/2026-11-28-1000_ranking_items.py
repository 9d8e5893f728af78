"""frozen rankings' items as rows (ranking_item): documents and pages read by key, never the whole ranking

Existing rankings are moved: their stored items (and selection lists) become rows, and `result` keeps the
rest (inputs, counts, selection summary). Downgrade puts them back.

Revision ID: rankitems01
Revises: planner01
Create Date: 2026-11-28 10:00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "rankitems01"
down_revision: str | None = "planner01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
ranking = sa.table("ranking", sa.column("seq", _SEQ), sa.column("result", _JSON))
item = sa.table(
    "ranking_item",
    *(
        sa.column(c)
        for c in ("ranking_seq", "rank", "facility_id", "province_code", "score", "selection", "cost_vnd")
    ),
    sa.column("item", sa.Text()),
)


def upgrade() -> None:
    op.create_table(
        "ranking_item",
        sa.Column("ranking_seq", _SEQ, autoincrement=False, nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("facility_id", sa.String(length=36), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("selection", sa.SmallInteger(), nullable=True),
        sa.Column("cost_vnd", sa.BigInteger(), nullable=True),
        sa.Column("item", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ranking_seq"], ["ranking.seq"], name=op.f("fk_ranking_item_ranking_seq_ranking")
        ),
        sa.PrimaryKeyConstraint("ranking_seq", "rank", name=op.f("pk_ranking_item")),
    )
    with op.batch_alter_table("ranking_item") as batch_op:
        batch_op.create_index(
            "ix_ranking_item_ranking_seq_selection_rank", ["ranking_seq", "selection", "rank"]
        )
    conn = op.get_bind()
    for (seq,) in conn.execute(sa.select(ranking.c.seq).order_by(ranking.c.seq)).all():
        result = conn.execute(sa.select(ranking.c.result).where(ranking.c.seq == seq)).scalar_one()
        if "items" not in result:
            continue
        head, rows = split(result)
        for i in range(0, len(rows), 500):
            conn.execute(item.insert(), [{"ranking_seq": seq, **r} for r in rows[i : i + 500]])
        conn.execute(ranking.update().where(ranking.c.seq == seq).values(result=head))


def split(result: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A whole stored result as (head, item rows); the same split app.prioritisation.rankings makes."""
    head = {k: v for k, v in result.items() if k != "items"}
    sel = head.get("selection")
    chosen: dict[str, dict[str, Any]] = {}
    unselectable: set[str] = set()
    if sel is not None:
        chosen = {s["facility_id"]: s for s in sel.get("selected", [])}
        unselectable = set(sel.get("not_selectable", []))
        head["selection"] = {k: v for k, v in sel.items() if k not in ("selected", "not_selectable")}
        head["selection"]["selected_count"] = len(chosen)
        head["selection"]["not_selectable_count"] = len(unselectable)
    rows = []
    for it in result["items"]:
        fid = it["facility"]["id"]
        state = None if sel is None else 1 if fid in chosen else 2 if fid in unselectable else 0
        rows.append({"rank": it["rank"], "facility_id": fid, "province_code": it["facility"]["province_code"],
                     "score": it["score"], "selection": state, "cost_vnd": chosen[fid]["cost_vnd"] if fid in chosen else None,
                     "item": json.dumps(it, ensure_ascii=False, separators=(",", ":"))})  # fmt: skip
    return head, rows


def downgrade() -> None:
    conn = op.get_bind()
    for (seq,) in conn.execute(sa.select(ranking.c.seq).order_by(ranking.c.seq)).all():
        head = dict(conn.execute(sa.select(ranking.c.result).where(ranking.c.seq == seq)).scalar_one())
        got = conn.execute(
            sa.select(item.c.selection, item.c.cost_vnd, item.c.item)
            .where(item.c.ranking_seq == seq)
            .order_by(item.c.rank)
        ).all()
        items = [json.loads(r.item) for r in got]
        sel = head.get("selection")
        if sel is not None:
            sel = {k: v for k, v in sel.items() if k not in ("selected_count", "not_selectable_count")}
            sel["not_selectable"] = [
                it["facility"]["id"] for r, it in zip(got, items, strict=True) if r.selection == 2
            ]
            sel["selected"] = [{"rank": it["rank"], "facility_id": it["facility"]["id"], "province_code": it["facility"]["province_code"],
                                "score": it["score"], "cost_vnd": r.cost_vnd} for r, it in zip(got, items, strict=True) if r.selection == 1]  # fmt: skip
            head["selection"] = sel
        head["items"] = items
        conn.execute(ranking.update().where(ranking.c.seq == seq).values(result=head))
    with op.batch_alter_table("ranking_item") as batch_op:
        batch_op.drop_index("ix_ranking_item_ranking_seq_selection_rank")
    op.drop_table("ranking_item")
