"""The hosted form page in a real browser (Debian's Chromium), inside an <iframe> of a portal on another origin,
against a real server process on the test database — on SQLite and PostgreSQL alike.

A person fills every published questionnaire (and the test-only one that has every question type: a location
and a file besides photos): nothing is answered before they answer it, relevance follows their answers, "none"
unticks the other choices, the server's error appears at its question in Vietnamese with nothing typed lost, a
double click and a dropped connection make no duplicate, and exactly the answers they gave are stored, once,
with the photos and files they chose.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.core.config import ROOT
from app.core.db import session_scope
from app.models import Facility, FormLink
from app.places import service as places
from app.questionnaires.definition import Definition
from app.questionnaires.registry import Registry
from app.questionnaires.validator import compile_condition
from tests.factories import facility_body, fit_parts, pattern_example
from tests.live import free_port, serve
from tests.schemas_app import TEST_ONLY


def _schemas_with_test_forms() -> Path:
    """survey_schemas/ plus the test-only questionnaire (site-visit: a location, a photo and a file)."""
    root = Path(tempfile.mkdtemp(prefix="kc-embed-schemas-")) / "survey_schemas"
    shutil.copytree(ROOT / "survey_schemas", root)
    for folder in TEST_ONLY.iterdir():
        shutil.copytree(folder, root / folder.name)
    return root


SCHEMAS = _schemas_with_test_forms()
REGISTRY = Registry.load(SCHEMAS)
# What an establishment reports through its portal: every published questionnaire but project-results, which
# reports on a point project that supports the establishment (a new establishment has none: tests/point_projects).
PUBLISHED = [
    d
    for d in (REGISTRY.latest_published(k) for k in REGISTRY.keys if k != "project-results")
    if d is not None
]
TIMEOUT_MS = 30_000
MAX_ATTACHMENT_BYTES = 200_000  # the live server's limit here, so a "too large" photo stays small


class _Portal(BaseHTTPRequestHandler):
    """A provincial portal's page: its own origin, the form page in an iframe (`?src=`), or exactly the HTML a
    form link's `iframe` gives to paste (`?paste=`: the frame and the script that sizes it)."""

    def do_GET(self) -> None:  # noqa: N802
        query = parse_qs(urlparse(self.path).query)
        src = query.get("src", [""])[0]
        head = '<!doctype html><meta charset="utf-8"><title>Sở Công Thương</title><h1>Cổng thông tin</h1>'
        if "paste" in query:
            html = f"{head}{query['paste'][0]}<footer>Sở Công Thương</footer>"
        else:
            html = (f'{head}<iframe id="kc" src="{escape(src)}" style="width:100%;height:1400px;border:0" '
                    'allow="geolocation"></iframe>')  # fmt: skip
        body = html.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _portal_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Portal)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def portal() -> Iterator[str]:
    """The portal listed in CORS_ORIGINS."""
    yield from _portal_server()


@pytest.fixture(scope="module")
def foreign() -> Iterator[str]:
    """Some other site, not listed."""
    yield from _portal_server()


@pytest.fixture(scope="module")
def server(portal: str) -> Iterator[str]:
    """The live server, with the test-only questionnaire too (it has every question type)."""
    env = {
        "CORS_ORIGINS": portal,
        "SCHEMAS_DIR": str(SCHEMAS),
        "MAX_ATTACHMENT_BYTES": str(MAX_ATTACHMENT_BYTES),
    }
    with serve(env) as base:
        yield base


# -- what a person answers -----------------------------------------------------------------------------------


def answers_for(d: Definition) -> dict[str, Any]:
    """Every question that applies: required yes/no "Có" (so what depends on them appears), optional ones
    "Không"; the last choice of a select; for a multiple choice its exclusive "none" alone where no other question
    depends on it, else its first and last other choices; numbers inside their bounds; text of the form a
    pattern asks; a location; a photo or file named after its question."""
    types = {q.id: q.type for q in d.questions}
    depended_on = {c["question"] for q in d.questions if q.relevant for c in _conditions(q.relevant)}
    out: dict[str, Any] = {}
    for q in d.questions:
        if q.relevant and not compile_condition(q.relevant, types)(out):
            continue
        if q.type == "boolean":
            out[q.id] = q.required
        elif q.type == "integer":
            lo, hi = int(q.min or 0), int(q.max if q.max is not None else 10**12)
            out[q.id] = lo + 1_234_567 if lo + 1_234_567 <= hi else (lo + hi) // 2
        elif q.type == "decimal":
            out[q.id] = 12.5
        elif q.type == "text":
            out[q.id] = pattern_example(q.pattern) if q.pattern else "Cà phê, chè Cầu Đất"
        elif q.type == "date":
            out[q.id] = "2026-05-17"
        elif q.type == "geopoint":
            out[q.id] = {"lat": 11.9404, "lon": 108.4583, "accuracy_m": 15}
        elif q.type in ("image", "file"):
            out[q.id] = f"{q.id}.{'jpg' if q.type == 'image' else 'pdf'}"
        elif q.type == "select_one":
            out[q.id] = q.choice_codes[-1]
        elif q.type == "select_multiple":
            plain = [c for c in q.choice_codes if c not in q.exclusive_codes]
            if q.exclusive_codes and q.id not in depended_on:
                out[q.id] = [q.exclusive_codes[0]]
            else:
                out[q.id] = sorted({plain[0], plain[-1]}, key=q.choice_codes.index)
        else:
            raise AssertionError(f"answers_for: no answer for question type {q.type!r} ({d.key}.{q.id})")
    return fit_parts(d, out)  # parts within their totals, as the version's checks across answers ask


def _conditions(cond: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in cond or "any" in cond:
        return [c for part in cond.get("all", cond.get("any", [])) for c in _conditions(part)]
    return [cond]


def file_for(name: str) -> dict[str, Any]:
    """The bytes a person picks for a photo (JPEG) or a file (PDF) question, named as its answer says."""
    if name.endswith(".pdf"):
        return {
            "name": name,
            "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n% " + name.encode() + b"\n%%EOF\n",
        }
    return {"name": name, "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0JFIF " + name.encode() * 40}


def vi_number(v: int | float) -> str:
    """How a Vietnamese person types it: thousands grouped with dots, decimals after a comma."""
    if isinstance(v, int):
        return f"{v:,}".replace(",", ".")
    return str(v).replace(".", ",")


def fill_answers(frame: Any, d: Definition, answers: dict[str, Any]) -> None:
    for q in d.questions:
        if q.id not in answers:
            continue
        v, base = answers[q.id], f"#root_answers_{q.id}"
        if q.type == "boolean":
            frame.locator(f"{base}-{0 if v else 1}").check()
        elif q.type == "select_one":
            frame.locator(f"{base}-{q.choice_codes.index(v)}").check()
        elif q.type == "select_multiple":
            if len(v) == 1 and v[0] in q.exclusive_codes:
                # "none" after another choice: the other is unticked, and stays disabled while "none" is ticked
                other = frame.locator(f"{base}-0")
                other.check()
                frame.locator(f"{base}-{q.choice_codes.index(v[0])}").check()
                assert not other.is_checked() and other.is_disabled(), q.id
            else:
                for code in v:
                    frame.locator(f"{base}-{q.choice_codes.index(code)}").check()
        elif q.type in ("integer", "decimal"):
            frame.locator(base).fill(vi_number(v))
        elif q.type == "geopoint":
            for k in ("lat", "lon", "accuracy_m"):
                frame.locator(f"{base}_{k}").fill(vi_number(v[k]))
        elif q.type in ("image", "file"):
            frame.locator(base).set_input_files(file_for(v))
            frame.locator(".kc-file-chosen", has_text=v).wait_for()
        else:
            frame.locator(base).fill(v)


def fill_facility(frame: Any, *, tax_code: str) -> None:
    frame.locator("#root_facility_tax_code").fill(tax_code)
    frame.locator("#root_facility_name").fill("HTX cà phê Cầu Đất")
    frame.get_by_label("Hợp tác xã", exact=True).check()
    frame.get_by_label("Chế biến nông, lâm, thủy sản, thực phẩm").check()
    frame.locator("#root_facility_ward_code").select_option(label=places.wards("68")["22933"]["name"])  # type: ignore[index]


def assert_nothing_answered(frame: Any) -> None:
    assert frame.locator("input:checked").count() == 0
    for el in frame.locator("input[type=text], textarea").all():
        assert el.input_value() == ""
    for el in frame.locator("select").all():
        assert el.input_value() == ""


def open_in_portal(page: Any, portal: str, url: str) -> Any:
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{portal}/?src={url}")
    frame = page.frame_locator("#kc")
    frame.locator("html[data-kc-ready]").wait_for(state="attached")
    return frame


def create_link(admin: dict[str, str], server: str, **over: Any) -> dict[str, Any]:
    """A link made through the live server's API (which serves the test-only questionnaire too)."""
    body = {
        "name": "Cổng Lâm Đồng",
        "province_code": "68",
        "questionnaires": [d.key for d in PUBLISHED],
        **over,
    }
    r = httpx.post(f"{server}/api/v1/form-links", json=body, headers=admin)
    assert r.status_code == 201, r.text
    link: dict[str, Any] = r.json()
    assert (
        link["url"] == f"{server}/embed/{link['token']}"
        and 'allow="geolocation; clipboard-write"' in link["iframe"]
    )
    return link


def stored(server: str, admin: dict[str, str]) -> list[dict[str, Any]]:
    r = httpx.get(f"{server}/api/v1/responses", params={"limit": 1000}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def attachments(server: str, admin: dict[str, str], response_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server}/api/v1/responses/{response_id}/attachments", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def shown(q: Any, v: Any) -> str:
    """An answer as the page shows it read-only: choice labels, Có/Không, numbers as typed in Vietnamese with
    their unit, a location part by part, a date as dd/mm/yyyy, a file by its name."""
    label = {c.code: c.label["vi"] for c in q.choices}
    unit = f" {q.unit['vi']}" if q.unit else ""
    if q.type == "boolean":
        return "Có" if v else "Không"
    if q.type == "select_one":
        return label[v]
    if q.type == "select_multiple":
        return "; ".join(label[c] for c in v)
    if q.type in ("integer", "decimal"):
        return vi_number(v) + unit
    if q.type == "geopoint":
        names = {"lat": "Vĩ độ", "lon": "Kinh độ", "accuracy_m": "Độ chính xác (m)"}
        return "; ".join(f"{names[k]} {vi_number(v[k])}" for k in names if k in v)
    if q.type == "date":
        y, m, day = v.split("-")
        return f"{day}/{m}/{y}"
    return str(v)


def shown_answers(key: str, answers: dict[str, Any]) -> list[tuple[str, str]]:
    d = REGISTRY.latest_published(key)
    assert d is not None
    return [(q.label["vi"], shown(q, answers[q.id])) for q in d.questions if q.id in answers]


# What fill_facility typed, as the page shows it.
FACILITY_SHOWN = [
    ("Mã số thuế", "5800111222"),
    ("Tên cơ sở", "HTX cà phê Cầu Đất"),
    ("Loại hình cơ sở", "Hợp tác xã"),
    ("Ngành nghề chính", "Chế biến nông, lâm, thủy sản, thực phẩm"),
    ("Xã, phường, đặc khu", places.wards("68")["22933"]["name"]),  # type: ignore[index]
]

_VI_LETTERS = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = {
    "\u0300",
    "\u0301",
    "\u0303",
    "\u0309",
    "\u0323",
}  # huyền, sắc, ngã, hỏi, nặng: secondary differences


def vi_primary(name: str) -> tuple[tuple[int, int], ...]:
    """Vietnamese alphabetical order, letters only (tones and case ignored): a < ă < â, d < đ, e < ê, o < ô < ơ,
    u < ư; spaces, then punctuation, then numbers (by value) before letters — as CLDR's collation for "vi"."""
    base = unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", name.lower()) if c not in _TONES)
    )
    out: list[tuple[int, int]] = []
    for m in re.finditer(r"\d+|.", base):
        tok = m.group()
        if tok.isdigit():
            out.append((2, int(tok)))
        elif tok.isspace():
            out.append((0, 0))
        elif tok in _VI_LETTERS:
            out.append((3, _VI_LETTERS.index(tok)))
        else:
            out.append((1, ord(tok)))
    return tuple(out)


# -- the tests -------------------------------------------------------------------------------------------------


def test_every_published_questionnaire_through_a_portal_iframe(client, admin, server, portal, page) -> None:
    link = create_link(admin, server)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    posts: list[dict[str, Any]] = []

    def network(route: Any) -> None:
        body = json.loads(route.request.post_data)
        posts.append(body)
        if len(posts) == 1:  # a stale or tampered client: the server's own check answers, at its question
            body["answers"]["loan_amount_vnd"] = 5
            route.continue_(post_data=json.dumps(body))
        elif len(posts) == 2:  # the server stores it, the answer never arrives
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/responses", network)
    frame = open_in_portal(page, portal, link["url"])
    assert_nothing_answered(frame)
    fill_facility(frame, tax_code="5800123456")

    received: dict[str, str] = {}
    expected: dict[str, dict[str, Any]] = {}
    for d in PUBLISHED:
        frame.get_by_role("button", name=d.title["vi"]).click()
        frame.locator(
            f"#root_answers_{d.questions[0].id}, #root_answers_{d.questions[0].id}-0"
        ).first.wait_for()
        assert_nothing_answered(frame.locator("#root_answers"))
        answers = expected[d.key] = answers_for(d)
        fill_answers(frame, d, answers)
        if d.key == "loans":
            # Relevance, live: "Không" hides the loan questions, "Có" brings them back with what was typed.
            frame.locator("#root_answers_needs_loan-1").check()
            assert frame.locator("#root_answers_loan_amount_vnd").count() == 0
            frame.locator("#root_answers_needs_loan-0").check()
            assert frame.locator("#root_answers_loan_amount_vnd").input_value() == vi_number(
                answers["loan_amount_vnd"]
            )
            frame.get_by_role("button", name="Gửi phiếu").click()
            error = frame.locator(".kc-has-error", has=frame.locator("#root_answers_loan_amount_vnd"))
            error.locator(".kc-field-errors").wait_for()
            assert error.locator(".kc-field-errors").inner_text() == "Giá trị nhỏ nhất là 10.000.000 đồng."
            assert "Máy chủ chưa nhận phiếu" in frame.locator(".kc-status").inner_text()
            assert frame.locator("#root_answers_loan_amount_vnd").input_value() == vi_number(
                answers["loan_amount_vnd"]
            )
            assert frame.locator("#root_facility_name").input_value() == "HTX cà phê Cầu Đất"
            frame.get_by_role("button", name="Gửi phiếu").dblclick()
        else:
            frame.get_by_role("button", name="Gửi phiếu").click()
        receipt = frame.locator(".kc-receipt")
        receipt.wait_for()
        assert d.title["vi"] in receipt.inner_text()
        received[d.key] = receipt.get_attribute("data-response-id")
        assert received[d.key] in receipt.inner_text()
        if any(q.type in ("image", "file") and q.id in answers for q in d.questions):
            # the photos and files go up once their response is stored
            receipt.locator(".kc-uploads[data-attachments=done]").wait_for()

    # The tampered post, the dropped one and its retry: the same id twice, no other; one post per other form.
    loans_posts = [p for p in posts if p["questionnaire"] == "loans"]
    assert (
        len(loans_posts) == 3
        and loans_posts[1] == loans_posts[2]
        and loans_posts[1]["id"] == received["loans"]
    )
    assert len(posts) == 3 + len(PUBLISHED) - 1
    rows = stored(server, admin)
    assert sorted(r["questionnaire"] for r in rows) == sorted(d.key for d in PUBLISHED)
    for r in rows:
        assert r["id"] == received[r["questionnaire"]]
        assert r["answers"] == expected[r["questionnaire"]], r["questionnaire"]
        assert r["province_code"] == "68"
        d = REGISTRY.latest_published(r["questionnaire"])
        assert d is not None
        names = sorted(
            r["answers"][q.id] for q in d.questions if q.type in ("image", "file") and q.id in r["answers"]
        )
        files = attachments(server, admin, r["id"])
        assert sorted(a["name"] for a in files["items"]) == names and files["missing"] == [], r[
            "questionnaire"
        ]
        for a in files["items"]:
            f = file_for(a["name"])
            assert (a["content_type"], a["size"]) == (f["mimeType"], len(f["buffer"]))
            got = httpx.get(f"{server}/api/v1/responses/{r['id']}/attachments/{a['name']}", headers=admin)
            assert got.content == f["buffer"]
    # the photos of three questionnaires, the location and file of the test-only one were all answered
    answered = {q.type for d in PUBLISHED for q in d.questions if q.id in expected[d.key]}
    assert {"image", "file", "geopoint"} <= answered
    assert len({r["facility_id"] for r in rows}) == 1
    with session_scope() as s:
        f = s.execute(select(Facility).where(Facility.id == rows[0]["facility_id"])).scalar_one()
        assert (f.name, f.tax_code, f.kind, f.sector, f.ward_code) == (
            "HTX cà phê Cầu Đất", "5800123456", "cooperative", "agro_food_processing", "22933")  # fmt: skip
        count = s.execute(select(FormLink.submission_count).where(FormLink.id == link["id"])).scalar_one()
    assert count == len(PUBLISHED)
    assert "Cơ sở đã gửi tất cả các phiếu" in frame.locator(".kc-receipt").inner_text()
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console


def test_a_server_only_error_shows_at_its_question_and_nothing_typed_is_lost(client, admin, make_key, server, portal, page) -> None:  # fmt: skip
    """A tax code already registered in another province: only the server knows; its error is at the tax code,
    named in the summary, and the page says what the establishment can do next (and can copy its answers)."""
    hanoi = make_key("field_officer", provinces=["01"])
    assert client.post("/api/v1/facilities", json=facility_body(province_code="01", tax_code="0101234567"),
                       headers=hanoi).status_code == 201  # fmt: skip
    link = create_link(admin, server, questionnaires=["packaging"])
    frame = open_in_portal(page, portal, link["url"])
    fill_facility(frame, tax_code="0101234567")
    d = REGISTRY.latest_published("packaging")
    assert d is not None
    answers = answers_for(d)
    fill_answers(frame, d, answers)
    frame.get_by_role("button", name="Gửi phiếu").click()
    tax = frame.locator(".kc-has-error", has=frame.locator("#root_facility_tax_code"))
    tax.locator(".kc-field-errors").wait_for()
    assert tax.locator(".kc-field-errors").inner_text() == (
        "Mã số thuế này đã được đăng ký ở tỉnh khác, không thể kê khai qua biểu mẫu này."
    )
    assert frame.locator(".kc-errors li").all_inner_texts() == [
        "Mã số thuế: Mã số thuế này đã được đăng ký ở tỉnh khác, không thể kê khai qua biểu mẫu này."
    ]
    status = frame.locator(".kc-status")
    assert status.locator("p").first.inner_text() == (
        "Máy chủ chưa nhận phiếu: mã số thuế 0101234567 đã được đăng ký cho một cơ sở ở tỉnh khác, nên không kê "
        "khai được qua biểu mẫu của Lâm Đồng. Cơ sở có thể:"
    )
    assert status.locator("li").all_inner_texts() == [
        "Kiểm tra lại mã số thuế: nếu gõ nhầm, sửa lại rồi bấm “Gửi phiếu”.",
        "Nếu mã số thuế đúng (ví dụ cơ sở đã chuyển trụ sở về Lâm Đồng), liên hệ Sở Công Thương Lâm Đồng để "
        "được cập nhật thông tin cơ sở, rồi gửi lại phiếu.",
        "Những gì đã nhập vẫn được giữ nguyên; bấm “Sao chép” để chép lại tất cả câu trả lời.",
    ]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    status.get_by_role("button", name="Sao chép").click()
    expect(status.locator(".kc-copy-status")).to_have_text("Đã sao chép tất cả câu trả lời.")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    for label, value in [("Mã số thuế", "0101234567"), *shown_answers("packaging", answers)]:
        assert f"- {label}: {value}\n" in copied, label
    assert frame.locator("#root_answers_packaging_budget_vnd").input_value() == vi_number(
        answers["packaging_budget_vnd"]
    )
    assert stored(server, admin) == []
    frame.locator("#root_facility_tax_code").fill("5800765432")
    assert frame.locator(".kc-field-errors").count() == 0  # changing the answer clears the server's error
    frame.get_by_role("button", name="Gửi phiếu").click()
    frame.locator(".kc-receipt").wait_for()
    assert [r["answers"] for r in stored(server, admin)] == [answers]


def test_switching_to_english_keeps_what_was_typed(client, admin, server, portal, page) -> None:
    link = create_link(admin, server, questionnaires=["loans"])
    frame = open_in_portal(page, portal, link["url"])
    frame.locator("#root_facility_name").fill("Xưởng mộc Đức Trọng")
    frame.locator("#root_answers_needs_loan-0").check()
    frame.locator("#root_answers_loan_amount_vnd").fill("750.000.000")
    assert frame.locator(".kc-reading").inner_text() == "= 750 triệu đồng"
    frame.get_by_role("link", name="English").click()
    frame.locator("html[lang=en]").wait_for(state="attached")
    frame.get_by_text("Does the establishment need a loan in the next 2 years?").wait_for()
    assert frame.locator("#root_facility_name").input_value() == "Xưởng mộc Đức Trọng"
    assert frame.locator("#root_answers_loan_amount_vnd").input_value() == "750,000,000"
    assert frame.locator(".kc-reading").inner_text() == "= 750 million VND"
    assert frame.locator("#root_answers_needs_loan-0").is_checked()
    frame.get_by_role("button", name="Send").click()
    assert "Choose at least one option." in frame.locator(".kc-errors").inner_text()
    assert stored(server, admin) == []


def test_opened_on_its_own_the_page_keeps_what_was_typed_across_a_reload(client, admin, server, page) -> None:
    """Sent by Zalo or e-mail rather than framed: the tab's own storage keeps the answers through a reload."""
    link = create_link(admin, server, questionnaires=["loans"])
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(link["url"])
    page.locator("html[data-kc-ready]").wait_for(state="attached")
    assert page.title() == "Khảo sát nhu cầu hỗ trợ khuyến công"
    page.locator("#root_facility_name").fill("Xưởng mộc Đức Trọng")
    page.locator("#root_answers_needs_loan-0").check()
    page.locator("#root_answers_loan_amount_vnd").fill("750000000")
    # The draft is written by an effect after the render: reload only once the tab's storage holds it.
    page.wait_for_function("() => Object.values(sessionStorage).some((v) => v.includes('750000000'))")
    page.reload()
    page.locator("html[data-kc-ready]").wait_for(state="attached")
    assert page.locator("#root_facility_name").input_value() == "Xưởng mộc Đức Trọng"
    assert page.locator("#root_answers_needs_loan-0").is_checked()
    assert page.locator("#root_answers_loan_amount_vnd").input_value() == "750.000.000"


def test_a_link_revoked_while_the_page_is_open_keeps_every_answer_readable_and_copyable(
    client, admin, server, portal, page
) -> None:
    """The page says "Những gì đã nhập vẫn còn trên trang này": every answer of every questionnaire stays on it,
    read-only, as the form showed it, and "Sao chép" copies them all as text."""
    link = create_link(admin, server, questionnaires=["loans", "site-visit"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    frame = open_in_portal(page, portal, link["url"])
    fill_facility(frame, tax_code="5800111222")
    typed: dict[str, dict[str, Any]] = {}
    for key in ("loans", "site-visit"):
        d = REGISTRY.latest_published(key)
        assert d is not None
        frame.get_by_role("button", name=d.title["vi"]).click()
        frame.locator(f"#root_answers_{d.questions[0].id}").wait_for()
        typed[key] = answers_for(d)
        fill_answers(frame, d, typed[key])
    assert client.post(f"/api/v1/form-links/{link['id']}/revoke", headers=admin).status_code == 200
    frame.get_by_role("button", name="Gửi phiếu").click()
    closed = frame.locator(".kc-closed[data-link-state=revoked]")
    closed.wait_for()
    assert "Đường dẫn biểu mẫu này đã bị thu hồi" in closed.inner_text()
    assert "Những gì đã nhập vẫn còn trên trang này." in closed.inner_text()
    kept = frame.locator(".kc-kept")
    # read-only: nothing to type into, no form to send
    assert kept.locator("input, select, textarea").count() == 0 and frame.locator("form").count() == 0
    expected = {"facility": FACILITY_SHOWN} | {k: shown_answers(k, a) for k, a in typed.items()}
    for block, lines in expected.items():
        shown = kept.locator(f"[data-kept='{block}'] .kc-kept-line")
        got = [(x.locator("dt").inner_text(), x.locator("dd").inner_text()) for x in shown.all()]
        assert got == lines, block
    frame.get_by_role("button", name="Sao chép").click()
    assert frame.locator(".kc-copy-status").inner_text() == "Đã sao chép tất cả câu trả lời."
    copied = page.evaluate("() => navigator.clipboard.readText()")
    for block, lines in expected.items():
        title = "Thông tin cơ sở" if block == "facility" else REGISTRY.latest_published(block).title["vi"]  # type: ignore[union-attr]
        assert "\n".join([title, *(f"- {label}: {value}" for label, value in lines)]) in copied, block
    assert stored(server, admin) == []
    page.reload()
    frame = page.frame_locator("#kc")
    frame.locator("html[data-kc-ready]").wait_for(state="attached")
    assert "Đường dẫn biểu mẫu này đã bị thu hồi" in frame.locator(".kc-closed").inner_text()


def test_a_full_link_stops_taking_responses(client, admin, server, portal, page) -> None:
    link = create_link(admin, server, questionnaires=["loans", "pollution"], max_submissions=1)
    frame = open_in_portal(page, portal, link["url"])
    fill_facility(frame, tax_code="5800333444")
    loans = REGISTRY.latest_published("loans")
    assert loans is not None
    fill_answers(frame, loans, answers_for(loans))
    frame.get_by_role("button", name="Gửi phiếu").click()
    frame.locator(".kc-receipt").wait_for()
    d = REGISTRY.latest_published("pollution")
    assert d is not None
    fill_answers(frame, d, answers_for(d))
    frame.get_by_role("button", name="Gửi phiếu").click()
    closed = frame.locator(".kc-closed[data-link-state=exhausted]")
    closed.wait_for()
    assert "đã nhận đủ số phiếu" in closed.inner_text()
    assert [r["questionnaire"] for r in stored(server, admin)] == ["loans"]


def test_another_site_may_not_frame_the_page(client, admin, server, foreign, page) -> None:
    link = create_link(admin, server, questionnaires=["loans"])
    page.set_default_timeout(TIMEOUT_MS)
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        page.goto(f"{foreign}/?src={link['url']}")
    assert "blocked" in refused.value.text and f"Framing '{server}/'" in refused.value.text
    assert page.frame_locator("#kc").locator("html[data-kc-ready]").count() == 0
    assert not [f for f in page.frames if f.url.startswith(server) and f.locator("#kc-embed").count()]


def test_a_location_from_the_device_and_the_checks_on_locations_photos_and_choices(
    client, admin, server, portal, page
) -> None:
    """The device's position fills the location (the portal's iframe allows geolocation); a latitude out of range
    and a missing longitude are refused at their inputs as the server would; "none" can be unticked again; a
    photo of a type the question refuses, or larger than the server takes, is refused before anything is sent."""
    link = create_link(admin, server, questionnaires=["site-visit"])
    # Chromium asks (and remembers) for the top-level page: the portal delegates to the frame by allow="geolocation"
    page.context.grant_permissions(["geolocation"], origin=portal)
    page.context.set_geolocation({"latitude": 11.940419, "longitude": 108.458313, "accuracy": 12})
    frame = open_in_portal(page, portal, link["url"])
    base = "#root_answers_workshop_location"
    frame.get_by_role("button", name="Lấy vị trí hiện tại").click()
    expect(frame.locator(f"{base}_lat")).to_have_value("11,940419")
    assert [frame.locator(f"{base}_{k}").input_value() for k in ("lon", "accuracy_m")] == ["108,458313", "12"]
    frame.locator(f"{base}_lat").fill("91")
    frame.locator(f"{base}_lon").fill("")
    frame.get_by_role("button", name="Gửi phiếu").click()
    lat = frame.locator(".kc-geopoint-part", has=frame.locator(f"{base}_lat"))
    assert lat.locator(".kc-field-errors").inner_text() == "Giá trị lớn nhất là 90."
    lon = frame.locator(".kc-geopoint-part", has=frame.locator(f"{base}_lon"))
    assert lon.locator(".kc-field-errors").inner_text() == "Câu này bắt buộc trả lời."
    frame.locator(f"{base}_lat").fill("11,9404")
    frame.locator(f"{base}_lon").fill("108,4583")
    assert frame.locator(".kc-geopoint .kc-field-errors").count() == 0

    # "none" unticks the others and keeps them disabled; unticking it frees them again
    none, training = (
        frame.locator("#root_answers_support_received-3"),
        frame.locator("#root_answers_support_received-0"),
    )
    training.check()
    none.check()
    assert not training.is_checked() and training.is_disabled()
    none.uncheck()
    assert training.is_enabled()
    training.check()
    assert training.is_checked() and not none.is_checked()

    photo = frame.locator("#root_answers_has_workshop_photo-0")
    photo.check()
    inp = frame.locator("#root_answers_workshop_photo")
    inp.set_input_files({"name": "xuong.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + b"0" * 64})
    assert "không đúng loại" in frame.locator(".kc-file-problem").inner_text()
    big = {
        "name": "xuong.jpg",
        "mimeType": "image/jpeg",
        "buffer": b"\xff\xd8\xff" + b"0" * MAX_ATTACHMENT_BYTES,
    }
    inp.set_input_files(big)
    assert "lớn quá" in frame.locator(".kc-file-problem").inner_text()
    assert frame.locator(".kc-file-chosen").count() == 0
    inp.set_input_files(file_for("xuong.jpg"))
    assert frame.locator(".kc-file-chosen").inner_text().startswith("Đã chọn: xuong.jpg")
    assert frame.locator(".kc-file-problem").count() == 0

    frame.locator("#root_answers_respondent_name").fill("Trần Thị Bình")
    frame.locator("#root_answers_visit_date").fill("2026-11-20")
    frame.locator("#root_answers_support_year").fill("2024")
    fill_facility(frame, tax_code="5800999888")
    frame.get_by_role("button", name="Gửi phiếu").click()
    frame.locator(".kc-uploads[data-attachments=done]").wait_for()
    [row] = stored(server, admin)
    assert row["answers"] == {
        "respondent_name": "Trần Thị Bình",
        "workshop_location": {"lat": 11.9404, "lon": 108.4583, "accuracy_m": 12},
        "has_workshop_photo": True,
        "workshop_photo": "xuong.jpg",
        "support_received": ["training"],
        "support_year": 2024,
        "visit_date": "2026-11-20",
    }
    assert [a["name"] for a in attachments(server, admin, row["id"])["items"]] == ["xuong.jpg"]


def test_the_portal_snippet_sizes_the_frame_to_the_page(client, admin, server, portal, page) -> None:
    """The HTML a form link gives to paste (iframe + listener) in a portal on another origin, on a phone: the
    frame takes the page's height as it grows and shrinks, so nothing scrolls inside it; our page keeps its
    strict CSP (the listener is on the portal's page); a message from anywhere else is ignored."""
    link = create_link(admin, server, questionnaires=["loans"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(TIMEOUT_MS)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    with page.expect_response(lambda r: r.url == link["url"]) as first:
        page.goto(f"{portal}/?{urlencode({'paste': link['iframe']})}")
    csp = first.value.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-eval';" in csp and "unsafe-inline" not in csp
    iframe = page.locator("iframe")
    page.frame_locator("iframe").locator("html[data-kc-ready]").wait_for(state="attached")
    frame = next(f for f in page.frames if f.url == link["url"])

    def sized() -> tuple[int, int]:
        """Once the frame has the page's height: (that height, the frame's), else AssertionError."""
        deadline = time.monotonic() + 10
        while True:
            inner = frame.evaluate(
                "() => [Math.ceil(document.documentElement.getBoundingClientRect().height), "
                "document.documentElement.scrollHeight, window.innerHeight]"
            )
            outer = round(iframe.bounding_box()["height"])
            if inner[0] == inner[1] == inner[2] == outer:
                return inner[0], outer
            if time.monotonic() > deadline:
                raise AssertionError(f"the frame is {outer} px, its page {inner}")
            time.sleep(0.1)

    height, _ = sized()
    assert height > 1400  # the whole form, taller than the pasted iframe's 1400 px on a phone
    frame.locator("#root_answers_needs_loan-0").check()  # "Có": the loan questions appear
    taller, _ = sized()
    frame.locator("#root_answers_needs_loan-1").check()  # "Không": they go away again
    shorter, _ = sized()
    assert height < taller and shorter < taller
    # Only the form page's origin is listened to.
    page.evaluate("() => window.postMessage({type: 'khuyencong:height', height: 50}, '*')")
    page.wait_for_timeout(200)
    assert round(iframe.bounding_box()["height"]) == shorter
    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console


def test_the_ward_picker_is_in_vietnamese_order_and_found_without_accents(
    client, admin, server, portal, page
) -> None:
    link = create_link(admin, server, questionnaires=["loans"])
    frame = open_in_portal(page, portal, link["url"])
    wards = places.wards("68")
    assert wards is not None
    picker = frame.locator("#root_facility_ward_code")

    def listed() -> list[str]:
        texts = picker.locator("option").all_inner_texts()
        assert texts[0] == "— Chọn —"
        return texts[1:]

    names = listed()
    assert sorted(names) == sorted(w["name"] for w in wards.values()) and len(names) == 124
    assert names == sorted(names, key=vi_primary)  # (the served order is by code)
    assert names.index("Xã Đạ Huoai") > names.index("Xã Di Linh") > names.index("Xã D'Ran")
    search = frame.locator("#root_facility_ward_code__search")
    search.fill("duc trong")
    assert listed() == ["Xã Đức Trọng"]
    search.fill("DA LAT")
    assert listed() == [n for n in names if n.endswith("- Đà Lạt")] and len(listed()) == 5
    assert frame.locator(".kc-search-found").inner_text() == "Có 5 kết quả trong danh sách bên dưới."
    search.fill("xuân truong")  # every word typed begins a word of the name, in any order
    assert listed() == ["Phường Xuân Trường - Đà Lạt", "Xã Trường Xuân"]
    search.press("Enter")  # two matches: nothing chosen
    assert picker.input_value() == ""
    search.fill("xuân truong đa")
    search.press("Enter")  # the only match is chosen (and the form is not sent)
    code = next(c for c, w in wards.items() if w["name"] == "Phường Xuân Trường - Đà Lạt")
    assert picker.input_value() == code
    search.fill("bao loc")
    # three matches, and the chosen ward stays listed (in its place)
    assert listed() == [n for n in names if n.endswith(" Bảo Lộc") or n == "Phường Xuân Trường - Đà Lạt"]
    assert len(listed()) == 4
    search.fill("khong co xa nay")
    assert frame.locator(".kc-search-found").inner_text() == "Không có xã, phường nào có tên như vậy."
    search.fill("")
    assert listed() == names and picker.input_value() == code
    frame.locator("#root_facility_name").fill("Xưởng mộc Xuân Trường")
    frame.get_by_label("Hộ kinh doanh", exact=True).check()
    frame.get_by_label("Thủ công mỹ nghệ").check()
    d = REGISTRY.latest_published("loans")
    assert d is not None
    fill_answers(frame, d, answers_for(d))
    frame.get_by_role("button", name="Gửi phiếu").click()
    frame.locator(".kc-receipt").wait_for()
    [row] = stored(server, admin)
    with session_scope() as s:
        f = s.execute(select(Facility).where(Facility.id == row["facility_id"])).scalar_one()
        assert (f.name, f.ward_code) == ("Xưởng mộc Xuân Trường", code)


def test_server_errors_are_named_in_the_summary_and_a_receipt_after_a_lost_reply_has_its_time(
    client, admin, server, portal, page
) -> None:
    """A server error and a check across answers (`check_failed`, its message the server's) at their question
    and, named by it, in the summary; the receipt of a response whose first reply was lost (a 200 on the retry)
    says when the server received it, and the next questionnaire goes to the establishment it registered."""
    link = create_link(admin, server, questionnaires=["loans", "websites"])
    check = {"path": "answers.loan_amount_vnd", "code": "check_failed", "check": "loan_within_investment",
             "message": "Số tiền cần vay không lớn hơn tổng vốn dự kiến đầu tư."}  # fmt: skip
    posts: list[dict[str, Any]] = []

    def network(route: Any) -> None:
        body = json.loads(route.request.post_data)
        posts.append(body)
        if len(posts) == 1:  # the server's own check of a tampered answer
            body["answers"]["loan_amount_vnd"] = 5
            route.continue_(post_data=json.dumps(body))
        elif len(posts) == 2:  # a check across answers (v1.2), as the server words it
            route.fulfill(status=422, content_type="application/problem+json",
                          body=json.dumps({"type": "about:blank", "title": "Unprocessable", "status": 422,
                                           "errors": [check]}))  # fmt: skip
        elif len(posts) == 3:  # stored, the reply lost: the retry gets a 200 receipt
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/responses", network)
    frame = open_in_portal(page, portal, link["url"])
    frame.locator("#root_facility_name").fill("Cơ sở không có mã số thuế")
    frame.get_by_label("Hộ kinh doanh", exact=True).check()
    frame.get_by_label("Thủ công mỹ nghệ").check()
    frame.locator("#root_facility_ward_code").select_option(label="Xã Đức Trọng")
    loans = REGISTRY.latest_published("loans")
    assert loans is not None
    fill_answers(frame, loans, answers_for(loans))
    label = next(q.label["vi"] for q in loans.questions if q.id == "loan_amount_vnd")
    at_question = frame.locator(".kc-has-error", has=frame.locator("#root_answers_loan_amount_vnd"))

    frame.get_by_role("button", name="Gửi phiếu").click()
    expect(at_question.locator(".kc-field-errors")).to_have_text("Giá trị nhỏ nhất là 10.000.000 đồng.")
    assert frame.locator(".kc-errors li").all_inner_texts() == [
        f"{label}: Giá trị nhỏ nhất là 10.000.000 đồng."
    ]

    frame.get_by_role("button", name="Gửi phiếu").click()
    expect(at_question.locator(".kc-field-errors")).to_have_text(check["message"])
    assert frame.locator(".kc-errors li").all_inner_texts() == [f"{label}: {check['message']}"]
    assert posts[1]["id"] != posts[0]["id"]

    frame.get_by_role("button", name="Gửi phiếu").click()
    receipt = frame.locator(".kc-receipt")
    receipt.wait_for()
    assert posts[3] == posts[2]  # the same body again, answered 200 with a receipt
    [row] = stored(server, admin)
    assert receipt.get_attribute("data-response-id") == row["id"]
    assert datetime.fromisoformat(receipt.get_attribute("data-received-at")) == datetime.fromisoformat(
        row["received_at"]
    )
    assert "Thời điểm máy chủ nhận: " in receipt.inner_text()
    # the establishment it registered is known: the next questionnaire is not a second registration
    assert frame.locator("#root_facility_name").count() == 0
    assert "Cơ sở không có mã số thuế" in frame.locator(".kc-facility-known").inner_text()
    websites = REGISTRY.latest_published("websites")
    assert websites is not None
    fill_answers(frame, websites, answers_for(websites))
    frame.get_by_role("button", name="Gửi phiếu").click()
    expect(frame.locator(".kc-receipt")).to_contain_text(websites.title["vi"])
    rows = stored(server, admin)
    assert len(rows) == 2 and {r["facility_id"] for r in rows} == {row["facility_id"]}
    with session_scope() as s:
        assert s.execute(select(func.count()).select_from(Facility)).scalar_one() == 1
