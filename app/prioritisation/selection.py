"""Budgeted selection: maximise total score subject to cost ≤ budget and per-province/sector counts.

An exact 0/1 integer programme solved by HiGHS (scipy.optimize.milp). Among equally good selections the
one favouring better-ranked candidates is taken (a second solve with the optimum fixed), so the result is
deterministic.

At national scale (tens of thousands of candidates) the integer programme is not handed to HiGHS whole.
Its linear relaxation is solved first; its multipliers give every candidate a reduced score `r_j`, and a
bound `U` on the score of any feasible selection, such that a selection that includes a candidate with
`r_j < 0` (or leaves out one with `r_j > 0`) scores at most `U − |r_j|` (Lagrangian duality; valid for any
multipliers, so it does not depend on the LP solver's tolerances). HiGHS then solves the "core" — the
candidates of smallest |r_j| — with every other candidate fixed as its sign says; the core's optimum `z` is
a feasible selection of the full problem, and when every candidate outside the core has `U − |r_j|` below
`z` (less the tie-break's tolerance), no selection at least that good can differ from the fixing outside
the core: `z` is the proven optimum of the full problem, and the tie-break among equal optima is solved
over the candidates the bound leaves free (|r_j| ≤ U − z, tens at national scale). Otherwise the core grows
(to every candidate at worst, the plain full solve). Problems of at most CORE_MIN candidates are solved whole.
The relaxation is solved once: its multipliers bound the tightened-budget round too.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np
import scipy
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from app.core.errors import Infeasible, field_error

CORE_MIN = 400  # candidates in the first core (a problem HiGHS solves in milliseconds)


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
    ranks = np.array([it["rank"] for it in selectable], dtype=float)
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
    # Constraint rows, sparse: row 0 the budget (costs as a share of it), then one row per province and per
    # sector where bounded. Each candidate has a coefficient in at most three rows.
    row_ix: list[np.ndarray] = [np.zeros(n, dtype=np.int64)]
    col_ix: list[np.ndarray] = [np.arange(n)]
    val: list[np.ndarray] = [cost / budget if budget else cost]
    lb, ub, names = [-np.inf], [1.0 if budget else 0.0], ["budget"]
    for groups, on, low, high, label in (
        (by_prov, bool(province_min) or province_max is not None, mins, province_max, "province"),
        (by_sector, sector_max is not None, None, sector_max, "sector"),
    ):
        if not on:
            continue
        for g in sorted(groups):
            ix = np.array(groups[g], dtype=np.int64)
            row_ix.append(np.full(len(ix), len(lb), dtype=np.int64))
            col_ix.append(ix)
            val.append(np.ones(len(ix)))
            lb.append(float(low[g]) if low is not None else -np.inf)
            ub.append(float(high) if high is not None else np.inf)
            names.append(f"{label}:{g}")
    a = sparse.csc_array(
        (np.concatenate(val), (np.concatenate(row_ix), np.concatenate(col_ix))), shape=(len(lb), n)
    )
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
        lo, hi = np.array(lb), np.array(ub)
        prefer = -(len(items) - ranks + 1)
        # The relaxation's multipliers, once: the bound they give is valid for the tightened budget too.
        y = _multipliers(score, a, lo, hi) if n > CORE_MIN else np.zeros(len(lb))
        for budget_ub in (1.0, 1.0 - 2e-6):
            hi[0] = budget_ub if budget else 0.0
            chosen, objective, status, gap, core = _solve(score, a, lo, hi, y, prefer, time_limit_s)
            if float(cost[chosen].sum()) <= budget:
                break
            result["solver"]["budget_row_tightened"] = True  # optimal under a budget 2e-6 smaller
        else:
            raise Infeasible("The solver could not keep the selection within the budget exactly.")
        result["solver"]["mip_gap"] = gap
        result["solver"]["core"] = core
    result["solver"]["status"] = status
    result["solver"]["seconds"] = round(time.perf_counter() - started, 4)
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    used = float(cost[mask].sum()) if chosen else 0.0
    binding = []
    if (~mask).any() and budget - used < float(cost[~mask].min()):
        binding.append("budget")
    counts_p = {p: int(mask[ix].sum()) for p, ix in by_prov.items()}
    for p, k in sorted(counts_p.items()):
        if province_max is not None and k == province_max and len(by_prov[p]) > k:
            binding.append(f"per_province.max:{p}")
        if province_min and k == mins[p] and k > 0:
            binding.append(f"per_province.min:{p}")
    if sector_max is not None:
        for sct, members in sorted(by_sector.items()):
            if int(mask[members].sum()) == sector_max and len(members) > sector_max:
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


def _multipliers(score: np.ndarray, a: sparse.csc_array, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """The LP relaxation's row multipliers y (≥ 0 on a row at its upper bound, ≤ 0 at its lower bound); 422
    when the relaxation is infeasible (then so is the integer programme)."""
    fin_lb, fin_ub = np.isfinite(lb), np.isfinite(ub)
    up = np.flatnonzero(fin_ub)
    down = np.flatnonzero(fin_lb)
    a_ub = sparse.vstack([a[up], -a[down]]).tocsr()
    b_ub = np.concatenate([ub[up], -lb[down]])
    lp = linprog(-score, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    if lp.status == 2:
        raise _infeasible()
    if lp.status != 0:
        raise Infeasible(f"The solver stopped without a proven optimum: {lp.message}")
    m = np.asarray(lp.ineqlin.marginals, dtype=float)  # d(−objective)/d(b_ub) ≤ 0 for a minimisation
    y = np.zeros(len(lb))
    np.add.at(y, up, -m[: len(up)])
    np.add.at(y, down, m[len(up) :])
    return y


def _bound(
    score: np.ndarray, a: sparse.csc_array, lb: np.ndarray, ub: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, float]:
    """Reduced scores r = score − Aᵀy and the bound U = Σ_i h_i(y_i) + Σ_j max(r_j, 0).

    For any 0/1 x with lb ≤ Ax ≤ ub: score·x = r·x + y·Ax ≤ r·x + Σ_i h_i, where h_i is y_i·ub_i (y_i > 0) or
    y_i·lb_i (y_i < 0); a multiplier whose bound is infinite is taken as 0. Valid whatever y is, so the
    relaxation's tolerances cannot make it wrong; the closer y is to optimal, the tighter."""
    fin_lb, fin_ub = np.isfinite(lb), np.isfinite(ub)
    y = np.where(((y > 0) & fin_ub) | ((y < 0) & fin_lb), y, 0.0)
    r = score - a.T @ y
    h = np.where(y > 0, y * np.where(fin_ub, ub, 0.0), y * np.where(fin_lb, lb, 0.0))
    return r, float(h.sum() + np.maximum(r, 0.0).sum())


def _infeasible() -> Infeasible:
    return Infeasible.at("per_province", "infeasible", "The per-province and per-sector bounds cannot all be met within the budget.",
                         detail="No selection meets every constraint together.")  # type: ignore[return-value]  # fmt: skip


def _solve(
    score: np.ndarray,
    a: sparse.csc_array,
    lb: np.ndarray,
    ub: np.ndarray,
    y: np.ndarray,
    prefer: np.ndarray,
    time_limit_s: float,
) -> tuple[list[int], float, str, float, int]:
    """The optimum, then among equal optima the one preferring better ranks: (chosen, objective, status, gap,
    core size). Solved on a core of candidates proven to hold every selection at least as good (module doc)."""
    n = len(score)
    r, bound = _bound(score, a, lb, ub, y)
    order = np.argsort(np.abs(r), kind="stable")
    fixed_value = r > 0  # outside the core: in the selection when its reduced score is positive
    safety = 1e-9 * (float(np.abs(score).sum()) + abs(bound) + 1.0)  # floating-point error of the sums
    k = min(n, CORE_MIN)
    while True:
        core = order[:k]
        solved = _optimum(score, a, lb, ub, core, fixed_value, time_limit_s)
        if solved is None:  # the fixing leaves no feasible selection: a larger core
            if k == n:
                raise _infeasible()
            k = min(n, 4 * k)
            continue
        x, status, gap = solved
        objective = float(score @ x)
        threshold = objective - _tie_tolerance(objective) - safety
        if k == n or abs(r[order[k]]) > bound - threshold:
            break
        k = min(n, max(2 * k, int(np.searchsorted(np.abs(r)[order], bound - threshold, side="right")) + 64))
    # Tie-break: keep the optimum, prefer better ranks (deterministic among equal-score selections). Every
    # selection within the tolerance of the optimum agrees with the fixing wherever |r_j| > U − threshold
    # (above), so only the others are free — fewer than the core (all of it when the core is everything).
    free = (
        core if k == n else order[: int(np.searchsorted(np.abs(r)[order], bound - threshold, side="right"))]
    )
    fixed = np.zeros(n, dtype=bool)
    fixed[np.setdiff1d(np.arange(n), free)] = True
    start = np.where(fixed, x, 0)
    if not len(free):  # nothing left to choose: the optimum is the only selection that good
        chosen = np.flatnonzero(x == 1).tolist()
        return chosen, float(score[chosen].sum()), status, gap, int(len(core))
    rows = a[:, free]
    used = a @ start
    tie = LinearConstraint(
        sparse.vstack([rows, sparse.csr_array(score[free][None, :])]),
        np.concatenate([lb - used, [objective - _tie_tolerance(objective) - float(score @ start)]]),
        np.concatenate([ub - used, [np.inf]]),
    )
    opts = {"disp": False, "time_limit": time_limit_s, "mip_rel_gap": 0.0}
    second = milp(
        prefer[free], integrality=np.ones(len(free)), bounds=Bounds(0, 1), constraints=tie, options=opts
    )
    if second.x is not None:
        x = start.copy()
        x[free] = np.round(second.x).astype(int)
    chosen = np.flatnonzero(x == 1).tolist()
    return chosen, float(score[chosen].sum()), status, gap, int(len(core))


def _tie_tolerance(objective: float) -> float:
    return 1e-9 * max(1.0, abs(objective))


def _optimum(
    score: np.ndarray,
    a: sparse.csc_array,
    lb: np.ndarray,
    ub: np.ndarray,
    core: np.ndarray,
    fixed_value: np.ndarray,
    time_limit_s: float,
) -> tuple[np.ndarray, str, float] | None:
    """HiGHS's proven optimum of max score·x over 0/1 x with lb ≤ Ax ≤ ub, x fixed to `fixed_value` outside
    the core: (x over every candidate, status, gap); None: infeasible."""
    x = fixed_value.astype(int)
    x[core] = 0
    used = a @ x
    opts = {"disp": False, "time_limit": time_limit_s, "mip_rel_gap": 0.0}
    res = milp(-score[core], integrality=np.ones(len(core)), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a[:, core], lb - used, ub - used), options=opts)  # fmt: skip
    if res.status == 2:
        return None
    if res.x is None:
        raise Infeasible(f"The solver stopped without a proven optimum: {res.message}")
    status = "optimal" if res.status == 0 else str(res.message)
    x[core] = np.round(res.x).astype(int)
    return x, status, float(getattr(res, "mip_gap", 0.0) or 0.0)
