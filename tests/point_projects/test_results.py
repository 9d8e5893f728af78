"""The results report through HTTP: the programme review's table (2018–2020, northern region) rebuilt from
fixtures, the workbook against it, reproducibility with as_of, reporting rates, scope, and results refused when
they name a project that did not support the establishment or report a stage twice."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

from openpyxl import load_workbook

from app.places.service import resolve_province
from app.point_projects import history
from tests.conftest import assert_problem
from tests.point_projects.conftest import result

URL = "/api/v1/results"


def test_the_review_table(client, programme) -> None:  # type: ignore[no-untyped-def]
    rep = client.get(URL, headers=programme["planner"]).json()
    assert rep["projects"] == 3
    assert rep["funds_vnd"]["total"] == 181_946_900_000  # 181,946.9 million VND
    assert rep["facilities_supported"] == 63
    assert rep["demonstration_models"] == 9
    assert rep["jobs_created"] == 1_055
    assert rep["workers_trained"] == 80
    kinds = {k for k, n in rep["activities_by_kind"].items() if n}
    assert kinds == {
        "demonstration_model",
        "advanced_machinery",
        "workshop",
        "training",
    }  # four kinds of activity
    today = sorted({resolve_province(p) for p in history.FORMER_PROVINCES})  # type: ignore[type-var]
    assert rep["provinces_covered"] == today and rep["provinces_covered_count"] == len(today) == 8
    assert rep["provinces_total"] == 34
    assert sum(p["facilities_supported"] for p in rep["by_project"]) == 63
    assert sum(p["funds_vnd"]["total"] for p in rep["by_province"]) == rep["funds_vnd"]["total"]
    assert [y["year"] for y in rep["by_year"]] == [2018, 2019, 2020]
    assert {s["sector"] for s in rep["by_sector"]} == {
        "textiles_garments",
        "mechanical_engineering",
        "agro_food_processing",
    }
    assert rep["reporting"]["completion"] == {"expected": 63, "received": 63}
    assert rep["reporting"]["baseline"] == {"expected": 63, "received": 0}
    assert rep["sources"]["projects"] and rep["sources"]["results"]
    # filters
    one = client.get(URL, params={"point_project": "DA-KCD-2019-01"}, headers=programme["planner"]).json()
    assert one["projects"] == 1 and one["facilities_supported"] == 21
    assert client.get(URL, params={"from_year": 2020}, headers=programme["planner"]).json()["projects"] == 2
    prov = client.get(URL, params={"province_code": "25"}, headers=programme["planner"]).json()
    assert prov["provinces_covered"] == ["25"] and prov["facilities_supported"] == 14  # Phú Thọ + Hòa Bình
    # the establishments behind a figure
    behind = client.get(
        f"{URL}/facilities", params={"figure": "demonstration_models"}, headers=programme["planner"]
    ).json()
    assert len(behind["items"]) == 9 and all(r["kinds"] == ["demonstration_model"] for r in behind["items"])
    assert_problem(
        client.get(f"{URL}/facilities", params={"figure": "nope"}, headers=programme["planner"]),
        422,
        "query.figure",
    )


def test_workbook_matches_the_report(client, programme) -> None:  # type: ignore[no-untyped-def]
    rep = client.get(URL, headers=programme["planner"]).json()
    r = client.get(f"{URL}.xlsx", headers=programme["planner"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    rows = {row[0]: row[1] for row in wb["Tổng hợp"].iter_rows(values_only=True) if row and len(row) > 1}
    assert rows["Số đề án khuyến công điểm"] == rep["projects"] == 3
    assert rows["Số cơ sở được hỗ trợ"] == 63
    assert rows["Số mô hình trình diễn kỹ thuật"] == 9
    assert rows["Tổng kinh phí (đồng)"] == 181_946_900_000
    assert rows["Số việc làm mới"] == 1_055 and rows["Số người được đào tạo"] == 80
    assert rows["Số tỉnh, thành phố có cơ sở được hỗ trợ"] == 8 and rows["Tổng số tỉnh, thành phố"] == 34
    projects = list(wb["Theo đề án"].iter_rows(values_only=True))
    assert [p[0] for p in projects[1:]] == [p["code"] for p in rep["by_project"]]


def test_as_of_reproduces_and_later_stages_supersede(client, programme) -> None:  # type: ignore[no-untyped-def]
    planner, fo, ids = programme["planner"], programme["fo"], programme["ids"]
    time.sleep(0.01)
    mark = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    before = client.get(URL, params={"as_of": mark}, headers=planner).json()
    # a 12-month follow-up for the first facility: its latest stage now counts (30 jobs instead of 17)
    first = history.results(ids)[0]
    later = {**first["answers"], "stage": "follow_up_12m", "jobs_created": 30}
    assert client.post("/api/v1/responses", json=result(ids[0], later), headers=fo).status_code == 201
    now = client.get(URL, headers=planner).json()
    assert now["jobs_created"] == 1_055 - first["answers"]["jobs_created"] + 30
    assert (
        now["reporting"]["follow_up_12m"]["received"] == 0
    )  # not due yet: completed less than 12 months ago
    again = client.get(URL, params={"as_of": mark}, headers=planner).json()
    assert {k: v for k, v in again.items() if k != "as_of"} == {
        k: v for k, v in before.items() if k != "as_of"
    }
    assert again["jobs_created"] == 1_055
    assert_problem(
        client.get(URL, params={"as_of": "2021-01-01T00:00:00"}, headers=planner), 422, "query.as_of"
    )
    assert_problem(
        client.get(URL, params={"from_year": 2020, "to_year": 2019}, headers=planner), 422, "query.to_year"
    )


def test_results_refused_when_they_do_not_fit_the_projects(client, programme, admin, make_key) -> None:  # type: ignore[no-untyped-def]
    fo, ids = programme["fo"], programme["ids"]
    first = history.results(ids)[0]
    # the same stage again, in another response: 409 naming what to do
    dup = result(ids[0], first["answers"])
    err = assert_problem(client.post("/api/v1/responses", json=dup, headers=fo), 409, "answers.stage")
    assert "PUT /api/v1/responses/" in err["errors"][0]["message"]
    # a project that did not support this establishment
    wrong = {**first["answers"], "point_project_code": "DA-KCD-2020-01"}
    assert_problem(
        client.post("/api/v1/responses", json=result(ids[0], wrong), headers=fo),
        422,
        "answers.point_project_code",
    )
    # negative figures are refused by the questionnaire itself
    neg = {**first["answers"], "stage": "baseline", "jobs_created": -1}
    assert_problem(
        client.post("/api/v1/responses", json=result(ids[0], neg), headers=fo), 422, "answers.jobs_created"
    )
    # in a batch, item by item
    items = [
        result(ids[1], {**history.results(ids)[1]["answers"], "stage": "baseline"}),
        result(ids[0], wrong),
    ]
    got = client.post("/api/v1/responses/batch", json={"items": items}, headers=fo).json()["results"]
    assert [g["status"] for g in got] == ["created", "invalid"], got


def test_scope_of_the_report(client, programme, make_key) -> None:  # type: ignore[no-untyped-def]
    thai = make_key("planner", provinces=["20"], name="planner-ls")  # Lạng Sơn: part of one project only
    assert client.get(URL).status_code == 401
    assert_problem(client.get(URL, headers=programme["fo"]), 403)
    rep = client.get(URL, headers=thai).json()
    assert (
        rep["projects"] == 0 and rep["facilities_supported"] == 0
    )  # every project touches provinces beyond 20
    assert client.get(f"{URL}/facilities", headers=thai).json()["items"] == []
    assert client.get(f"{URL}.xlsx", headers=thai).status_code == 200


def test_the_planner_results_page_in_chromium(client, programme, live_server, page) -> None:  # type: ignore[no-untyped-def]
    """/planner/results in a real browser: the review's figures, both charts drawn, each figure a link to the
    establishments behind it, no console error (the page's CSP holds)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    secret = programme["planner"]["Authorization"].split(" ", 1)[1]
    page.goto(live_server + "/planner/results")
    page.get_by_label("Khoá API của bạn").fill(secret)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server + "/planner/results")
    totals = page.locator("#results-totals").inner_text()
    for figure in ("63", "9", "1.055", "80", "8 / 34", "181.946.900.000"):
        assert figure in totals, (figure, totals)
    drawn = page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) ink++; return ink; })""")
    assert len(drawn) == 2 and all(n > 500 for n in drawn), drawn
    page.get_by_role("link", name="Mô hình trình diễn kỹ thuật").click()
    page.wait_for_url("**figure=demonstration_models**")
    rows = page.locator("#behind + table tbody tr")
    assert rows.count() == 9
    rows.first.get_by_role("link").click()
    page.wait_for_url("**/planner/facilities/**")
    assert errors == [], errors


def test_the_officers_device_lists_the_follow_ups_due(client, programme, make_key) -> None:  # type: ignore[no-untyped-def]
    """Completed projects: every establishment reported its completion, none its baseline; a province officer's
    list holds only its own province's establishments, and a report sent takes its line off."""
    fo_ls = make_key("field_officer", provinces=["20"], name="fo-langson")  # Lạng Sơn: 7 establishments
    items = client.get("/api/v1/follow-ups", headers=fo_ls).json()["items"]
    assert len(items) == 7 and {i["stage"] for i in items} == {"baseline"}
    assert {i["province_code"] for i in items} == {"20"} and all(i["facility_name"] for i in items)
    everyone = client.get("/api/v1/follow-ups", headers=programme["fo"]).json()["items"]
    assert len(everyone) == 63
    first = items[0]
    answers = {**history.results(programme["ids"])[0]["answers"], "point_project_code": first["point_project_code"],
               "stage": "baseline"}  # fmt: skip
    r = client.post("/api/v1/responses", json=result(first["facility_id"], answers), headers=fo_ls)
    assert r.status_code == 201, r.text
    left = client.get("/api/v1/follow-ups", headers=fo_ls).json()["items"]
    assert len(left) == 6 and first["facility_id"] not in {i["facility_id"] for i in left}
    portal = make_key("portal", provinces=["20"], name="portal-ls")
    assert_problem(client.get("/api/v1/follow-ups", headers=portal), 403)


def test_the_present_report_follows_every_kind_of_write(client, programme, admin) -> None:  # type: ignore[no-untyped-def]
    """The present report is kept per process and updated from what changed (results._Present): after each kind
    of write it equals the report read whole from the history (an as_of just after the write)."""
    planner, fo, ids = programme["planner"], programme["fo"], programme["ids"]

    def same() -> dict:  # type: ignore[type-arg]
        now = client.get(URL, headers=planner).json()
        time.sleep(0.01)
        whole = client.get(URL, params={"as_of": datetime.now(UTC).isoformat()}, headers=planner).json()
        assert {k: v for k, v in now.items() if k != "as_of"} == {
            k: v for k, v in whole.items() if k != "as_of"
        }
        return now

    start = same()
    first = history.results(ids)[0]
    # a new response: a later stage for the first establishment
    body = result(ids[0], {**first["answers"], "stage": "follow_up_12m", "jobs_created": 30})
    assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
    after_new = same()
    assert after_new["jobs_created"] == start["jobs_created"] - first["answers"]["jobs_created"] + 30
    # an edit (a new revision) of that response
    rid = body["id"]
    rev = {
        "base_revision": 1,
        "answers": {**body["answers"], "jobs_created": 31},
        "collected_at": body["collected_at"],
    }
    assert client.put(f"/api/v1/responses/{rid}", json=rev, headers=fo).status_code == 201
    assert same()["jobs_created"] == after_new["jobs_created"] + 1
    # a review rejecting it: the completion report counts again
    assert (
        client.post(
            f"/api/v1/responses/{rid}/review", json={"state": "rejected"}, headers=planner
        ).status_code
        == 201
    )
    assert same()["jobs_created"] == start["jobs_created"]
    # a facility edit changes nothing here; the report read again whole still agrees
    assert (
        client.patch(f"/api/v1/facilities/{ids[1]}", json={"employees": 99}, headers=admin).status_code == 200
    )
    assert same()["jobs_created"] == start["jobs_created"]
