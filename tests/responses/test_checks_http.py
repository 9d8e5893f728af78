"""Checks across answers through every route: JSON single and batch, OpenRosa, the hosted page's form link; an
older version (no checks) still stores what the new one refuses."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from app.questionnaires.definition import load_dir
from tests.conftest import assert_problem
from tests.factories import facility_body
from tests.openrosa.persons import completed

URL = "/api/v1/responses"
DEFS, _ = load_dir(Path(__file__).resolve().parents[2] / "survey_schemas")
MARKET = DEFS[("market-needs", 3)]
VI = "Số lao động nữ không được lớn hơn tổng số lao động thường xuyên."
EN = "Women workers cannot exceed all regular workers."


@pytest.fixture
def fo(make_key):  # type: ignore[no-untyped-def]
    return make_key("field_officer", provinces=["68"], name="fo")


@pytest.fixture
def fid(client, fo) -> str:  # type: ignore[no-untyped-def]
    return str(client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"])


def body(fid: str, questionnaire: str, version: int, answers: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "questionnaire": questionnaire, "version": version, "facility_id": fid,
            "collected_at": "2026-11-20T08:30:00+07:00", "answers": answers}  # fmt: skip


def twelve_women_among_five() -> dict[str, Any]:
    good = completed(
        MARKET, {"workers_total": 5, "workers_female": 5, "workers_rural": 5, "workers_ethnic_minority": 0}
    )
    return {**good, "workers_female": 12}


def check_errors(problem: dict[str, Any]) -> list[dict[str, str]]:
    return [e for e in problem["errors"] if e.get("code") == "check_failed"]


def test_json_single_vietnamese_by_default_english_when_asked(client, fo, fid) -> None:
    answers = twelve_women_among_five()
    p = assert_problem(client.post(URL, json=body(fid, "market-needs", 3, answers), headers=fo), 422)
    assert check_errors(p) == [
        {"path": "answers.workers_total", "code": "check_failed", "check": "women_within_workforce", "message": VI},
        {"path": "answers.workers_female", "code": "check_failed", "check": "women_within_workforce", "message": VI},
    ]  # fmt: skip
    assert p["errors"] == check_errors(p)  # nothing else is wrong
    en = client.post(
        URL, json=body(fid, "market-needs", 3, answers), headers={**fo, "Accept-Language": "en-GB,en;q=0.9"}
    )
    assert {e["message"] for e in assert_problem(en, 422)["errors"]} == {EN}
    # the same answers, corrected: stored
    ok = client.post(URL, json=body(fid, "market-needs", 3, {**answers, "workers_female": 5}), headers=fo)
    assert ok.status_code == 201, ok.text


def test_batch_item_names_its_index(client, fo, fid) -> None:
    good = {**twelve_women_among_five(), "workers_female": 3}
    items = [body(fid, "market-needs", 3, good), body(fid, "market-needs", 3, twelve_women_among_five())]
    r = client.post(f"{URL}/batch", json={"items": items}, headers={**fo, "Accept-Language": "en"})
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["status"] == "created"
    assert second["status"] == "invalid"
    assert [(e["path"], e["code"], e["check"], e["message"]) for e in second["errors"]] == [
        ("items.1.answers.workers_total", "check_failed", "women_within_workforce", EN),
        ("items.1.answers.workers_female", "check_failed", "women_within_workforce", EN),
    ]


def test_loans_counterpart_and_loan_within_the_plan_new_version_only(client, fo, fid) -> None:
    """900 M of own funds for a 100 M plan and a 5 bn loan: refused by v4, still stored under v3 (no checks)."""
    v4 = completed(DEFS[("loans", 4)], {"planned_investment_vnd": 100_000_000, "investment_own_funds_vnd": 90_000_000,
                                        "needs_loan": True, "loan_amount_vnd": 50_000_000})  # fmt: skip
    bad = {**v4, "investment_own_funds_vnd": 900_000_000, "loan_amount_vnd": 5_000_000_000}
    p = assert_problem(client.post(URL, json=body(fid, "loans", 4, bad), headers=fo), 422)
    assert {(e["path"], e["check"]) for e in check_errors(p)} == {
        ("answers.planned_investment_vnd", "own_funds_within_investment"),
        ("answers.investment_own_funds_vnd", "own_funds_within_investment"),
        ("answers.planned_investment_vnd", "loan_within_investment"),
        ("answers.loan_amount_vnd", "loan_within_investment"),
    }
    old = {k: v for k, v in bad.items() if k in {q.id for q in DEFS[("loans", 3)].questions}}
    old = {**old, "counterpart_funds_vnd": 900_000_000}
    old.pop("investment_own_funds_vnd", None)
    v3 = completed(DEFS[("loans", 3)], old)
    stored = client.post(URL, json=body(fid, "loans", 3, v3), headers=fo)
    assert stored.status_code == 201, stored.text


def test_openrosa_says_it_in_vietnamese_at_the_question(client, make_key) -> None:
    from tests.openrosa.collect import message, post
    from tests.openrosa.persons import engine_answers, in_choice_order
    from tests.openrosa.test_collect import Phone, facility

    fid = facility(client, make_key)
    phone = Phone(client, make_key)
    entered, files = engine_answers(MARKET, in_choice_order(MARKET, twelve_women_among_five()))
    filled = phone.fill("market-needs", {"facility_id": fid, **entered}, files)
    assert [v["name"] for v in filled["violations"]] == ["workers_female"]  # Collect would not let it go
    r = post(client, phone.auth, filled["xml"], filled["attachments"])  # a client the form does not govern
    assert r.status_code == 400
    said = message(r)
    assert said.startswith("Bản ghi chưa được nhận: 2 câu trả lời chưa hợp lệ."), said
    assert (
        f"Trong đó: lao động nữ: {VI.rstrip('.')}." in said
        and f"Tổng số lao động thường xuyên của cơ sở: {VI.rstrip('.')}" in said
    )


def test_form_link_route_gives_the_422_shape(client, admin, fid) -> None:
    r = client.post("/api/v1/form-links", json={"name": "Cổng Lâm Đồng", "questionnaires": ["market-needs"],
                                                 "province_code": "68"}, headers=admin)  # fmt: skip
    assert r.status_code == 201, r.text
    link = {"Authorization": f"Bearer {r.json()['token']}", "Origin": "https://portal.example.gov.vn"}
    page = body(fid, "market-needs", 3, twelve_women_among_five())
    page.pop("facility_id")
    page["facility"] = facility_body(tax_code=None, name="Cơ sở mây tre đan Thanh Hà")
    p = assert_problem(client.post(URL, json=page, headers={**link, "Accept-Language": "vi"}), 422)
    assert [(e["path"], e["code"], e["check"]) for e in p["errors"]] == [
        ("answers.workers_total", "check_failed", "women_within_workforce"),
        ("answers.workers_female", "check_failed", "women_within_workforce"),
    ]
    assert {e["message"] for e in p["errors"]} == {VI}
    en = client.post(f"{URL}?lang=en", json=page, headers=link)
    assert {e["message"] for e in assert_problem(en, 422)["errors"]} == {EN}
