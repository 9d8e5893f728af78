"""Webhook tests: a loopback receiver verifying with `standardwebhooks`, and short retry delays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.config import get_settings
from tests.webhooks.receiver import Receiver

ALL_EVENTS = ["response.created", "response.revised", "response.reviewed", "ranking.created"]


@pytest.fixture
def fast(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Loopback receivers allowed (WEBHOOK_ALLOW_PRIVATE_URLS=true), retries after fractions of a second."""
    s = get_settings()
    monkeypatch.setattr(s, "webhook_allow_private_urls", True)
    monkeypatch.setattr(s, "webhook_retry_delays", [0.3, 0.6, 1.0])
    monkeypatch.setattr(s, "webhook_poll_seconds", 0.1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def keys(make_key):  # type: ignore[no-untyped-def]
    return {
        "admin": make_key("admin", ["68"], name="admin-68"),
        "admin37": make_key("admin", ["37"], name="admin-37"),
        "national": make_key("admin", None, name="admin-all"),
        "fo": make_key("field_officer", ["68"], name="fo-68"),
        "fo37": make_key("field_officer", ["37"], name="fo-37"),
        "planner": make_key("planner", ["68"], name="planner-68"),
    }
