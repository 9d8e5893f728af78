"""Liveness, readiness (database reachable and at the migration head) and Prometheus metrics."""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from app.access.deps import public
from app.core.config import ROOT
from app.core.db import get_engine
from app.core.errors import Unavailable
from app.core.routing import ApiRoute

router = APIRouter(route_class=ApiRoute, tags=["operations"])


@lru_cache
def migration_head() -> str | None:
    cfg = Config(str(ROOT / "alembic.ini"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision() -> str | None:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class Health(BaseModel):
    status: str
    migration: str | None = None


@router.get("/healthz", response_model=Health, dependencies=[public])
def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz", response_model=Health, dependencies=[public], responses={503: {"description": "Not ready"}}
)
def readyz() -> Health:
    """The database answers and is migrated to the head revision."""
    try:
        rev = current_revision()
    except Exception as exc:
        raise Unavailable(
            "The database is not reachable or not migrated; run `alembic upgrade head`."
        ) from exc
    if rev != migration_head():
        raise Unavailable(f"The database is at migration {rev}, the code expects {migration_head()}.")
    return Health(status="ready", migration=rev)


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[public])
def metrics() -> PlainTextResponse:
    """Prometheus metrics of this process, text exposition format."""
    return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)
