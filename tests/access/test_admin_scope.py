"""Issue 10, finding 1 (critical): a province-scoped admin stays inside its provinces — keys and audit trail."""

from __future__ import annotations

from tests.conftest import assert_problem
from tests.factories import facility_body

KEYS = "/api/v1/keys"


def test_province_admin_cannot_make_a_nationwide_or_foreign_key(client, make_key) -> None:
    hn_admin = make_key("admin", provinces=["01"], name="hn-admin")
    body = assert_problem(
        client.post(KEYS, json={"name": "x", "role": "admin"}, headers=hn_admin), 403, "provinces"
    )
    assert "own provinces" in body["errors"][0]["message"]
    assert_problem(
        client.post(KEYS, json={"name": "y", "role": "planner", "provinces": ["68"]}, headers=hn_admin),
        403,
        "provinces",
    )
    assert_problem(
        client.post(KEYS, json={"name": "z", "role": "planner", "provinces": ["01", "68"]}, headers=hn_admin),
        403,
        "provinces",
    )
    r = client.post(
        KEYS, json={"name": "hn-planner", "role": "planner", "provinces": ["01"]}, headers=hn_admin
    )
    assert r.status_code == 201 and r.json()["provinces"] == ["01"]
    names = {k["name"] for k in client.get(KEYS, headers=make_key("admin", name="root")).json()}
    assert names >= {"hn-admin", "hn-planner", "root"} and not names & {"x", "y", "z"}


def test_empty_province_list_is_refused_never_all(client, admin, make_key) -> None:
    assert_problem(
        client.post(KEYS, json={"name": "e", "role": "planner", "provinces": []}, headers=admin),
        422,
        "provinces",
    )
    hn_admin = make_key("admin", provinces=["01"], name="hn-admin")
    assert_problem(
        client.post(KEYS, json={"name": "e", "role": "admin", "provinces": []}, headers=hn_admin),
        422,
        "provinces",
    )
    # A nationwide admin still makes nationwide keys by leaving provinces out.
    r = client.post(KEYS, json={"name": "national", "role": "planner"}, headers=admin)
    assert r.status_code == 201 and r.json()["provinces"] is None


def test_province_admin_lists_and_revokes_only_its_own_keys(client, admin, make_key) -> None:
    hn_admin = make_key("admin", provinces=["01"], name="hn-admin")
    make_key("planner", provinces=["68"], name="ld-planner")
    make_key("planner", provinces=["01"], name="hn-planner")
    make_key("planner", name="national-planner")
    make_key("planner", provinces=["01", "68"], name="both-planner")
    listed = {k["name"] for k in client.get(KEYS, headers=hn_admin).json()}
    assert listed == {"hn-admin", "hn-planner"}
    for other in ("ld-planner", "national-planner", "both-planner", "admin"):
        assert_problem(client.post(f"{KEYS}/{other}/revoke", headers=hn_admin), 404)
    assert client.post(f"{KEYS}/hn-planner/revoke", headers=hn_admin).status_code == 200
    # The foreign keys still work: nothing was revoked behind the 404.
    assert all(
        k["revoked_at"] is None for k in client.get(KEYS, headers=admin).json() if k["name"] != "hn-planner"
    )


def test_province_admin_reads_only_its_provinces_audit_trail(client, admin, make_key) -> None:
    hn_admin = make_key("admin", provinces=["01"], name="hn-admin")
    ld = make_key("field_officer", provinces=["68"], name="ld-fo")
    hn = make_key("field_officer", provinces=["01"], name="hn-fo")
    assert client.post("/api/v1/facilities", json=facility_body(), headers=ld).status_code == 201
    assert (
        client.post(
            "/api/v1/facilities", json=facility_body(province_code="01", name="Xưởng HN"), headers=hn
        ).status_code
        == 201
    )
    client.post(KEYS, json={"name": "national", "role": "planner"}, headers=admin)
    client.post(KEYS, json={"name": "hn-p", "role": "planner", "provinces": ["01"]}, headers=hn_admin)
    events = client.get("/api/v1/audit", params={"limit": 1000}, headers=hn_admin).json()["items"]
    assert events, "the province admin sees its province's events"
    assert all(e["province_code"] == "01" or e["key_name"] == "hn-admin" for e in events), events
    assert {e["action"] for e in events} >= {"facility.created", "key.created"}
    assert not any(e["key_name"] in ("ld-fo", "admin") for e in events)
    everything = client.get("/api/v1/audit", params={"limit": 1000}, headers=admin).json()["items"]
    assert {e["key_name"] for e in everything} >= {"ld-fo", "hn-fo", "admin", "hn-admin"}
