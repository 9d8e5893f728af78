"""The real-client fixtures themselves: a server process on the test database, and Chromium driving it."""

from __future__ import annotations

import httpx


def test_live_server_serves_the_test_database(client, make_key, live_server) -> None:
    headers = make_key("planner", name="live-planner")
    assert httpx.get(f"{live_server}/api/v1/facilities", headers=headers).status_code == 200
    assert httpx.get(f"{live_server}/api/v1/facilities").status_code == 401


def test_chromium_reaches_the_live_server(live_server, page) -> None:
    page.goto(f"{live_server}/api/v1/provinces")
    assert "Thành phố Hà Nội" in page.content()
