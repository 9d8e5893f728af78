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

Candidates no constraint tells apart (the same cost, province, sector and kind) are taken best-scored first
(`_interchangeable`): rows that keep every optimum's value and remove the symmetry HiGHS would otherwise branch
over (docs/selection.md).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import scipy
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from app.core.errors import Infeasible, field_error

CORE_MIN = 400  # candidates in the first core (a problem HiGHS solves in milliseconds)


STRATEGIES = ("max_total_score", "rank_order")
ELIGIBILITY_RULES = ("min_score", "max_rank", "min_cost_vnd", "max_cost_vnd", "kinds", "approved_only")
TOP_N = 50  # top_funded: of the TOP_N best-ranked eligible candidates, how many a selection funds
# Constraint families an infeasible request is diagnosed over, in the order the deletion filter tries them
# (the later ones are kept when several minimal sets exist: the budget is named rather than a bound).
FAMILIES = ("eligibility", "min_provinces", "per_kind.min", "per_kind.max", "per_sector.min", "per_sector.max",
            "per_province.min", "per_province.max", "max_projects", "budget")  # fmt: skip
PATHS = {"budget": "budget_vnd"}


@dataclass(frozen=True)
class Limits:
    """The bounds of a selection (None: unbounded). `kind`: per support kind, (kind, min, max)."""

    province_min: int | None = None
    province_max: int | None = None
    sector_min: int | None = None
    sector_max: int | None = None
    kind: tuple[tuple[str, int | None, int | None], ...] = ()
    max_projects: int | None = None
    min_provinces: int | None = None


@dataclass(frozen=True)
class Eligibility:
    """Who may be selected; a candidate outside it stays ranked."""

    min_score: float | None = None
    max_rank: int | None = None
    min_cost_vnd: int | None = None
    max_cost_vnd: int | None = None
    kinds: tuple[str, ...] | None = None
    approved_only: bool = False

    def failed(
        self, item: dict[str, Any], cost: float, kind: str | None, approved: set[str] | None
    ) -> str | None:
        """The first rule (ELIGIBILITY_RULES order) the candidate fails, or None."""
        if self.min_score is not None and item["score"] < self.min_score:
            return "min_score"
        if self.max_rank is not None and item["rank"] > self.max_rank:
            return "max_rank"
        if self.min_cost_vnd is not None and cost < self.min_cost_vnd:
            return "min_cost_vnd"
        if self.max_cost_vnd is not None and cost > self.max_cost_vnd:
            return "max_cost_vnd"
        if self.kinds is not None and kind not in self.kinds:
            return "kinds"
        if self.approved_only and (approved is None or item["facility"]["id"] not in approved):
            return "approved_only"
        return None


class _NoSelection(Exception):
    """No selection meets every constraint (diagnosed by `_diagnose` before it reaches the caller)."""


def select(
    items: list[dict[str, Any]],
    costs: dict[str, float | None],
    budget: int,
    province_min: int | None = None,
    province_max: int | None = None,
    sector_max: int | None = None,
    time_limit_s: float = 120.0,
    *,
    strategy: str = "max_total_score",
    limits: Limits | None = None,
    eligibility: Eligibility | None = None,
    kinds: dict[str, str | None] | None = None,
    approved: set[str] | None = None,
    compare: bool = False,
) -> dict[str, Any]:
    """`items` are ranked items (rank, facility{id, province_code, sector}, score), in rank order.

    `strategy`: `max_total_score` (the exact optimum) or `rank_order` (the walk down the ranking, module doc).
    `limits` (else the three positional bounds), `eligibility`, each candidate's support kind (`kinds`) and the
    candidates whose cost comes from an approved response (`approved`, for eligibility.approved_only).
    `compare`: also the summary of every strategy on the same inputs (`comparison`). 422 (Infeasible) naming
    the constraints that cannot all hold when no selection meets them."""
    lim = limits or Limits(province_min=province_min, province_max=province_max, sector_max=sector_max)
    elig = eligibility or Eligibility()
    kinds = kinds or {}
    # Per ranked item: why it cannot be selected (no_cost, not_eligible:<rule>) or None.
    status: list[str | None] = []
    for it in items:
        c = costs.get(it["facility"]["id"])
        if c is None or c < 0:
            status.append("no_cost")
            continue
        rule = elig.failed(it, c, kinds.get(it["facility"]["id"]), approved)
        status.append(f"not_eligible:{rule}" if rule else None)
    pos = [i for i, st in enumerate(status) if st is None]  # the selectable, in rank order
    problem = _Problem([items[i] for i in pos], [float(costs[items[i]["facility"]["id"]] or 0) for i in pos],
                       [kinds.get(items[i]["facility"]["id"]) for i in pos], budget, lim)  # fmt: skip
    started = time.perf_counter()
    result: dict[str, Any] = {
        "budget_vnd": budget,
        "strategy": strategy,
        "candidates_selectable": len(pos),
        "not_selectable": [
            it["facility"]["id"] for it, st in zip(items, status, strict=True) if st == "no_cost"
        ],
        "not_eligible_count": sum(1 for st in status if st and st.startswith("not_eligible")),
        "solver": {"name": "HiGHS (scipy.optimize.milp)", "scipy_version": scipy.__version__},
    }
    runs: dict[str, tuple[list[int], dict[int, str]]] = {}
    try:
        for name in [strategy, *[s for s in STRATEGIES if s != strategy and compare]]:
            if name == "max_total_score":
                chosen, info = problem.optimum(time_limit_s)
                if name == strategy:
                    result["solver"].update(info)
                runs[name] = (chosen, problem.reasons_of_optimum(chosen))
            else:
                runs[name] = problem.walk(time_limit_s)
                if name == strategy:
                    result["solver"]["status"] = "rank_order"
    except _NoSelection:
        raise _diagnose(items, costs, budget, lim, elig, kinds, approved, status) from None
    result["solver"]["seconds"] = round(time.perf_counter() - started, 4)
    chosen, why = runs[strategy]
    mask = np.zeros(problem.n, dtype=bool)
    mask[chosen] = True
    total = float(problem.score[chosen].sum()) if chosen else 0.0
    last = max(chosen) if chosen else -1
    passed: list[dict[str, Any]] = []
    last_rank = problem.items[last]["rank"] if chosen else None
    at = {i: k for k, i in enumerate(pos)}
    for i, it in enumerate(items):
        if last_rank is None or it["rank"] >= last_rank:
            break
        k = at.get(i)
        if k is not None and mask[k]:
            continue
        reason = status[i] if k is None else why.get(k, "optimum_prefers_others")
        c = costs.get(it["facility"]["id"])
        passed.append({"rank": it["rank"], "facility_id": it["facility"]["id"], "province_code": it["facility"]["province_code"],
                       "score": it["score"], "cost_vnd": None if c is None else int(round(c)), "reason": reason})  # fmt: skip
    result.update(
        objective=round(total, 12),
        total_score=round(total, 12),
        **problem.summary(chosen),
        binding_constraints=problem.binding(mask),
        selected=[
            {
                "rank": problem.items[i]["rank"],
                "facility_id": problem.items[i]["facility"]["id"],
                "province_code": problem.items[i]["facility"]["province_code"],
                "score": problem.items[i]["score"],
                "cost_vnd": int(round(problem.cost[i])),
            }
            for i in sorted(chosen)
        ],  # fmt: skip
        passed_over=passed,
    )
    if compare:
        result["comparison"] = {
            name: {"strategy": name, "total_score": round(float(problem.score[runs[name][0]].sum()), 12),
                   **problem.summary(runs[name][0])}
            for name in STRATEGIES
        }  # fmt: skip
    return result


class _Problem:
    """The selectable candidates (in rank order) and the bounds: the integer programme and the walk."""

    def __init__(self, items: list[dict[str, Any]], cost: list[float], kind: list[str | None], budget: int,
                 lim: Limits) -> None:  # fmt: skip
        self.items, self.budget, self.lim = items, budget, lim
        self.n = n = len(items)
        self.score = np.array([it["score"] for it in items], dtype=float)
        self.cost = np.array(cost, dtype=float)
        self.ranks = np.array([it["rank"] for it in items], dtype=float)
        self.kind = kind
        self.unit = _budget_unit(self.cost, budget)
        self.prov = [it["facility"]["province_code"] for it in items]
        self.sector = [it["facility"]["sector"] for it in items]
        self.by_prov: dict[str, list[int]] = defaultdict(list)
        self.by_sector: dict[str, list[int]] = defaultdict(list)
        self.by_kind: dict[str, list[int]] = defaultdict(list)
        for i in range(n):
            self.by_prov[self.prov[i]].append(i)
            self.by_sector[self.sector[i]].append(i)
            if kind[i] is not None:
                self.by_kind[kind[i]].append(i)  # type: ignore[index]
        # Minimums per group: per province and per sector at most the group's candidates (as before: "at least
        # 1 per province" asks nothing of a province without a candidate); a named kind's minimum is as written.
        self.pmin = {p: min(lim.province_min or 0, len(ix)) for p, ix in self.by_prov.items()}
        self.smin = {s: min(lim.sector_min or 0, len(ix)) for s, ix in self.by_sector.items()}
        self.kmin = {k: lo or 0 for k, lo, _ in lim.kind}
        self.kmax = {k: hi for k, _, hi in lim.kind if hi is not None}

    # -- the integer programme ---------------------------------------------------------------------------
    def model(
        self, relax: frozenset[str] = frozenset()
    ) -> tuple[sparse.csc_array, np.ndarray, np.ndarray, int]:
        """(A, lb, ub, aux): rows over the n candidates and, with min_provinces, one 0/1 column per province
        (1 only if the province has a selected candidate). Families in `relax` are left out."""
        lim, n = self.lim, self.n
        rows: list[tuple[np.ndarray, np.ndarray, float, float]] = []
        if "budget" not in relax:
            rows.append((np.arange(n), self.cost / self.unit, -np.inf, self.budget / self.unit))
        if lim.max_projects is not None and "max_projects" not in relax:
            rows.append((np.arange(n), np.ones(n), -np.inf, float(lim.max_projects)))
        for groups, low, high, fam in ((self.by_prov, self.pmin if lim.province_min else None, lim.province_max, "per_province"),
                                       (self.by_sector, self.smin if lim.sector_min else None, lim.sector_max, "per_sector")):  # fmt: skip
            lo_on = low is not None and f"{fam}.min" not in relax
            hi_on = high is not None and f"{fam}.max" not in relax
            if not (lo_on or hi_on):
                continue
            for g in sorted(groups):
                ix = np.array(groups[g], dtype=np.int64)
                rows.append((ix, np.ones(len(ix)), float(low[g]) if lo_on and low else -np.inf,
                             float(high) if hi_on and high is not None else np.inf))  # fmt: skip
        for k, lo, hi in lim.kind:
            lo_on = bool(lo) and "per_kind.min" not in relax
            hi_on = hi is not None and "per_kind.max" not in relax
            if lo_on or hi_on:
                ix = np.array(self.by_kind.get(k, []), dtype=np.int64)
                rows.append((ix, np.ones(len(ix)), float(lo) if lo_on and lo else -np.inf,
                             float(hi) if hi_on and hi is not None else np.inf))  # fmt: skip
        aux = 0
        if lim.min_provinces and "min_provinces" not in relax:
            provs = sorted(self.by_prov)
            aux = len(provs)
            for j, p in enumerate(provs):  # y_p ≤ Σ x_i over the province
                ix = np.array(self.by_prov[p], dtype=np.int64)
                rows.append(
                    (np.concatenate([ix, [n + j]]), np.concatenate([-np.ones(len(ix)), [1.0]]), -np.inf, 0.0)
                )
            rows.append((n + np.arange(aux), np.ones(aux), float(lim.min_provinces), np.inf))
        if not rows:
            rows.append((np.zeros(0, dtype=np.int64), np.zeros(0), -np.inf, np.inf))
        r_ix = np.concatenate([np.full(len(c), r, dtype=np.int64) for r, (c, _, _, _) in enumerate(rows)])
        a = sparse.csc_array((np.concatenate([v for _, v, _, _ in rows]), (r_ix, np.concatenate([c for c, _, _, _ in rows]))),
                             shape=(len(rows), n + aux))  # fmt: skip
        return a, np.array([r[2] for r in rows]), np.array([r[3] for r in rows]), aux

    def feasible(self, relax: frozenset[str], time_limit_s: float = 20.0) -> bool:
        """Whether some selection meets every constraint outside `relax` (HiGHS; a time-out counts as not)."""
        if (
            self.lim.min_provinces
            and "min_provinces" not in relax
            and len(self.by_prov) < self.lim.min_provinces
        ):
            return False
        a, lo, hi, aux = self.model(relax)
        m = self.n + aux
        if m == 0:
            return bool(np.all(lo <= 0) and np.all(hi >= 0))
        res = milp(np.zeros(m), integrality=np.ones(m), bounds=Bounds(0, 1), constraints=LinearConstraint(a, lo, hi),
                   options={"disp": False, "time_limit": time_limit_s})  # fmt: skip
        return res.x is not None and res.status == 0

    def precheck(self) -> None:
        """_NoSelection when too few provinces or candidates of a kind are selectable for the minimums."""
        if self.lim.min_provinces and len(self.by_prov) < self.lim.min_provinces:
            raise _NoSelection
        if any(len(self.by_kind.get(k, [])) < lo for k, lo in self.kmin.items()):
            raise _NoSelection

    def optimum(self, time_limit_s: float) -> tuple[list[int], dict[str, Any]]:
        """The exact optimum (module doc): (chosen candidate indices, solver facts)."""
        n = self.n
        self.precheck()
        if n == 0:
            return [], {"status": "optimal"}
        a, lb, ub, aux = self.model()
        score = np.concatenate([self.score, np.zeros(aux)])
        # Among equal optima: better ranks first, and every candidate rather than none (each weighs ≥ 1).
        prefer = np.concatenate([-(float(self.ranks.max()) - self.ranks + 1), np.zeros(aux)])
        always = np.arange(n, n + aux)
        info: dict[str, Any] = {}
        # HiGHS accepts a row that exceeds its bound by its feasibility tolerance (1e-6 of the row's unit, see
        # _budget_unit): a selection over budget by that much is solved again with the budget row tightened
        # by 2e-6 of the budget, so the selected total never exceeds the budget.
        y = _multipliers(score, a, lb, ub) if n > CORE_MIN else np.zeros(len(lb))
        for budget_ub in (1.0, 1.0 - 2e-6):
            ub[0] = budget_ub * self.budget / self.unit
            chosen, _objective, status, gap, core = _solve(score, a, lb, ub, y, prefer, time_limit_s, always)
            chosen = [i for i in chosen if i < n]
            if float(self.cost[chosen].sum()) <= self.budget:
                break
            info["budget_row_tightened"] = True  # optimal under a budget 2e-6 smaller
        else:
            raise Infeasible("The solver could not keep the selection within the budget exactly.")
        info.update(mip_gap=gap, core=core, status=status)
        return chosen, info

    def reasons_of_optimum(self, chosen: list[int]) -> dict[int, str]:
        """Why the optimum leaves out each selectable candidate ranked above its last selected one."""
        if not chosen:
            return {}
        lim, picked = self.lim, set(chosen)
        counts_p = Counter(self.prov[i] for i in chosen)
        counts_s = Counter(self.sector[i] for i in chosen)
        counts_k = Counter(self.kind[i] for i in chosen)
        out: dict[int, str] = {}
        spent = 0.0
        for i in range(max(chosen)):
            if i in picked:
                spent += self.cost[i]
                continue
            k = self.kind[i]
            if self.cost[i] > self.budget - spent:
                out[i] = "over_budget"
            elif lim.province_max is not None and counts_p[self.prov[i]] >= lim.province_max:
                out[i] = "province_bound"
            elif lim.sector_max is not None and counts_s[self.sector[i]] >= lim.sector_max:
                out[i] = "sector_bound"
            elif k is not None and k in self.kmax and counts_k[k] >= self.kmax[k]:
                out[i] = "kind_bound"
            elif lim.max_projects is not None and len(chosen) >= lim.max_projects:
                out[i] = "max_projects"
            else:
                out[i] = "optimum_prefers_others"
        return out

    # -- the walk down the ranking ------------------------------------------------------------------------
    def walk(self, time_limit_s: float) -> tuple[list[int], dict[int, str]]:
        """rank_order: from rank 1, select each candidate whose cost fits the budget left and every bound.

        Minimums (per province, sector, kind; min_provinces) are kept reachable: a reserve R of later candidates
        that would meet them is held (the cheapest found: greedily by cost, else HiGHS's min-cost completion), and
        a candidate is selected only if the selection, it and a reserve still fit every bound and the budget (R as
        it is, or with one reserved candidate given up for it); a reserved candidate is selected when the walk
        reaches it. The selection with its reserve always meets every bound, so the walk never ends below a
        minimum. Each step is O(1) in the bounds (counts kept per group), O(|R|) at worst for a swap."""
        lim, n = self.lim, self.n
        mins = bool(lim.province_min or lim.sector_min or any(self.kmin.values()) or lim.min_provinces)
        self.precheck()
        reserve: list[int] = []
        if mins:
            found = self._completion(0, [], float(self.budget))
            reserve = found if found is not None else self._min_cost_completion(time_limit_s)
        sel: list[int] = []
        why: dict[int, str] = {}
        left = float(self.budget)
        cp: Counter[str] = Counter()  # the selection's counts
        cs: Counter[str] = Counter()
        ck: Counter[str | None] = Counter()
        rset = set(reserve)
        tp = Counter(self.prov[j] for j in reserve)  # selection and reserve together
        ts = Counter(self.sector[j] for j in reserve)
        tk: Counter[str | None] = Counter(self.kind[j] for j in reserve)
        rcost = float(self.cost[reserve].sum()) if reserve else 0.0
        by_cost = sorted(reserve, key=lambda j: -self.cost[j])  # the reserve, dearest first (swaps)
        pmax, smax, kmax, most = lim.province_max, lim.sector_max, self.kmax, lim.max_projects
        for i in range(n):
            p, s, k, c = self.prov[i], self.sector[i], self.kind[i], float(self.cost[i])
            if i in rset:  # held for a minimum: it fits (the reserve was counted in every bound)
                rset.discard(i)
                by_cost.remove(i)
                rcost -= c
            else:
                reason = None
                if c > left:
                    reason = "over_budget"
                elif pmax is not None and cp[p] >= pmax:
                    reason = "province_bound"
                elif smax is not None and cs[s] >= smax:
                    reason = "sector_bound"
                elif k is not None and k in kmax and ck[k] >= kmax[k]:
                    reason = "kind_bound"
                elif most is not None and len(sel) >= most:
                    reason = "max_projects"
                elif rset:
                    j = self._beside_reserve(i, len(sel) + len(rset), left - rcost, tp, ts, tk, by_cost)
                    if j is None:
                        reason = self._reserve_reason(cp, cs, ck)
                    elif j >= 0:  # reserved j given up for i
                        rset.discard(j)
                        by_cost.remove(j)
                        rcost -= float(self.cost[j])
                        tp[self.prov[j]] -= 1
                        ts[self.sector[j]] -= 1
                        tk[self.kind[j]] -= 1
                if reason is not None:
                    why[i] = reason
                    continue
                tp[p] += 1
                ts[s] += 1
                tk[k] += 1
            sel.append(i)
            left -= c
            cp[p] += 1
            cs[s] += 1
            ck[k] += 1
        return sel, why

    def _beside_reserve(self, i: int, count: int, spare: float, tp: Counter, ts: Counter, tk: Counter,  # type: ignore[type-arg]
                        by_cost: list[int]) -> int | None:  # fmt: skip
        """-1: candidate i fits beside the reserve; j: it fits if reserved j is given up; None: neither. `count`
        is selected + reserved, `spare` the budget left beyond the reserve, t* their counts (which meet every
        bound: adding i can only break the budget, max_projects or a maximum of i's own groups)."""
        lim, kmax = self.lim, self.kmax
        p, s, k, c = self.prov[i], self.sector[i], self.kind[i], float(self.cost[i])
        over_p = lim.province_max is not None and tp[p] + 1 > lim.province_max
        over_s = lim.sector_max is not None and ts[s] + 1 > lim.sector_max
        over_k = k is not None and k in kmax and tk[k] + 1 > kmax[k]
        over_n = lim.max_projects is not None and count + 1 > lim.max_projects
        deficit = c - spare
        if deficit <= 0 and not (over_p or over_s or over_k or over_n):
            return -1
        covered = sum(1 for v in tp.values() if v > 0) if lim.min_provinces else 0
        for j in by_cost:
            cj = float(self.cost[j])
            if cj < deficit:
                return None  # the rest are cheaper still
            pj, sj, kj = self.prov[j], self.sector[j], self.kind[j]
            if (over_p and pj != p) or (over_s and sj != s) or (over_k and kj != k):
                continue
            # j's groups after giving it up (and taking i): their minimums must still hold
            if pj != p and tp[pj] - 1 < self.pmin.get(pj, 0):
                continue
            if sj != s and ts[sj] - 1 < self.smin.get(sj, 0):
                continue
            if kj != k and kj is not None and tk[kj] - 1 < self.kmin.get(kj, 0):
                continue
            if lim.min_provinces:
                after = covered - (1 if pj != p and tp[pj] == 1 else 0) + (1 if tp[p] == 0 else 0)
                if after < lim.min_provinces:
                    continue
            return j
        return None

    def _reserve_reason(self, cp: Counter, cs: Counter, ck: Counter) -> str:  # type: ignore[type-arg]
        """The bound whose minimum the reserve is held for (what a candidate that does not fit beside it meets)."""
        if any(cp[g] < lo for g, lo in self.pmin.items()) or (
            self.lim.min_provinces and sum(1 for v in cp.values() if v > 0) < self.lim.min_provinces
        ):
            return "province_bound"
        if any(cs[g] < lo for g, lo in self.smin.items()):
            return "sector_bound"
        return "kind_bound"

    def _fits(self, sel_n: int, left: float, cp: Counter, cs: Counter, ck: Counter, covered: int) -> bool:  # type: ignore[type-arg]
        """Whether counts (a whole selection) meet every bound and the budget left (≥ 0)."""
        lim = self.lim
        if left < 0 or (lim.max_projects is not None and sel_n > lim.max_projects):
            return False
        if lim.province_max is not None and any(v > lim.province_max for v in cp.values()):
            return False
        if lim.sector_max is not None and any(v > lim.sector_max for v in cs.values()):
            return False
        if any(ck[k] > hi for k, hi in self.kmax.items()):
            return False
        if any(cp[g] < lo for g, lo in self.pmin.items()) or any(cs[g] < lo for g, lo in self.smin.items()):
            return False
        if any(ck[k] < lo for k, lo in self.kmin.items()):
            return False
        return not (lim.min_provinces and covered < lim.min_provinces)

    def _completion(self, start: int, sel: list[int], left: float) -> list[int] | None:
        """A greedy reserve: the cheapest candidates from `start` on that each meet a minimum not yet met."""
        lim = self.lim
        need_p = dict(self.pmin)
        need_s = dict(self.smin)
        need_k = dict(self.kmin)
        need_cov = lim.min_provinces or 0
        covered: set[str] = set()
        out: list[int] = []
        cp: Counter[str] = Counter()
        cs: Counter[str] = Counter()
        ck: Counter[str | None] = Counter()
        for i in (start + np.argsort(self.cost[start:], kind="stable")).tolist():
            p, s, k = self.prov[i], self.sector[i], self.kind[i]
            helps = (need_p.get(p, 0) > cp[p] or need_s.get(s, 0) > cs[s] or (k is not None and need_k.get(k, 0) > ck[k])
                     or (len(covered) < need_cov and p not in covered))  # fmt: skip
            if not helps:
                continue
            if lim.province_max is not None and cp[p] >= lim.province_max:
                continue
            if lim.sector_max is not None and cs[s] >= lim.sector_max:
                continue
            if k is not None and k in self.kmax and ck[k] >= self.kmax[k]:
                continue
            out.append(i)
            cp[p] += 1
            cs[s] += 1
            ck[k] += 1
            covered.add(p)
        if self._fits(
            len(out), left - float(self.cost[out].sum()) if out else left, cp, cs, ck, len(covered)
        ):
            return out
        return None

    def _min_cost_completion(self, time_limit_s: float) -> list[int]:
        """HiGHS's cheapest selection meeting every bound (the reserve when the greedy one fails)."""
        a, lb, ub, aux = self.model()
        m = self.n + aux
        if m == 0:
            raise _NoSelection
        res = milp(np.concatenate([self.cost, np.zeros(aux)]), integrality=np.ones(m), bounds=Bounds(0, 1),
                   constraints=LinearConstraint(a, lb, ub), options={"disp": False, "time_limit": time_limit_s})  # fmt: skip
        if res.x is None:
            raise _NoSelection
        out = [i for i in np.flatnonzero(np.round(res.x[: self.n]) == 1).tolist()]
        if float(self.cost[out].sum()) > self.budget:
            raise _NoSelection
        return out

    # -- what a selection is --------------------------------------------------------------------------------
    def summary(self, chosen: list[int]) -> dict[str, Any]:
        costs = sorted(self.cost[chosen].tolist()) if chosen else []
        top = set(range(min(TOP_N, self.n)))
        return {
            "selected_count": len(chosen),
            "total_cost_vnd": int(round(sum(costs))),
            "provinces_covered": len({self.prov[i] for i in chosen}),
            "median_cost_vnd": int(round(statistics.median(costs))) if costs else None,
            "top_funded": {"n": TOP_N, "count": sum(1 for i in chosen if i in top)},
        }

    def binding(self, mask: np.ndarray) -> list[str]:
        """The constraints the selection meets exactly while a candidate left out could have used them."""
        lim, out = self.lim, []
        chosen = np.flatnonzero(mask).tolist()
        used = float(self.cost[mask].sum()) if chosen else 0.0
        if (~mask).any() and self.budget - used < float(self.cost[~mask].min()):
            out.append("budget")
        if lim.max_projects is not None and len(chosen) == lim.max_projects and (~mask).any():
            out.append("max_projects")
        for p in sorted(self.by_prov):
            k = int(mask[self.by_prov[p]].sum())
            if lim.province_max is not None and k == lim.province_max and len(self.by_prov[p]) > k:
                out.append(f"per_province.max:{p}")
            if lim.province_min and k == self.pmin[p] and k > 0:
                out.append(f"per_province.min:{p}")
        for sct in sorted(self.by_sector):
            members = self.by_sector[sct]
            k = int(mask[members].sum())
            if lim.sector_max is not None and k == lim.sector_max and len(members) > lim.sector_max:
                out.append(f"per_sector.max:{sct}")
            if lim.sector_min and k == self.smin[sct] and k > 0:
                out.append(f"per_sector.min:{sct}")
        for kd, lo, hi in lim.kind:
            members = self.by_kind.get(kd, [])
            k = int(mask[members].sum()) if members else 0
            if hi is not None and k == hi and len(members) > hi:
                out.append(f"per_kind.max:{kd}")
            if lo and k == lo:
                out.append(f"per_kind.min:{kd}")
        if lim.min_provinces and len({self.prov[i] for i in chosen}) == lim.min_provinces:
            out.append("min_provinces")
        return out


def _diagnose(items: list[dict[str, Any]], costs: dict[str, float | None], budget: int, lim: Limits,
              elig: Eligibility, kinds: dict[str, str | None], approved: set[str] | None, status: list[str | None]) -> Infeasible:  # fmt: skip
    """The 422 for a request no selection meets: the constraint families that cannot all hold.

    A deletion filter over the families present (FAMILIES order): each in turn is relaxed (left out) for good if
    the rest stays infeasible without it; the families left form an irreducible set — they cannot all hold,
    and relaxing any one of them (with those already left out) admits a selection. Eligibility is relaxed by
    making every candidate with a cost selectable. Feasibility is HiGHS's (a 0/1 programme without objective)."""
    present = [f for f in FAMILIES if _has(f, lim, elig, budget)]
    everyone = [i for i, st in enumerate(status) if st != "no_cost"]
    eligible = [i for i, st in enumerate(status) if st is None]

    def problem(relax: frozenset[str]) -> _Problem:
        pos = everyone if "eligibility" in relax else eligible
        return _Problem([items[i] for i in pos], [float(costs[items[i]["facility"]["id"]] or 0) for i in pos],
                        [kinds.get(items[i]["facility"]["id"]) for i in pos], budget, lim)  # fmt: skip

    def feasible(relax: frozenset[str]) -> bool:
        pr = problem(relax)
        if "per_kind.min" not in relax and any(len(pr.by_kind.get(k, [])) < lo for k, lo in pr.kmin.items()):
            return False
        return pr.feasible(relax)

    relaxed: set[str] = set()
    kept: list[str] = []
    for f in present:
        if feasible(frozenset(relaxed | {f})):
            kept.append(f)  # needed: without it a selection exists
        else:
            relaxed.add(f)
    if not kept:  # a time-out made every check fail: name them all
        kept = present
    names = [PATHS.get(f, f) for f in kept]
    errors = [field_error(PATHS.get(f, f), "infeasible", _WHAT[f].format(**_values(lim, elig, budget))
                          + (f" It cannot hold together with {', '.join(x for x in names if x != PATHS.get(f, f))}."
                             if len(names) > 1 else " No candidate set meets it."))
              for f in kept]  # fmt: skip
    return Infeasible(f"No selection meets these constraints together: {', '.join(names)}. Relax any one of them.",
                      errors=errors)  # type: ignore[return-value]  # fmt: skip


_WHAT = {
    "eligibility": "Only eligible candidates may be selected.",
    "min_provinces": "At least {min_provinces} provinces among the selected.",
    "per_kind.min": "The per-kind minimums ({kind_min}).",
    "per_kind.max": "The per-kind maximums ({kind_max}).",
    "per_sector.min": "At least {sector_min} per sector.",
    "per_sector.max": "At most {sector_max} per sector.",
    "per_province.min": "At least {province_min} per province.",
    "per_province.max": "At most {province_max} per province.",
    "max_projects": "At most {max_projects} selected.",
    "budget": "The budget of {budget:,} VND.",
}


def _values(lim: Limits, elig: Eligibility, budget: int) -> dict[str, Any]:
    return {**{f.name: getattr(lim, f.name) for f in fields(lim)}, "budget": budget,
            "kind_min": ", ".join(f"{k} ≥ {lo}" for k, lo, _ in lim.kind if lo),
            "kind_max": ", ".join(f"{k} ≤ {hi}" for k, _, hi in lim.kind if hi is not None)}  # fmt: skip


def _has(family: str, lim: Limits, elig: Eligibility, budget: int) -> bool:
    return {
        "eligibility": elig != Eligibility(),
        "min_provinces": bool(lim.min_provinces),
        "per_kind.min": any(lo for _, lo, _ in lim.kind),
        "per_kind.max": any(hi is not None for _, _, hi in lim.kind),
        "per_sector.min": bool(lim.sector_min),
        "per_sector.max": lim.sector_max is not None,
        "per_province.min": bool(lim.province_min),
        "per_province.max": lim.province_max is not None,
        "max_projects": lim.max_projects is not None,
        "budget": True,
    }[family]


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
        raise _NoSelection
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


def _solve(
    score: np.ndarray,
    a: sparse.csc_array,
    lb: np.ndarray,
    ub: np.ndarray,
    y: np.ndarray,
    prefer: np.ndarray,
    time_limit_s: float,
    always: np.ndarray | None = None,
) -> tuple[list[int], float, str, float, int]:
    """The optimum, then among equal optima the one preferring better ranks: (chosen, objective, status, gap,
    core size). Solved on a core of candidates proven to hold every selection at least as good (module doc);
    the columns in `always` (min_provinces' per-province indicators) are in every core."""
    n = len(score)
    r, bound = _bound(score, a, lb, ub, y)
    always = np.zeros(0, dtype=np.int64) if always is None else always
    na = len(always)
    rest = np.setdiff1d(np.arange(n), always)
    rest = rest[np.argsort(np.abs(r[rest]), kind="stable")]
    order = np.concatenate([always, rest]).astype(np.int64)
    abs_rest = np.abs(r[rest])
    fixed_value = r > 0  # outside the core: in the selection when its reduced score is positive
    safety = 1e-9 * (float(np.abs(score).sum()) + abs(bound) + 1.0)  # floating-point error of the sums
    k = min(n, CORE_MIN + na)
    while True:
        core = order[:k]
        solved = _optimum(score, a, lb, ub, core, fixed_value, prefer, time_limit_s)
        if solved is None:  # the fixing leaves no feasible selection: a larger core
            if k == n:
                raise _NoSelection
            k = min(n, 4 * k)
            continue
        x, status, gap = solved
        objective = float(score @ x)
        threshold = objective - _tie_tolerance(objective) - safety
        if k == n or abs(r[order[k]]) > bound - threshold:
            break
        k = min(n, max(2 * k, na + int(np.searchsorted(abs_rest, bound - threshold, side="right")) + 64))
    # Tie-break: keep the optimum, prefer better ranks (deterministic among equal-score selections). Every
    # selection within the tolerance of the optimum agrees with the fixing wherever |r_j| > U − threshold
    # (above), so only the others are free — fewer than the core (all of it when the core is everything).
    free = core if k == n else order[: na + int(np.searchsorted(abs_rest, bound - threshold, side="right"))]
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
    second = milp(prefer[free], integrality=np.ones(len(free)), bounds=Bounds(0, 1),
                  constraints=[tie, _interchangeable(rows, score[free], prefer[free])], options=opts)  # fmt: skip
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
    prefer: np.ndarray,
    time_limit_s: float,
) -> tuple[np.ndarray, str, float] | None:
    """HiGHS's proven optimum of max score·x over 0/1 x with lb ≤ Ax ≤ ub, x fixed to `fixed_value` outside
    the core: (x over every candidate, status, gap); None: infeasible."""
    x = fixed_value.astype(int)
    x[core] = 0
    used = a @ x
    opts = {"disp": False, "time_limit": time_limit_s, "mip_rel_gap": 0.0}
    cols = a[:, core]
    res = milp(-score[core], integrality=np.ones(len(core)), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(cols, lb - used, ub - used),
                            _interchangeable(cols, score[core], prefer[core])], options=opts)  # fmt: skip
    if res.status == 2:
        return None
    if res.x is None:
        raise Infeasible(f"The solver stopped without a proven optimum: {res.message}")
    status = "optimal" if res.status == 0 else str(res.message)
    x[core] = np.round(res.x).astype(int)
    return x, status, float(getattr(res, "mip_gap", 0.0) or 0.0)


def _interchangeable(cols: sparse.csc_array, score: np.ndarray, prefer: np.ndarray) -> LinearConstraint:
    """x_i ≥ x_j for candidates i, j of the same column (the same cost, province, sector and kind: every
    constraint sees them alike) where i scores higher (equal scores: i is better ranked).

    Swapping a selected candidate for an unselected one of its column keeps every constraint as it was, so some
    optimum, and the tie-break's choice among optima, takes each column's candidates best first: these rows cut
    off only the selections that skip a better one of the same column. Without them HiGHS branches over
    the interchangeable candidates (a v3 default selection has ~1,500 at the same 300 M VND cap) and does not
    prove the optimum within minutes; with them each column's decision is how many."""
    cols = sparse.csc_array(cols)
    cols.sort_indices()
    groups: dict[bytes, list[int]] = defaultdict(list)
    for j in range(cols.shape[1]):
        lo, hi = cols.indptr[j], cols.indptr[j + 1]
        groups[cols.indices[lo:hi].tobytes() + cols.data[lo:hi].tobytes()].append(j)
    pairs = [(g[i], g[i + 1]) for g in groups.values() if len(g) > 1
             for g in [sorted(g, key=lambda j: (-score[j], prefer[j], j))] for i in range(len(g) - 1)]  # fmt: skip
    m = len(pairs)
    if not m:
        return LinearConstraint(sparse.csr_array((0, cols.shape[1])), np.zeros(0), np.zeros(0))
    first, second = np.array(pairs, dtype=np.int64).T
    rows = sparse.csr_array((np.concatenate([np.ones(m), -np.ones(m)]),
                             (np.concatenate([np.arange(m), np.arange(m)]), np.concatenate([first, second]))),
                            shape=(m, cols.shape[1]))  # fmt: skip
    return LinearConstraint(rows, np.zeros(m), np.full(m, np.inf))


def _budget_unit(cost: np.ndarray, budget: int) -> float:
    """The unit the budget row counts in: the greatest common divisor of the costs and the budget (support
    costs are whole VND, usually rounded to thousands or millions) when it leaves the budget at most 10^9 units,
    else a millionth of the budget. HiGHS's feasibility tolerance (1e-6) is then a millionth of a unit: with
    whole units a selection can exceed the budget by no whole unit, so the row rarely needs the second,
    tightened solve (which doubles the solve time) that a budget counted in shares of itself often needed."""
    if budget <= 0:
        return 1.0
    ints = np.rint(cost)
    if len(cost) and not np.array_equal(ints, cost):
        return budget / 1e6
    g = int(np.gcd.reduce(np.append(ints.astype(np.int64), np.int64(budget))))
    return float(g) if g > 0 and budget / g <= 1e9 else budget / 1e6
