"""ODK Collect reports a project's results: the real engine fills project-results, the server checks it against
the projects (a project that did not support the establishment, a stage already reported) in Vietnamese."""

from __future__ import annotations

from typing import Any

from app.point_projects import history
from tests.openrosa.collect import message
from tests.openrosa.test_collect import Phone, facility, stored


def _project(client: Any, planner: dict[str, str], fid: str, code: str) -> None:
    body = {"code": code, "title": {"vi": "Đề án thử"}, "sector": "agro_food_processing", "provinces": ["68"],
            "start_year": 2026, "end_year": 2027, "implementing_unit": "Trung tâm Khuyến công Lâm Đồng",
            "activities": [{"kind": "demonstration_model", "facility_id": fid, "programme_vnd": 900_000_000}]}  # fmt: skip
    pid = client.post("/api/v1/point-projects", json=body, headers=planner).json()["id"]
    assert (
        client.post(
            f"/api/v1/point-projects/{pid}/state", json={"state": "approved"}, headers=planner
        ).status_code
        == 200
    )


def test_collect_fills_and_sends_a_result_checked_against_the_projects(client, make_key) -> None:  # type: ignore[no-untyped-def]
    planner = make_key("planner", name="planner-ld")
    fid = facility(client, make_key)
    _project(client, planner, fid, "DA-KCD-2026-09")
    phone = Phone(client, make_key)
    xml, media = phone.form("project-results")
    # the form picks the project from the officer's media list, filtered by the establishment picked
    assert b"point_projects.csv" in xml and b"facility = " in xml.replace(b"&quot;", b'"')
    lines = media["point_projects.csv"].splitlines()
    assert lines[0] == "name,label,facility" and f"DA-KCD-2026-09,DA-KCD-2026-09 — Đề án thử,{fid}" in lines
    elsewhere = Phone(client, make_key, name="hanoi-tablet", provinces=["01"])
    assert elsewhere.form("project-results")[1]["point_projects.csv"].splitlines() == ["name,label,facility"]
    answers = {
        **history.results(dict.fromkeys(range(history.FACILITIES), fid))[0]["answers"],
        "point_project_code": "DA-KCD-2026-09",
        "stage": "baseline",
    }
    filled = phone.enter("project-results", {"facility_id": fid}, answers)
    assert filled["status"] == "ready" and not filled["violations"], filled["violations"]
    r = phone.send(filled)
    assert r.status_code == 201, message(r)
    got = stored(client, phone.bearer, filled["instance_id"].removeprefix("uuid:"))
    assert got["questionnaire"] == "project-results" and got["answers"] == answers
    # the same stage again, from another instance: refused with what to do, in Vietnamese
    again = phone.enter("project-results", {"facility_id": fid}, answers)
    r = phone.send(again)
    assert r.status_code in (400, 409), message(r)
    assert "Đợt báo cáo" in message(r) or "đã có" in message(r), message(r)
    # a project that did not support this establishment
    other = phone.enter(
        "project-results",
        {"facility_id": fid},
        {**answers, "point_project_code": "DA-KHAC-01", "stage": "completion"},
    )
    r = phone.send(other)
    assert r.status_code == 400, message(r)
    assert "đề án" in message(r).lower(), message(r)
