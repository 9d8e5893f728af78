"""What the planner pages show, through HTTP: priorities explained, facility answers with history and reviews,
a budgeted selection frozen and explained, downloads, Vietnamese formats, and the province scope everywhere."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.planner.i18n import TZ
from tests.planner.conftest import NAMES, World, latest_profile_version, profile_labels, questionnaire_label


def _text(page: str) -> str:
    """The page's visible text, roughly (tags dropped, entities decoded, blanks collapsed)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _row(page: str, name: str) -> str:
    """The visible text of the ranked item naming `name` (from its rank cell to the next one)."""
    cells = page.split('<td class="num rank">')
    return next(_text(cell) for cell in cells[1:] if name in cell)


def _api_item(world: World, name: str, version: int, **params: str) -> dict:
    """The API's explanation of one establishment's score (planner-68)."""
    doc = world.client.get("/api/v1/priorities", headers=world.keys["planner"],
                           params={"profile": "point-project", "profile_version": version, **params}).json()  # fmt: skip
    return next(it for it in doc["items"] if it["facility"]["name"] == name)


def test_priorities_rank_every_candidate_and_explain_each_score(world: World) -> None:
    c, _ = world.browser("planner")
    r = c.get("/planner/priorities")
    assert r.status_code == 200
    # The page starts with the newest published version of the profile.
    latest = latest_profile_version(world.client)
    assert latest >= 2
    assert re.search(rf'<option value="point-project:{latest}" selected>', r.text)
    text = _text(r.text)
    assert "3 cơ sở được xếp hạng" in text
    ranks = [NAMES[t] for t in "ABC"]
    positions = sorted(ranks, key=text.index)
    assert positions[0] == NAMES["A"] and positions[-1] == NAMES["C"]  # A asks most, C answered nothing
    # One stacked bar per item, one segment per criterion that adds something, each with its own colour class.
    bars = re.findall(r'<svg class="contrib".*?</svg>', r.text, re.S)
    assert len(bars) == 3
    assert len(re.findall(r'<rect class="c\d"', bars[0])) >= 2
    assert 'aria-label="Đóng góp vào điểm:' in bars[0]
    # C answered nothing: each criterion it misses is marked, named as the profile names it.
    labels = profile_labels(world.client, latest)
    missing_c = _api_item(world, NAMES["C"], latest)["missing"]
    assert "pollution_urgency" in missing_c
    for cid in missing_c:
        assert f"thiếu: {labels[cid]}" in _row(r.text, NAMES["C"]), cid
    # A answered the pollution questionnaire: that criterion is not missing for A.
    assert "pollution_urgency" not in _api_item(world, NAMES["A"], latest)["missing"]
    assert f"thiếu: {labels['pollution_urgency']}" not in _row(r.text, NAMES["A"])
    assert not re.search(r"thiếu: [a-z]+_[a-z_]+", text)  # never a raw id
    assert "thông tin cơ sở" in _row(r.text, NAMES["A"]) and "20/11/2026" in _row(
        r.text, NAMES["A"]
    )  # where values come from
    assert "Vì sao có điểm này" in text and "Trọng số" in text
    # The first edition stays selectable, with its own criteria: C lacks its loan criterion.
    v1 = c.get("/planner/priorities", params={"profile": "point-project:1"}).text
    loan_label = profile_labels(world.client, 1)["loan_need_vs_revenue"]
    assert f"thiếu: {loan_label}" in _row(v1, NAMES["C"]) and f"thiếu: {loan_label}" not in _row(
        v1, NAMES["A"]
    )


@pytest.mark.parametrize("version", [None, 1])
def test_stale_answers_are_marked(world: World, version: int | None) -> None:
    """B's loan answer, collected long ago, is flagged stale under whichever criteria read it: those of the
    newest version by default (its stated needs), of v1 when chosen (the loan against revenue too)."""
    c, _ = world.browser("planner")
    old = datetime.now(UTC) - timedelta(days=900)
    body = {"base_revision": 1, "answers": {"needs_loan": True, "loan_amount_vnd": 900_000_000, "loan_purpose": ["workshop"],
            "has_collateral": False, "wants_interest_subsidy": True}, "collected_at": old.isoformat()}  # fmt: skip
    r = world.client.put(
        f"/api/v1/responses/{world.responses['B']}", json=body, headers=world.keys["field_officer"]
    )
    assert r.status_code in (200, 201), r.text
    shown = version or latest_profile_version(world.client)
    labels = profile_labels(world.client, shown)
    stale = [c["id"] for c in _api_item(world, NAMES["B"], shown)["criteria"] if c["stale"]]
    assert "need_intensity" in stale and ("loan_need_vs_revenue" in stale) == (shown == 1)
    page = c.get(
        "/planner/priorities", params={"profile": f"point-project:{version}"} if version else {}
    ).text
    for cid in stale:
        assert f"quá cũ: {labels[cid]}" in _row(page, NAMES["B"]), cid
    assert "quá cũ" not in _row(page, NAMES["A"])


def test_priorities_filters_and_htmx_fragments(world: World) -> None:
    c, _ = world.browser("planner_all")
    assert NAMES["D"] in c.get("/planner/priorities").text
    page = c.get("/planner/priorities", params={"province_code": "01"}).text
    assert NAMES["D"] in page and NAMES["A"] not in page and "1 cơ sở được xếp hạng" in _text(page)
    frag = c.get(
        "/planner/priorities",
        params={"province_code": "68"},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    assert "<html" not in frag.text and NAMES["A"] in frag.text and NAMES["D"] not in frag.text
    crafts = c.get("/planner/priorities", params={"sector": "handicrafts", "province_code": "68"}).text
    assert NAMES["B"] in crafts and NAMES["A"] not in crafts and NAMES["D"] not in crafts
    none = c.get("/planner/priorities", params={"sector": "building_materials"}).text
    assert "Không có cơ sở nào khớp bộ lọc" in _text(none)
    future = (datetime.now(TZ) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    bad = c.get("/planner/priorities", params={"as_of": future}).text
    assert "Hãy chọn một thời điểm trong quá khứ" in _text(bad)
    assert "Hãy nhập thời điểm" in _text(c.get("/planner/priorities", params={"as_of": "hôm qua"}).text)
    assert "Hãy chọn một bộ tiêu chí" in _text(
        c.get("/planner/priorities", params={"profile": "nope:9"}).text
    )


def test_paging_keeps_the_same_instant(world: World) -> None:
    c, _ = world.browser("planner")
    page = c.get("/planner/priorities", params={"size": 25}).text
    assert "Trang 1 / 1" in _text(page)
    p1 = c.get("/planner/priorities", params={"size": 1}).text
    nxt = html.unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', p1).group(1))  # type: ignore[union-attr]
    assert "as_of=" in nxt and "page=2" in nxt
    p2 = c.get(nxt).text
    assert "Trang 2 / 3" in _text(p2) and NAMES["B"] in p2 and NAMES["A"] not in p2


def test_the_facility_page_shows_every_answer_with_its_history(world: World) -> None:
    c, _ = world.browser("planner")
    r = c.get(f"/planner/facilities/{world.ids['A']}")
    assert r.status_code == 200
    text = _text(r.text)
    assert NAMES["A"] in text and "Lâm Đồng" in text
    assert "Nhu cầu vốn vay" in text and "Số tiền cần vay" in text
    assert (
        "500.000.000 ₫" in text and "2.500.000.000 ₫" in text
    )  # the answer and the revenue, Vietnamese style
    assert "Lịch sử: 2 lần sửa" in text and "400.000.000 ₫" in text and "đã đổi" in text
    assert "Mua máy móc, thiết bị" in text and "Có" in text  # choice labels, booleans as Có/Không
    assert "Ô nhiễm" in text or "ô nhiễm" in text
    assert "Đã nhận" in text  # the review state of a response nobody reviewed yet
    en = _text(c.get(f"/planner/facilities/{world.ids['A']}?lang=en").text)
    assert "Loan amount needed" in en and "₫500,000,000" in en and "History: 2 revisions" in en


def test_review_actions_from_the_facility_page(world: World) -> None:
    c, csrf = world.browser("planner")
    rid = world.responses["A"]
    r = c.post(f"/planner/responses/{rid}/review", follow_redirects=False, data={
        "csrf_token": csrf, "state": "has_issues", "question": "Số tiền cần vay", "comment": "Số tiền vay cao bất thường"})  # fmt: skip
    assert (
        r.status_code == 303
        and r.headers["location"] == f"/planner/facilities/{world.ids['A']}#response-{rid}"
    )
    # The field officer's device lists what needs fixing, with the planner's comment.
    todo = world.client.get(
        "/api/v1/responses", params={"review_state": "has_issues"}, headers=world.keys["field_officer"]
    ).json()
    assert [x["id"] for x in todo["items"]] == [rid]
    assert todo["items"][0]["last_review"]["comment"] == "«Số tiền cần vay»: Số tiền vay cao bất thường"
    # htmx: the response's article comes back, updated.
    frag = c.post(
        f"/planner/responses/{rid}/review",
        data={"state": "approved"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert frag.status_code == 200 and frag.text.lstrip().startswith(f'<article id="response-{rid}"')
    assert 'data-review-state="approved"' in frag.text and "Số tiền vay cao bất thường" in frag.text
    r = c.post(
        f"/planner/responses/{rid}/comments",
        data={"csrf_token": csrf, "comment": "Đã gọi điện xác nhận."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    thread = world.client.get(
        f"/api/v1/responses/{rid}/comments", headers=world.keys["field_officer"]
    ).json()["items"]
    assert [e["comment"] for e in thread][-1] == "Đã gọi điện xác nhận."
    bad = c.post(
        f"/planner/responses/{rid}/review",
        data={"csrf_token": csrf, "state": "deleted"},
        follow_redirects=False,
    )
    assert bad.status_code == 422
    empty = c.post(
        f"/planner/responses/{rid}/comments",
        data={"csrf_token": csrf, "comment": "  "},
        follow_redirects=False,
    )
    assert empty.status_code == 422
    # Out of scope: as if it did not exist.
    c01, csrf01 = world.browser("planner_01")
    r = c01.post(
        f"/planner/responses/{rid}/review",
        data={"csrf_token": csrf01, "state": "rejected"},
        follow_redirects=False,
    )
    assert r.status_code == 404
    state = world.client.get(f"/api/v1/responses/{rid}", headers=world.keys["admin"]).json()["review_state"]
    assert state == "approved"


def test_the_review_queue_lists_what_came_in(world: World) -> None:
    c, csrf = world.browser("planner")
    text = _text(c.get("/planner/review").text)
    assert NAMES["A"] in text and NAMES["B"] in text and NAMES["D"] not in text
    c.post(
        f"/planner/responses/{world.responses['B']}/review", data={"csrf_token": csrf, "state": "approved"}
    )
    waiting = c.get("/planner/review").text
    assert world.responses["B"] not in waiting and world.responses["A"] in waiting
    approved = c.get("/planner/review", params={"state": "approved"}).text
    assert world.responses["B"] in approved and world.responses["A"] not in approved


def test_a_budgeted_selection_is_frozen_and_explained(world: World) -> None:
    c, csrf = world.browser("planner")
    form = c.get("/planner/selection").text
    loan_cost = questionnaire_label(world.client, "loans", "loan_amount_vnd")  # as the questionnaire names it
    assert "Mức hỗ trợ của bộ tiêu chí" in form and loan_cost in html.unescape(form)
    assert re.search(rf'<option value="point-project:{latest_profile_version(world.client)}" selected>', form)
    r = c.post("/planner/selection", follow_redirects=False, data={
        "csrf_token": csrf, "profile": "point-project:1", "budget_vnd": "600.000.000", "cost_source": "loans.loan_amount_vnd",
        "per_province_max": "5", "name": "Đề án điểm 2027, đợt 1"})  # fmt: skip
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    text = _text(page.text)
    assert "Đề án điểm 2027, đợt 1" in text and "Danh sách đã được tính và chốt" in text
    assert "600.000.000 ₫" in text  # the budget
    # A costs 500M and ranks first: it is selected; B (300M) no longer fits; C has no cost.
    selected = page.text[page.text.index("cơ sở được chọn</h3>") :]
    assert NAMES["A"] in selected and NAMES["B"] not in selected.split("</table>")[0]
    assert "Ngân sách: phần còn lại không đủ cho thêm ứng viên nào." in text
    assert loan_cost in text  # the cost source, in words
    chart = json.loads(html.unescape(re.search(r'data-chart="([^"]+)"', page.text).group(1)))  # type: ignore[union-attr]
    assert chart["labels"] == ["Lâm Đồng"]
    assert [d["data"] for d in chart["datasets"]] == [
        [3],
        [1],
        [1],
    ]  # candidates, selected, previously supported (B)
    assert "Số cơ sở ứng viên" in page.text  # the chart's text alternative
    # The frozen ranking reads the same every time; it is listed.
    assert c.get(r.headers["location"].split("?")[0]).text.count(NAMES["A"]) >= 1
    assert "Đề án điểm 2027, đợt 1" in c.get("/planner/rankings").text


def test_selection_errors_are_shown_at_their_field(world: World) -> None:
    c, csrf = world.browser("planner")
    base = {"csrf_token": csrf, "profile": "point-project:1", "cost_source": "loans.loan_amount_vnd"}

    def errors(**data: str) -> dict[str, str]:
        r = c.post("/planner/selection", data={**base, **data}, follow_redirects=False)
        assert r.status_code == 422, r.text
        return {
            m.group(1): html.unescape(m.group(2))
            for m in re.finditer(r'class="field-error" id="([a-z_]+)-error">([^<]+)<', r.text)
        }

    assert "budget_vnd" in errors(budget_vnd="")
    assert errors(budget_vnd="hai tỷ")["budget_vnd"].startswith("Hãy nhập số đồng")
    assert "per_province_min" in errors(
        budget_vnd="1.000.000.000", per_province_min="3", per_province_max="1"
    )
    assert "per_province_min" in errors(
        budget_vnd="1.000.000", per_province_min="1"
    )  # infeasible: names the bound
    assert "cost_source" in errors(budget_vnd="1.000.000.000", cost_source="loans.loan_purpose")
    # No cost source: the profile's support cost; a profile without one answers with the API's error, at the field.
    assert (
        errors(budget_vnd="1.000.000.000", cost_source="")["cost_source"]
        == "Bộ tiêu chí này không quy định mức hỗ trợ: hãy chọn nguồn chi phí."
    )
    again = c.post("/planner/selection", data={**base, "budget_vnd": "hai tỷ", "name": "Giữ nguyên"}).text
    assert 'value="hai tỷ"' in again and 'value="Giữ nguyên"' in again  # what was typed stays


def test_a_planner_never_sees_another_provinces_facilities(world: World) -> None:
    """planner-68 and the establishment D of Hà Nội: not in any page, file or ranking of that planner."""
    c, csrf = world.browser("planner")
    d_name, d_id = NAMES["D"], world.ids["D"]
    for url in ["/planner/priorities", "/planner/priorities?province_code=01", "/planner/facilities",
                "/planner/review", "/planner/review?state=approved&state=received",
                "/planner/downloads/facilities", "/planner/downloads/facilities?province_code=01",
                "/planner/downloads/responses?questionnaire=loans&version=2",
                "/planner/downloads/responses?questionnaire=loans&version=2&format=xlsx"]:  # fmt: skip
        r = c.get(url)
        assert r.status_code in (200, 422), url
        assert d_name not in r.text and d_id not in r.text, url
        if "format=xlsx" in url:
            assert r.content[:2] == b"PK" and d_id.encode() not in r.content
    search = c.get(
        "/planner/facilities", params={"q": "gốm Bát Tràng"}
    ).text  # the query itself is echoed in the box
    assert d_id not in search and "Không tìm thấy cơ sở nào trong các tỉnh của bạn" in _text(search)
    r = c.get(f"/planner/facilities/{d_id}")
    assert r.status_code == 404 and d_name not in r.text and "Không tìm thấy" in r.text
    # A selection asked for Hà Nội covers nothing outside the key's provinces.
    r = c.post("/planner/selection", follow_redirects=False, data={
        "csrf_token": csrf, "profile": "point-project:1", "budget_vnd": "10.000.000.000",
        "cost_source": "loans.loan_amount_vnd", "province_code": "01"})  # fmt: skip
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert d_name not in page and d_id not in page and "0 / 0" in _text(page)
    download = c.get(r.headers["location"].split("?")[0].replace("/rankings/", "/downloads/rankings/"))
    assert download.status_code == 200 and d_id not in download.text
    # A nationwide planner's ranking is not readable by a province's planner.
    call, csrf_all = world.browser("planner_all")
    r = call.post("/planner/selection", follow_redirects=False, data={
        "csrf_token": csrf_all, "profile": "point-project:1", "budget_vnd": "10.000.000.000", "cost_source": "loans.loan_amount_vnd"})  # fmt: skip
    rid = r.headers["location"].split("/")[-1].split("?")[0]
    assert d_name in call.get(f"/planner/rankings/{rid}").text
    assert (
        d_id in call.get("/planner/facilities", params={"q": "gốm Bát Tràng"}).text
    )  # the search does find it
    assert c.get(f"/planner/rankings/{rid}").status_code == 404
    assert c.get(f"/planner/downloads/rankings/{rid}").status_code == 404
    assert rid not in c.get("/planner/rankings").text and rid not in c.get("/planner/downloads").text


def test_downloads(world: World) -> None:
    c, csrf = world.browser("planner")
    page = _text(c.get("/planner/downloads").text)
    assert "Nhu cầu vốn vay" in page and "CSV" in page
    r = c.get("/planner/downloads/responses", params={"questionnaire": "loans:2"})  # as the form sends it
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="loans-v2.csv"'
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert (
        rows[0][:3] == ["Mã phiếu", "Mã cơ sở", "Tên cơ sở"] and "Số tiền cần vay" in rows[0]
    )  # Vietnamese labels
    assert sorted(row[2] for row in rows[1:]) == sorted([NAMES["A"], NAMES["B"]])
    assert any(
        "Mua máy móc, thiết bị" in cell for cell in rows[0]
    )  # choices too (select_multiple: a column each)
    codes = c.get(
        "/planner/downloads/responses", params={"questionnaire": "loans", "version": 2, "labels": "codes"}
    )
    assert codes.text.lstrip("\ufeff").startswith("response_id,facility_id,facility_name")
    en = c.get("/planner/downloads/responses?questionnaire=loans:2&labels=en").text
    assert "Loan amount needed" in en.splitlines()[0]
    geo = c.get("/planner/downloads/facilities", params={"format": "geojson"})
    assert geo.headers["content-type"].startswith("application/geo+json")
    doc = json.loads(geo.text)
    assert [f["geometry"]["coordinates"] for f in doc["features"]] == [[108.45, 11.95]] and doc[
        "without_location"
    ] == 2
    points = json.loads(
        c.get("/planner/downloads/responses", params={"questionnaire": "loans:2", "format": "geojson"}).text
    )
    assert len(points["features"]) == 2 and world.ids["D"] not in json.dumps(points)
    x = c.get("/planner/downloads/facilities", params={"format": "xlsx"})
    assert x.headers["content-type"].startswith("application/vnd.openxmlformats") and x.content[:2] == b"PK"
    r = c.post("/planner/selection", follow_redirects=False, data={
        "csrf_token": csrf, "profile": "point-project:1", "budget_vnd": "600.000.000", "cost_source": "loans.loan_amount_vnd"})  # fmt: skip
    rid = r.headers["location"].split("/")[-1].split("?")[0]
    ranking = list(
        csv.reader(io.StringIO(c.get(f"/planner/downloads/rankings/{rid}").content.decode("utf-8-sig")))
    )
    assert ranking[0][-1] == "selected"
    chosen = {row[2]: row[-1] for row in ranking[1:]}
    assert chosen == {NAMES["A"]: "1", NAMES["B"]: "0", NAMES["C"]: "0"}
    assert (
        c.get("/planner/downloads/responses", params={"questionnaire": "nope", "version": 1}).status_code
        == 404
    )


def test_ranking_with_approved_answers_only(world: World) -> None:
    """The first edition's loan criterion reads the loan answers this world has: with approved answers only, an
    establishment whose loan answer nobody approved misses it."""
    c, csrf = world.browser("planner")
    approved_only = {"review": "approved", "profile": "point-project:1"}
    loan = f"thiếu: {profile_labels(world.client, 1)['loan_need_vs_revenue']}"
    row_a = _row(c.get("/planner/priorities", params=approved_only).text, NAMES["A"])
    assert loan in row_a  # nobody approved A's loan answers yet
    assert "Câu trả lời được tính: Chỉ câu trả lời đã duyệt" in _text(
        c.get("/planner/priorities", params=approved_only).text
    )
    c.post(
        f"/planner/responses/{world.responses['A']}/review", data={"csrf_token": csrf, "state": "approved"}
    )
    row_a = _row(c.get("/planner/priorities", params=approved_only).text, NAMES["A"])
    assert loan not in row_a
    # Rejected answers never count by default.
    c.post(
        f"/planner/responses/{world.responses['B']}/review", data={"csrf_token": csrf, "state": "rejected"}
    )
    v1 = {"profile": "point-project:1"}
    assert loan in _row(c.get("/planner/priorities", params=v1).text, NAMES["B"])
    assert loan not in _row(c.get("/planner/priorities", params={**v1, "review": "any"}).text, NAMES["B"])
    # A budgeted selection over approved answers only: only A has an approved cost; the choice is recorded.
    r = c.post("/planner/selection", follow_redirects=False, data={
        "csrf_token": csrf, "profile": "point-project:1", "budget_vnd": "10.000.000.000",
        "cost_source": "loans.loan_amount_vnd", "review": "approved"})  # fmt: skip
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "Câu trả lời được tính: Chỉ câu trả lời đã duyệt" in _text(page.text)
    rid = r.headers["location"].split("/")[-1].split("?")[0]
    doc = world.client.get(f"/api/v1/rankings/{rid}", headers=world.keys["planner"]).json()
    assert doc["request"]["review"] == "approved"
    assert doc["selection"]["selected_count"] == 1
    selected = world.client.get(f"/api/v1/rankings/{rid}/selection", headers=world.keys["planner"]).json()[
        "items"
    ]
    assert [s["facility_id"] for s in selected] == [world.ids["A"]]
    bad = c.post("/planner/selection", data={"csrf_token": csrf, "profile": "point-project:1", "budget_vnd": "1.000",
                                             "review": "maybe"})  # fmt: skip
    assert bad.status_code == 422 and 'id="review-error"' in bad.text


def test_every_link_of_the_error_summary_reaches_its_field(world: World) -> None:
    """The summary's links (#field) land on an element of the page for each kind of field error: a bound per
    kind of support, an infeasible per-kind family, eligibility's kinds, the strategy."""
    c, csrf = world.browser("planner")
    base = {
        "csrf_token": csrf,
        "profile": "point-project:3",
        "cost_source": "",
        "budget_vnd": "20.000.000.000",
    }
    cases = [
        {"per_kind_min__demonstration_model": "2", "per_kind_max__demonstration_model": "1"},
        {"per_kind_min__demonstration_model": "5000"},
        {"per_kind_max__advanced_machinery": "-1"},
        {"elig_kinds": "no_such_kind"},
        {"strategy": "lottery"},
        {"elig_min_score": "nhiều"},
    ]
    seen = set()
    for data in cases:
        r = c.post("/planner/selection", data={**base, **data}, follow_redirects=False)
        assert r.status_code == 422, (data, r.text[:500])
        summary = r.text.split('id="error-summary"', 1)[1].split("</ul>", 1)[0]
        targets = re.findall(r'href="#([^"]+)"', summary)
        assert targets, data
        for t in targets:
            assert f'id="{t}"' in r.text, (data, t)
            seen.add(t)
    assert seen == {
        "per_kind",
        "per_kind_min__demonstration_model",
        "per_kind_max__advanced_machinery",
        "elig_kinds",
        "strategy",
        "elig_min_score",
    }
