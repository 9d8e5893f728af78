"""What each criterion did, as the workspace explains it: a full-width panel in Vietnamese (states, weights,
values in words), one colour per criterion, names instead of codes — in Chromium and through the pages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.facilities.schemas import SECTOR_LABELS
from tests.factories import facility_body, response_body
from tests.planner.conftest import World, secret_of, tech_answers
from tests.planner.test_browser import Console, sign_in, text

pytestmark = pytest.mark.usefixtures("client")


def with_upgrade(world: World) -> None:
    """B plans a 2 bn VND upgrade of its manual workshop (A, C and D plan none or were never asked)."""
    answers = {**tech_answers("may-b.jpg"), "mechanisation_level": "manual", "needs_upgrade": True,
               "upgrade_kind": ["replace_machine"], "upgrade_equipment": "Máy chẻ nan", "upgrade_cost_vnd": 2_000_000_000,
               "jobs_added": 3, "counterpart_funds_vnd": 600_000_000, "counterpart_sources": ["own_funds"],
               "expected_capacity_gain_pct": 30, "expected_quality_gains": ["consistent_quality"]}  # fmt: skip
    answers.pop("equipment_photo")
    body = response_body(world.ids["B"], questionnaire="technology-demonstration", version=1, answers=answers)
    r = world.client.post("/api/v1/responses", json=body, headers=world.keys["field_officer"])
    assert r.status_code == 201, r.text


def test_the_explanation_is_a_readable_full_width_panel(world: World, live_server: str, page: Any) -> None:
    with_upgrade(world)
    tech = response_body(world.ids["A"], questionnaire="technology-demonstration", version=1,
                         answers={k: v for k, v in tech_answers("x.jpg").items() if k != "equipment_photo"})  # fmt: skip
    assert (
        world.client.post("/api/v1/responses", json=tech, headers=world.keys["field_officer"]).status_code
        == 201
    )
    console = Console(page)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, secret_of(world.keys["planner"]), "/planner/priorities")
    body = text(page)
    assert (
        "Phương pháp: tổng có trọng số của các tiêu chí đã chuẩn hoá." in body and "weighted_sum" not in body
    )
    option = page.locator("select[name=profile] option:checked").inner_text()
    assert option.count("phiên bản 3") == 1 and "(v3)" not in option
    # one colour per criterion, in the legend and in the bars
    swatches = page.locator("ul.legend .swatch").evaluate_all("els => els.map(e => e.className)")
    assert len(swatches) == 14 and len(set(swatches)) == 14
    colours = page.locator("ul.legend .swatch").evaluate_all(
        "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    assert len(set(colours)) == 14, colours
    # sector names as the registration form gives them
    assert SECTOR_LABELS["handicrafts"]["vi"] in body

    row = page.locator("tr", has=page.get_by_role("link", name="Xưởng mây tre Bảo Lộc"))
    panel_row = row.locator("xpath=following-sibling::tr[1]")
    panel_row.get_by_text("Vì sao có điểm này").click()
    panel = panel_row.locator("table.explain")
    panel.wait_for()
    results = page.locator("main table.striped").first
    assert panel.bounding_box()["width"] >= 0.9 * results.bounding_box()["width"]
    assert panel.bounding_box()["height"] < 768  # fits a laptop's screen
    headers = panel.locator("thead th").all_inner_texts()
    assert headers[:7] == [
        "Tiêu chí",
        "Giá trị",
        "Tình trạng",
        "Chuẩn hoá",
        "Trọng số",
        "Trọng số áp dụng",
        "Cộng vào điểm",
    ]
    assert (
        panel.locator("thead th[title]")
        .evaluate_all("els => els.map(e => e.title)")[0]
        .startswith("Giá trị trên thang")
    )

    def cells(cid: str) -> list[str]:
        return panel.locator(f"tr[data-criterion={cid}] td").all_inner_texts()

    # B plans an upgrade: its manual workshop reads as the choice's label, the share of counterpart funds as a
    # percentage; a yes/no as Có/Không; money as money
    assert cells("technology_gap")[0] == "Thủ công hoàn toàn" and cells("technology_gap")[1] == "có trả lời"
    assert cells("counterpart_readiness")[0] == "30,0%" and cells("counterpart_readiness")[2] == "100,0%"
    assert cells("demonstration_host")[0] == "Không"
    assert cells("inclusive_workforce")[1] == "thiếu"  # asked by market-needs, never answered
    assert cells("demonstration_reach")[1] == "không áp dụng"  # B hosts no demonstration model
    assert (
        cells("demonstration_reach")[2] == "50,0%"
        and cells("demonstration_reach")[3] == cells("demonstration_reach")[4]
    )
    assert not re.search(r"\d,\d{4}\b", panel.inner_text())  # no "1,0000" / "0,5116"
    # the state badges explain themselves in Vietnamese
    na = panel.locator("tr[data-criterion=demonstration_reach] .badge")
    assert (
        na.get_attribute("title") == "Tiêu chí không áp dụng cho cơ sở này (điều kiện áp dụng không thoả mãn)"
    )
    # A plans no upgrade: "không áp dụng", never "thiếu", for every upgrade criterion
    a_row = page.locator("tr", has=page.get_by_role("link", name="Cơ sở cà phê Cầu Đất"))
    a_panel = a_row.locator("xpath=following-sibling::tr[1]")
    a_panel.get_by_text("Vì sao có điểm này").click()
    for cid in (
        "technology_gap",
        "equipment_age",
        "investment_weight",
        "counterpart_readiness",
        "jobs_created",
    ):
        assert a_panel.locator(f"tr[data-criterion={cid}] td").nth(1).inner_text() == "không áp dụng", cid
    assert "thiếu: Mức thủ công" not in text(page)
    assert console.errors == []


def test_ward_and_sector_names_on_the_facility_page(world: World) -> None:
    fo = world.keys["field_officer"]
    r = world.client.post("/api/v1/facilities", headers=fo,
                          json=facility_body(name="Xưởng nước mắm Mũi Né", province_code="68", ward_code="22918"))  # fmt: skip
    assert r.status_code == 201, r.text
    c, _ = world.browser("planner")
    page = c.get(f"/planner/facilities/{r.json()['id']}")
    assert page.status_code == 200
    assert "Phường Mũi Né, Lâm Đồng" in page.text and "22918" not in page.text.split("<main", 1)[1]
    assert SECTOR_LABELS["agro_food_processing"]["vi"] in page.text


def test_a_facility_registered_through_a_form_link_names_the_link(world: World) -> None:
    link = world.client.post("/api/v1/form-links", headers=world.keys["admin"], json={
        "name": "Cổng TTĐT Sở Công Thương Lâm Đồng", "questionnaires": ["loans"], "province_code": "68"}).json()  # fmt: skip
    body = response_body("", answers={"needs_loan": False})
    del body["facility_id"]
    body["facility"] = facility_body(name="Xưởng chè Bảo Lộc", tax_code="5800123456")
    r = world.client.post(
        "/api/v1/responses", json=body, headers={"Authorization": f"Bearer {link['token']}"}
    )
    assert r.status_code == 201, r.text
    c, _ = world.browser("planner")
    page = c.get(f"/planner/facilities/{r.json()['facility_id']}")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1]
    assert "đường liên kết biểu mẫu “Cổng TTĐT Sở Công Thương Lâm Đồng”" in main and link["id"] not in main
