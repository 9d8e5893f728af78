"""The programme review's world (three projects, 63 establishments, their completion results), built through HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.point_projects import history
from tests.webhooks.conftest import fast, receiver  # noqa: F401 (fixtures for test_webhooks)


def result(fid: str, answers: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "questionnaire": "project-results", "version": 1, "facility_id": fid,
            "answers": answers, "collected_at": "2021-03-01T09:00:00+07:00", **over}  # fmt: skip


@pytest.fixture
def programme(client, admin, make_key) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The review's three projects, their 63 establishments and their completion results, all through HTTP."""
    planner = make_key("planner", name="planner-north")
    fo = make_key("field_officer", name="fo-north")
    ids: dict[int, str] = {}
    for i, f in enumerate(history.facilities()):
        r = client.post(
            "/api/v1/facilities", json={k: v for k, v in f.items() if not k.startswith("_")}, headers=admin
        )
        assert r.status_code == 201, r.text
        ids[i] = r.json()["id"]
    pids = []
    for b in history.project_bodies(ids):
        r = client.post("/api/v1/point-projects", json=b, headers=planner)
        assert r.status_code == 201, r.text
        pids.append(r.json()["id"])
        for s in ("approved", "implementing", "completed"):
            assert (
                client.post(
                    f"/api/v1/point-projects/{r.json()['id']}/state", json={"state": s}, headers=planner
                ).status_code
                == 200
            )
    items = [result(x["facility_id"], x["answers"]) for x in history.results(ids)]
    r = client.post("/api/v1/responses/batch", json={"items": items}, headers=fo)
    assert r.status_code == 200, r.text
    assert all(x["status"] == "created" for x in r.json()["results"]), r.json()
    return {"planner": planner, "fo": fo, "ids": ids, "projects": pids}
