"""The shipped point-project v2 on demo data, through HTTP: explanations and a budget priced by its support rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core.db import session_scope
from app.demo import generate
from tests.prioritisation.ranking_pages import full_selection

RULES = {  # survey_schemas/scoring/point-project/v2.yaml, in order: (share, cap)
    "demonstration_model": (0.3, 1_000_000_000),
    "production_line": (0.5, 450_000_000),
    "advanced_machinery": (0.5, 300_000_000),
}


def expected_cost(answers: dict) -> float | None:
    """The first rule that applies, as the profile says (Circular 28/2018/TT-BTC, Article 8)."""
    if not answers.get("needs_upgrade"):
        return None
    cost = answers["upgrade_cost_vnd"]
    if answers.get("hosts_demonstration") is True:
        share, cap = RULES["demonstration_model"]
    elif "production_line" in answers.get("upgrade_kind", []):
        share, cap = RULES["production_line"]
    else:
        share, cap = RULES["advanced_machinery"]
    return float(round(min(cap, share * cost)))


def test_point_project_v2_on_demo_data(client, make_key) -> None:
    with session_scope(write=True) as s:
        generate(session=s, registry=client.app.state.registry, facilities=300, seed=4,
                 now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    planner = make_key("planner", name="p")
    body = client.get("/api/v1/priorities", params={"profile": "point-project", "profile_version": 2, "limit": 1000},
                      headers=planner)  # fmt: skip
    assert body.status_code == 200, body.text
    items = body.json()["items"]
    assert len(items) == 300
    for it in items:
        crits = {c["id"]: c for c in it["criteria"]}
        assert sum(c["contribution"] for c in it["criteria"]) == pytest.approx(it["score"])
        assert sum(c["effective_weight"] for c in it["criteria"]) == pytest.approx(1.0)
        assert crits["jobs"]["normalise"] == "log_minmax" and crits["equipment_age"]["normalise"] == "rank"
        if not crits["counterpart_readiness"]["applies"]:  # no upgrade planned (or not asked): neutral
            assert crits["counterpart_readiness"]["normalised"] is None
            assert crits["counterpart_readiness"]["contribution"] == 0
            assert crits["technology_gap"]["applies"] is False
    assert {c["applies"] for it in items for c in it["criteria"] if c["id"] == "counterpart_readiness"} == {
        True,
        False,
    }

    r = client.post("/api/v1/rankings", json={"profile": "point-project", "profile_version": 2,
                                              "budget_vnd": 3_000_000_000}, headers=planner)  # fmt: skip
    assert r.status_code == 201, r.text
    sel = full_selection(client, r.json(), planner)
    assert [rule["id"] for rule in sel["support_cost"]] == list(RULES)
    assert sel["cost_source"] == "technology-demonstration.upgrade_cost_vnd"
    assert sel["selected"] and sel["total_cost_vnd"] <= 3_000_000_000
    for chosen in sel["selected"][:10]:
        listed = client.get("/api/v1/responses", params={"facility_id": chosen["facility_id"],
                                                         "questionnaire": "technology-demonstration"}, headers=planner)  # fmt: skip
        latest = max(listed.json()["items"], key=lambda x: (x["collected_at"], x["received_at"]))
        assert chosen["cost_vnd"] == expected_cost(latest["answers"]), latest["answers"]
