"""Signing in and out of the planner workspace, the session cookie, CSRF tokens, and the pages' security headers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.access import sessions
from app.models.types import utcnow
from app.planner.web import manifest
from tests.planner.conftest import World, form_token, secret_of


def _post_sign_in(c: TestClient, secret: str, **over: str):  # type: ignore[no-untyped-def]
    token = form_token(c.get("/planner/sign-in").text)
    return c.post("/planner/sign-in", data={"key": secret, "csrf_token": token, "next": "/planner/", **over},
                  follow_redirects=False)  # fmt: skip


def test_sign_in_sets_a_strict_session_cookie_and_goes_on(world: World) -> None:
    c = TestClient(world.app, raise_server_exceptions=False)
    r = c.get("/planner/priorities?sector=handicrafts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/planner/sign-in?next=")
    page = c.get(r.headers["location"])
    assert 'name="next" value="/planner/priorities?sector=handicrafts"' in page.text
    r = c.post("/planner/sign-in", follow_redirects=False, data={
        "key": secret_of(world.keys["planner"]), "csrf_token": form_token(page.text),
        "next": "/planner/priorities?sector=handicrafts"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/planner/priorities?sector=handicrafts"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("kc_planner="))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {
        "httponly",
        "path",
        "samesite",
        "max-age",
    } <= attrs and "secure" not in attrs  # served over http here
    assert "Path=/planner" in cookie and "SameSite=strict" in cookie
    assert secret_of(world.keys["planner"]) not in cookie  # the browser holds a session id, never the key
    assert c.get("/planner/priorities").status_code == 200


def test_the_cookie_is_secure_when_served_over_https(world: World) -> None:
    c = TestClient(world.app, base_url="https://testserver", raise_server_exceptions=False)
    r = _post_sign_in(c, secret_of(world.keys["planner"]))
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("kc_planner="))
    assert "Secure" in cookie


@pytest.mark.parametrize("role", ["field_officer", "portal"])
def test_only_planners_and_admins_sign_in(world: World, role: str) -> None:
    c = TestClient(world.app, raise_server_exceptions=False)
    r = _post_sign_in(c, secret_of(world.keys[role]))
    assert r.status_code == 403
    assert "dành cho cán bộ lập kế hoạch và quản trị viên" in r.text  # a clear Vietnamese message
    assert not any(h.startswith("kc_planner=") for h in r.headers.get_list("set-cookie"))
    assert c.get("/planner/", follow_redirects=False).status_code == 303
    r = _post_sign_in(TestClient(world.app, raise_server_exceptions=False), secret_of(world.keys["admin"]))
    assert r.status_code == 303


def test_unknown_and_revoked_keys_do_not_sign_in(world: World) -> None:
    c = TestClient(world.app, raise_server_exceptions=False)
    r = _post_sign_in(c, "kc_not-a-key")
    assert r.status_code == 401 and "Khoá không tồn tại hoặc đã bị thu hồi" in r.text
    assert world.client.post("/api/v1/keys/planner-68/revoke", headers=world.keys["admin"]).status_code == 200
    r = _post_sign_in(c, secret_of(world.keys["planner"]))
    assert r.status_code == 401


def test_the_sign_in_form_needs_its_own_token(world: World) -> None:
    """Login CSRF: another site cannot post the form (it has neither the cookie nor the token)."""
    secret = secret_of(world.keys["planner"])
    c = TestClient(world.app, raise_server_exceptions=False)
    r = c.post("/planner/sign-in", data={"key": secret, "next": "/planner/"}, follow_redirects=False)
    assert r.status_code == 403 and not any(
        h.startswith("kc_planner=") for h in r.headers.get_list("set-cookie")
    )
    c.get("/planner/sign-in")  # the browser now holds a token cookie...
    r = c.post("/planner/sign-in", data={"key": secret, "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403  # ...but the form must carry the same token


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/planner/", "/api/v1/keys", "/planner\\..\\x"]
)
def test_after_signing_in_the_browser_never_leaves_the_workspace(world: World, target: str) -> None:
    c = TestClient(world.app, raise_server_exceptions=False)
    r = _post_sign_in(c, secret_of(world.keys["planner"]), next=target)
    assert r.status_code == 303 and r.headers["location"] == "/planner/"


def test_every_request_rechecks_the_key(world: World) -> None:
    c, _ = world.browser("planner")
    assert c.get("/planner/priorities").status_code == 200
    assert world.client.post("/api/v1/keys/planner-68/revoke", headers=world.keys["admin"]).status_code == 200
    r = c.get("/planner/priorities", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/planner/sign-in")
    r = c.get("/planner/priorities", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/planner/sign-in")


def test_sign_out_ends_the_session_on_the_server(world: World) -> None:
    c, csrf = world.browser("planner")
    old = c.cookies.get("kc_planner")
    r = c.post("/planner/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/planner/sign-in?signed_out=1"
    assert any(h.startswith("kc_planner=") and "Max-Age=0" in h for h in r.headers.get_list("set-cookie"))
    replay = TestClient(world.app, raise_server_exceptions=False, cookies={"kc_planner": old})
    assert (
        replay.get("/planner/", follow_redirects=False).status_code == 303
    )  # the old cookie no longer works
    audit = world.client.get(
        "/api/v1/audit", params={"key_name": "planner-68"}, headers=world.keys["admin"]
    ).json()
    assert [e["action"] for e in audit["items"]][:2] == ["planner.signed_out", "planner.signed_in"]


def test_a_session_expires(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    c, _ = world.browser("planner")
    assert c.get("/planner/").status_code == 200
    later = utcnow() + timedelta(hours=13)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    assert c.get("/planner/", follow_redirects=False).status_code == 303


def test_form_posts_need_the_sessions_csrf_token(world: World) -> None:
    c, csrf = world.browser("planner")
    _, other = world.browser("planner_all")
    form = {
        "profile": "point-project:1",
        "budget_vnd": "1.000.000.000",
        "cost_source": "loans.loan_amount_vnd",
    }
    for token in (None, "wrong", other):
        data = {**form, **({"csrf_token": token} if token else {})}
        r = c.post("/planner/selection", data=data, follow_redirects=False)
        assert r.status_code == 403 and "Biểu mẫu đã hết hạn" in r.text, token
        r = c.post("/planner/sign-out", data=data, follow_redirects=False)
        assert r.status_code == 403
    assert (
        c.get("/planner/", follow_redirects=False).status_code == 200
    )  # the refused sign-outs ended nothing
    r = c.post("/planner/selection", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/planner/rankings/")
    r = c.post("/planner/selection", data=form, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert r.status_code == 303  # htmx sends the token as a header


PAGES = ["/planner/", "/planner/priorities", "/planner/facilities", "/planner/review", "/planner/selection",
         "/planner/rankings", "/planner/downloads", "/planner/results"]  # fmt: skip


def test_pages_carry_a_strict_content_security_policy_and_no_inline_script(world: World) -> None:
    c, _ = world.browser("planner")
    for url in [*PAGES, f"/planner/facilities/{world.ids['A']}", "/planner/sign-in"]:
        r = c.get(url)
        assert r.status_code == 200, url
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
        for tag in re.findall(r"<script\b[^>]*>", r.text):
            assert "src=" in tag, (url, tag)  # no inline script
        assert " style=" not in r.text and "<style" not in r.text, url  # no inline style either
        assert re.search(r' on[a-z]+="', r.text) is None, url  # no inline event handlers


def test_built_assets_are_cached_for_a_year_and_precompressed(world: World) -> None:
    c = world.client
    for logical in ("planner.js", "planner.css"):
        name = manifest()[logical]
        r = c.get(f"/planner/static/{name}", headers={"Accept-Encoding": "br, gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "br"
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        plain = c.get(f"/planner/static/{name}", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and len(plain.content) > len(r.content) > 1000
    for bad in ("manifest.json", "..%2Fweb.py", "planner-NOPE.js", "planner-licenses.txt.br"):
        assert c.get(f"/planner/static/{bad}").status_code == 404, bad


def test_english_is_one_click_away_and_remembered(world: World) -> None:
    c, _ = world.browser("planner")
    vi = c.get("/planner/priorities")
    assert (
        '<html lang="vi"' in vi.text
        and "Thứ tự ưu tiên" in vi.text
        and 'href="/planner/priorities?lang=en"' in vi.text
    )
    en = c.get("/planner/priorities?lang=en")
    assert '<html lang="en"' in en.text and "Priorities" in en.text
    assert '<html lang="en"' in c.get("/planner/downloads").text  # remembered in a cookie
    assert '<html lang="vi"' in c.get("/planner/downloads?lang=vi").text
