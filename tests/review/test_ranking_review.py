"""Priorities and rankings with `review`: which responses count under each filter, fallback to a facility's
earlier response, reproducibility as of an instant (review actions and revisions after it change nothing),
frozen rankings recording the filter, budgets costed from counted responses."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from app.prioritisation import service as ranking_service
from app.prioritisation.profiles import parse
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body
from tests.prioritisation.ranking_pages import full_selection

PROFILE = {
    "key": "test-review", "version": 1, "status": "published", "method": "weighted_sum",
    "criteria": [
        {"id": "loan", "source": "loans.loan_amount_vnd", "direction": "benefit", "weight": 3, "missing": "worst"},
        {"id": "support", "source": "facility.prior_support_count", "direction": "cost", "weight": 1},
    ],
}  # fmt: skip


@pytest.fixture
def install(app):  # type: ignore[no-untyped-def]
    p, problems = parse(PROFILE, "test.yaml", app.state.registry)
    assert not problems, problems
    app.state.profiles.items[(p.key, p.version)] = p
    yield
    del app.state.profiles.items[(p.key, p.version)]


def loan(amount: int) -> dict:
    return {"needs_loan": True, "loan_amount_vnd": amount, "loan_purpose": ["machinery"], "has_collateral": False,
            "wants_interest_subsidy": True}  # fmt: skip


class World:
    """Facilities A, B, C in Lâm Đồng with one loans response each (100M, 300M, 200M)."""

    def __init__(self, client, make_key) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.fo = make_key("field_officer", provinces=["68"], name="fo")
        self.planner = make_key("planner", provinces=["68"], name="planner")
        self.fac: dict[str, str] = {}
        self.resp: dict[str, str] = {}
        for name, amount in (("A", 100_000_000), ("B", 300_000_000), ("C", 200_000_000)):
            self.fac[name] = client.post(
                "/api/v1/facilities", json=facility_body(name=name), headers=self.fo
            ).json()["id"]
            self.resp[name] = self.submit(name, amount, "2026-11-20T08:30:00+07:00")

    def submit(self, name: str, amount: int, collected_at: str) -> str:
        r = self.client.post("/api/v1/responses", json=response_body(self.fac[name], answers=loan(amount),
                                                                      collected_at=collected_at), headers=self.fo)  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def review(self, name: str, state: str, rid: str | None = None) -> None:
        r = self.client.post(
            f"/api/v1/responses/{rid or self.resp[name]}/review", json={"state": state}, headers=self.planner
        )
        assert r.status_code == 201, r.text

    def revise(self, name: str, base: int, amount: int) -> None:
        r = self.client.put(f"/api/v1/responses/{self.resp[name]}", headers=self.fo, json={
            "base_revision": base, "answers": loan(amount), "collected_at": "2026-11-21T08:30:00+07:00"})  # fmt: skip
        assert r.status_code == 201, r.text

    def priorities(self, **params):  # type: ignore[no-untyped-def]
        r = self.client.get("/api/v1/priorities", params={"profile": "test-review", "profile_version": 1, **params},
                            headers=self.planner)  # fmt: skip
        assert r.status_code == 200, r.text
        return r

    def loans(self, **params) -> dict[str, int | None]:  # type: ignore[no-untyped-def]
        """Per facility name, the loan amount the ranking used (None: missing)."""
        body = self.priorities(**params).json()
        return {it["facility"]["name"]: it["criteria"][0]["raw"] for it in body["items"]}


def now() -> str:
    time.sleep(0.01)
    t = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    return t


def test_without_reviews_the_default_counts_everything_and_approved_nothing(
    client, make_key, install
) -> None:
    w = World(client, make_key)
    t = now()
    default, every = w.priorities(as_of=t).json(), w.priorities(as_of=t, review="any").json()
    assert default["review"] == "not_rejected" and every["review"] == "any"
    assert default["items"] == every["items"] and default["candidates"] == 3
    assert w.loans(as_of=t) == {"A": 100_000_000, "B": 300_000_000, "C": 200_000_000}
    assert w.loans(as_of=t, review="approved") == {"A": None, "B": None, "C": None}
    # The point-project profile ranks the same whatever the filter while nothing is reviewed.
    pp = {"profile": "point-project", "profile_version": 1, "as_of": t}
    a = client.get("/api/v1/priorities", params=pp, headers=w.planner).json()
    b = client.get("/api/v1/priorities", params={**pp, "review": "any"}, headers=w.planner).json()
    assert a["items"] == b["items"] and len(a["items"]) == 3


def test_each_filter_counts_what_the_readme_says(client, make_key, install) -> None:
    w = World(client, make_key)
    w.review("A", "approved")
    w.review("B", "rejected")
    w.review("C", "has_issues")
    assert w.loans() == {"A": 100_000_000, "B": None, "C": 200_000_000}  # not_rejected: has_issues counts
    assert w.loans(review="any") == {"A": 100_000_000, "B": 300_000_000, "C": 200_000_000}
    assert w.loans(review="approved") == {"A": 100_000_000, "B": None, "C": None}
    # A revision reopens every reviewed state as edited: a rejection no longer excludes, an approval no longer counts.
    w.revise("B", 1, 350_000_000)
    w.revise("A", 1, 150_000_000)
    assert w.loans() == {"A": 150_000_000, "B": 350_000_000, "C": 200_000_000}
    assert w.loans(review="approved") == {"A": None, "B": None, "C": None}
    w.review("A", "approved")
    assert w.loans(review="approved") == {"A": 150_000_000, "B": None, "C": None}
    # A later review replaces an earlier one: rejected after approved does not count.
    w.review("A", "rejected")
    assert w.loans()["A"] is None and w.loans(review="approved")["A"] is None


def test_a_response_that_does_not_count_leaves_the_facility_its_earlier_one(
    client, make_key, install
) -> None:
    w = World(client, make_key)
    newer = w.submit("A", 900_000_000, "2026-11-25T08:30:00+07:00")
    assert w.loans()["A"] == 900_000_000
    w.review("A", "rejected", rid=newer)
    body = w.priorities().json()
    a = next(it for it in body["items"] if it["facility"]["name"] == "A")
    assert a["criteria"][0]["raw"] == 100_000_000 and a["criteria"][0]["response_id"] == w.resp["A"]


def test_as_of_uses_review_states_as_of_then(client, make_key, install) -> None:
    """Every path of the extraction gives, for an instant T, what a ranking at T gave: no review yet by T,
    nothing newer than T (the states copied on the response rows), and reviews and revisions after T
    (the review events received by T)."""
    w = World(client, make_key)
    t0 = now()  # nothing reviewed yet
    ranked_at_t0 = {r: w.priorities(as_of=t0, review=r).content for r in ("any", "not_rejected", "approved")}
    w.review("A", "approved")
    w.review("B", "rejected")
    w.review("C", "has_issues")
    t1 = now()
    ranked_at_t1 = {r: w.priorities(as_of=t1, review=r).content for r in ("any", "not_rejected", "approved")}
    # After T1: C's issue answered by a revision, B approved, A revised.
    w.revise("C", 1, 250_000_000)
    w.review("B", "approved")
    w.revise("A", 1, 120_000_000)
    t2 = now()
    ranked_at_t2 = {r: w.priorities(as_of=t2, review=r).content for r in ("any", "not_rejected", "approved")}
    w.review("C", "rejected")
    w.revise("B", 1, 310_000_000)
    t3 = now()
    ranked_at_t3 = {r: w.priorities(as_of=t3, review=r).content for r in ("any", "not_rejected", "approved")}
    w.review("B", "approved")  # only a review after T3, no revision: the rows' copies are newer than T3
    w.review("A", "rejected")
    ranking_service._cache.clear()
    for t, before in ((t0, ranked_at_t0), (t1, ranked_at_t1), (t2, ranked_at_t2), (t3, ranked_at_t3)):
        for r, content in before.items():
            assert w.priorities(as_of=t, review=r).content == content, (t, r)
    assert w.loans(as_of=t1) == {"A": 100_000_000, "B": None, "C": 200_000_000}
    assert w.loans(as_of=t1, review="approved") == {"A": 100_000_000, "B": None, "C": None}
    assert w.loans(as_of=t2) == {"A": 120_000_000, "B": 300_000_000, "C": 250_000_000}
    assert w.loans(as_of=t2, review="approved") == {"A": None, "B": 300_000_000, "C": None}
    assert w.loans(as_of=t3) == {"A": 120_000_000, "B": 310_000_000, "C": None}
    assert w.loans(as_of=t3, review="approved") == {"A": None, "B": None, "C": None}
    assert w.loans() == {"A": None, "B": 310_000_000, "C": None}
    assert w.loans(review="approved") == {"A": None, "B": 310_000_000, "C": None}


def test_frozen_rankings_record_the_filter_and_cost_from_counted_responses(client, make_key, install) -> None:
    w = World(client, make_key)
    w.review("B", "rejected")
    base = {"profile": "test-review", "profile_version": 1, "budget_vnd": 1_000_000_000,
            "cost_source": "loans.loan_amount_vnd"}  # fmt: skip
    r = client.post("/api/v1/rankings", json={**base, "review": "not_rejected"}, headers=w.planner)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["request"]["review"] == "not_rejected" and doc["review"] == "not_rejected"
    sel = full_selection(client, doc, w.planner)
    assert sel["not_selectable"] == [w.fac["B"]]  # its only loan answer was rejected: no cost
    assert {s["facility_id"] for s in sel["selected"]} == {w.fac["A"], w.fac["C"]}
    assert client.get(f"/api/v1/rankings/{doc['id']}", headers=w.planner).json() == doc
    default = client.post("/api/v1/rankings", json=base, headers=w.planner).json()
    assert default["request"]["review"] == "not_rejected" and default["review"] == "not_rejected"
    every = client.post("/api/v1/rankings", json={**base, "review": "any"}, headers=w.planner).json()
    assert every["review"] == "any" and full_selection(client, every, w.planner)["not_selectable"] == []


def test_bad_review_filter(client, make_key, install) -> None:
    w = World(client, make_key)
    params = {"profile": "test-review", "profile_version": 1, "review": "reviewed"}
    assert_problem(client.get("/api/v1/priorities", params=params, headers=w.planner), 422, "query.review")
    body = {"profile": "test-review", "profile_version": 1, "review": "all"}
    assert_problem(client.post("/api/v1/rankings", json=body, headers=w.planner), 422, "review")
