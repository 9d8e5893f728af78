"""point-project v1 beside v2 on the same demo facilities: which criteria carry real spread, and how the
budgeted selection changes.

Spread, per criterion, over the candidates it applies to: the inter-quartile range of the normalised values
(a criterion whose middle half sits on one value does not tell candidates apart; a yes/no criterion has an
IQR of 0 unless its minority answer reaches a quarter, so the standard deviation is printed beside it) and the
share of candidates at exactly 0. Selection: the same budget and per-province bounds, v1 costed as the README's example does
(the loan asked, `loans.loan_amount_vnd`), v2 by its own `support_cost` (what the programme would pay);
and v2's scores with v1's costs, to separate the scoring change from the costing change.

Not a speed benchmark: the demo data are written by the CLI as `khuyencong demo-data` does, then the ranking
and selection services are called in this process (the figures do not depend on HTTP).
Usage: python bench/scoring_compare.py [--facilities 20000] [--seed 1] [--budget 20000000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, report  # noqa: E402

SPREAD = 0.1  # an inter-quartile range at least this wide counts as real spread


def spread(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per criterion: how many candidates it applies to, the IQR of their normalised values, the share at 0."""
    out = []
    for j, first in enumerate(items[0]["criteria"]):
        values = np.array([it["criteria"][j]["normalised"] for it in items if it["criteria"][j].get("applies", True)],
                          dtype=float)  # fmt: skip
        q25, q50, q75 = np.percentile(values, [25, 50, 75]) if values.size else (0.0, 0.0, 0.0)
        out.append({"id": first["id"], "normalise": first.get("normalise", "minmax"), "applies": int(values.size),
                    "iqr": round(float(q75 - q25), 3), "median": round(float(q50), 3),
                    "std": round(float(values.std()) if values.size else 0.0, 3),
                    "at_zero": round(float((values == 0).mean()) if values.size else 1.0, 3)})  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=int, default=20_000_000_000)
    ap.add_argument("--per-province-min", type=int, default=1)
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
    from app.prioritisation import selection, service
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
    ranked: dict[int, list[dict[str, Any]]] = {}
    selected: dict[str, dict[str, Any]] = {}
    figures: dict[str, Any] = {"bench": "scoring_compare", "facilities": args.facilities, "seed": args.seed,
                               "budget_vnd": args.budget, "per_province": [args.per_province_min, args.per_province_max]}  # fmt: skip
    rows: list[tuple[str, str]] = []
    with session_scope() as session:
        for version in (1, 2):
            profile = profiles.get("point-project", version)
            t = time.perf_counter()
            result = service.rank(session=session, registry=registry, profile=profile, principal=planner,
                                  filters=service.Filters(), as_of=as_of)  # fmt: skip
            items = ranked[version] = list(result["items"])
            took = time.perf_counter() - t
            crit = spread(items)
            real = [c["id"] for c in crit if c["iqr"] >= SPREAD]
            figures[f"v{version}"] = {"candidates": result["candidates"], "criteria": crit, "with_spread": len(real),
                                      "rank_seconds": round(took, 2)}  # fmt: skip
            rows.append(
                (
                    f"v{version}: criteria with IQR ≥ {SPREAD}",
                    f"{len(real)} of {len(crit)}  ({result['candidates']} candidates)",
                )
            )
            for c in crit:
                rows.append((f"  {c['id']}", f"{c['normalise']:<10} applies {c['applies']:>6}  IQR {c['iqr']:.3f}  "
                                             f"median {c['median']:.3f}  sd {c['std']:.3f}  at 0: {c['at_zero']:.1%}"))  # fmt: skip
        where = {"session": session, "registry": registry, "as_of": as_of, "provinces": None}
        costs = {
            "v1": service.cost_values(cost=loan, items=ranked[1], **where),
            "v2": service.support_costs(profile=profiles.get("point-project", 2), items=ranked[2], **where),
            "v2_loan_cost": service.cost_values(cost=loan, items=ranked[2], **where),
        }
        for name, items in (("v1", ranked[1]), ("v2", ranked[2]), ("v2_loan_cost", ranked[2])):
            t = time.perf_counter()
            sel = selection.select(
                items, costs[name], args.budget, args.per_province_min, args.per_province_max
            )
            selected[name] = sel
            provinces = Counter(s["province_code"] for s in sel["selected"])
            figures[name] = {**figures.get(name, {}), "selected": len(sel["selected"]), "total_cost_vnd": sel["total_cost_vnd"],
                             "selectable": sel["candidates_selectable"], "solver": sel["solver"]["status"],
                             "solve_seconds": round(time.perf_counter() - t, 2), "per_province": dict(sorted(provinces.items())),
                             "median_cost_vnd": int(np.median([s["cost_vnd"] for s in sel["selected"]])) if sel["selected"] else 0}  # fmt: skip
            rows.append((f"selection {name}", f"{len(sel['selected'])} selected of {sel['candidates_selectable']} selectable, "
                                              f"{sel['total_cost_vnd'] / 1e9:.2f} bn VND, median cost "
                                              f"{figures[name]['median_cost_vnd'] / 1e6:.0f} M VND, {sel['solver']['status']}"))  # fmt: skip
    ids = {name: {s["facility_id"] for s in sel["selected"]} for name, sel in selected.items()}
    both = ids["v1"] & ids["v2"]
    top = {v: [it["facility"]["id"] for it in ranked[v][:100]] for v in (1, 2)}
    figures["overlap"] = {"v1_v2": len(both), "jaccard": round(len(both) / max(1, len(ids["v1"] | ids["v2"])), 3),
                          "v2_v2_loan_cost": len(ids["v2"] & ids["v2_loan_cost"]), "v1_v2_loan_cost": len(ids["v1"] & ids["v2_loan_cost"]),
                          "top100": len(set(top[1]) & set(top[2]))}  # fmt: skip
    rows.append(("overlap v1 ∩ v2 selected", f"{len(both)} (Jaccard {figures['overlap']['jaccard']})"))
    rows.append(("overlap v2 ∩ v2 with v1's costs", str(figures["overlap"]["v2_v2_loan_cost"])))
    rows.append(("overlap v1 ∩ v2 with v1's costs", str(figures["overlap"]["v1_v2_loan_cost"])))
    rows.append(("top-100 overlap v1 / v2", str(figures["overlap"]["top100"])))
    per_province = sorted({p for n in ("v1", "v2") for p in figures[n]["per_province"]})
    rows.append(("per province (v1 → v2)", "  ".join(
        f"{p}:{figures['v1']['per_province'].get(p, 0)}→{figures['v2']['per_province'].get(p, 0)}" for p in per_province)))  # fmt: skip
    figures["demo_seconds"] = round(loaded, 1)
    report(
        f"point-project v1 beside v2 on {args.facilities:,} demo facilities (seed {args.seed})", rows, figures
    )


if __name__ == "__main__":
    main()
