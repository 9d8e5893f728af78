"""Alembic builds the schema: upgrade → downgrade → upgrade works and models match migrations."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from app.core.db import get_engine
from tests.conftest import alembic_config


def test_upgrade_downgrade_upgrade_and_no_drift() -> None:
    cfg = alembic_config()
    command.downgrade(cfg, "base")
    assert set(inspect(get_engine()).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert {"facility", "response", "response_revision", "api_key", "audit_event"} <= set(
        inspect(get_engine()).get_table_names()
    )
    command.check(cfg)  # raises if the models and the migrations disagree


def test_readyz_reports_migration(client) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_channel_migration_fills_existing_responses_from_their_keys() -> None:
    """channel01 names each stored response's channel from the key that submitted it (by its name): field
    officer → field, portal key or form link → portal, admin/planner → office, and a key not in api_key
    (rows written around the API) → office."""
    from tests.conftest import wipe

    wipe()
    cfg = alembic_config()
    command.downgrade(cfg, "projgen01")
    try:
        with get_engine().begin() as conn:
            for i, (name, role) in enumerate((("fo", "field_officer"), ("po", "portal"), ("pl", "planner"),
                                              ("ad", "admin"))):  # fmt: skip
                conn.execute(text("INSERT INTO api_key (name, prefix, secret_hash, role, created_at) "
                                  "VALUES (:n, 'kc_x', :h, :r, CURRENT_TIMESTAMP)"), {"n": name, "h": f"{i:064d}", "r": role})  # fmt: skip
            conn.execute(text("INSERT INTO facility (id, name, search_text, kind, sector, province_code, prior_support, "
                              "prior_support_count, revision, created_at, updated_at) VALUES ('f1', 'F', 'f', 'enterprise', "
                              "'other', '68', '[]', 0, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))  # fmt: skip
            for rid, by in (("r-fo", "fo"), ("r-po", "po"), ("r-pl", "pl"), ("r-ad", "ad"),
                            ("r-fl", "form-link:abc"), ("r-gone", "deleted-key"), ("r-none", None)):  # fmt: skip
                conn.execute(text("INSERT INTO response (id, questionnaire, version, facility_id, province_code, "
                                  "submitted_by, received_at, content_hash, current_revision) VALUES "
                                  "(:id, 'loans', 2, 'f1', '68', :by, CURRENT_TIMESTAMP, 'h', 1)"), {"id": rid, "by": by})  # fmt: skip
    finally:
        command.upgrade(cfg, "head")
    with get_engine().connect() as conn:
        got = dict(conn.execute(text("SELECT id, channel FROM response")).all())
        keys = conn.execute(text("SELECT keys FROM ranking_state")).scalar()
    assert got == {"r-fo": "field", "r-po": "portal", "r-pl": "office", "r-ad": "office", "r-fl": "portal",
                   "r-gone": "office", "r-none": "office"}  # fmt: skip
    assert keys is None  # the projection is rebuilt in its new form at the next start
    wipe()
