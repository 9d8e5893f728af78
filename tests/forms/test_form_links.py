"""The form-link routes: create (within the caller's provinces), list (scoped, never a token), revoke."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core.db import session_scope
from app.models import FormLink
from tests.conftest import assert_problem

URL = "/api/v1/form-links"


def _body(**over):  # type: ignore[no-untyped-def]
    return {"name": "Cổng Lâm Đồng", "questionnaires": ["loans"], "province_code": "68", **over}


def test_create_returns_the_token_once_and_stores_only_its_hash(client, admin) -> None:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = client.post(URL, json=_body(questionnaires=["loans", "pollution"], expires_at=expires, max_submissions=3),
                    headers=admin)  # fmt: skip
    assert r.status_code == 201, r.text
    link = r.json()
    token = link["token"]
    assert token.startswith("kf_") and len(token) > 40
    assert link["url"].endswith(f"/embed/{token}") and link["url"] in link["iframe"]
    # "use my location" and "Sao chép" work inside the portal's frame; the script sizes it (its page's origin only)
    assert 'allow="geolocation; clipboard-write"' in link["iframe"]
    origin = link["url"].split("/embed/")[0]
    assert f'e.origin !== "{origin}"' in link["iframe"] and '"khuyencong:height"' in link["iframe"]
    assert link["questionnaires"] == ["loans", "pollution"] and link["province_code"] == "68"
    assert link["max_submissions"] == 3 and link["submission_count"] == 0 and link["state"] == "active"
    assert link["prefix"] == token[:10] and link["created_by"] == "admin"
    with session_scope() as s:
        row = s.query(FormLink).one()
        assert token not in (row.token_hash, row.prefix, row.name) and len(row.token_hash) == 64
    listed = client.get(URL, headers=admin).json()["items"]
    assert [x["id"] for x in listed] == [link["id"]] and "token" not in listed[0]
    audit = client.get("/api/v1/audit", params={"action": "form_link.created"}, headers=admin).json()["items"]
    assert [(a["resource_id"], a["province_code"], a["key_name"]) for a in audit] == [
        (link["id"], "68", "admin")
    ]
    assert token not in str(audit)


def test_bad_requests_name_each_field(client, admin) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = client.post(URL, json=_body(questionnaires=["loans", "nope", "loans"], province_code="99", expires_at=past),
                    headers=admin)  # fmt: skip
    body = assert_problem(r, 422, "questionnaires.1", "questionnaires.2", "province_code", "expires_at")
    codes = {e["path"]: e["code"] for e in body["errors"]}
    assert codes == {"questionnaires.1": "unknown_questionnaire", "questionnaires.2": "duplicate",
                     "province_code": "unknown_province", "expires_at": "in_past"}  # fmt: skip
    assert_problem(client.post(URL, json=_body(questionnaires=[]), headers=admin), 422, "questionnaires")
    assert_problem(client.post(URL, json=_body(max_submissions=0), headers=admin), 422, "max_submissions")
    assert_problem(client.post(URL, json=_body(max_submissions=True), headers=admin), 422, "max_submissions")
    assert_problem(
        client.post(URL, json=_body(expires_at="2027-01-01T00:00:00"), headers=admin), 422, "expires_at"
    )
    assert_problem(client.post(URL, json=_body(token="kf_mine"), headers=admin), 422, "token")
    assert client.get(URL, headers=admin).json()["items"] == []


def test_a_province_admin_makes_and_sees_links_of_its_own_provinces_only(client, make_key, admin) -> None:
    lamdong = make_key("admin", provinces=["68"], name="admin-68")
    hanoi = make_key("admin", provinces=["01"], name="admin-01")
    mine = client.post(URL, json=_body(), headers=lamdong)
    assert mine.status_code == 201, mine.text
    r = client.post(URL, json=_body(province_code="01"), headers=lamdong)
    assert_problem(r, 403, "province_code")
    theirs = client.post(URL, json=_body(province_code="01"), headers=hanoi).json()
    assert [x["id"] for x in client.get(URL, headers=lamdong).json()["items"]] == [mine.json()["id"]]
    assert [x["id"] for x in client.get(URL, headers=hanoi).json()["items"]] == [theirs["id"]]
    assert len(client.get(URL, headers=admin).json()["items"]) == 2
    # Revoking another province's link: as if it did not exist, and it keeps working.
    assert_problem(client.post(f"{URL}/{theirs['id']}/revoke", headers=lamdong), 404)
    assert client.get(URL, headers=hanoi).json()["items"][0]["state"] == "active"
    # The audit trail of a province admin shows its province's links, not the other's.
    seen = {a["resource_id"] for a in client.get("/api/v1/audit", headers=lamdong).json()["items"]}
    assert mine.json()["id"] in seen and theirs["id"] not in seen


def test_only_admins_administer_links(client, make_key, make_link) -> None:
    link = make_link()
    for role in ("planner", "field_officer", "portal"):
        key = make_key(role, provinces=["68"])
        assert_problem(client.post(URL, json=_body(), headers=key), 403)
        assert_problem(client.get(URL, headers=key), 403)
        assert_problem(client.post(f"{URL}/{link['id']}/revoke", headers=key), 403)
    assert_problem(client.post(URL, json=_body()), 401)
    assert_problem(client.get(URL), 401)
    assert_problem(client.post(f"{URL}/{link['id']}/revoke"), 401)
    # A form link administers nothing, not even itself.
    assert_problem(client.get(URL, headers=link["headers"]), 403)
    assert_problem(client.post(f"{URL}/{link['id']}/revoke", headers=link["headers"]), 403)
    assert_problem(client.post(URL, json=_body(), headers=link["headers"]), 403)


def test_revoke_is_recorded_once_and_listed(client, admin, make_link) -> None:
    link = make_link()
    r = client.post(f"{URL}/{link['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "revoked" and r.json()["revoked_at"]
    again = client.post(f"{URL}/{link['id']}/revoke", headers=admin)
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
    events = client.get("/api/v1/audit", params={"action": "form_link.revoked"}, headers=admin).json()[
        "items"
    ]
    assert [e["resource_id"] for e in events] == [link["id"]]
    assert client.get(URL, headers=admin).json()["items"][0]["state"] == "revoked"
    assert_problem(client.post(f"{URL}/not-a-link/revoke", headers=admin), 404)


def test_the_list_pages_with_a_cursor(client, admin, make_link) -> None:
    ids = [make_link(name=f"Link {i}")["id"] for i in range(5)]
    first = client.get(URL, params={"limit": 2}, headers=admin).json()
    second = client.get(URL, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin).json()
    third = client.get(URL, params={"limit": 2, "cursor": second["next_cursor"]}, headers=admin).json()
    assert [x["id"] for x in first["items"] + second["items"] + third["items"]] == ids
    assert third["next_cursor"] is None
    assert_problem(client.get(URL, params={"cursor": "garbage"}, headers=admin), 422, "query.cursor")
