"""The hosted form page's weight and time to interactive, in Debian's Chromium against the real server.

    .venv/bin/python bench/embed_page.py [--runs 5] [--screenshots docs]

A form link with every published questionnaire (Lâm Đồng, with its wards) is loaded cold (empty cache) and
warm (cached assets), on this machine as is and with a phone-like profile (CPU 4× slower, 1.6 Mbit/s down,
150 ms round trip). Weight: bytes transferred (HTML + script + stylesheet, as compressed on the wire).
Time to interactive: from navigation start to the page's `kc-interactive` mark (the form rendered and
answering input). With --screenshots, the Vietnamese and English pages are saved as PNG there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_db, make_key, server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip
PHONE = {"cpu": 4, "latency_ms": 150, "down_bps": 1_600_000 // 8, "up_bps": 750_000 // 8}

MEASURE = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const mark = performance.getEntriesByName('kc-interactive')[0];
  return {
    tti_ms: mark ? mark.startTime : null,
    transferred: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
    html: nav.transferSize, html_body: nav.encodedBodySize, html_decoded: nav.decodedBodySize,
    assets: res.map((r) => ({ name: r.name.split('/').pop(), transferred: r.transferSize,
                              encoded: r.encodedBodySize, decoded: r.decodedBodySize })),
  };
}"""


def load(browser: Any, url: str, profile: dict[str, int] | None, context: Any = None) -> dict[str, Any]:
    ctx = context or browser.new_context(locale="vi-VN", viewport={"width": 800, "height": 1000})
    page = ctx.new_page()
    if profile:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": profile["cpu"]})
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": profile["latency_ms"],
                 "downloadThroughput": profile["down_bps"], "uploadThroughput": profile["up_bps"]})  # fmt: skip
    page.goto(url)
    page.locator("html[data-kc-ready]").wait_for(state="attached", timeout=60_000)
    page.wait_for_load_state("load")
    out: dict[str, Any] = page.evaluate(MEASURE)
    page.close()
    if context is None:
        ctx.close()
    return out


def series(browser: Any, url: str, runs: int, profile: dict[str, int] | None) -> dict[str, Any]:
    cold = [load(browser, url, profile) for _ in range(runs)]
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 800, "height": 1000})
    load(browser, url, profile, ctx)  # fills the cache
    warm = [load(browser, url, profile, ctx) for _ in range(runs)]
    ctx.close()
    return {
        "cold_tti_ms": round(statistics.median(r["tti_ms"] for r in cold)),
        "cold_tti_ms_range": [round(min(r["tti_ms"] for r in cold)), round(max(r["tti_ms"] for r in cold))],
        "warm_tti_ms": round(statistics.median(r["tti_ms"] for r in warm)),
        "cold_kb": round(statistics.median(r["transferred"] for r in cold) / 1024, 1),
        "warm_kb": round(statistics.median(r["transferred"] for r in warm) / 1024, 1),
        "detail": cold[0],
    }


def screenshots(browser: Any, url: str, folder: Path) -> None:
    for lang in ("vi", "en"):
        ctx = browser.new_context(locale="vi-VN", viewport={"width": 820, "height": 1000})
        page = ctx.new_page()
        page.goto(f"{url}?lang={lang}")
        page.locator("html[data-kc-ready]").wait_for(state="attached")
        page.locator("#root_facility_tax_code").fill("5800123456")
        page.locator("#root_facility_name").fill(
            "HTX cà phê Cầu Đất" if lang == "vi" else "Cau Dat coffee cooperative"
        )
        page.locator("#root_facility_kind-1").check()
        page.locator("#root_facility_sector-0").check()
        page.locator("#root_facility_ward_code").select_option(index=5)
        page.locator("#root_answers_needs_loan-0").check()
        page.locator("#root_answers_loan_amount_vnd").fill("500.000.000" if lang == "vi" else "500,000,000")
        page.locator("#root_answers_loan_purpose-0").check()
        page.locator("#root_answers_loan_term_months").fill(
            "3,5" if lang == "vi" else "3.5"
        )  # shows an error
        page.locator("#root_answers_has_collateral-1").check()
        page.locator("#root_answers_wants_interest_subsidy-0").check()
        page.locator(".kc-submit").click()
        page.locator(".kc-errors").wait_for()
        page.screenshot(path=str(folder / f"portal-form-{lang}.png"), full_page=True)
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--screenshots", type=Path)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    url = fresh_db("embed")
    admin = make_key(url, "admin", "admin")
    with server(url, {"CORS_ORIGINS": "https://portal.example.gov.vn"}) as (base, _proc):
        r = httpx.post(f"{base}/api/v1/form-links", headers={"Authorization": f"Bearer {admin}"}, json={
            "name": "bench", "province_code": "68",
            "questionnaires": ["loans", "market-needs", "packaging", "pollution", "websites"]})  # fmt: skip
        r.raise_for_status()
        link = r.json()["url"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            local = series(browser, link, args.runs, None)
            phone = series(browser, link, args.runs, PHONE)
            if args.screenshots:
                screenshots(browser, link, args.screenshots)
            browser.close()
    d = local["detail"]
    print("hosted form page, every published questionnaire, Lâm Đồng's wards; Chromium", file=sys.stderr)
    print(f"  HTML: {d['html'] / 1024:.1f} KiB on the wire ({d['html_decoded'] / 1024:.1f} KiB decoded)")
    for a in d["assets"]:
        print(
            f"  {a['name']}: {a['transferred'] / 1024:.1f} KiB on the wire ({a['decoded'] / 1024:.1f} KiB decoded)"
        )
    for name, s in (("this machine", local), ("phone profile (4x CPU, 1.6 Mbit/s, 150 ms RTT)", phone)):
        print(f"  {name}: cold {s['cold_kb']} KiB, time to interactive {s['cold_tti_ms']} ms "
              f"(range {s['cold_tti_ms_range'][0]}-{s['cold_tti_ms_range'][1]}); "
              f"warm {s['warm_kb']} KiB, {s['warm_tti_ms']} ms")  # fmt: skip
    summary = {
        k: {kk: vv for kk, vv in v.items() if kk != "detail"} for k, v in (("local", local), ("phone", phone))
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
