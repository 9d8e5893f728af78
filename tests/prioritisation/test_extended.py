"""Scoring profiles, extended: normalisations, applies_when, support_cost — each against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.prioritisation.methods import normalise, weighted_sum, weighted_sum_extended
from app.prioritisation.profiles import parse
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body
from tests.prioritisation.ranking_pages import full_selection
from tests.prioritisation.test_priorities import TEST_PROFILE, profile, world  # noqa: F401 - fixture

V1_KEYS = {
    "id",
    "raw",
    "normalised",
    "weight",
    "contribution",
    "response_id",
    "collected_at",
    "channel",
    "stale",
}
V12_KEYS = V1_KEYS | {"state", "weight_used"}  # "Rankings: what each criterion did" (v1.2), on every profile


# --- normalisations, by hand ------------------------------------------------------------------------------


def test_minmax_benefit_and_cost() -> None:
    x = np.array([100.0, 300, 200])
    assert normalise(x, True, "minmax")[0].tolist() == [0, 1, 0.5]
    assert normalise(x, False, "minmax")[0].tolist() == [1, 0, 0.5]
    flat, constant = normalise(np.array([7.0, 7, 7]), True, "minmax")
    assert flat.tolist() == [0, 0, 0] and constant


def test_rank_ties_share_their_average_rank() -> None:
    # sorted: 5 (rank 1), 10 (2), 20, 20 (ranks 3 and 4 → 3.5 each), 40 (5); (r - 1) / (n - 1) with n = 5
    x = np.array([10.0, 20, 20, 40, 5])
    up, constant = normalise(x, True, "rank")
    assert up.tolist() == [0.25, 0.625, 0.625, 1.0, 0.0] and not constant
    down, _ = normalise(x, False, "rank")
    assert down.tolist() == [0.75, 0.375, 0.375, 0.0, 1.0]
    # every value tied: average rank (n + 1) / 2 → 0.5 for everyone, whatever the direction
    assert normalise(np.array([3.0, 3, 3, 3]), True, "rank")[0].tolist() == [0.5] * 4
    assert normalise(np.array([3.0, 3, 3, 3]), False, "rank")[0].tolist() == [0.5] * 4
    # one candidate: 1.0 in both directions
    assert normalise(np.array([42.0]), True, "rank")[0].tolist() == [1.0]
    assert normalise(np.array([42.0]), False, "rank")[0].tolist() == [1.0]


def test_rank_ignores_the_size_of_an_outlier() -> None:
    small, huge = np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3, 4_000_000])
    assert normalise(small, True, "rank")[0].tolist() == normalise(huge, True, "rank")[0].tolist()
    # min-max squeezes the other three next to 0
    assert normalise(huge, True, "minmax")[0][2] < 1e-6


def test_log_minmax() -> None:
    # ln(1 + x): 0, ln 10, ln 100 = 2 ln 10, ln 1000 = 3 ln 10 → 0, 1/3, 2/3, 1
    x = np.array([0.0, 9, 99, 999])
    got, _ = normalise(x, True, "log_minmax")
    assert got == pytest.approx([0, 1 / 3, 2 / 3, 1], abs=1e-15)
    assert normalise(x, False, "log_minmax")[0] == pytest.approx([1, 2 / 3, 1 / 3, 0], abs=1e-15)
    # one large amount no longer squeezes the rest: 1 000 000 VND among amounts up to 10^12
    amounts = np.array([1e6, 1e7, 1e8, 1e12])
    assert normalise(amounts, True, "log_minmax")[0][1] == pytest.approx(
        (math.log1p(1e7) - math.log1p(1e6)) / (math.log1p(1e12) - math.log1p(1e6))
    )


def test_extended_weighted_sum_by_hand() -> None:
    # three candidates, two criteria (w .6 / .4); the second does not apply to candidate 2
    x = np.array([[1.0, 10], [3, 30], [2, 1000]])
    applies = np.array([[True, True], [True, True], [True, False]])
    score, norm, contrib, constant, eff = weighted_sum_extended(
        x, np.array([True, True]), np.array([0.6, 0.4]), ["minmax", "rank"], applies
    )
    # col 0 minmax over all: 0, 1, .5 ; col 1 rank over candidates 0 and 1 only (1000 is not compared): 0, 1
    assert norm[:, 0].tolist() == [0, 1, 0.5] and norm[:2, 1].tolist() == [0, 1] and math.isnan(norm[2, 1])
    # candidate 2: its whole weight moves to col 0 (0.6 / 0.6 = 1)
    assert eff.tolist() == [[0.6, 0.4], [0.6, 0.4], [1.0, 0.0]]
    assert score.tolist() == pytest.approx([0.0, 1.0, 0.5])
    assert contrib.sum(axis=1) == pytest.approx(score) and not constant.any()


def test_extended_weighted_sum_equals_v1_when_nothing_is_extended() -> None:
    rnd = np.random.default_rng(4)
    x = rnd.lognormal(10, 2, (200, 5))
    x[:, 3] = 7.0  # a constant column
    benefit, w = np.array([True, False, True, True, False]), np.array([0.3, 0.2, 0.2, 0.1, 0.2])
    old = weighted_sum(x, benefit, w)
    new = weighted_sum_extended(x, benefit, w, ["minmax"] * 5, np.ones((200, 5), dtype=bool))
    for a, b in zip(old, new[:4], strict=True):
        assert np.array_equal(a, b)  # bit for bit


# --- through HTTP -----------------------------------------------------------------------------------------

EXT = {
    "key": "test-ext", "version": 1, "status": "published", "method": "weighted_sum",
    "criteria": [
        {"id": "jobs", "source": "facility.employees", "direction": "benefit", "weight": 1, "normalise": "log_minmax"},
        {"id": "counterpart", "source": "loans.counterpart_funds_vnd", "per": "loans.loan_amount_vnd", "direction": "benefit",
         "weight": 1, "normalise": "rank", "missing": "worst", "applies_when": {"source": "loans.needs_loan", "equals": True}},
        {"id": "support", "source": "facility.prior_support_count", "direction": "cost", "weight": 2, "normalise": "rank",
         "missing": "zero"},
    ],
    "support_cost": {"source": "loans.planned_investment_vnd", "share": 0.3, "cap_vnd": 150_000_000, "floor_vnd": 100_000_000},
}  # fmt: skip


def ext_world(client, make_key):  # type: ignore[no-untyped-def]
    """P: 9 workers, wants a 100M loan with 50M counterpart, plans 1,000M; Q: 99 workers, 400M loan, 100M
    counterpart, plans 200M, 1 support; R: 999 workers, wants no loan; S: 0 workers, 2 supports, never surveyed."""
    fo = make_key("field_officer", name="fo")
    ids = {}
    for name, employees, support in (("P", 9, 0), ("Q", 99, 1), ("R", 999, 0), ("S", 0, 2)):
        body = facility_body(name=name, employees=employees,
                             prior_support=[{"year": 2020 + i, "programme": "KC"} for i in range(support)])  # fmt: skip
        ids[name] = client.post("/api/v1/facilities", json=body, headers=fo).json()["id"]
    loans = {
        "P": {"needs_loan": True, "loan_amount_vnd": 100_000_000, "counterpart_funds_vnd": 50_000_000,
              "planned_investment_vnd": 1_000_000_000},
        "Q": {"needs_loan": True, "loan_amount_vnd": 400_000_000, "counterpart_funds_vnd": 100_000_000,
              "planned_investment_vnd": 200_000_000},
        "R": {"needs_loan": False},
    }  # fmt: skip
    for name, answers in loans.items():
        if answers["needs_loan"]:
            answers.update(loan_purpose=["machinery"], has_collateral=False, wants_interest_subsidy=True)
        r = client.post("/api/v1/responses", json=response_body(ids[name], answers=answers), headers=fo)
        assert r.status_code == 201, r.text
    return ids


def test_normalisations_applies_when_and_explanations(client, make_key, profile) -> None:  # noqa: F811
    profile(EXT)
    ids = ext_world(client, make_key)
    body = client.get("/api/v1/priorities", params={"profile": "test-ext", "profile_version": 1},
                      headers=make_key("planner", name="p")).json()  # fmt: skip
    # weights .25 / .25 / .5
    # jobs, ln(1+x) = ln 10, ln 100, ln 1000, 0 → P 1/3, Q 2/3, R 1, S 0
    # counterpart applies to P (0.5) and Q (0.25) only (R wants no loan; S has no answer): rank → P 1, Q 0
    # support 0, 1, 0, 2 → ranks 1.5, 3, 1.5, 4 → cost rank 1 - (r-1)/3: P 5/6, Q 1/3, R 5/6, S 0
    # P: .25/3 + .25 + .5·5/6 = .75 ; Q: .25·2/3 + 0 + .5/3 = 1/3
    # R and S: counterpart neutral, weights 1/3 and 2/3 → R 1/3 + 2/3·5/6 = 8/9, S 0
    got = [(it["facility"]["name"], it["score"]) for it in body["items"]]
    assert got == [
        ("R", pytest.approx(8 / 9)),
        ("P", pytest.approx(0.75)),
        ("Q", pytest.approx(1 / 3)),
        ("S", 0.0),
    ]
    by = {it["facility"]["name"]: {c["id"]: c for c in it["criteria"]} for it in body["items"]}
    r = by["R"]
    assert r["counterpart"]["applies"] is False and r["counterpart"]["normalised"] is None
    assert r["counterpart"]["contribution"] == 0 and r["counterpart"]["effective_weight"] == 0
    assert r["counterpart"]["weight"] == 0.25  # the profile's weight, shown beside the effective one
    assert r["jobs"]["effective_weight"] == pytest.approx(1 / 3) and r["support"][
        "effective_weight"
    ] == pytest.approx(2 / 3)
    assert r["jobs"]["normalised"] == 1 and r["support"]["normalised"] == pytest.approx(5 / 6)
    p = by["P"]
    assert p["counterpart"] == {
        **p["counterpart"],
        "applies": True,
        "raw": 0.5,
        "normalised": 1.0,
        "effective_weight": 0.25,
    }
    assert [c["normalise"] for c in p.values()] == ["log_minmax", "rank", "rank"]
    assert by["S"]["counterpart"]["applies"] is False and by["S"]["counterpart"]["raw"] is None
    assert by["Q"]["jobs"]["normalised"] == pytest.approx(2 / 3) and by["Q"]["support"][
        "normalised"
    ] == pytest.approx(1 / 3)
    for it in body["items"]:
        assert sum(c["contribution"] for c in it["criteria"]) == pytest.approx(it["score"])
        assert sum(c["effective_weight"] for c in it["criteria"]) == pytest.approx(1.0)
    assert ids  # the world exists


def test_exclude_only_where_the_criterion_applies(client, make_key, profile) -> None:  # noqa: F811
    crit = dict(EXT["criteria"][1], missing="exclude")
    profile({**EXT, "key": "test-ext-excl", "criteria": [EXT["criteria"][0], crit]})
    ext_world(client, make_key)
    body = client.get("/api/v1/priorities", params={"profile": "test-ext-excl", "profile_version": 1},
                      headers=make_key("planner", name="p")).json()  # fmt: skip
    # R (no loan wanted) and S (never surveyed) do not concern the criterion: they stay candidates
    assert body["candidates"] == 4 and body["excluded"] == 0


def test_applies_when_all_any_and_comparisons(client, make_key, profile) -> None:  # noqa: F811
    def applying(cond) -> set[str]:  # type: ignore[no-untyped-def]
        crit = dict(EXT["criteria"][0], applies_when=cond)
        key = f"test-cond-{abs(hash(repr(cond))) % 10**8}"
        profile({**EXT, "key": key, "criteria": [crit, EXT["criteria"][2]]})
        body = client.get(
            "/api/v1/priorities", params={"profile": key, "profile_version": 1}, headers=planner
        ).json()
        return {it["facility"]["name"] for it in body["items"] if it["criteria"][0]["applies"]}

    ext_world(client, make_key)
    planner = make_key("planner", name="p")
    assert applying({"source": "facility.employees", "gte": 99}) == {"Q", "R"}
    assert applying({"source": "facility.employees", "lt": 99}) == {"P", "S"}
    assert applying({"source": "facility.employees", "in": [0, 999]}) == {"R", "S"}
    assert applying({"source": "loans.needs_loan", "equals": False}) == {"R"}
    assert applying({"source": "loans.loan_purpose", "equals": "machinery"}) == {"P", "Q"}  # includes
    assert applying({"source": "loans.loan_amount_vnd", "gt": 200_000_000}) == {"Q"}
    assert applying({"any": [{"source": "loans.needs_loan", "equals": False},
                             {"source": "facility.prior_support_count", "gte": 2}]}) == {"R", "S"}  # fmt: skip
    assert applying({"all": [{"source": "loans.needs_loan", "equals": True},
                             {"source": "facility.employees", "gt": 50}]}) == {"Q"}  # fmt: skip


def test_support_cost_in_budgeted_rankings(client, make_key, profile) -> None:  # noqa: F811
    profile(EXT)
    ids = ext_world(client, make_key)
    planner = make_key("planner", name="p")
    r = client.post("/api/v1/rankings", json={"profile": "test-ext", "profile_version": 1, "budget_vnd": 250_000_000},
                    headers=planner)  # fmt: skip
    assert r.status_code == 201, r.text
    sel = full_selection(client, r.json(), planner)
    # P: 30 % of 1,000M = 300M → cap 150M ; Q: 30 % of 200M = 60M → floor 100M ; R (no investment answer), S: none
    assert {s["facility_id"]: s["cost_vnd"] for s in sel["selected"]} == {
        ids["P"]: 150_000_000,
        ids["Q"]: 100_000_000,
    }
    assert sel["total_cost_vnd"] == 250_000_000 and sel["not_selectable"] == [ids["R"], ids["S"]]
    assert sel["cost_source"] == "loans.planned_investment_vnd"
    assert sel["support_cost"] == {"source": "loans.planned_investment_vnd", "share": 0.3, "cap_vnd": 150_000_000,
                                   "floor_vnd": 100_000_000}  # fmt: skip
    # one VND less: only one fits, and P scores higher
    r = client.post("/api/v1/rankings", json={"profile": "test-ext", "profile_version": 1, "budget_vnd": 249_999_999},
                    headers=planner)  # fmt: skip
    assert [s["facility_id"] for s in full_selection(client, r.json(), planner)["selected"]] == [ids["P"]]
    # a named cost_source still wins over the profile's rule
    r = client.post("/api/v1/rankings", json={"profile": "test-ext", "profile_version": 1, "budget_vnd": 250_000_000,
                                              "cost_source": "loans.loan_amount_vnd"}, headers=planner)  # fmt: skip
    sel = full_selection(client, r.json(), planner)
    assert sel["cost_source"] == "loans.loan_amount_vnd" and "support_cost" not in sel
    assert {s["facility_id"] for s in sel["selected"]} == {ids["P"]}  # 100M; Q's 400M does not fit beside it


def test_support_cost_without_floor_and_profile_without_rule(client, make_key, profile) -> None:  # noqa: F811
    rule = {"source": "loans.planned_investment_vnd", "share": 0.3, "cap_vnd": 150_000_000}
    profile({**EXT, "key": "test-ext-nofloor", "support_cost": rule})
    profile(TEST_PROFILE)
    ids = ext_world(client, make_key)
    planner = make_key("planner", name="p")
    r = client.post("/api/v1/rankings", json={"profile": "test-ext-nofloor", "profile_version": 1,
                                              "budget_vnd": 10**12}, headers=planner)  # fmt: skip
    assert {s["facility_id"]: s["cost_vnd"] for s in full_selection(client, r.json(), planner)["selected"]} == {
        ids["P"]: 150_000_000, ids["Q"]: 60_000_000}  # fmt: skip
    assert_problem(client.post("/api/v1/rankings", json={"profile": "test-profile", "profile_version": 1,
                                                         "budget_vnd": 10**9}, headers=planner), 422, "cost_source")  # fmt: skip


def test_profiles_without_extensions_explain_as_before(client, make_key, profile) -> None:  # noqa: F811
    profile(TEST_PROFILE)
    world(client, make_key)
    planner = make_key("planner", name="p")
    for key in ("test-profile", "point-project"):
        body = client.get(
            "/api/v1/priorities", params={"profile": key, "profile_version": 1}, headers=planner
        ).json()
        # the explanation of v1.1 plus state and weight_used (v1.2): no extension's field, the same numbers
        assert all(set(c) == V12_KEYS for it in body["items"] for c in it["criteria"])
        assert all(c["weight_used"] == c["weight"] for it in body["items"] for c in it["criteria"])
    # naming the default normalisation is an extension: it is then explained, with the same numbers
    explicit = {**TEST_PROFILE, "key": "test-explicit",
                "criteria": [{**c, "normalise": "minmax"} for c in TEST_PROFILE["criteria"]]}  # fmt: skip
    profile(explicit)
    a = client.get(
        "/api/v1/priorities", params={"profile": "test-profile", "profile_version": 1}, headers=planner
    ).json()
    b = client.get(
        "/api/v1/priorities", params={"profile": "test-explicit", "profile_version": 1}, headers=planner
    ).json()
    assert [(x["facility"]["id"], x["score"]) for x in a["items"]] == [
        (x["facility"]["id"], x["score"]) for x in b["items"]
    ]
    assert all(c["normalise"] == "minmax" and c["applies"] for it in b["items"] for c in it["criteria"])


# --- the loader refuses what it cannot compute ------------------------------------------------------------


def test_loader_refuses_bad_extensions(app) -> None:
    reg = app.state.registry
    doc = {"key": "bad", "version": 1, "method": "weighted_sum", "criteria": [
        {"id": "a", "source": "facility.years_since_last_support", "direction": "benefit", "weight": 1, "normalise": "log_minmax"},
        {"id": "b", "source": "facility.employees", "direction": "benefit", "weight": 1, "normalise": "zscore"},
        {"id": "c", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"source": "loans.needs_loan", "equals": "yes"}},
        {"id": "d", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"source": "pollution.severity", "gt": 1}},
        {"id": "e", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"source": "pollution.severity", "in": ["high", "purple"]}},
        {"id": "f", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"source": "market-needs.main_products", "equals": "chè"}},
        {"id": "g", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"all": [{"source": "facility.employees", "gte": True}]}},
        {"id": "h", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"source": "facility.employees", "gte": 1, "lte": 9}},
        {"id": "i", "source": "loans.loan_amount_vnd", "per": "facility.years_since_last_support", "direction": "benefit",
         "weight": 1, "normalise": "log_minmax"},
        {"id": "j", "source": "facility.employees", "direction": "benefit", "weight": 1,
         "applies_when": {"source": "market-needs.respondent_phone", "equals": "0912345678"}},
    ], "support_cost": {"source": "loans.loan_purpose", "share": 1.5, "cap_vnd": 10, "floor_vnd": 20}}  # fmt: skip
    _, problems = parse(doc, "bad.yaml", reg)
    got = {p.path: p.message for p in problems}
    assert (
        "never negative" in got["criteria.0.normalise"]
        and "years_since_last_support" in got["criteria.0.normalise"]
    )
    assert "minmax, rank, log_minmax" in got["criteria.1.normalise"]
    assert "compare with true or false" in got["criteria.2.applies_when.equals"]
    assert "only applies to numeric sources" in got["criteria.3.applies_when.gt"]
    assert "'purple' is not a choice code" in got["criteria.4.applies_when.in"]
    assert "not text" in got["criteria.5.applies_when.source"]
    assert "compare with a number" in got["criteria.6.applies_when.all.0.gte"]
    assert "exactly one of" in got["criteria.7.applies_when"]
    assert "never negative" in got["criteria.8.normalise"]
    assert "personal data" in got["criteria.9.applies_when.source"]  # never read, not even as a condition
    assert "not a number" in got["support_cost.source"] and "at most 1" in got["support_cost.share"]
    ok = {"source": "loans.planned_investment_vnd", "share": 0.3, "cap_vnd": 10, "floor_vnd": 20, "extra": 1}
    _, problems = parse({**doc, "criteria": doc["criteria"][1:2], "support_cost": ok}, "bad.yaml", reg)
    got = {p.path: p.message for p in problems}
    assert (
        "above the cap" in got["support_cost.floor_vnd"] and "unknown property" in got["support_cost.extra"]
    )


def test_topsis_refuses_normalise_and_applies_when(app) -> None:
    crit = {"id": "a", "source": "facility.employees", "direction": "benefit", "weight": 1}
    doc = {"key": "tt", "version": 1, "method": "topsis", "criteria": [
        {**crit, "normalise": "rank"}, {**crit, "id": "b", "applies_when": {"source": "facility.employees", "gt": 1}}]}  # fmt: skip
    _, problems = parse(doc, "tt.yaml", app.state.registry)
    got = {p.path: p.message for p in problems}
    assert "vector norm" in got["criteria.0.normalise"] and "weighted_sum" in got["criteria.1.applies_when"]
    # a support_cost is independent of the method
    rule = {"source": "loans.planned_investment_vnd", "share": 0.3, "cap_vnd": 10}
    prof, problems = parse({**doc, "criteria": [crit], "support_cost": rule}, "tt.yaml", app.state.registry)
    assert not problems and prof is not None and prof.support_cost is not None


def test_support_cost_rules_per_kind_of_support(client, make_key, profile) -> None:  # noqa: F811
    """A list of rules (an extension of the contract's single rule): the first whose applies_when holds prices the
    facility; a facility no rule concerns is not selectable."""
    rules = [
        {"id": "demonstration", "applies_when": {"source": "loans.counterpart_funds_vnd", "gte": 100_000_000},
         "source": "loans.planned_investment_vnd", "share": 0.3, "cap_vnd": 1_000_000_000},
        {"id": "machinery", "applies_when": {"source": "facility.employees", "lt": 50},
         "source": "loans.planned_investment_vnd", "share": 0.5, "cap_vnd": 300_000_000},
    ]  # fmt: skip
    profile({**EXT, "key": "test-ext-rules", "support_cost": rules})
    ids = ext_world(client, make_key)
    planner = make_key("planner", name="p")
    r = client.post("/api/v1/rankings", json={"profile": "test-ext-rules", "profile_version": 1, "budget_vnd": 10**12},
                    headers=planner)  # fmt: skip
    assert r.status_code == 201, r.text
    sel = full_selection(client, r.json(), planner)
    # Q (counterpart 100M): demonstration, 30 % of 200M = 60M ; P (counterpart 50M, 9 workers): machinery,
    # 50 % of 1,000M = 500M → cap 300M ; R (999 workers, and no investment answer) and S: no rule prices them
    assert {s["facility_id"]: s["cost_vnd"] for s in sel["selected"]} == {
        ids["P"]: 300_000_000,
        ids["Q"]: 60_000_000,
    }
    assert sel["not_selectable"] == [ids["R"], ids["S"]]
    assert sel["support_cost"] == rules and sel["cost_source"] == "loans.planned_investment_vnd"


def test_loader_checks_support_cost_rules(app) -> None:
    reg = app.state.registry
    base = {"key": "rules", "version": 1, "method": "weighted_sum",
            "criteria": [{"id": "a", "source": "facility.employees", "direction": "benefit", "weight": 1}]}  # fmt: skip
    rule = {"source": "loans.planned_investment_vnd", "share": 0.5, "cap_vnd": 300_000_000}
    _, problems = parse({**base, "support_cost": []}, "r.yaml", reg)
    assert [p.path for p in problems] == ["support_cost"]
    _, problems = parse({**base, "support_cost": {**rule, "applies_when": {"source": "facility.employees", "gt": 1}}},
                        "r.yaml", reg)  # fmt: skip
    assert [p.path for p in problems] == ["support_cost.applies_when"]  # the single form has no condition
    bad = [rule, {**rule, "applies_when": {"source": "loans.needs_loan", "equals": 1}, "cap_vnd": -1}]
    _, problems = parse({**base, "support_cost": bad}, "r.yaml", reg)
    assert {p.path for p in problems} == {"support_cost.1.applies_when.equals", "support_cost.1.cap_vnd"}
    prof, problems = parse({**base, "support_cost": [rule, {**rule, "share": 0.3, "id": "x"}]}, "r.yaml", reg)
    assert not problems and prof is not None and prof.support_cost is not None
    assert [r.share for r in prof.support_cost.rules] == [0.5, 0.3] and prof.extended
