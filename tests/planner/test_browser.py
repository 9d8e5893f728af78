"""The planner workspace in a real browser (Debian's Chromium driven by Playwright) against a real server process:
the path from sign-in to a frozen, explained, budgeted selection; reviews; downloads; scope; sign-out; CSRF;
keyboard; no Content-Security-Policy violation anywhere."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.planner.conftest import (
    NAMES,
    PNG,
    World,
    latest_profile_version,
    profile_labels,
    secret_of,
    tech_answers,
)

pytestmark = pytest.mark.usefixtures("client")


class Console:
    """Every console error and page error of a page (a CSP violation is reported as a console error)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def sign_in(page: Any, base: str, secret: str, start: str = "/planner/") -> None:
    page.goto(base + start)
    assert "/planner/sign-in" in page.url
    page.get_by_label("Khoá API của bạn").fill(secret)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(re.escape(base + start.split("?")[0])))


def nav(page: Any, name: str) -> Any:
    """A link of the workspace's navigation bar."""
    return page.get_by_role("navigation", name=re.compile("Không gian làm việc|Workspace")).get_by_role(
        "link", name=name, exact=True
    )


def text(page: Any) -> str:
    return re.sub(r"\s+", " ", page.inner_text("main"))


def test_from_sign_in_to_a_frozen_explained_budgeted_selection(
    world: World, live_server: str, page: Any
) -> None:
    console = Console(page)
    base = live_server
    sign_in(page, base, secret_of(world.keys["planner"]))
    assert "Từ khảo sát đến danh sách chọn theo ngân sách" in text(page)

    # Priorities, filtered in place (htmx): the page is not reloaded, the URL follows the filters.
    nav(page, "Thứ tự ưu tiên").click()
    page.wait_for_url(base + "/planner/priorities")
    assert "3 cơ sở được xếp hạng" in text(page)
    assert (
        page.locator("svg.contrib").count() == 3 and page.locator("svg.contrib rect[class^=c]").count() >= 4
    )
    # The newest published profile version is the one shown, its criteria named (never a raw id).
    latest = latest_profile_version(world.client)
    assert page.get_by_label("Bộ tiêu chí chấm điểm").input_value() == f"point-project:{latest}"
    assert not re.search(r"thiếu: [a-z]+_[a-z_]+", text(page))
    assert f"thiếu: {profile_labels(world.client, latest)['pollution_urgency']}" in text(page)
    page.evaluate("window.__stayed = true")
    page.get_by_label("Ngành").select_option("handicrafts")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url(re.compile(r"sector=handicrafts"))
    page.get_by_role("heading", name="1 cơ sở được xếp hạng").wait_for()
    assert page.evaluate("window.__stayed === true")  # a partial update, not a new page
    assert NAMES["B"] in text(page) and NAMES["A"] not in text(page)
    assert page.locator("svg.contrib").count() == 1
    page.get_by_label("Ngành").select_option("")
    page.get_by_role("button", name="Xem").click()
    page.get_by_role("heading", name="3 cơ sở được xếp hạng").wait_for()

    # Open a facility: every answer, its history.
    page.get_by_role("link", name=NAMES["A"]).first.click()
    page.wait_for_url(base + f"/planner/facilities/{world.ids['A']}")
    body = text(page)
    assert "Số tiền cần vay" in body and "500.000.000 ₫" in body.replace("\u00a0", " ")
    page.get_by_text("Lịch sử: 2 lần sửa").click()
    assert page.get_by_text("400.000.000").first.is_visible()

    # Mark the loan answer as having issues; the field officer's key lists it through the API.
    rid = world.responses["A"]
    article = page.locator(f"#response-{rid}")
    article.get_by_label("Câu trả lời cần xem lại (không bắt buộc)").select_option(label="Số tiền cần vay")
    article.get_by_label("Ý kiến gửi cán bộ thu thập (không bắt buộc)").fill(
        "Số tiền vay cao bất thường, kiểm tra lại."
    )
    article.get_by_role("button", name="Có vấn đề").click()
    page.locator(f'#response-{rid} [data-review-state="has_issues"]').wait_for()
    todo = httpx.get(f"{base}/api/v1/responses", params={"review_state": "has_issues"},
                     headers=world.keys["field_officer"]).json()["items"]  # fmt: skip
    assert [(x["id"], x["last_review"]["comment"]) for x in todo] == [
        (rid, "«Số tiền cần vay»: Số tiền vay cao bất thường, kiểm tra lại.")]  # fmt: skip

    # Approve it (after the officer's answer, say); the other loans response too.
    page.locator(f"#response-{rid}").get_by_role("button", name="Duyệt", exact=True).click()
    page.locator(f'#response-{rid} [data-review-state="approved"]').wait_for()
    assert (
        httpx.get(f"{base}/api/v1/responses/{rid}", headers=world.keys["planner"]).json()["review_state"]
        == "approved"
    )

    # Rank with approved answers only, by the first edition (its loan criterion reads the loan answers): A's
    # loan answers count (approved), B's do not (nobody approved them).
    nav(page, "Thứ tự ưu tiên").click()
    page.get_by_label("Bộ tiêu chí chấm điểm").select_option("point-project:1")
    page.get_by_label("Câu trả lời được tính").select_option("approved")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url(re.compile(r"review=approved"))
    page.get_by_text("Câu trả lời được tính: Chỉ câu trả lời đã duyệt").wait_for()
    loan = f"thiếu: {profile_labels(world.client, 1)['loan_need_vs_revenue']}"
    row_b = page.get_by_role("row").filter(has_text=NAMES["B"])
    assert loan in row_b.inner_text()
    assert loan not in page.get_by_role("row").filter(has_text=NAMES["A"]).first.inner_text()

    # From these candidates to a budgeted selection, frozen and explained.
    page.get_by_role("link", name="Chọn theo ngân sách từ các ứng viên này").click()
    page.wait_for_url(re.compile(r"/planner/selection\?.*review=approved"))
    assert page.get_by_label("Câu trả lời được tính").input_value() == "approved"
    assert page.get_by_label("Bộ tiêu chí chấm điểm").input_value() == "point-project:1"
    page.get_by_label("Ngân sách (đồng)").fill("600.000.000")
    page.get_by_label("Chi phí hỗ trợ mỗi cơ sở").select_option("loans.loan_amount_vnd")
    page.get_by_label("Ít nhất").fill("1")
    page.get_by_label("Tên danh sách (không bắt buộc)").fill("Đề án điểm 2027, đợt 1")
    page.get_by_role("button", name="Tính và chốt danh sách").click()
    page.wait_for_url(re.compile(r"/planner/rankings/[0-9a-f-]+\?created=1"))
    body = text(page).replace("\u00a0", " ")
    assert "Đề án điểm 2027, đợt 1" in body and "Danh sách đã được tính và chốt" in body
    assert "Câu trả lời được tính: Chỉ câu trả lời đã duyệt" in body
    assert "Ngân sách 600.000.000 ₫" in body and "Tổng chi phí của danh sách 500.000.000 ₫" in body
    assert "Không có chi phí (không thể chọn) 2" in body  # B (its cost is not approved) and C (no answer)
    selected = page.locator("table", has=page.get_by_role("columnheader", name="Chi phí"))
    assert NAMES["A"] in selected.inner_text() and NAMES["B"] not in selected.inner_text()
    # The chart is drawn (Chart.js, loaded from this site under the CSP) and its figures are in a table too.
    canvas = page.locator("canvas[data-chart]")
    canvas.wait_for()
    page.wait_for_function("document.querySelector('canvas[data-chart]').dataset.rendered === '1'")
    drawn = page.evaluate("""() => { const c = document.querySelector('canvas[data-chart]');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++; return [c.width, c.height, ink]; }""")
    assert drawn[0] > 300 and drawn[1] > 100 and drawn[2] > 1000, drawn

    # Download the frozen ranking.
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải mọi ứng viên (CSV)").click()
    csv_text = open(info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert csv_text.splitlines()[0].endswith(",selected") and NAMES["A"] in csv_text
    # A questionnaire's responses, with Vietnamese column names, and the establishments as map points.
    nav(page, "Tải xuống").click()
    responses = page.locator("form[action='/planner/downloads/responses']")
    responses.get_by_label("Phiếu khảo sát").select_option("loans:2")  # the version the world answered
    with page.expect_download() as info:
        responses.get_by_role("button", name="Tải xuống").click()
    assert info.value.suggested_filename == "loans-v2.csv"
    rows = open(info.value.path(), encoding="utf-8-sig").read().splitlines()  # noqa: SIM115
    assert rows[0].startswith("Mã phiếu,Mã cơ sở,Tên cơ sở") and NAMES["B"] in "\n".join(rows)
    facilities = page.locator("form[action='/planner/downloads/facilities']")
    facilities.get_by_label("Định dạng").select_option("geojson")
    with page.expect_download() as info:
        facilities.get_by_role("button", name="Tải xuống").click()
    assert info.value.suggested_filename == "facilities.geojson"
    assert '"coordinates":[108.45,11.95]' in open(info.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert console.errors == []


def test_a_province_planner_sees_only_its_province(world: World, live_server: str, page: Any) -> None:
    console = Console(page)
    base = live_server
    sign_in(page, base, secret_of(world.keys["planner"]), "/planner/priorities")
    assert NAMES["A"] in text(page) and NAMES["D"] not in text(page)
    page.goto(f"{base}/planner/priorities?province_code=01")
    assert NAMES["D"] not in page.content()
    page.goto(f"{base}/planner/facilities/{world.ids['D']}")
    assert "Không tìm thấy" in text(page) and NAMES["D"] not in page.content()
    page.goto(f"{base}/planner/review")
    assert NAMES["A"] in text(page) and NAMES["D"] not in page.content()
    page.goto(f"{base}/planner/selection")
    boxes = page.locator("input[name=province_code]")
    assert boxes.count() == 1 and boxes.first.get_attribute("value") == "68"
    page.goto(f"{base}/planner/downloads")
    with page.expect_download() as info:
        page.locator("form[action='/planner/downloads/facilities']").get_by_role(
            "button", name="Tải xuống"
        ).click()
    content = open(info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert NAMES["A"] in content and NAMES["D"] not in content and world.ids["D"] not in content
    assert [e for e in console.errors if "404" not in e] == []  # the facility of another province answers 404


def test_sign_out_ends_the_session_and_the_old_cookie_no_longer_works(
    world: World, live_server: str, browser: Any
) -> None:
    base = live_server
    context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    sign_in(page, base, secret_of(world.keys["admin"]))
    cookie = next(c for c in context.cookies() if c["name"] == "kc_planner")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/planner"
    assert page.evaluate("document.cookie").find("kc_planner") == -1  # invisible to scripts
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/planner/sign-in\?signed_out=1"))
    assert "Phiên làm việc đã kết thúc trên máy chủ" in text(page)
    context.close()
    replay = browser.new_context(locale="vi-VN")
    replay.add_cookies(
        [{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite", "secure")}]
    )
    again = replay.new_page()
    again.goto(base + "/planner/priorities")
    assert "/planner/sign-in" in again.url and NAMES["A"] not in again.content()
    replay.close()


def test_posts_without_the_right_csrf_token_are_refused(world: World, live_server: str, page: Any) -> None:
    base = live_server
    sign_in(page, base, secret_of(world.keys["planner"]))
    form = {"profile": "point-project:1", "budget_vnd": "600.000.000", "cost_source": "loans.loan_amount_vnd"}
    for extra in ({}, {"csrf_token": "not-the-token"}):
        r = page.request.post(f"{base}/planner/selection", form={**form, **extra}, max_redirects=0)
        assert r.status == 403 and "Biểu mẫu đã hết hạn" in r.text()
    r = page.request.post(f"{base}/planner/sign-out", form={}, max_redirects=0)
    assert r.status == 403
    # A form on another site posting here: the Strict cookie is not sent, so no session acts on it.
    attack = f"""<!doctype html><form method="post" action="{base}/planner/selection">
        <input name="profile" value="point-project:1"><input name="budget_vnd" value="600.000.000">
        <input name="cost_source" value="loans.loan_amount_vnd"><button>go</button></form>"""
    page.route(
        "http://attacker.example/**", lambda route: route.fulfill(body=attack, content_type="text/html")
    )
    page.goto("http://attacker.example/")
    page.click("button")
    page.wait_for_load_state()
    assert "/planner/sign-in" in page.url
    page.goto(base + "/planner/rankings")
    assert "Chưa có bảng xếp hạng nào được chốt" in text(page)  # nothing was frozen by any of these posts
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    r = page.request.post(
        f"{base}/planner/selection", form={**form, "csrf_token": token or ""}, max_redirects=0
    )
    assert r.status == 303


def test_keyboard_only(world: World, live_server: str, page: Any) -> None:
    base = live_server
    sign_in(page, base, secret_of(world.keys["planner"]), "/planner/priorities")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Bỏ qua đến nội dung"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    seen: list[str] = []
    for _ in range(14):  # through the filters with Tab; every stop shows where it is
        page.keyboard.press("Tab")
        info = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return [e.tagName, e.getAttribute('name') || e.textContent.trim().slice(0, 30), s.outlineStyle, s.outlineWidth,
                    s.boxShadow, e.matches(':focus')]; }""")
        if info[
            5
        ]:  # (not: the date field's own calendar button, inside the control, which Chromium rings itself)
            assert (info[2] != "none" and info[3] != "0px") or info[4] != "none", (
                info
            )  # an outline or a focus ring
        seen.append(f"{info[0]}:{info[1]}")
    assert any(x.startswith("SELECT:sector") for x in seen) and any(
        x.startswith("BUTTON:Xem") for x in seen
    ), seen
    page.focus("select[name=sector]")
    page.keyboard.press("ArrowDown")  # the first sector after "all sectors"
    for _ in range(15):  # on to the Show button, then Enter
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sector=textiles_garments"))
    page.get_by_role("heading", name="1 cơ sở được xếp hạng").wait_for()
    page.wait_for_function(
        "document.activeElement.tagName === 'H2'"
    )  # focus moves to the updated results (on settle)


def test_english_at_one_click(world: World, live_server: str, page: Any) -> None:
    base = live_server
    sign_in(page, base, secret_of(world.keys["planner"]), "/planner/priorities")
    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="3 establishments ranked").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
    nav(page, "Budgeted selection").click()
    assert page.get_by_label("Budget (đồng)").is_visible()
    page.get_by_role("link", name="Tiếng Việt").click()
    assert page.get_by_label("Ngân sách (đồng)").is_visible()


def test_the_facility_page_shows_the_equipment_photo(world: World, live_server: str, page: Any) -> None:
    """A second-edition photo answer: the image is drawn (served through the workspace's route, under the pages'
    Content-Security-Policy), and a planner of another province gets nothing for the same address."""
    console = Console(page)
    base, fo = live_server, world.keys["field_officer"]
    body = {"id": str(uuid.uuid4()), "questionnaire": "technology-demonstration", "version": 1,
            "facility_id": world.ids["A"], "answers": tech_answers("may-rang.png"),
            "collected_at": "2026-11-22T10:00:00+07:00", "location": {"lat": 11.9412, "lon": 108.4431}}  # fmt: skip
    assert httpx.post(f"{base}/api/v1/responses", json=body, headers=fo).status_code == 201
    r = httpx.put(f"{base}/api/v1/responses/{body['id']}/attachments/may-rang.png", content=PNG,
                  headers={**fo, "Content-Type": "image/png"})  # fmt: skip
    assert r.status_code == 201, r.text
    sign_in(page, base, secret_of(world.keys["planner"]), f"/planner/facilities/{world.ids['A']}")
    photo = page.get_by_role("img", name="Ảnh máy móc, thiết bị chính đang vận hành")
    photo.wait_for()
    photo.scroll_into_view_if_needed()  # a lazy image loads once in view
    photo.evaluate("i => i.decode()")  # resolves once the image is decoded (no string eval under the CSP)
    assert photo.evaluate("i => i.naturalWidth") == 1  # the 1×1 PNG, decoded
    to_map = page.locator('a[href^="https://www.openstreetmap.org/?mlat=11.9412&mlon=108.4431"]')
    assert (
        to_map.count() == 1 and to_map.inner_text() == "xem trên bản đồ"
    )  # where the response was collected
    assert console.errors == []
    url = base + photo.get_attribute("src")
    other = page.context.browser.new_context()
    p01 = other.new_page()
    sign_in(p01, base, secret_of(world.keys["planner_01"]))
    answer = p01.request.get(url)
    assert answer.status == 404 and answer.body() != PNG
    other.close()


def test_both_strategies_side_by_side_passed_over_and_what_if(
    world: World, live_server: str, page: Any
) -> None:
    """The selection form's strategy and bounds; the frozen ranking shows both strategies side by side; "what if"
    reopens the form with the ranking's inputs; a tighter eligibility passes over the best-ranked with its reason;
    bounds that cannot all hold are named at their fields."""
    console = Console(page)
    base = live_server
    sign_in(page, base, secret_of(world.keys["planner"]), "/planner/selection")
    page.get_by_label("Bộ tiêu chí chấm điểm").select_option("point-project:1")
    page.get_by_label("Ngân sách (đồng)").fill("600.000.000")
    page.get_by_label("Chi phí hỗ trợ mỗi cơ sở").select_option("loans.loan_amount_vnd")
    page.get_by_label("Theo thứ hạng, từ hạng 1").check()
    page.get_by_role("button", name="Tính và chốt danh sách").click()
    page.wait_for_url(re.compile(r"/planner/rankings/[0-9a-f-]+\?created=1"))
    table = page.locator("#comparison")
    head = re.sub(r"\s+", " ", table.locator("thead").inner_text())
    assert (
        "Tổng điểm lớn nhất (tối ưu chính xác)" in head and "Theo thứ hạng, từ hạng 1 (danh sách này)" in head
    )
    rows = {re.sub(r"\s+", " ", r.inner_text()).strip() for r in table.locator("tbody tr").all()}
    assert any(r == "Cơ sở được chọn 1 1" for r in rows), rows
    assert any(r.startswith("Số tỉnh được hỗ trợ") for r in rows) and any("500.000.000" in r for r in rows)
    assert any(r.startswith("Trong 50 cơ sở đủ điều kiện xếp hạng cao nhất") for r in rows), rows
    assert (
        NAMES["A"] in page.locator("table", has=page.get_by_role("columnheader", name="Chi phí")).inner_text()
    )

    # What if no establishment may cost more than 400 M: the form comes back with this ranking's inputs.
    page.get_by_role("link", name="Nếu thay đổi thì sao: sửa các giới hạn").click()
    page.wait_for_url(re.compile(r"/planner/selection\?from="))
    assert page.get_by_label("Ngân sách (đồng)").input_value() == "600.000.000"
    assert page.get_by_label("Theo thứ hạng, từ hạng 1").is_checked()
    assert page.get_by_label("Chi phí hỗ trợ mỗi cơ sở").input_value() == "loans.loan_amount_vnd"
    page.get_by_label("Chi phí tối đa (đồng)").fill("400.000.000")
    page.get_by_role("button", name="Tính và chốt danh sách").click()
    page.wait_for_url(re.compile(r"/planner/rankings/[0-9a-f-]+\?created=1"))
    passed = page.locator("#passed-over-table")
    assert NAMES["A"] in passed.inner_text()
    assert "Không đủ điều kiện: chi phí vượt mức tối đa" in passed.inner_text()
    assert "1 cơ sở xếp hạng trên cơ sở cuối cùng được chọn đã bị bỏ qua" in text(page)
    assert (
        NAMES["B"] in page.locator("table", has=page.get_by_role("columnheader", name="Chi phí")).inner_text()
    )

    # Bounds that cannot all hold: the page names each one at its field.
    page.get_by_role("link", name="Nếu thay đổi thì sao: sửa các giới hạn").click()
    page.wait_for_url(re.compile(r"/planner/selection\?from="))
    page.get_by_label("Số tỉnh tối thiểu").fill("2")
    page.get_by_role("button", name="Tính và chốt danh sách").click()
    page.locator("#min_provinces-error").wait_for()
    assert page.get_by_label("Số tỉnh tối thiểu").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Số tỉnh tối thiểu").input_value() == "2"  # what was typed stays
    # the refused form is answered 422 (the browser logs that status); nothing else went wrong
    assert [e for e in console.errors if "status of 422" not in e] == [] and len(console.errors) == 1
