"""Form links for the tests of tests/forms/: made through the API, as a portal admin would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

LinkFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_link(client: TestClient, admin: dict[str, str]) -> LinkFactory:
    """Create a form link (by default: loans and market-needs in Lâm Đồng, 68); returns the created body
    plus `headers`, the Bearer header of its token."""

    def _make(headers: dict[str, str] | None = None, **over: Any) -> dict[str, Any]:
        body = {"name": "Cổng TTĐT Sở Công Thương Lâm Đồng", "questionnaires": ["loans", "market-needs"],
                "province_code": "68", **over}  # fmt: skip
        r = client.post("/api/v1/form-links", json=body, headers=headers or admin)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        out["headers"] = {"Authorization": f"Bearer {out['token']}"}
        return out

    return _make
