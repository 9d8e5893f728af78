"""Screenshots of the planner workspace for docs/planner-workspace.md (PNG, 1366×768, Chromium).

    .venv/bin/python docs/planner/screenshots.py            # writes docs/planner/*.png

A throw-away SQLite database gets demo data (2,000 establishments, seed 1) and a planner key for the eight
northern mountain provinces; a real server process serves it; Chromium walks the path a planner takes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

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


if __name__ == "__main__":
    main()
