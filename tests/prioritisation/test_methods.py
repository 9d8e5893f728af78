"""Scoring methods against published and hand-computed values; selection against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import Infeasible
from app.prioritisation.methods import average_ranks, topsis, weighted_sum
from app.prioritisation.selection import select


def test_topsis_published_example_mcdm_library() -> None:
    """Cost/benefit/cost matrix, equal weights; published closeness a2 0.6790, a3 0.4090, a1 0.3238."""
    x = np.array([[80, 90, 600], [65, 58, 200], [83, 60, 400]], float)
    score, _, contrib, _ = topsis(x, np.array([False, True, False]), np.full(3, 1 / 3))
    assert score == pytest.approx([0.3238488379935404, 0.6790225178016662, 0.4090188985805253], abs=1e-12)
    assert contrib.sum(axis=1) == pytest.approx(score)


def test_topsis_published_weighted_matrix_sennaroglu() -> None:
    """Two benefit criteria, weights 0.714/0.286: published V = [[.5703,.2124],[.3355,.1593],[.2684,.1062]]."""
    x = np.array([[17, 12], [10, 9], [8, 6]], float)
    score, v, _, _ = topsis(x, np.array([True, True]), np.array([0.714, 0.286]))
    assert np.round(v, 4).tolist() == [[0.5703, 0.2124], [0.3355, 0.1593], [0.2684, 0.1062]]
    # The best alternative is the ideal and the worst the anti-ideal on both criteria.
    assert score[0] == 1.0 and score[2] == 0.0 and score[1] == pytest.approx(0.2622, abs=1e-4)


def test_weighted_sum_hand_computed_with_cost_and_constant_columns() -> None:
    x = np.array([[100.0, 3, 5], [300, 1, 5], [200, 3, 5]])
    benefit = np.array([True, False, True])
    w = np.array([0.5, 0.3, 0.2])
    score, norm, contrib, constant = weighted_sum(x, benefit, w)
    # col0 benefit: 0, 1, .5 ; col1 cost: (3-3)/2=0, (3-1)/2=1, 0 ; col2 constant -> 0
    assert norm.tolist() == [[0, 0, 0], [1, 1, 0], [0.5, 0, 0]]
    assert score == pytest.approx([0.0, 0.8, 0.25])
    assert constant.tolist() == [False, False, True]
    assert contrib.sum(axis=1) == pytest.approx(score)


def brute(items, costs, budget, pmin, pmax, smax):  # type: ignore[no-untyped-def]
    sel = [it for it in items if costs[it["facility"]["id"]] is not None]
    provs = {it["facility"]["province_code"] for it in sel}
    avail = {p: sum(1 for it in sel if it["facility"]["province_code"] == p) for p in provs}
    best = None
    for k in range(len(sel) + 1):
        for combo in itertools.combinations(sel, k):
            if sum(costs[it["facility"]["id"]] for it in combo) > budget:
                continue
            counts = {p: sum(1 for it in combo if it["facility"]["province_code"] == p) for p in provs}
            if pmin and any(counts[p] < min(pmin, avail[p]) for p in provs):
                continue
            if pmax is not None and any(c > pmax for c in counts.values()):
                continue
            if smax is not None and any(
                sum(1 for it in combo if it["facility"]["sector"] == s) > smax for s in ("a", "b")
            ):
                continue
            value = sum(it["score"] for it in combo)
            if best is None or value > best + 1e-12:
                best = value
    return best


@st.composite
def instances(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 9))
    scores = sorted((draw(st.integers(0, 100)) / 100 for _ in range(n)), reverse=True)
    items, costs = [], {}
    for i, s in enumerate(scores):
        fid = f"f{i}"
        items.append({"rank": i + 1, "score": s, "facility": {"id": fid, "province_code": draw(st.sampled_from(["01", "37", "68"])),
                                                              "sector": draw(st.sampled_from(["a", "b"]))}})  # fmt: skip
        costs[fid] = draw(st.one_of(st.none(), st.integers(1, 50)))
    budget = draw(st.integers(0, 150))
    pmin = draw(st.one_of(st.none(), st.integers(0, 2)))
    pmax = draw(st.one_of(st.none(), st.integers(0, 3)))
    smax = draw(st.one_of(st.none(), st.integers(0, 3)))
    return items, costs, budget, pmin, pmax, smax


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(instances())
def test_selection_matches_brute_force(inst) -> None:  # type: ignore[no-untyped-def]
    items, costs, budget, pmin, pmax, smax = inst
    if pmin is not None and pmax is not None and pmin > pmax:
        pmax = pmin
    expected = brute(items, costs, budget, pmin, pmax, smax)
    try:
        got = select(items, costs, budget, pmin, pmax, smax)
    except Infeasible:
        assert expected is None
        return
    assert expected is not None
    assert got["objective"] == pytest.approx(expected, abs=1e-9)
    chosen = got["selected"]
    assert sum(c["cost_vnd"] for c in chosen) <= budget
    assert got["not_selectable"] == [
        it["facility"]["id"] for it in items if costs[it["facility"]["id"]] is None
    ]
    if pmax is not None:
        for p in ("01", "37", "68"):
            assert sum(1 for c in chosen if c["province_code"] == p) <= pmax
    # deterministic: the same instance gives the same selection
    assert select(items, costs, budget, pmin, pmax, smax)["selected"] == chosen


def test_selection_never_exceeds_the_budget_by_the_solver_tolerance() -> None:
    """HiGHS accepts rows over their bound by 1e-6 (relative here): 150M + 100M must not fit 249,999,999 VND."""
    items = [{"rank": 1, "score": 0.75, "facility": {"id": "P", "province_code": "68", "sector": "a"}},
             {"rank": 2, "score": 0.33, "facility": {"id": "Q", "province_code": "68", "sector": "a"}}]  # fmt: skip
    costs: dict[str, float | None] = {"P": 150e6, "Q": 100e6}
    tight = select(items, costs, 249_999_999)
    assert [s["facility_id"] for s in tight["selected"]] == ["P"] and tight["total_cost_vnd"] == 150_000_000
    exact = select(items, costs, 250_000_000)
    assert [s["facility_id"] for s in exact["selected"]] == ["P", "Q"] and exact[
        "total_cost_vnd"
    ] == 250_000_000
    assert "budget_row_tightened" not in exact["solver"]


@given(st.lists(st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6, allow_nan=False)), max_size=60))
@settings(max_examples=300, deadline=None)
def test_average_ranks_are_scipys_average_ranks(values: list[float]) -> None:
    """The rank normalisation's ranks (numpy alone) equal scipy.stats.rankdata(method="average")."""
    from scipy.stats import rankdata

    x = np.array(values, dtype=float)
    expected = rankdata(x, method="average") if len(x) else np.zeros(0)
    assert np.array_equal(average_ranks(x), expected)
