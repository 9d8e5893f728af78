"""Screenshots of the planner workspace for docs/planner-workspace.md (PNG, 1366×768, Chromium).

    .venv/bin/python docs/planner/screenshots.py            # writes docs/planner/*.png

A throw-away SQLite database gets demo data (2,000 establishments, seed 1) and a planner key for the eight
northern mountain provinces; a real server process serves it; Chromium walks the path a planner takes. Demo
responses name their photos but carry no files: one equipment photo (an illustration drawn by Chromium) is
uploaded through the API so the facility page shows how a photo, a location and its map link look.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

PROVINCES = ["04", "08", "11", "12", "14", "15", "19", "20"]  # northern midlands and mountains
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip


def run(*cmd: str, env: dict[str, str]) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.live import serve

    tmp = Path(tempfile.mkdtemp(prefix="kc-shots-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'shots.db'}", "LOG_LEVEL": "WARNING"}
    bin_ = ROOT / ".venv" / "bin"
    run(str(bin_ / "alembic"), "upgrade", "head", env=env)
    run(str(bin_ / "khuyencong"), "demo-data", "--facilities", "2000", "--seed", "1", env=env)
    args = [a for p in PROVINCES for a in ("--province", p)]
    secret = run(str(bin_ / "khuyencong"), "keys", "create", "--role", "planner", "--name", "trung-tam-mien-nui-phia-bac",
                 *args, env=env).strip().splitlines()[-1]  # fmt: skip
    admin = run(str(bin_ / "khuyencong"), "keys", "create", "--role", "admin", "--name", "quan-tri-anh-minh-hoa",
                env=env).strip().splitlines()[-1]  # fmt: skip
    with serve(env=env) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 768}).new_page()

        def shot(name: str, full: bool = False) -> None:
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
            print("wrote", OUT / f"{name}.png")

        page.goto(base + "/planner/")
        page.get_by_label("Khoá API của bạn").fill(secret)
        shot("01-sign-in")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(base + "/planner/")
        shot("02-start")

        page.goto(base + "/planner/priorities")
        page.locator("details").first.click()  # "why this score" of the first establishment
        shot("03-priorities")

        # The first establishment's page, after a planner marked one answer as doubtful.
        page.goto(base + "/planner/priorities")
        page.locator("td a").first.click()
        page.wait_for_url(re.compile(r"/planner/facilities/"))
        article = page.locator("article").first
        question = article.locator("select[name=question] option").nth(2).inner_text()
        article.locator("select[name=question]").select_option(label=question)
        article.locator("textarea[name=comment]").fill("Đề nghị kiểm tra lại số liệu này với chủ cơ sở.")
        article.get_by_role("button", name="Có vấn đề").click()
        page.locator('article [data-review-state="has_issues"]').first.wait_for()
        page.locator("article details").first.evaluate("d => d.open = true")
        article.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -120)")
        shot("04-facility")

        page.goto(base + "/planner/review")
        shot("05-review-queue")

        # A second-edition response with its equipment photo (the establishment's location and map link above).
        photo_page = browser.new_context(viewport={"width": 480, "height": 320}).new_page()
        photo_page.set_content(PHOTO)
        photo = photo_page.locator("#photo").screenshot()
        photo_page.context.close()
        found = _photo_answer(base, admin, PROVINCES)
        r = httpx.put(f"{base}/api/v1/responses/{found['id']}/attachments/{found['answers']['equipment_photo']}",
                      content=photo, headers={"Authorization": f"Bearer {admin}", "Content-Type": "image/png"})  # fmt: skip
        r.raise_for_status()
        page.goto(f"{base}/planner/facilities/{found['facility_id']}")
        figure = page.locator(f"#response-{found['id']} figure.photo")
        figure.wait_for()
        figure.evaluate(
            "f => f.closest('tr').scrollIntoView({block: 'center'})"
        )  # a lazy image loads in view
        figure.locator("img").evaluate("i => i.decode()")  # drawn before the shot
        shot("11-facility-photo-location")

        page.goto(base + "/planner/selection")
        page.get_by_label("Ngân sách (đồng)").fill("20.000.000.000")
        page.get_by_label("Chi phí hỗ trợ mỗi cơ sở").select_option("loans.loan_amount_vnd")
        page.get_by_label("Ít nhất").fill("2")
        page.get_by_label("Nhiều nhất").fill("8")
        page.get_by_label("Tên danh sách (không bắt buộc)").fill(
            "Đề án khuyến công điểm 2027 — miền núi phía Bắc"
        )
        shot("06-selection-form")
        page.get_by_role("button", name="Tính và chốt danh sách").click()
        page.wait_for_url(re.compile(r"/planner/rankings/"))
        page.wait_for_function("document.querySelector('canvas[data-chart]')?.dataset.rendered === '1'")
        shot("07-frozen-selection")
        page.get_by_role("heading", name="Theo tỉnh").evaluate(
            "h => { h.scrollIntoView({block: 'start'}); window.scrollBy(0, -10); }"
        )
        shot("08-per-province-chart")
        ranking = page.url.split("?")[0]

        page.goto(base + "/planner/downloads")
        shot("09-downloads")

        page.goto(ranking + "?lang=en")
        page.wait_for_function("document.querySelector('canvas[data-chart]')?.dataset.rendered === '1'")
        shot("10-frozen-selection-en")
        page.goto(base + "/planner/priorities?lang=vi")
        browser.close()


# The illustration uploaded as the equipment photo (drawn by Chromium, so no image file is committed for it).
PHOTO = """<!doctype html><meta charset="utf-8"><body style="margin:0">
<div id="photo" style="width:480px;height:320px;background:linear-gradient(#cfd8dc,#90a4ae);position:relative;
 font:600 20px sans-serif;color:#263238">
 <div style="position:absolute;left:70px;top:90px;width:220px;height:150px;background:#455a64;border-radius:12px"></div>
 <div style="position:absolute;left:110px;top:60px;width:90px;height:60px;background:#607d8b;border-radius:8px"></div>
 <div style="position:absolute;left:300px;top:150px;width:100px;height:90px;background:#795548;border-radius:50%"></div>
 <div style="position:absolute;left:0;right:0;bottom:0;height:40px;background:#5d4037"></div>
 <div style="position:absolute;left:16px;top:12px">Ảnh minh hoạ — máy rang cà phê 30 kg/mẻ</div></div>"""


def _photo_answer(base: str, admin: str, provinces: list[str]) -> dict:  # type: ignore[type-arg]
    """A technology-demonstration response in the planner's provinces that names an equipment photo."""
    cursor = None
    while True:
        params = {"questionnaire": "technology-demonstration", "province_code": provinces, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        doc = httpx.get(
            f"{base}/api/v1/responses", params=params, headers={"Authorization": f"Bearer {admin}"}
        ).json()
        for item in doc["items"]:
            if item["answers"].get("equipment_photo"):
                return item  # type: ignore[no-any-return]
        cursor = doc.get("next_cursor")
        if not cursor:
            raise SystemExit("no technology-demonstration response names a photo in these provinces")


if __name__ == "__main__":
    main()
