"""Alembic builds the schema: upgrade → downgrade → upgrade works and models match migrations."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

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
