"""Ranking at scale: GET /priorities (default profile) with 5k, 20k and 80k facilities, beside a baseline;
then an exact budgeted selection over 2,000 candidates in 34 provinces.

Baseline (same run, no HTTP): one SQL query returning the latest answers of every response, the facility
attributes, and the weighted-sum score in numpy. Targets: ≤ 2 × baseline; time per facility at 80k ≤ 1.5 × at 5k.
Usage: python bench/ranking.py [--sizes 5000,20000,80000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, make_key, median, report, server  # noqa: E402

Q = {"loans": ["needs_loan", "loan_amount_vnd", "counterpart_funds_vnd"], "pollution": ["severity", "needs_treatment_investment"],
     "websites": ["has_website", "needs_digital_support"], "market-needs": ["needs_trade_promotion"], "packaging": ["needs_packaging_support"]}  # fmt: skip
SEV = {"none": 0, "low": 1, "medium": 2, "high": 3}


def baseline(path: str) -> float:
    t = time.perf_counter()
    db = sqlite3.connect(path)
    fac = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT id, employees, annual_revenue_vnd, prior_support_count, province_code FROM facility"
        )
    }
    latest: dict[tuple[str, str], tuple[str, dict]] = {}
    for fid, q, collected, answers in db.execute(
        "SELECT r.facility_id, r.questionnaire, rr.collected_at, rr.answers FROM response r JOIN response_revision rr "
        "ON rr.response_id = r.id AND rr.revision = r.current_revision"
    ):
        k = (fid, q)
        if k not in latest or collected > latest[k][0]:
            latest[k] = (collected, json.loads(answers))
    ids = sorted(fac)
    x = np.full((len(ids), 8), np.nan)
    for i, fid in enumerate(ids):
        get = lambda q, k, fid=fid: (latest.get((fid, q)) or (None, {}))[1].get(k)  # noqa: E731
        need = sum(bool(get(q, k)) for q, k in (("market-needs", "needs_trade_promotion"), ("loans", "needs_loan"),
                   ("packaging", "needs_packaging_support"), ("websites", "needs_digital_support"), ("pollution", "needs_treatment_investment")))  # fmt: skip
        emp, rev, sup, _ = fac[fid]
        amt = get("loans", "loan_amount_vnd")
        x[i] = [need, amt / rev if amt and rev else np.nan, (get("loans", "counterpart_funds_vnd") or 0) / amt if amt else np.nan,
                SEV.get(get("pollution", "severity"), np.nan), float(bool(get("websites", "has_website"))), emp or np.nan, sup, 0]  # fmt: skip
    x = np.where(np.isnan(x), np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0), x)
    lo, hi = x.min(0), x.max(0)
    score = ((x - lo) / np.where(hi > lo, hi - lo, 1) * np.full(8, 0.125)).sum(1)
    np.argsort(-score, kind="stable")
    return time.perf_counter() - t


def selection_bench() -> dict:
    from app.places.service import provinces
    from app.prioritisation.selection import select

    rnd = random.Random(11)
    codes = list(provinces())
    items, costs = [], {}
    for i in range(2000):
        fid = f"f{i:05d}"
        items.append({"rank": i + 1, "score": round(1 - i / 2000 + rnd.random() * 0.01, 6),
                      "facility": {"id": fid, "province_code": codes[i % 34], "sector": "x"}})  # fmt: skip
        costs[fid] = rnd.randint(50, 2000) * 1_000_000
    budget = int(sum(costs.values()) * 0.1)
    t = time.perf_counter()
    res = select(items, costs, budget, province_min=2, province_max=12)
    took = time.perf_counter() - t
    return {"candidates": 2000, "provinces": 34, "budget_vnd": budget, "selected": len(res["selected"]), "status": res["solver"]["status"],
            "objective": res["objective"], "seconds": round(took, 3), "binding": len(res["binding_constraints"])}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,20000,80000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows, figures = [], {"bench": "ranking", "sizes": {}}
    for n in [int(s) for s in args.sizes.split(",")]:
        url = fresh_db(f"ranking-{n}")
        demo(url, n, seed=9)
        key = make_key(url, "planner", "bench")
        base_t = median([baseline(url.split("///", 1)[1]) for _ in range(args.runs)])
        with (
            server(url) as (base, _),
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600) as c,
        ):
            times = []
            for _ in range(args.runs + 1):
                t = time.perf_counter()
                r = c.get(
                    "/api/v1/priorities",
                    params={"profile": "point-project", "profile_version": 1, "limit": 100},
                )
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            ours = median(times[1:])
        figures["sizes"][n] = {"ours_s": round(ours, 3), "baseline_s": round(base_t, 3), "ratio": round(ours / base_t, 2),
                               "us_per_facility": round(ours / n * 1e6, 1), "candidates": r.json()["candidates"]}  # fmt: skip
        rows.append(
            (
                f"{n:>6} facilities",
                f"GET /priorities {ours:7.2f} s   baseline {base_t:6.2f} s   ratio {ours / base_t:5.2f}   {ours / n * 1e6:6.1f} µs/facility",
            )
        )
    sizes = sorted(figures["sizes"])
    scale = figures["sizes"][sizes[-1]]["us_per_facility"] / figures["sizes"][sizes[0]]["us_per_facility"]
    figures["per_facility_scaling"] = round(scale, 2)
    rows.append(("per-facility time, largest / smallest", f"{scale:.2f}  (target ≤ 1.5)"))
    sel = selection_bench()
    figures["selection"] = sel
    rows.append(
        (
            "budgeted selection",
            f"{sel['candidates']} candidates, {sel['provinces']} provinces, per-province 2..12: {sel['status']} in {sel['seconds']} s, {sel['selected']} selected",
        )
    )
    report(
        "Ranking with the default profile point-project v1 (weighted sum, 8 criteria), SQLite, one worker",
        rows,
        figures,
    )


if __name__ == "__main__":
    main()
