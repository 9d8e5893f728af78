"""Issue 20, finding 8: failed credentials are throttled per client address and per key name (429 with
Retry-After), each failure is audited, and a correct credential is never refused because others failed
elsewhere (from the throttled address itself it is, while the throttle lasts: app/access/throttle.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import assert_problem
from tests.openrosa.collect import basic, message
from tests.planner.conftest import form_token

ATTACKER = ("198.51.100.7", 40000)
ELSEWHERE = ("203.0.113.20", 40000)


@pytest.fixture
def limits(monkeypatch):  # type: ignore[no-untyped-def]
    from app.core.config import get_settings

    s = get_settings()
    monkeypatch.setattr(s, "auth_failure_limit_per_address", 5, raising=False)
    monkeypatch.setattr(s, "auth_failure_limit_per_name", 3, raising=False)
    monkeypatch.setattr(s, "auth_failure_window_seconds", 300, raising=False)
    return s


def _from(app: Any, addr: tuple[str, int]) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=addr)


def _audit(client: TestClient, admin: dict[str, str], action: str) -> list[dict[str, Any]]:
    from app.access import audit

    audit.flush_detached()
    r = client.get(f"/api/v1/audit?action={action}&limit=200", headers=admin)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_wrong_bearer_keys_are_throttled_per_address(app, client, make_key, admin, limits) -> None:
    good = make_key("field_officer", provinces=["68"], name="fo")
    attacker, other = _from(app, ATTACKER), _from(app, ELSEWHERE)
    for i in range(5):
        r = attacker.get("/api/v1/facilities", headers={"Authorization": f"Bearer kc_wrong-{i}"})
        assert_problem(r, 401)
    r = attacker.get("/api/v1/facilities", headers={"Authorization": "Bearer kc_wrong-again"})
    body = assert_problem(r, 429)
    assert body["type"].endswith("/credentials-throttled") and "address" in body["detail"]
    assert 1 <= int(r.headers["retry-after"]) <= 300
    # the throttled address is refused before any check, a correct key too (documented)
    assert_problem(attacker.get("/api/v1/facilities", headers=good), 429)
    # elsewhere, nothing changed: a correct key passes, a wrong one is an ordinary 401
    assert other.get("/api/v1/facilities", headers=good).status_code == 200
    assert_problem(other.get("/api/v1/facilities", headers={"Authorization": "Bearer kc_nope"}), 401)
    # a form-link token or an unreadable header is a failed credential like any other
    assert_problem(other.get("/api/v1/facilities", headers={"Authorization": "Bearer kf_nope"}), 401)
    assert_problem(other.get("/api/v1/facilities", headers={"Authorization": "Basic !!!"}), 401)
    failed = _audit(client, admin, "auth.failed")
    assert len(failed) == 8  # the five, then the three from elsewhere (refused-unchecked ones are not checks)
    assert {e["client_ip"] for e in failed} == {ATTACKER[0], ELSEWHERE[0]}
    assert all(e["detail"]["via"] in ("bearer", "unreadable") and e["request_id"] for e in failed)
    (throttled,) = _audit(client, admin, "auth.throttled")
    assert throttled["client_ip"] == ATTACKER[0] and throttled["detail"]["by"] == "address"


def test_no_credential_at_all_is_not_a_failure(app, client, limits) -> None:
    # ODK Collect asks without credentials first, to get the challenge: that is never counted
    phone = _from(app, ATTACKER)
    for _ in range(12):
        r = phone.head("/openrosa/submission", headers={"X-OpenRosa-Version": "1.0"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")


def test_a_key_name_guessed_from_everywhere_is_throttled_but_its_owner_is_never_refused(
    app, client, make_key, admin, limits
) -> None:
    secret = make_key("field_officer", provinces=["68"], name="lamdong-tablet-1")["Authorization"][7:]
    for i in range(3):  # three failures naming the key, each from its own address
        r = _from(app, (f"192.0.2.{i + 1}", 1)).get(
            "/openrosa/formList", headers=basic("lamdong-tablet-1", f"kc_x{i}")
        )
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="khuyencong"'
    r = _from(app, ("192.0.2.50", 1)).get("/openrosa/formList", headers=basic("lamdong-tablet-1", "kc_guess"))
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 300
    assert r.headers["content-type"].startswith("text/xml") and "quá nhiều lần đăng nhập sai" in message(r)
    # the officer's own phone, from its own address: admitted at once, the name's throttle does not apply
    r = _from(app, ELSEWHERE).get("/openrosa/formList", headers=basic("lamdong-tablet-1", secret))
    assert r.status_code == 200, r.text
    # the right secret under another name is a failure of that name
    assert (
        _from(app, ELSEWHERE).get("/openrosa/formList", headers=basic("someone-else", secret)).status_code
        == 401
    )
    failed = _audit(client, admin, "auth.failed")
    assert sorted(e["key_name"] for e in failed) == ["lamdong-tablet-1"] * 4 + ["someone-else"]
    assert all(e["detail"]["via"] == "basic" for e in failed)
    (throttled,) = _audit(client, admin, "auth.throttled")
    assert throttled["key_name"] == "lamdong-tablet-1" and throttled["detail"]["by"] == "name"


def _sign_in(c: TestClient, key: str) -> Any:
    page = c.get("/planner/sign-in")
    return c.post("/planner/sign-in", data={"key": key, "csrf_token": form_token(page.text), "next": "/planner/"},
                  follow_redirects=False)  # fmt: skip


def test_planner_sign_in_is_throttled_with_a_vietnamese_message(app, client, make_key, admin, limits) -> None:
    planner = make_key("planner", name="planner")["Authorization"][7:]
    browser = _from(app, ATTACKER)
    for i in range(5):
        r = _sign_in(browser, f"kc_wrong-{i}")
        assert r.status_code == 401
    r = _sign_in(browser, "kc_wrong-5")
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 300
    assert re.search(r"Đã có quá nhiều lần nhập sai khóa từ địa chỉ này\. Hãy đợi \d+ phút", r.text), r.text
    assert _sign_in(browser, planner).status_code == 429  # from the throttled address: refused while it lasts
    assert _sign_in(_from(app, ELSEWHERE), planner).status_code == 303  # from elsewhere: signed in
    failed = _audit(client, admin, "auth.failed")
    assert len(failed) == 5 and all(e["detail"]["via"] == "planner_sign_in" for e in failed)


def test_the_throttle_forgets_when_the_window_has_passed(monkeypatch) -> None:
    from app.access.throttle import FailureWindows

    now = [1000.0]
    w = FailureWindows(clock=lambda: now[0])
    for _ in range(3):
        w.add("ip:x", 3, 60)
    assert w.wait("ip:x", 3, 60) == 60
    now[0] += 30
    assert w.wait("ip:x", 3, 60) == 30
    now[0] += 30
    assert w.wait("ip:x", 3, 60) is None


def test_the_feeds_sign_in_is_throttled_by_name_and_address(app, client, make_key, admin, limits) -> None:
    secret = make_key("planner", name="powerbi")["Authorization"][7:]
    for i in range(3):
        r = _from(app, (f"192.0.2.{i + 1}", 1)).post(
            "/v1/sessions", json={"email": "powerbi", "password": f"kc_x{i}"}
        )
        assert r.status_code == 401, r.text
    r = _from(app, ("192.0.2.60", 1)).post("/v1/sessions", json={"email": "powerbi", "password": "kc_guess"})
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1
    r = _from(app, ELSEWHERE).post("/v1/sessions", json={"email": "powerbi", "password": secret})
    assert r.status_code == 200 and r.json()["token"].startswith("kcs_")
    failed = _audit(client, admin, "auth.failed")
    assert len(failed) == 4 and all(e["detail"]["via"] == "feed_session" for e in failed)
