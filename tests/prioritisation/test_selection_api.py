"""Budgeted selections through HTTP (POST /rankings, GET /rankings/{id}/selection?part=passed_over) on demo data
priced by point-project v2's support rules: strategies, bounds, the comparison, passed-over reasons, the 422s,
scope, and a profile's default_selection."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core.db import session_scope
from app.demo import generate
from app.prioritisation.profiles import parse
from tests.conftest import assert_problem
from tests.prioritisation.ranking_pages import all_items, full_selection, walk
from tests.prioritisation.test_priorities import profile  # noqa: F401 - fixture

BUDGET = 3_000_000_000
REASONS = {"no_cost", "province_bound", "sector_bound", "kind_bound", "max_projects", "over_budget",
           "optimum_prefers_others"}  # fmt: skip
SUMMARY = {"strategy", "selected_count", "total_cost_vnd", "total_score", "provinces_covered", "median_cost_vnd",
           "top_funded"}  # fmt: skip


@pytest.fixture
def demo(client):  # type: ignore[no-untyped-def]
    with session_scope(write=True) as s:
        generate(session=s, registry=client.app.state.registry, facilities=160, seed=7,
                 now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip


def post(client: Any, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/rankings", json={"profile": "point-project", "profile_version": 2,
                                                 "budget_vnd": BUDGET, **body}, headers=headers)  # fmt: skip


def passed_over(
    client: Any, doc: dict[str, Any], headers: dict[str, str], limit: int = 1000
) -> list[dict[str, Any]]:
    return walk(client, f"/api/v1/rankings/{doc['id']}/selection", headers, part="passed_over", limit=limit)


def test_strategies_bounds_comparison_and_passed_over(client, make_key, demo) -> None:  # type: ignore[no-untyped-def]
    planner = make_key("planner", name="p")
    bounds = {"max_projects": 8, "per_kind": {"demonstration_model": {"max": 2}}, "min_provinces": 2,
              "eligibility": {"max_cost_vnd": 400_000_000}, "per_province": {"max": 3}}  # fmt: skip
    walked = post(client, planner, strategy="rank_order", **bounds)
    assert walked.status_code == 201, walked.text
    doc = walked.json()
    sel = full_selection(client, doc, planner)
    items = all_items(client, doc, planner)
    assert set(sel) >= SUMMARY and sel["strategy"] == "rank_order" and sel["strategy_from"] == "request"
    assert set(sel["comparison"]) == {"rank_order", "max_total_score"}
    for name, summary in sel["comparison"].items():
        assert set(summary) == SUMMARY and summary["strategy"] == name and summary["top_funded"]["n"] == 50
    assert {k: sel[k] for k in SUMMARY} == sel["comparison"]["rank_order"]
    chosen = sel["selected"]
    assert 0 < len(chosen) <= 8 and sel["total_cost_vnd"] <= BUDGET
    assert all(c["cost_vnd"] <= 400_000_000 for c in chosen)
    assert sel["provinces_covered"] == len({c["province_code"] for c in chosen}) >= 2
    assert (
        max(sum(1 for c in chosen if c["province_code"] == p) for p in {c["province_code"] for c in chosen})
        <= 3
    )
    costs = sorted(c["cost_vnd"] for c in chosen)
    mid = len(costs) // 2
    assert sel["median_cost_vnd"] == (
        costs[mid] if len(costs) % 2 else round((costs[mid - 1] + costs[mid]) / 2)
    )
    assert sel["total_score"] == pytest.approx(sum(c["score"] for c in chosen))

    # Passed over: every candidate ranked above the last selected one that was not selected, each with its
    # reason, the same in pages of 3 as in one; reasons checked against the walk's own arithmetic.
    over = passed_over(client, doc, planner)
    assert over == passed_over(client, doc, planner, limit=3) and len(over) == sel["passed_over_count"]
    last = chosen[-1]["rank"]
    picked = {c["rank"] for c in chosen}
    assert [o["rank"] for o in over] == [
        it["rank"] for it in items if it["rank"] < last and it["rank"] not in picked
    ]
    spent, by_rank = 0, {c["rank"]: c for c in chosen}
    for rank in range(1, last):
        if rank in by_rank:
            spent += by_rank[rank]["cost_vnd"]
            continue
        o = next(o for o in over if o["rank"] == rank)
        assert o["reason"] in REASONS or o["reason"].startswith("not_eligible:"), o
        if o["reason"] == "no_cost":
            assert o["cost_vnd"] is None
        elif o["reason"] == "not_eligible:max_cost_vnd":
            assert o["cost_vnd"] > 400_000_000
        elif o["reason"] == "over_budget":
            assert o["cost_vnd"] > BUDGET - spent
        elif o["reason"] == "max_projects":
            assert sum(1 for r in picked if r < rank) >= 8
        elif o["reason"] == "province_bound":  # its province's maximum, or the reserve held for min_provinces
            before = [c for c in chosen if c["rank"] < rank]
            assert (sum(1 for c in before if c["province_code"] == o["province_code"]) >= 3
                    or len({c["province_code"] for c in before}) < 2), o  # fmt: skip
        else:
            assert o["reason"] in ("kind_bound", "not_eligible:kinds"), o
    assert {o["reason"] for o in over} & {"no_cost", "not_eligible:max_cost_vnd"}

    # The optimum on the same inputs: at least rank order's total score; the same comparison.
    optimum = post(client, planner, **bounds)
    assert optimum.status_code == 201, optimum.text
    best = optimum.json()["selection"]
    assert best["strategy"] == "max_total_score" and best["strategy_from"] == "default"
    assert best["total_score"] >= sel["total_score"] - 1e-9
    assert best["comparison"] == sel["comparison"]
    assert {o["reason"] for o in passed_over(client, optimum.json(), planner)} <= REASONS | {
        "not_eligible:max_cost_vnd", "not_eligible:kinds"}  # fmt: skip

    # Frozen: the document and the passed-over pages read back exactly as made.
    again = client.get(f"/api/v1/rankings/{doc['id']}", headers=planner).json()
    assert again["selection"] == doc["selection"] and passed_over(client, again, planner) == over


def test_kinds_eligibility_and_per_kind_minimum(client, make_key, demo) -> None:  # type: ignore[no-untyped-def]
    planner = make_key("planner", name="p")
    r = post(
        client,
        planner,
        eligibility={"kinds": ["demonstration_model"]},
        per_kind={"demonstration_model": {"min": 1}},
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    sel = full_selection(client, doc, planner)
    assert sel["selected"] and sel["eligibility"] == {"kinds": ["demonstration_model"]}
    assert "not_eligible:kinds" in {o["reason"] for o in passed_over(client, doc, planner)}
    assert sel["bounds"]["per_kind"] == {"demonstration_model": {"min": 1}}


def test_infeasible_and_bad_requests_name_their_fields(client, make_key, demo) -> None:  # type: ignore[no-untyped-def]
    planner = make_key("planner", name="p")
    body = assert_problem(post(client, planner, min_provinces=40), 422, "min_provinces")
    assert body["type"].endswith("infeasible") and "min_provinces" in body["detail"]
    body = assert_problem(post(client, planner, budget_vnd=1_000_000, per_kind={"production_line": {"min": 1}}), 422,
                          "budget_vnd", "per_kind.min")  # fmt: skip
    assert "Relax any one of them" in body["detail"]
    assert_problem(
        post(client, planner, max_projects=1, min_provinces=2), 422, "max_projects", "min_provinces"
    )
    assert_problem(post(client, planner, per_kind={"no_such_kind": {"max": 1}}), 422, "per_kind.no_such_kind")
    assert_problem(post(client, planner, eligibility={"kinds": ["x"]}), 422, "eligibility.kinds.0")
    assert_problem(post(client, planner, per_kind={"production_line": {"min": 3, "max": 1}}), 422,
                   "per_kind.production_line.min")  # fmt: skip
    assert_problem(post(client, planner, per_sector={"min": 2, "max": 1}), 422, "per_sector.min")
    assert_problem(post(client, planner, eligibility={"min_cost_vnd": 5, "max_cost_vnd": 1}), 422,
                   "eligibility.min_cost_vnd")  # fmt: skip
    assert_problem(post(client, planner, strategy="greedy"), 422, "strategy")
    assert_problem(post(client, planner, eligibility={"min_score": 2}), 422, "eligibility.min_score")
    assert_problem(post(client, planner, eligibility={"colour": "red"}), 422, "eligibility.colour")
    assert_problem(post(client, planner, max_projects=-1), 422, "max_projects")
    assert_problem(post(client, planner, per_sector={"max": 1}, per_sector_max=2), 422, "per_sector_max")
    # kinds are the support rules': a selection priced by a cost_source has none
    assert_problem(post(client, planner, cost_source="technology-demonstration.upgrade_cost_vnd",
                        per_kind={"production_line": {"max": 1}}), 422, "per_kind.production_line")  # fmt: skip


def test_scope_of_the_passed_over_pages(client, make_key, demo) -> None:  # type: ignore[no-untyped-def]
    planner = make_key("planner", name="p")
    doc = post(client, planner, strategy="rank_order").json()
    path = f"/api/v1/rankings/{doc['id']}/selection"
    assert_problem(client.get(path, params={"part": "passed_over"}), 401)
    assert_problem(client.get(path, params={"part": "passed_over"}, headers=make_key("field_officer")), 403)
    assert_problem(client.get(path, params={"part": "sideways"}, headers=planner), 422, "query.part")
    # a planner of one province does not see a ranking over every province
    assert_problem(
        client.get(path, params={"part": "passed_over"}, headers=make_key("planner", provinces=["68"])), 404
    )
    # a ranking without a budget has no selection
    plain = client.post(
        "/api/v1/rankings", json={"profile": "point-project", "profile_version": 2}, headers=planner
    )
    assert_problem(client.get(f"/api/v1/rankings/{plain.json()['id']}/selection", params={"part": "passed_over"},
                              headers=planner), 404)  # fmt: skip
    # in scope: a province planner's ranking covers its province only, and its passed-over list too
    local = make_key("planner", provinces=["68"])
    mine = post(client, local, strategy="rank_order")
    assert mine.status_code == 201, mine.text
    assert {o["province_code"] for o in passed_over(client, mine.json(), local)} <= {"68"}


def test_profile_default_selection(client, make_key, demo, profile, app) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    raw = copy.deepcopy(app.state.profiles.get("point-project", 2).raw)
    raw.update(key="test-defaults", version=1,
               default_selection={"strategy": "rank_order", "eligibility": {"max_cost_vnd": 200_000_000,
                                                                             "kinds": ["advanced_machinery"]}})  # fmt: skip
    profile(raw)
    planner = make_key("planner", name="p")
    body = {"profile": "test-defaults", "profile_version": 1, "budget_vnd": BUDGET}
    doc = client.post("/api/v1/rankings", json=body, headers=planner).json()
    sel = full_selection(client, doc, planner)
    assert sel["strategy"] == "rank_order" and sel["strategy_from"] == "profile"
    assert sel["eligibility"] == {"max_cost_vnd": 200_000_000, "kinds": ["advanced_machinery"]}
    assert sel["eligibility_from"] == "profile"
    assert all(c["cost_vnd"] <= 200_000_000 for c in sel["selected"])
    # what the request names wins; an empty eligibility is "everyone"
    own = client.post("/api/v1/rankings", json={**body, "strategy": "max_total_score", "eligibility": {}},
                      headers=planner).json()["selection"]  # fmt: skip
    assert (
        own["strategy"] == "max_total_score"
        and own["eligibility"] == {}
        and own["eligibility_from"] == "request"
    )

    reg = app.state.registry
    bad = {**raw, "default_selection": {"strategy": "lottery", "eligibility": {"kinds": ["x"], "max_rank": 0},
                                        "budget": 1}}  # fmt: skip
    _, problems = parse(bad, "t.yaml", reg)
    assert {p.path for p in problems} == {"default_selection.strategy", "default_selection.eligibility.kinds.0",
                                          "default_selection.eligibility.max_rank", "default_selection.budget"}  # fmt: skip
