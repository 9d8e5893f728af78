"""point-project v1, v2 and v3 side by side on the same demo facilities: what each budgeted selection funds, and
which criteria carry real spread.

Per version: the exact budgeted selection (the greatest total score within the budget, the same per-province
bounds for all three) — selected count, total and median cost, how many of the 50 best-ranked selectable
candidates it funds, provinces covered, the share of household businesses among the selected — and per criterion
the inter-quartile range of the normalised values over the candidates where it holds a value (state `value`:
a criterion neutral or not applicable elsewhere is measured where it actually tells candidates apart).
Costs: v1 as the README's example (the loan asked, `loans.loan_amount_vnd`), v2 and v3 by their own
`support_cost` (what the programme would pay); v3 with its `default_selection` eligibility (candidates whose
support is below its `min_cost_vnd` are not selectable), applied here exactly as the profile states it.

Not a speed benchmark: the demo data are written as `khuyencong demo-data` does, then the ranking and selection
services are called in this process (the figures do not depend on HTTP).
Usage: python bench/scoring_compare.py [--facilities 5000] [--seed 1] [--budget 20000000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, report  # noqa: E402

VERSIONS = (1, 2, 3)
TOP = 50


def iqr(items: list[dict[str, Any]]) -> dict[str, float]:
    """Per criterion: the IQR of the normalised values where the criterion holds a value."""
    out = {}
    for j, first in enumerate(items[0]["criteria"]):
        values = np.array([c["normalised"] for it in items if (c := it["criteria"][j]).get("state", "value") == "value"
                           and c["normalised"] is not None], dtype=float)  # fmt: skip
        q25, q75 = np.percentile(values, [25, 75]) if values.size else (0.0, 0.0)
        out[first["id"]] = round(float(q75 - q25), 3)
    return out


def eligible(costs: dict[str, float | None], rules: dict[str, Any]) -> dict[str, float | None]:
    """The costs with candidates outside the eligibility (min/max cost) made not selectable."""
    lo, hi = rules.get("min_cost_vnd"), rules.get("max_cost_vnd")
    return {fid: None if c is None or (lo is not None and c < lo) or (hi is not None and c > hi) else c
            for fid, c in costs.items()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=int, default=20_000_000_000)
    ap.add_argument("--per-province-min", type=int, default=None)
    ap.add_argument("--per-province-max", type=int, default=None)
    args = ap.parse_args()
    url = fresh_db(f"scoring-compare-{args.facilities}")
    t = time.perf_counter()
    demo(url, args.facilities, seed=args.seed)
    loaded = time.perf_counter() - t
    os.environ["DATABASE_URL"] = url
    from app.access.principal import Principal
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.prioritisation import data, selection, service
    from app.prioritisation.profiles import Profiles, parse_source
    from app.questionnaires.registry import Registry

    settings = get_settings()
    registry = Registry.load(settings.schemas_dir)
    profiles, problems = Profiles.load(settings.schemas_dir, registry)
    assert not problems, problems
    planner = Principal(key_id=0, name="bench", role="planner", provinces=None)
    as_of = service.default_as_of()
    loan = parse_source("loans.loan_amount_vnd", registry, "cost_source", [], "bench", mapped=False)
    assert loan is not None
    figures: dict[str, Any] = {"bench": "scoring_compare", "facilities": args.facilities, "seed": args.seed,
                               "budget_vnd": args.budget, "per_province": [args.per_province_min, args.per_province_max]}  # fmt: skip
    spreads: dict[int, dict[str, float]] = {}
    with session_scope() as session:
        kinds = {s.id: s.kind for s in data.facilities_as_of(session, as_of, None)}
        where = {"session": session, "registry": registry, "as_of": as_of, "provinces": None}
        for version in VERSIONS:
            profile = profiles.get("point-project", version)
            result = service.rank(session=session, registry=registry, profile=profile, principal=planner,
                                  filters=service.Filters(), as_of=as_of)  # fmt: skip
            items = list(result["items"])
            spreads[version] = iqr(items)
            if profile.support_cost is None:
                costs = service.cost_values(cost=loan, items=items, **where)
            else:
                costs = service.support_costs(profile=profile, items=items, **where)
            rules = (profile.default_selection or {}).get("eligibility", {})
            costs = eligible(costs, rules)
            t = time.perf_counter()
            sel = selection.select(items, costs, args.budget, args.per_province_min, args.per_province_max)
            solve = time.perf_counter() - t
            chosen = sel["selected"]
            ids = {s["facility_id"] for s in chosen}
            best = [it["facility"]["id"] for it in items if costs.get(it["facility"]["id"]) is not None][:TOP]
            cost_values = [s["cost_vnd"] for s in chosen]
            ranks = [s["rank"] for s in chosen]
            figures[f"v{version}"] = {
                "candidates": result["candidates"], "selectable": sel["candidates_selectable"],
                "eligibility": rules, "selected": len(chosen), "total_cost_vnd": sel["total_cost_vnd"],
                "median_cost_vnd": int(np.median(cost_values)) if chosen else 0,
                "cost_range_vnd": [int(min(cost_values)), int(max(cost_values))] if chosen else None,
                "median_rank": int(np.median(ranks)) if chosen else None,
                f"top{TOP}_funded": len(ids & set(best)), "provinces_covered": len({s["province_code"] for s in chosen}),
                "household_share": round(sum(kinds.get(f) == "household_business" for f in ids) / max(1, len(ids)), 3),
                "solver": sel["solver"]["status"], "solve_seconds": round(solve, 2), "iqr": spreads[version],
            }  # fmt: skip
    head = "".join(f"{'v' + str(v):>16}" for v in VERSIONS)
    rows: list[tuple[str, str]] = [("", head)]

    def line(label: str, fmt: Any) -> None:
        rows.append((label, "".join(f"{fmt(figures[f'v{v}']):>16}" for v in VERSIONS)))

    line("selectable", lambda f: f"{f['selectable']:,}")
    line("selected", lambda f: f"{f['selected']:,}")
    line("total cost (bn VND)", lambda f: f"{f['total_cost_vnd'] / 1e9:.2f}")
    line("median cost (M VND)", lambda f: f"{f['median_cost_vnd'] / 1e6:.0f}")
    line("cost range (M VND)", lambda f: "-".join(f"{x / 1e6:.0f}" for x in f["cost_range_vnd"] or [0, 0]))
    line("median selected rank", lambda f: f"{f['median_rank'] or 0:,}")
    line(f"top-{TOP} funded", lambda f: f"{f[f'top{TOP}_funded']} of {TOP}")
    line("provinces covered", lambda f: f"{f['provinces_covered']} of 34")
    line("household share", lambda f: f"{f['household_share']:.1%}")
    rows.append(("IQR of normalised values", ""))
    for cid in dict.fromkeys(c for v in VERSIONS for c in spreads[v]):
        rows.append((f"  {cid}", "".join(f"{spreads[v][cid]:>16.3f}" if cid in spreads[v] else f"{'—':>16}"
                                          for v in VERSIONS)))  # fmt: skip
    figures["demo_seconds"] = round(loaded, 1)
    report(f"point-project v1, v2, v3 on {args.facilities:,} demo facilities (seed {args.seed}), "
           f"budget {args.budget / 1e9:.0f} bn VND", rows, figures)  # fmt: skip


if __name__ == "__main__":
    main()
