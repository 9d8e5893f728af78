"""Point projects through HTTP: create (by hand and from a frozen selection), revisions, lifecycle, the prior
support they give facilities, scope and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_problem
from tests.factories import facility_body

URL = "/api/v1/point-projects"


@pytest.fixture
def planner(make_key):  # type: ignore[no-untyped-def]
    return make_key("planner", name="planner-all")


@pytest.fixture
def fids(client, admin) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for i, prov in enumerate(("68", "68", "01")):
        r = client.post(
            "/api/v1/facilities", json=facility_body(name=f"Cơ sở {i}", province_code=prov), headers=admin
        )
        assert r.status_code == 201, r.text
        out.append(r.json()["id"])
    return out


def body(fids: list[str], **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "code": "DA-KCD-2027-01",
        "title": {"vi": "Đề án khuyến công điểm chế biến cà phê Lâm Đồng", "en": "Coffee processing in Lâm Đồng"},
        "sector": "agro_food_processing",
        "provinces": ["68"],
        "start_year": 2027,
        "end_year": 2028,
        "implementing_unit": "Trung tâm Khuyến công Lâm Đồng",
        "activities": [
            {"kind": "demonstration_model", "facility_id": fids[0], "programme_vnd": 900_000_000, "counterpart_vnd": 2_100_000_000},
            {"kind": "advanced_machinery", "facility_id": fids[1], "programme_vnd": 300_000_000, "counterpart_vnd": 700_000_000},
            {"kind": "workshop", "programme_vnd": 120_000_000, "participants": 80},
        ],
    }  # fmt: skip
    b.update(over)
    return b


def facility(client, admin, fid: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/facilities/{fid}", headers=admin)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def test_create_read_list(client, planner, fids) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json=body(fids), headers=planner)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["state"] == "proposed" and p["revision"] == 1 and p["facilities_count"] == 2
    assert p["funds_vnd"] == {
        "programme": 1_320_000_000,
        "counterpart": 2_800_000_000,
        "total": 4_120_000_000,
    }
    assert p["activities"][0]["facility_name"] == "Cơ sở 0" and p["activities"][2]["facility_id"] is None
    assert client.get(f"{URL}/{p['id']}", headers=planner).json() == p
    assert client.get(f"{URL}/DA-KCD-2027-01", headers=planner).json()["id"] == p["id"]  # by code too
    items = client.get(URL, headers=planner).json()["items"]
    assert [i["code"] for i in items] == ["DA-KCD-2027-01"]
    assert client.get(URL, params={"facility_id": fids[2]}, headers=planner).json()["items"] == []
    assert len(client.get(URL, params={"facility_id": fids[0]}, headers=planner).json()["items"]) == 1


def test_lifecycle_revisions_and_prior_support(client, admin, planner, fids) -> None:  # type: ignore[no-untyped-def]
    pid = client.post(URL, json=body(fids), headers=planner).json()["id"]
    assert facility(client, admin, fids[0])["prior_support_count"] == 0
    r = client.patch(f"{URL}/{pid}", json={"end_year": 2029}, headers=planner)
    assert r.status_code == 200 and r.json()["revision"] == 2 and r.json()["end_year"] == 2029
    # impossible transitions are 409 naming what is possible
    body409 = assert_problem(
        client.post(f"{URL}/{pid}/state", json={"state": "completed"}, headers=planner), 409, "state"
    )
    assert "approved" in body409["errors"][0]["message"]
    for s in ("approved", "implementing"):
        r = client.post(f"{URL}/{pid}/state", json={"state": s}, headers=planner)
        assert r.status_code == 200 and r.json()["state"] == s, r.text
    f0 = facility(client, admin, fids[0])
    assert f0["prior_support_count"] == 1
    assert f0["prior_support"][0]["point_project_code"] == "DA-KCD-2027-01"
    assert f0["prior_support"][0]["amount_vnd"] == 900_000_000 and f0["prior_support"][0]["year"] == 2027
    # a typed (legacy) entry sent by PATCH replaces the typed ones only: the project's entry stays
    r = client.patch(
        f"/api/v1/facilities/{fids[0]}",
        json={"prior_support": [{"year": 2015, "programme": "khuyến công địa phương"}]},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["prior_support_count"] == 2, r.text
    # a client cannot type a project's entry
    assert_problem(client.patch(f"/api/v1/facilities/{fids[0]}", json={"prior_support": [
        {"year": 2015, "programme": "x", "point_project_id": pid}]}, headers=admin), 422)  # fmt: skip
    # dropping a facility from the activities withdraws its support
    acts = body(fids)["activities"][:1] + body(fids)["activities"][2:]
    r = client.patch(f"{URL}/{pid}", json={"activities": acts}, headers=planner)
    assert r.status_code == 200 and r.json()["facilities_count"] == 1
    assert facility(client, admin, fids[1])["prior_support_count"] == 0
    r = client.post(
        f"{URL}/{pid}/state", json={"state": "cancelled", "comment": "Thiếu vốn đối ứng"}, headers=planner
    )
    assert r.status_code == 200
    assert facility(client, admin, fids[0])["prior_support_count"] == 1  # the legacy entry only
    assert_problem(client.patch(f"{URL}/{pid}", json={"end_year": 2030}, headers=planner), 409, "state")
    assert_problem(
        client.post(f"{URL}/{pid}/state", json={"state": "approved"}, headers=planner), 409, "state"
    )
    revs = client.get(f"{URL}/{pid}/revisions", headers=planner).json()["items"]
    assert [r["change"] for r in revs] == ["created", "updated", "state:approved", "state:implementing", "updated",
                                            "state:cancelled"]  # fmt: skip
    assert (
        revs[0]["document"]["end_year"] == 2028 and revs[1]["document"]["end_year"] == 2029
    )  # nothing overwritten
    audit = client.get("/api/v1/audit", params={"resource_id": pid}, headers=admin)
    assert audit.status_code == 200
    actions = [e["action"] for e in audit.json()["items"] if e["resource_id"] == pid]
    assert actions.count("point_project.state") == 3


def test_province_prior_support_counts_in_rankings(client, admin, planner, fids) -> None:  # type: ignore[no-untyped-def]
    """A facility in an implementing project counts as supported where rankings read prior support."""
    pid = client.post(URL, json=body(fids), headers=planner).json()["id"]
    for s in ("approved", "implementing"):
        client.post(f"{URL}/{pid}/state", json={"state": s}, headers=planner)
    got = client.get("/api/v1/facilities", params={"province_code": "68"}, headers=admin).json()["items"]
    assert sorted(f["prior_support_count"] for f in got) == [1, 1]


def test_bad_input(client, planner, fids) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.post(URL, json=body(fids, activities=[
        {"kind": "advanced_machinery", "facility_id": "00000000-0000-4000-8000-000000000000", "programme_vnd": 1}]),
        headers=planner), 422, "activities.0.facility_id")  # fmt: skip
    assert_problem(client.post(URL, json=body(fids, activities=[
        {"kind": "advanced_machinery", "facility_id": fids[0], "programme_vnd": -5}]), headers=planner), 422,
        "activities.0.programme_vnd")  # fmt: skip
    assert_problem(client.post(URL, json=body(fids, activities=[{"kind": "gift", "programme_vnd": 5}]), headers=planner),
                   422, "activities.0.kind")  # fmt: skip
    assert_problem(client.post(URL, json=body(fids, start_year=2029, end_year=2027), headers=planner), 422)
    assert_problem(client.post(URL, json=body(fids, provinces=["99"]), headers=planner), 422, "provinces.0")
    # a facility outside the project's provinces is named, with what to do
    b = body(fids)
    b["activities"].append({"kind": "advanced_machinery", "facility_id": fids[2], "programme_vnd": 1})
    err = assert_problem(client.post(URL, json=b, headers=planner), 422, "activities.3.facility_id")
    assert "01" in err["errors"][0]["message"]
    assert client.post(URL, json=body(fids), headers=planner).status_code == 201
    assert_problem(client.post(URL, json=body(fids), headers=planner), 409, "code")
    pid = client.get(URL, headers=planner).json()["items"][0]["id"]
    assert_problem(client.post(f"{URL}/{pid}/state", json={"state": "done"}, headers=planner), 422, "state")
    assert_problem(client.patch(f"{URL}/{pid}", json={"title": None}, headers=planner), 422, "title")


def test_scope(client, make_key, planner, fids) -> None:  # type: ignore[no-untyped-def]
    hanoi = make_key("planner", provinces=["01"], name="planner-hn")
    lamdong = make_key("planner", provinces=["68"], name="planner-ld")
    fo = make_key("field_officer", provinces=["68"], name="fo-ld")
    assert client.post(URL, json=body(fids)).status_code == 401
    assert_problem(client.post(URL, json=body(fids), headers=fo), 403)
    assert_problem(client.get(URL, headers=fo), 403)
    # a planner of another province: its facilities are unknown, the province is not its to write
    assert_problem(client.post(URL, json=body(fids), headers=hanoi), 422, "activities.0.facility_id")
    assert_problem(client.post(URL, json=body(fids, activities=[]), headers=hanoi), 403, "provinces")
    pid = client.post(URL, json=body(fids), headers=lamdong).json()["id"]
    assert_problem(client.get(f"{URL}/{pid}", headers=hanoi), 404)
    assert_problem(client.get(f"{URL}/{pid}/revisions", headers=hanoi), 404)
    assert_problem(client.post(f"{URL}/{pid}/state", json={"state": "approved"}, headers=hanoi), 404)
    assert_problem(client.patch(f"{URL}/{pid}", json={"end_year": 2030}, headers=hanoi), 404)
    assert client.get(URL, headers=hanoi).json()["items"] == []
    assert client.get(f"{URL}/{pid}", headers=lamdong).status_code == 200
    # a project across provinces is seen only by keys covering all of them
    b = body(fids, code="DA-KCD-2027-02", provinces=["68", "01"])
    b["activities"].append({"kind": "advanced_machinery", "facility_id": fids[2], "programme_vnd": 1})
    assert_problem(client.post(URL, json=b, headers=lamdong), 422, "activities.3.facility_id")
    wide = client.post(URL, json=b, headers=planner).json()["id"]
    assert_problem(client.get(f"{URL}/{wide}", headers=lamdong), 404)
    assert [i["id"] for i in client.get(URL, headers=lamdong).json()["items"]] == [pid]


def test_each_revision_and_each_result_is_an_event_of_its_unit_of_work(
    client, make_key, planner, fids
) -> None:  # type: ignore[no-untyped-def]
    """ProjectChanged at every revision, ResultCreated for a stored project-results response (what webhooks send
    as point_project.changed and result.created), emitted inside the change's transaction."""
    from app.core import uow
    from app.point_projects.events import ProjectChanged, ResultCreated

    seen: list[Any] = []

    @uow.handles(ProjectChanged, ResultCreated)
    def _collect(session, events) -> None:  # type: ignore[no-untyped-def]
        seen.extend(events)

    pid = client.post(URL, json=body(fids), headers=planner).json()["id"]
    client.post(f"{URL}/{pid}/state", json={"state": "approved"}, headers=planner)
    assert_problem(
        client.post(f"{URL}/{pid}/state", json={"state": "completed"}, headers=planner), 409
    )  # no event
    fo = make_key("field_officer", provinces=["68"], name="fo-events")
    answers = {"respondent_name": "Trần Thị Lan", "respondent_position": "Chủ cơ sở", "respondent_phone": "0912345678",
               "point_project_code": "DA-KCD-2027-01", "stage": "baseline", "workers_total": 12, "jobs_created": 0,
               "jobs_created_women": 0, "workers_trained": 0}  # fmt: skip
    rid = "5f0d1c2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
    r = client.post("/api/v1/responses", json={"id": rid, "questionnaire": "project-results", "version": 1,
                    "facility_id": fids[0], "answers": answers, "collected_at": "2026-12-01T09:00:00+07:00"}, headers=fo)  # fmt: skip
    assert r.status_code == 201, r.text
    changes = [(e.change, e.revision) for e in seen if isinstance(e, ProjectChanged) and e.project_id == pid]
    assert changes == [("created", 1), ("state:approved", 2)]
    assert [e.response_id for e in seen if isinstance(e, ResultCreated)] == [rid]


def test_a_project_from_a_frozen_selection(client, make_key, planner, fids) -> None:  # type: ignore[no-untyped-def]
    """One activity per selected facility, its cost as programme funds; project-level activities added; the
    ranking's scope decides who may turn it into a project."""
    from tests.factories import response_body

    fo = make_key("field_officer", provinces=["68"], name="fo-sel")
    for fid, amount in ((fids[0], 400_000_000), (fids[1], 300_000_000)):
        b = response_body(fid)
        b["answers"]["loan_amount_vnd"] = amount
        assert client.post("/api/v1/responses", json=b, headers=fo).status_code == 201
    lamdong = make_key("planner", provinces=["68"], name="planner-sel")
    rk = client.post("/api/v1/rankings", headers=lamdong, json={"profile": "point-project", "profile_version": 1,
                     "budget_vnd": 10**9, "cost_source": "loans.loan_amount_vnd"})  # fmt: skip
    assert rk.status_code == 201, rk.text
    rid = rk.json()["id"]
    body = {"code": "DA-KCD-2027-03", "title": {"vi": "Đề án từ danh sách chọn"}, "start_year": 2027, "end_year": 2028,
            "implementing_unit": "Trung tâm Khuyến công Lâm Đồng",
            "extra_activities": [{"kind": "training", "programme_vnd": 80_000_000, "participants": 25}]}  # fmt: skip
    r = client.post(f"/api/v1/rankings/{rid}/point-project", json=body, headers=lamdong)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["ranking_id"] == rid and p["provinces"] == ["68"] and p["state"] == "proposed"
    by_fid = {a["facility_id"]: a for a in p["activities"] if a["facility_id"]}
    assert {f: a["programme_vnd"] for f, a in by_fid.items()} == {fids[0]: 400_000_000, fids[1]: 300_000_000}
    assert p["activities"][-1]["kind"] == "training" and p["funds_vnd"]["programme"] == 780_000_000
    hanoi = make_key("planner", provinces=["01"], name="planner-hn2")
    assert_problem(
        client.post(f"/api/v1/rankings/{rid}/point-project", json={**body, "code": "X-1"}, headers=hanoi), 404
    )
    assert_problem(
        client.post(f"/api/v1/rankings/{rid}/point-project", json=body, headers=lamdong), 409, "code"
    )
    plain = client.post(
        "/api/v1/rankings", headers=lamdong, json={"profile": "point-project", "profile_version": 1}
    ).json()["id"]
    assert_problem(client.post(f"/api/v1/rankings/{plain}/point-project", json={**body, "code": "X-2"}, headers=lamdong),
                   422, "ranking_id")  # fmt: skip
