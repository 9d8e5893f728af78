"""Fuzz every operation of the served OpenAPI with a valid admin key (deterministic, bounded).

Checks: no 5xx, every response matches its documented schema, every status is documented.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.access import service as keys
from app.core.config import get_settings
from app.core.db import session_scope
from app.main import create_app
from app.prioritisation.profiles import Profiles
from app.questionnaires.registry import Registry
from tests.conftest import wipe

pytestmark = pytest.mark.fuzz

from alembic import command  # noqa: E402

from tests.conftest import alembic_config  # noqa: E402

# schemathesis starts the app (lifespan included) while collecting, before the session fixture runs.
command.upgrade(alembic_config(), "head")
APP = create_app()
# Collected before the database exists: definitions are loaded without the hash check (tested elsewhere).
APP.state.registry = Registry.load(get_settings().schemas_dir)
APP.state.profiles = Profiles.load(get_settings().schemas_dir, APP.state.registry)[0]
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
_KEY: dict[str, str] = {}


def admin_header() -> dict[str, str]:
    if not _KEY:
        wipe()
        with session_scope(write=True) as s:
            _, secret = keys.create(
                session=s, principal=None, name="fuzz-admin", role="admin", provinces=None
            )
        _KEY["h"] = f"Bearer {secret}"
    return {"Authorization": _KEY["h"]}


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        headers=admin_header(),
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
