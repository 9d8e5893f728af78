"""point_project.changed and result.created reach a subscribed receiver, signed (verified by `standardwebhooks`),
once per change, only in the hook's provinces."""

from __future__ import annotations

from tests.factories import facility_body
from tests.webhooks.receiver import Receiver


def test_project_changes_and_results_are_delivered_in_scope(client, make_key, fast, receiver) -> None:  # type: ignore[no-untyped-def]
    admin68, admin37 = make_key("admin", ["68"], name="admin-68"), make_key("admin", ["37"], name="admin-37")
    planner, fo = (
        make_key("planner", ["68"], name="planner-68"),
        make_key("field_officer", ["68"], name="fo-68"),
    )
    other = Receiver()
    try:
        events = ["point_project.changed", "result.created"]
        hook = client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": events}, headers=admin68
        ).json()
        far = client.post(
            "/api/v1/webhooks", json={"url": other.url, "events": events}, headers=admin37
        ).json()
        fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
        body = {"code": "DA-KCD-2027-05", "title": {"vi": "Đề án cà phê"}, "sector": "agro_food_processing",
                "provinces": ["68"], "start_year": 2026, "end_year": 2027, "implementing_unit": "TTKC Lâm Đồng",
                "activities": [{"kind": "advanced_machinery", "facility_id": fid, "programme_vnd": 300_000_000}]}  # fmt: skip
        pid = client.post("/api/v1/point-projects", json=body, headers=planner).json()["id"]
        assert (
            client.post(
                f"/api/v1/point-projects/{pid}/state", json={"state": "approved"}, headers=planner
            ).status_code
            == 200
        )
        answers = {"respondent_name": "Trần Thị Lan", "respondent_position": "Chủ cơ sở", "respondent_phone": "0912345678",
                   "point_project_code": "DA-KCD-2027-05", "stage": "baseline", "workers_total": 12, "jobs_created": 0,
                   "jobs_created_women": 0, "workers_trained": 0}  # fmt: skip
        rid = "9a0d1c2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
        r = client.post("/api/v1/responses", json={"id": rid, "questionnaire": "project-results", "version": 1,
                        "facility_id": fid, "answers": answers, "collected_at": "2026-12-01T09:00:00+07:00"}, headers=fo)  # fmt: skip
        assert r.status_code == 201, r.text
        receiver.wait_for(3)
        got = receiver.verified(hook["secret"])
        assert [(p["type"], p["data"].get("change")) for p in got] == [
            ("point_project.changed", "created"),
            ("point_project.changed", "state:approved"),
            ("result.created", None),
        ]
        assert got[0]["data"]["project_id"] == pid and got[0]["data"]["scope"] == ["68"]
        assert got[2]["data"]["response_id"] == rid
        assert other.received == [] and far["id"]  # a hook of province 37 sees nothing of 68
    finally:
        other.close()
