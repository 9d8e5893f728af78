"""The selection's core method (app.prioritisation.selection): a core much smaller than the candidates must
give the proven optimum — checked by brute force on small instances and against the plain full solve (the
core grown to every candidate) on larger ones, selected set included (the tie-break among equal optima)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

from app.core.errors import Infeasible
from app.prioritisation import selection
from app.prioritisation.selection import select
from tests.prioritisation.test_methods import brute, instances


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(instances())
def test_a_tiny_core_still_finds_the_brute_force_optimum(inst) -> None:  # type: ignore[no-untyped-def]
    items, costs, budget, pmin, pmax, smax = inst
    if pmin is not None and pmax is not None and pmin > pmax:
        pmax = pmin
    expected = brute(items, costs, budget, pmin, pmax, smax)
    old = selection.CORE_MIN
    selection.CORE_MIN = 1  # the proof, not the size of the first core, decides when to stop
    try:
        got = select(items, costs, budget, pmin, pmax, smax)
    except Infeasible:
        assert expected is None
        return
    finally:
        selection.CORE_MIN = old
    assert expected is not None
    assert got["objective"] == pytest.approx(expected, abs=1e-9)
    assert sum(c["cost_vnd"] for c in got["selected"]) <= budget
    assert got["solver"]["status"] == "optimal"


def _instance(seed: int, n: int, provinces: int) -> tuple[list[dict], dict[str, float | None], int]:  # type: ignore[type-arg]
    rnd = random.Random(seed)
    items, costs = [], {}
    for i in range(n):
        fid = f"f{i:05d}"
        score = round(rnd.random(), rnd.choice([1, 6]))  # coarse scores: many ties for the tie-break
        items.append({"rank": 0, "score": score, "facility": {"id": fid, "province_code": f"{rnd.randrange(provinces):02d}",
                                                              "sector": rnd.choice("abc")}})  # fmt: skip
        costs[fid] = None if rnd.random() < 0.05 else rnd.randint(1, 300) * 5_000_000
    items.sort(key=lambda it: (-it["score"], it["facility"]["id"]))
    for r, it in enumerate(items):
        it["rank"] = r + 1
    return items, costs, int(sum(c for c in costs.values() if c) * rnd.choice([0.03, 0.1, 0.25]))


@pytest.mark.parametrize(
    "seed,bounds",
    [
        (1, {}),
        (2, {"province_min": 2}),
        (3, {"province_max": 20}),
        (4, {"province_min": 1, "province_max": 15}),
        (5, {"sector_max": 40}),
    ],
)
def test_the_core_gives_the_full_solves_selection(seed, bounds) -> None:  # type: ignore[no-untyped-def]
    items, costs, budget = _instance(seed, 700, 8)
    old = selection.CORE_MIN
    try:
        selection.CORE_MIN = 10_000  # every candidate in the core: the plain integer programme
        full = select(items, costs, budget, **bounds)
        selection.CORE_MIN = 16
        core = select(items, costs, budget, **bounds)
    finally:
        selection.CORE_MIN = old
    assert full["solver"]["core"] == sum(1 for c in costs.values() if c is not None)
    assert core["solver"]["core"] < full["solver"]["core"]
    for key in ("objective", "total_cost_vnd", "binding_constraints", "selected", "not_selectable"):
        assert core[key] == full[key], key


def test_many_candidates_at_one_capped_cost_are_proven_optimal_best_first() -> None:
    """Support costs at a rule's cap make hundreds of candidates interchangeable to every constraint (the same
    cost, province and sector): the optimum is still proven (before, HiGHS branched over them and stopped at
    its time limit, 40 s here, without a proof), and within each such group it funds the best-scored first."""
    rnd = random.Random(0)
    items, costs = [], {}
    for i in range(1200):
        fid = f"f{i:05d}"
        items.append({"rank": 0, "score": round(rnd.uniform(0.3, 0.9), 6),
                      "facility": {"id": fid, "province_code": f"{rnd.randrange(6):02d}", "sector": rnd.choice("ab")}})  # fmt: skip
        costs[fid] = 300_000_000 if rnd.random() < 0.6 else rnd.randint(31, 300) * 10_000_000
    items.sort(key=lambda it: (-it["score"], it["facility"]["id"]))
    for r, it in enumerate(items):
        it["rank"] = r + 1
    got = select(items, costs, 20_000_000_000, time_limit_s=20)
    assert got["solver"]["status"] == "optimal"
    chosen = {c["facility_id"] for c in got["selected"]}
    worst: dict[tuple[int, str, str], float] = {}
    for it in items:
        f = it["facility"]
        if f["id"] in chosen:
            key = (int(costs[f["id"]]), f["province_code"], f["sector"])
            worst[key] = min(worst.get(key, 1.0), it["score"])
    passed_over_better = [it["facility"]["id"] for it in items if it["facility"]["id"] not in chosen
                          and it["score"] > worst.get((int(costs[it["facility"]["id"]]), it["facility"]["province_code"],
                                                       it["facility"]["sector"]), 1.0)]  # fmt: skip
    assert passed_over_better == []
    assert sum(c["cost_vnd"] for c in got["selected"]) <= 20_000_000_000
