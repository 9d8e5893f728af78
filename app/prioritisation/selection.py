"""Budgeted selection: maximise total score subject to cost ≤ budget and per-province/sector counts.

An exact 0/1 integer programme solved by HiGHS (scipy.optimize.milp). Among equally good selections the
one favouring better-ranked candidates is taken (a second solve with the optimum fixed), so the result is
deterministic.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np
import scipy
from scipy.optimize import Bounds, LinearConstraint, milp

from app.core.errors import Infeasible, field_error


def select(
    items: list[dict[str, Any]],
    costs: dict[str, float | None],
    budget: int,
    province_min: int | None = None,
    province_max: int | None = None,
    sector_max: int | None = None,
    time_limit_s: float = 120.0,
) -> dict[str, Any]:
    """`items` are ranked items (rank, facility{id, province_code, sector}, score)."""
    ok = [(c := costs.get(it["facility"]["id"])) is not None and c >= 0 for it in items]
    selectable = [it for it, good in zip(items, ok, strict=True) if good]
    not_selectable = [it["facility"]["id"] for it, good in zip(items, ok, strict=True) if not good]
    n = len(selectable)
    score = np.array([it["score"] for it in selectable], dtype=float)
    cost = np.array([costs[it["facility"]["id"]] for it in selectable], dtype=float)
    by_prov: dict[str, list[int]] = defaultdict(list)
    by_sector: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(selectable):
        by_prov[it["facility"]["province_code"]].append(i)
        by_sector[it["facility"]["sector"]].append(i)

    mins = {p: min(province_min or 0, len(ix)) for p, ix in by_prov.items()}
    if province_min:
        needed = sum(float(np.sort(cost[ix])[: mins[p]].sum()) for p, ix in by_prov.items())
        if needed > budget:
            raise Infeasible(
                f"Selecting at least {province_min} per province costs at least {needed:,.0f} VND, more than the budget.",
                errors=[field_error("per_province.min", "infeasible",
                                    f"The cheapest {province_min} candidates of each of {len(by_prov)} provinces cost {needed:,.0f} VND; the budget is {budget:,} VND.")],
            )  # fmt: skip
    rows, lb, ub, names = [cost / budget if budget else cost], [-np.inf], [1.0 if budget else 0.0], ["budget"]
    for p in sorted(by_prov):
        if province_min or province_max is not None:
            row = np.zeros(n)
            row[by_prov[p]] = 1
            rows.append(row)
            lb.append(float(mins[p]))
            ub.append(float(province_max) if province_max is not None else np.inf)
            names.append(f"province:{p}")
    if sector_max is not None:
        for sct in sorted(by_sector):
            row = np.zeros(n)
            row[by_sector[sct]] = 1
            rows.append(row)
            lb.append(-np.inf)
            ub.append(float(sector_max))
            names.append(f"sector:{sct}")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "budget_vnd": budget,
        "candidates_selectable": n,
        "not_selectable": not_selectable,
        "solver": {"name": "HiGHS (scipy.optimize.milp)", "scipy_version": scipy.__version__},
    }
    if n == 0:
        chosen: list[int] = []
        objective = 0.0
        status = "optimal"
    else:
        # HiGHS accepts a row that exceeds its bound by its feasibility tolerance (1e-6 of the budget, i.e. 20,000
        # VND on 20 billion): a selection over budget by that much is solved again with the budget row tightened
        # by twice the tolerance, so the selected total never exceeds the budget.
        for budget_ub in (1.0, 1.0 - 2e-6):
            ub[0] = budget_ub if budget else 0.0
            chosen, objective, status, gap = _solve(score, rows, lb, ub, selectable, len(items), time_limit_s)
            if float(cost[chosen].sum()) <= budget:
                break
            result["solver"]["budget_row_tightened"] = True  # optimal under a budget 2e-6 smaller
        else:
            raise Infeasible("The solver could not keep the selection within the budget exactly.")
        result["solver"]["mip_gap"] = gap
    result["solver"]["status"] = status
    result["solver"]["seconds"] = round(time.perf_counter() - started, 4)
    used = float(cost[chosen].sum()) if chosen else 0.0
    chosen_set = set(chosen)
    binding = []
    rest = [cost[i] for i in range(n) if i not in chosen_set]
    if rest and budget - used < min(rest):
        binding.append("budget")
    counts_p = {p: sum(1 for i in ix if i in chosen_set) for p, ix in by_prov.items()}
    for p, k in sorted(counts_p.items()):
        if province_max is not None and k == province_max and len(by_prov[p]) > k:
            binding.append(f"per_province.max:{p}")
        if province_min and k == mins[p] and k > 0:
            binding.append(f"per_province.min:{p}")
    if sector_max is not None:
        for sct, ix in sorted(by_sector.items()):
            if sum(1 for i in ix if i in chosen_set) == sector_max and len(ix) > sector_max:
                binding.append(f"per_sector.max:{sct}")
    result.update(
        objective=round(objective, 12),
        total_cost_vnd=int(round(used)),
        binding_constraints=binding,
        selected=[
            {
                "rank": selectable[i]["rank"],
                "facility_id": selectable[i]["facility"]["id"],
                "province_code": selectable[i]["facility"]["province_code"],
                "score": selectable[i]["score"],
                "cost_vnd": int(round(cost[i])),
            }
            for i in sorted(chosen, key=lambda i: selectable[i]["rank"])
        ],  # fmt: skip
    )
    return result


def _solve(
    score: np.ndarray,
    rows: list[np.ndarray],
    lb: list[float],
    ub: list[float],
    selectable: list[dict[str, Any]],
    ranked: int,
    time_limit_s: float,
) -> tuple[list[int], float, str, float]:
    """The optimum, then among equal optima the one preferring better ranks: (chosen, objective, status, gap)."""
    n = len(selectable)
    a = np.vstack(rows)
    constraints = LinearConstraint(a, np.array(lb), np.array(ub))
    opts = {"disp": False, "time_limit": time_limit_s, "mip_rel_gap": 0.0}
    first = milp(-score, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=constraints, options=opts)
    if first.status == 2:
        raise Infeasible.at("per_province", "infeasible", "The per-province and per-sector bounds cannot all be met within the budget.",
                            detail="No selection meets every constraint together.")  # fmt: skip
    if first.x is None:
        raise Infeasible(f"The solver stopped without a proven optimum: {first.message}")
    objective = float(score @ np.round(first.x))
    # Tie-break: keep the optimum, prefer better ranks (deterministic among equal-score selections).
    tie = LinearConstraint(
        np.vstack([a, score]),
        np.array([*lb, objective - 1e-9 * max(1.0, abs(objective))]),
        np.array([*ub, np.inf]),
    )
    prefer = np.array([-(ranked - it["rank"] + 1) for it in selectable], dtype=float)
    second = milp(prefer, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=tie, options=opts)
    x = np.round(second.x if second.x is not None else first.x).astype(int)
    chosen = [i for i in range(n) if x[i] == 1]
    status = "optimal" if first.status == 0 else str(first.message)
    return chosen, float(score[chosen].sum()), status, float(getattr(first, "mip_gap", 0.0) or 0.0)
