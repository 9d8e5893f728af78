"""Test database (built by `alembic upgrade head`), a fresh app per session, data wiped before each test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (as .ci/run does). DATABASE_URL from a
developer's shell is never used by tests, so a dev database is never wiped.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="kc-test-"))


def _per_worker(url: str) -> str:
    """Under pytest-xdist (`make test` runs one worker per core) each worker has its own database: SQLite's file is
    already per process (under its own temporary folder); PostgreSQL's is <name>_<worker>, created below."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


TEST_DB_URL = _per_worker(os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_tmp / 'test.db'}")
os.environ["DATABASE_URL"] = TEST_DB_URL
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["CORS_ORIGINS"] = "https://portal.example.gov.vn"
os.environ["RATE_LIMIT_PER_MINUTE"] = "100000"
# The failed-credential throttle is tested with its own limits (tests/access/test_throttle.py); elsewhere (and in
# the live server, shared by the whole session) tests send wrong keys on purpose and expect 401.
os.environ["AUTH_FAILURE_LIMIT_PER_ADDRESS"] = "100000"
os.environ["AUTH_FAILURE_LIMIT_PER_NAME"] = "100000"
os.environ["ATTACHMENTS_DIR"] = str(_tmp / "attachments")

import pytest  # noqa: E402
from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.core.config import ROOT, get_settings  # noqa: E402
from app.core.db import get_engine, session_scope  # noqa: E402

get_settings.cache_clear()
get_engine.cache_clear()


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def reset_schema(url: str) -> None:
    """Drop everything and migrate to head: the test database is always built by Alembic."""
    cfg = alembic_config(url)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")


def _worker_database(create: bool) -> None:
    """Create (or drop) this xdist worker's PostgreSQL database, next to the one TEST_DATABASE_URL names."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DB_URL)
    admin = create_engine(url.set(database=make_url(os.environ["TEST_DATABASE_URL"]).database),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            ).first()
            if create and not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
            elif not create and exists:
                conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


# Created on import, not in the session fixture: tests/fuzz migrates while pytest collects, before any fixture runs.
PER_WORKER_DB = TEST_DB_URL.startswith("postgresql") and os.environ.get("TEST_DATABASE_URL") != TEST_DB_URL
if PER_WORKER_DB:
    _worker_database(create=True)


@pytest.fixture(scope="session", autouse=True)
def _database() -> Iterator[None]:
    if TEST_DB_URL.startswith("postgresql"):
        with get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    command.upgrade(alembic_config(), "head")
    yield
    get_engine().dispose()
    if PER_WORKER_DB:
        _worker_database(create=False)


TABLES = [
    "webhook_delivery",
    "webhook",
    "point_project_activity",
    "point_project_revision",
    "point_project",
    "form_link",
    "audit_event",
    "ranking_item",
    "ranking",
    "review_event",
    "attachment",
    "response_revision",
    "response",
    "answer_projection",
    "facility_revision",
    "facility",
    "planner_session",
    "feed_session",
    "api_key",
]


def wipe() -> None:
    with session_scope(write=True) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for t in TABLES:
                s.execute(text(f"DELETE FROM {t}"))
        s.execute(text("UPDATE ranking_state SET generation = generation + 1"))  # cached present rankings go
        s.execute(text("UPDATE webhook_state SET generation = generation + 1"))  # and cached webhooks


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from app.access import audit, throttle
    from app.access.deps import rate_limiter

    audit.flush_detached()  # rows a previous test queued land before the wipe, not in this test
    wipe()
    rate_limiter.reset()
    throttle.failures.reset()
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


KeyFactory = Callable[..., dict[str, str]]


@pytest.fixture
def make_key(client: TestClient) -> KeyFactory:
    """Create a key and return the Authorization header for it."""
    from app.access import service

    counter = {"n": 0}

    def _make(
        role: str = "admin", provinces: list[str] | None = None, name: str | None = None
    ) -> dict[str, str]:
        counter["n"] += 1
        with session_scope(write=True) as s:
            _, secret = service.create(
                session=s,
                principal=None,
                name=name or f"{role}-{counter['n']}",
                role=role,
                provinces=provinces,
            )
        return {"Authorization": f"Bearer {secret}"}

    return _make


@pytest.fixture
def admin(make_key: KeyFactory) -> dict[str, str]:
    return make_key("admin", name="admin")


@pytest.fixture(scope="session")
def live_server(_database) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Base URL of a real server process on the test database (wipe data with the `client` fixture)."""
    from tests.live import serve

    with serve() as base:
        yield base


CHROMIUM = "/usr/bin/chromium"
# What this machine's closed network needs (no background requests to Google's hosts), as root in a container.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (installed by `make test`); a missing browser fails, never skips."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) and page for one test."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 768})
    p = context.new_page()
    yield p
    context.close()


def assert_problem(resp, status: int, *paths: str) -> dict:  # type: ignore[no-untyped-def]
    """The response is problem+json with this status and (when given) errors at these paths."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers["content-type"]
    body = resp.json()
    assert body["status"] == status and body["type"] and body["title"]
    found = {e["path"] for e in body.get("errors", [])}
    for p in paths:
        assert p in found, (p, body)
    for e in body.get("errors", []):
        assert e["code"] and e["message"]
    return body  # type: ignore[no-any-return]
