"""The README's screenshots of the hosted form page (docs/portal-form-vi.png and docs/portal-form-en.png).

    .venv/bin/python web/embed/harness/screenshots.py [--out docs]

The real server on a fresh SQLite database (data/bench-screenshots.db), a form link for Lâm Đồng with every
published questionnaire, Debian's Chromium at a tablet's width. The page shows the establishment registered
inline and the pollution questionnaire (second edition) partly answered: several sources ticked, a treatment
with its photo chosen, and "Gửi phiếu" pressed with one required question left, so the error summary and the
error at its question show.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_db, make_key, server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip
# A small, real JPEG is not needed: the page shows the chosen file's name and size, never its pixels.
PHOTO = {"name": "be-tu-hoai.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0" + bytes(183_500)}


def shoot(browser: object, url: str, lang: str, out: Path) -> None:
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 820, "height": 1000})  # type: ignore[attr-defined]
    page = ctx.new_page()
    page.goto(f"{url}?lang={lang}")
    page.locator("html[data-kc-ready]").wait_for(state="attached")
    vi = lang == "vi"
    page.locator("#root_facility_tax_code").fill("5800123456")
    page.locator("#root_facility_name").fill("HTX cà phê Cầu Đất" if vi else "Cau Dat coffee cooperative")
    page.locator("#root_facility_kind-1").check()
    page.locator("#root_facility_sector-0").check()
    page.locator("#root_facility_ward_code").select_option(index=5)
    page.get_by_role("button", name="Xử lý ô nhiễm môi trường" if vi else "Pollution treatment").click()
    page.locator("#root_answers_respondent_name").fill("Nguyễn Thị Hoa")
    page.locator("#root_answers_respondent_position").fill("Giám đốc HTX" if vi else "Director")
    page.locator("#root_answers_respondent_phone").fill("0912345678")
    page.locator("#root_answers_pollution_sources-0").check()
    page.locator("#root_answers_pollution_sources-1").check()
    page.locator("#root_answers_severity-2").check()
    page.locator("#root_answers_wastewater_m3_per_day").fill("12,5" if vi else "12.5")
    page.locator("#root_answers_treatment_in_place-0").check()
    page.locator("#root_answers_treatment_photo").set_input_files(PHOTO)
    page.locator(".kc-file-chosen").wait_for()
    page.locator(".kc-submit").click()
    page.locator(".kc-errors").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(out / f"portal-form-{lang}.png"), full_page=True)
    ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    url = fresh_db("screenshots")
    admin = make_key(url, "admin", "admin")
    with server(url, {"CORS_ORIGINS": "https://portal.example.gov.vn"}) as (base, _proc):
        keys = [q["key"] for q in httpx.get(f"{base}/api/v1/questionnaires").json() if q["latest_version"]]
        r = httpx.post(f"{base}/api/v1/form-links", headers={"Authorization": f"Bearer {admin}"},
                       json={"name": "screenshots", "province_code": "68", "questionnaires": keys})  # fmt: skip
        r.raise_for_status()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for lang in ("vi", "en"):
                shoot(browser, r.json()["url"], lang, args.out)
            browser.close()
    print(f"wrote {args.out}/portal-form-vi.png and portal-form-en.png")


if __name__ == "__main__":
    main()
