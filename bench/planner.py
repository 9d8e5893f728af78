"""Planner workspace pages at scale: response times of the main pages with 20,000 demo establishments.

Each page is timed beside the JSON API call(s) it is built on, measured in the same run against the same
server (the baseline: what the page adds is rendering, formatting and its own few reads). A planner covering
every province (the largest pages) signs in through the form like a browser; times are medians over --runs,
after one warm-up; "fresh" means a ranking computed for that request (a new instant), "same instant" a page
of a ranking already computed (paging, reloading a link).
Usage: python bench/planner.py [--facilities 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, make_key, median, report, server  # noqa: E402

PROFILE = {"profile": "point-project", "profile_version": 1}
BUDGET = {
    "budget_vnd": 20_000_000_000,
    "cost_source": "loans.loan_amount_vnd",
    "per_province": {"min": 1, "max": 5},
}


def timed(fn: Callable[[], httpx.Response], runs: int, warm: bool = True) -> tuple[float, httpx.Response]:
    """Median seconds of `runs` calls (after one warm-up call when `warm`)."""
    if warm:
        fn()
    times, last = [], None
    for _ in range(runs):
        t = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - t)
        assert last.status_code < 400, (last.status_code, last.text[:500])
    assert last is not None
    return median(times), last


def sign_in(c: httpx.Client, secret: str) -> tuple[str, float]:
    page = c.get("/planner/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    t = time.perf_counter()
    r = c.post("/planner/sign-in", data={"key": secret, "csrf_token": token, "next": "/planner/"})
    took = time.perf_counter() - t
    assert r.status_code == 303, r.text[:500]
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/planner/").text).group(1)  # type: ignore[union-attr]
    return csrf, took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    n, runs = args.facilities, args.runs
    url = fresh_db(f"planner-{n}")
    t = time.perf_counter()
    print(demo(url, n, seed=1))
    load_s = time.perf_counter() - t
    secret = make_key(url, "planner", "bench-planner")
    rows: list[tuple[str, str]] = []
    figures: dict[str, Any] = {"bench": "planner", "facilities": n, "runs": runs, "pages": {}}

    with server(url) as (base, _), httpx.Client(base_url=base, timeout=600) as page, \
            httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {secret}"}) as api:  # fmt: skip
        csrf, sign_in_s = sign_in(page, secret)
        results: dict[str, tuple[float, float | None]] = {}

        def row(name: str, ours: float, baseline: float | None, note: str = "") -> None:
            results[name] = (ours, baseline)
            ratio = f"ratio {ours / baseline:5.2f}" if baseline else " " * 11
            base_txt = f"API {baseline * 1000:8.1f} ms" if baseline else " " * 15
            rows.append((name, f"{ours * 1000:8.1f} ms   {base_txt}   {ratio}   {note}".rstrip()))
            figures["pages"][name] = {"page_ms": round(ours * 1000, 1),
                                      "api_ms": round(baseline * 1000, 1) if baseline else None,
                                      "ratio": round(ours / baseline, 2) if baseline else None}  # fmt: skip

        row("sign in (POST, key check + session row)", sign_in_s, None)
        home_s, _ = timed(lambda: page.get("/planner/"), runs)
        row("start page", home_s, None)

        # Priorities, a new instant each time (the ranking is computed for the request) vs GET /priorities.
        fresh_s, first = timed(lambda: page.get("/planner/priorities"), runs, warm=False)
        api_fresh_s, body = timed(
            lambda: api.get("/api/v1/priorities", params={**PROFILE, "limit": 50}), runs, warm=False
        )
        candidates = body.json()["candidates"]
        row("priorities, fresh (rank all, show 50)", fresh_s, api_fresh_s, f"{candidates:,} candidates")
        nxt = re.search(r'href="([^"]+)"[^>]*rel="next"', first.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        cursor = body.json()["next_cursor"]
        page2_s, _ = timed(lambda: page.get(nxt), runs)
        api2_s, _ = timed(
            lambda: api.get("/api/v1/priorities", params={**PROFILE, "limit": 50, "cursor": cursor}), runs
        )
        row("priorities, next page (same instant)", page2_s, api2_s)
        htmx_s, _ = timed(lambda: page.get(nxt, headers={"HX-Request": "true", "HX-Target": "results"}), runs)
        row("priorities, next page as htmx fragment", htmx_s, api2_s)
        prov_s, _ = timed(
            lambda: page.get("/planner/priorities", params={"province_code": "68"}), runs, warm=False
        )
        api_prov_s, _ = timed(
            lambda: api.get("/api/v1/priorities", params={**PROFILE, "limit": 50, "province_code": "68"}),
            runs,
            warm=False,
        )
        row("priorities of one province, fresh", prov_s, api_prov_s)

        # Facility pages: 20 establishments from the top of the ranking, each once (cold) — vs the API reads.
        ids = [it["facility"]["id"] for it in body.json()["items"][:20]]
        fac_times, api_times = [], []
        for fid in ids:
            t = time.perf_counter()
            assert page.get(f"/planner/facilities/{fid}").status_code == 200
            fac_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            api.get(f"/api/v1/facilities/{fid}")
            listed = api.get("/api/v1/responses", params={"facility_id": fid}).json()["items"]
            for r in listed:
                if r["revision"] > 1:
                    api.get(f"/api/v1/responses/{r['id']}/revisions")
                api.get(f"/api/v1/responses/{r['id']}/reviews")
                api.get(f"/api/v1/responses/{r['id']}/comments")
            api_times.append(time.perf_counter() - t)
        row(
            "facility page (answers, history, reviews)",
            median(fac_times),
            median(api_times),
            "median of 20 establishments",
        )

        queue_s, _ = timed(lambda: page.get("/planner/review"), runs)
        api_queue_s, _ = timed(
            lambda: api.get(
                "/api/v1/responses", params={"review_state": ["received", "edited"], "limit": 50}
            ),
            runs,
        )
        row("review queue (50 waiting)", queue_s, api_queue_s)
        search_s, _ = timed(lambda: page.get("/planner/facilities", params={"q": "cà phê"}), runs)
        api_search_s, _ = timed(
            lambda: api.get("/api/v1/facilities", params={"q": "cà phê", "limit": 50}), runs
        )
        row("facility search", search_s, api_search_s)

        # A budgeted selection: the form post freezes a ranking (rank + exact MILP) — vs POST /rankings.
        form = {"csrf_token": csrf, "profile": "point-project:1", "budget_vnd": "20.000.000.000",
                "cost_source": "loans.loan_amount_vnd", "per_province_min": "1", "per_province_max": "5"}  # fmt: skip
        sel_times, api_sel_times, location = [], [], ""
        for _ in range(max(2, runs // 2)):
            t = time.perf_counter()
            r = page.post("/planner/selection", data=form)
            sel_times.append(time.perf_counter() - t)
            assert r.status_code == 303, r.text[:500]
            location = r.headers["location"]
            t = time.perf_counter()
            assert api.post("/api/v1/rankings", json={**PROFILE, **BUDGET}).status_code == 201
            api_sel_times.append(time.perf_counter() - t)
        row("budgeted selection (POST, rank + solve + freeze)", median(sel_times), median(api_sel_times))
        rid = location.split("/")[-1].split("?")[0]
        rank_s, _ = timed(lambda: page.get(f"/planner/rankings/{rid}"), runs)
        api_rank_s, _ = timed(lambda: api.get(f"/api/v1/rankings/{rid}"), runs)
        row("frozen selection page (totals, chart, per province)", rank_s, api_rank_s)
        list_s, _ = timed(lambda: page.get("/planner/rankings"), runs)
        row("frozen rankings list", list_s, None)
        dl_s, _ = timed(lambda: page.get("/planner/downloads"), runs)
        row("downloads page", dl_s, None)
        csv_s, got = timed(
            lambda: page.get("/planner/downloads/responses", params={"questionnaire": "loans", "version": 2}),
            2,
        )
        api_csv_s, _ = timed(
            lambda: api.get("/api/v1/exports/responses.csv", params={"questionnaire": "loans", "version": 2}),
            2,
        )
        row("download loans v2 responses (CSV)", csv_s, api_csv_s, f"{got.text.count(chr(10)) - 1:,} rows")

    figures["demo_data_s"] = round(load_s, 1)
    slowest = max(results.items(), key=lambda kv: kv[1][0])
    rows.append(("slowest", f"{slowest[0]}: {slowest[1][0]:.2f} s"))
    report(
        f"Planner workspace pages, {n:,} demo establishments, SQLite, one worker (median of {runs})",
        rows,
        figures,
    )


if __name__ == "__main__":
    main()
