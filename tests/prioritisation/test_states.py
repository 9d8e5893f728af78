"""Rankings: what each criterion did (v1.2), through HTTP on the shipped point-project v2 and v3.

A facility whose market-needs answer is on the retired v1 was never asked about its workforce (`not_asked`), a
facility planning no upgrade is outside the upgrade criteria (`not_applicable`), a facility never surveyed is
`missing`; v2 keeps its numbers (worst, redistributed), v3 counts the first two at 0.5 and its full weight.
"""

from __future__ import annotations

import pytest

from app.prioritisation.profiles import parse
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body, valid_answers
from tests.prioritisation.ranking_pages import full_selection

UPGRADE = ("technology_gap", "equipment_age", "investment_weight", "counterpart_readiness", "jobs_created")


def answers(client, key: str, version: int, seed: int, **fixed):  # type: ignore[no-untyped-def]
    d = client.app.state.registry.get(key, version)
    return valid_answers(d, seed, fill=1.0, fixed=fixed)


def states_world(client, make_key):  # type: ignore[no-untyped-def]
    """A: market-needs v1 (no workforce questions), plans a 2 bn upgrade and hosts a demonstration model;
    B: market-needs v2, plans no upgrade, needs an 800 M pollution treatment investment;
    C: market-needs v2, plans no upgrade, nothing to treat; D: never surveyed."""
    fo = make_key("field_officer", name="fo")
    ids = {}
    for name in "ABCD":
        r = client.post("/api/v1/facilities", json=facility_body(name=name), headers=fo)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    workforce = {"workers_total": 12, "workers_female": 6, "workers_rural": 10, "workers_ethnic_minority": 3}
    posts = [
        ("A", "market-needs", 1, answers(client, "market-needs", 1, 1)),
        ("B", "market-needs", 2, answers(client, "market-needs", 2, 2, **workforce)),
        ("C", "market-needs", 2, answers(client, "market-needs", 2, 3, **workforce)),
        ("A", "technology-demonstration", 1, answers(client, "technology-demonstration", 1, 4, needs_upgrade=True,
         upgrade_kind=["replace_machine"], upgrade_cost_vnd=2_000_000_000, counterpart_funds_vnd=800_000_000,
         hosts_demonstration=True)),
        ("B", "technology-demonstration", 1, answers(client, "technology-demonstration", 1, 5, needs_upgrade=False,
         hosts_demonstration=False)),
        ("C", "technology-demonstration", 1, answers(client, "technology-demonstration", 1, 6, needs_upgrade=False,
         hosts_demonstration=False)),
        ("B", "pollution", 2, answers(client, "pollution", 2, 7, needs_treatment_investment=True,
         investment_needed_vnd=800_000_000)),
        ("C", "pollution", 2, answers(client, "pollution", 2, 8, needs_treatment_investment=False)),
    ]  # fmt: skip
    for name, q, v, a in posts:
        r = client.post("/api/v1/responses", json=response_body(ids[name], questionnaire=q, version=v, answers=a),
                        headers=fo)  # fmt: skip
        assert r.status_code == 201, (name, q, r.text)
    return ids


def explained(client, headers, version: int) -> dict[str, dict]:  # type: ignore[type-arg]
    r = client.get("/api/v1/priorities", params={"profile": "point-project", "profile_version": version},
                   headers=headers)  # fmt: skip
    assert r.status_code == 200, r.text
    return {it["facility"]["name"]: it for it in r.json()["items"]}


def by_id(item: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["id"]: c for c in item["criteria"]}


def test_states_and_weight_used_on_v2_and_v3(client, make_key) -> None:
    states_world(client, make_key)
    planner = make_key("planner", name="p")
    v2, v3 = explained(client, planner, 2), explained(client, planner, 3)
    assert set(v2) == set(v3) == set("ABCD")
    for items in (v2, v3):
        for it in items.values():
            crits = by_id(it)
            assert sum(c["weight_used"] for c in crits.values()) == pytest.approx(1.0)
            assert sum(c["contribution"] for c in crits.values()) == pytest.approx(it["score"])
            assert it["missing"] == [c["id"] for c in it["criteria"] if c["state"] == "missing"]
            assert {c["state"] for c in crits.values()} <= {
                "value",
                "missing",
                "not_asked",
                "not_applicable",
                "stale",
            }
        # A answered market-needs v1, which never asked about the workforce: not asked, not missing
        a = by_id(items["A"])
        assert a["inclusive_workforce"]["state"] == "not_asked" and a["inclusive_workforce"]["raw"] is None
        assert "inclusive_workforce" not in items["A"]["missing"]
        assert all(
            a[c]["state"] == "value" for c in UPGRADE if c != "jobs_created" or a[c]["raw"] is not None
        )
        # B and C plan no upgrade: the upgrade criteria do not apply (not "missing"); D was never surveyed
        for name in "BCD":
            crits = by_id(items[name])
            assert all(crits[c]["state"] == "not_applicable" for c in UPGRADE), name
            assert not set(UPGRADE) & set(items[name]["missing"])
        d = by_id(items["D"])
        assert (
            d["inclusive_workforce"]["state"] == "missing" and "inclusive_workforce" in items["D"]["missing"]
        )
        assert d["jobs"]["state"] == "value" and d["demonstration_host"]["state"] == "missing"

    # v2 keeps its numbers: not asked counts as the worst value, a criterion that does not apply gives its weight
    # to the others
    a2, b2 = by_id(v2["A"]), by_id(v2["B"])
    assert a2["inclusive_workforce"]["normalised"] == 0 and a2["inclusive_workforce"]["contribution"] == 0
    assert b2["technology_gap"]["weight_used"] == 0 and b2["technology_gap"]["weight"] > 0
    assert b2["jobs"]["weight_used"] > b2["jobs"]["weight"]
    # v3: neutral, the normalised value 0.5 at the criterion's full weight
    a3, b3 = by_id(v3["A"]), by_id(v3["B"])
    assert a3["inclusive_workforce"]["normalised"] == 0.5
    assert a3["inclusive_workforce"]["contribution"] == pytest.approx(
        0.5 * a3["inclusive_workforce"]["weight"]
    )
    for c in UPGRADE:
        assert b3[c]["normalised"] == 0.5 and b3[c]["weight_used"] == b3[c]["weight"]
        assert b3[c]["contribution"] == pytest.approx(0.5 * b3[c]["weight"])
    assert all(c["weight_used"] == c["weight"] for c in b3.values())  # nothing redistributed in v3
    # need intensity over the questions asked: B said yes to pollution, no to upgrade; D was asked nothing
    assert by_id(v3["D"])["need_intensity"]["state"] == "missing"


def test_v3_prices_establishments_that_plan_no_upgrade(client, make_key) -> None:
    ids = states_world(client, make_key)
    planner = make_key("planner", name="p")
    r = client.post("/api/v1/rankings", json={"profile": "point-project", "profile_version": 3,
                                              "budget_vnd": 20_000_000_000}, headers=planner)  # fmt: skip
    assert r.status_code == 201, r.text
    sel = full_selection(client, r.json(), planner)
    costs = {s["facility_id"]: s["cost_vnd"] for s in sel["selected"]}
    # A hosts a demonstration model: 30 % of 2 bn (under the 1 bn cap); B plans no upgrade but needs a pollution
    # treatment investment: cleaner production, 50 % of 800 M capped at 300 M; C and D have nothing to price
    assert costs == {ids["A"]: 600_000_000, ids["B"]: 300_000_000}
    assert [rule["id"] for rule in sel["support_cost"]] == [
        "demonstration_model", "production_line", "advanced_machinery", "cleaner_production"]  # fmt: skip
    assert all("Thông tư số 28/2018/TT-BTC" in rule["rationale"] for rule in sel["support_cost"])


def test_neutral_options_are_checked_when_the_profile_loads(app) -> None:
    base = {"key": "test-states", "version": 1, "method": "weighted_sum",
            "criteria": [{"id": "a", "source": "facility.employees", "direction": "benefit", "weight": 1}]}  # fmt: skip

    def problems(**crit):  # type: ignore[no-untyped-def]
        doc = {**base, "criteria": [{**base["criteria"][0], **crit}]}
        return [(p.path, p.message) for p in parse(doc, "t.yaml", app.state.registry)[1]]

    assert problems(not_asked="neutral") == []
    assert problems(not_asked="best")[0][0] == "criteria.0.not_asked"
    assert problems(not_applicable="neutral")[0][0] == "criteria.0.not_applicable"  # needs applies_when
    assert problems(combine="mean")[0][0] == "criteria.0.combine"  # needs a list of sources
    assert problems(rationale={"vi": "Có"})[0][0] == "criteria.0.rationale"
    topsis = {**base, "method": "topsis", "criteria": [{**base["criteria"][0], "not_asked": "neutral"}]}
    assert [p.path for p in parse(topsis, "t.yaml", app.state.registry)[1]] == ["criteria.0.not_asked"]


def test_states_route_cases(client, make_key) -> None:
    """The priorities route that explains states: anonymous, wrong role, bad input."""
    params = {"profile": "point-project", "profile_version": 3}
    assert client.get("/api/v1/priorities", params=params).status_code == 401
    fo = make_key("field_officer", name="fo2")
    assert client.get("/api/v1/priorities", params=params, headers=fo).status_code == 403
    planner = make_key("planner", name="p2")
    assert_problem(
        client.get("/api/v1/priorities", params={**params, "profile_version": 99}, headers=planner), 404
    )
