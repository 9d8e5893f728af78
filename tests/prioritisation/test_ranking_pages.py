"""Frozen rankings as bounded documents: POST /rankings and GET /rankings/{id} return the inputs, counts,
selection summary and the first page of items; GET /rankings/{id}/items and /selection page the rest
(API.md, end of "Scoring profiles, extended"). Through HTTP, with the demo data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core.db import session_scope
from app.demo import generate
from tests.conftest import assert_problem, wipe
from tests.prioritisation.ranking_pages import all_items, full_selection, walk

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MB = 1_000_000


def _demo(client: Any, facilities: int, seed: int = 4) -> None:
    with session_scope(write=True) as s:
        generate(session=s, registry=client.app.state.registry, facilities=facilities, seed=seed, now=NOW)


def _budgeted(budget: int = 20_000_000_000, **extra: Any) -> dict[str, Any]:
    return {"profile": "point-project", "profile_version": 1, "budget_vnd": budget,
            "cost_source": "loans.loan_amount_vnd", **extra}  # fmt: skip


def test_documents_stay_under_a_megabyte_with_5000_candidates(client, make_key) -> None:
    _demo(client, 5000)
    planner = make_key("planner", name="national")
    r = client.post("/api/v1/rankings", json=_budgeted(per_province={"min": 1}), headers=planner)
    assert r.status_code == 201, r.text
    assert len(r.content) < MB, len(r.content)
    doc = r.json()
    assert doc["candidates"] >= 4000  # (the old document carried every one: 8.4 MB at this size)
    assert len(doc["items"]) == 100 and doc["items_next_cursor"]
    sel = doc["selection"]
    assert sel["selected_count"] > 100 and sel["solver"]["status"] == "optimal"
    assert "selected" not in sel and "not_selectable" not in sel
    stored = client.get(f"/api/v1/rankings/{doc['id']}", headers=planner)
    assert stored.status_code == 200 and len(stored.content) < MB
    assert stored.json() == doc  # frozen: the same document every time

    items = all_items(client, doc, planner, limit=1000)
    assert [it["rank"] for it in items] == list(range(1, doc["candidates"] + 1))  # every item once, in order
    assert len({it["facility"]["id"] for it in items}) == doc["candidates"]
    full = full_selection(client, doc, planner)
    assert [s["rank"] for s in full["selected"]] == sorted(s["rank"] for s in full["selected"])
    assert sum(s["cost_vnd"] for s in full["selected"]) == sel["total_cost_vnd"] <= sel["budget_vnd"]
    assert sum(s["score"] for s in full["selected"]) == pytest.approx(sel["objective"], abs=1e-9)
    by_id = {it["facility"]["id"]: it for it in items}
    assert all(by_id[s["facility_id"]]["rank"] == s["rank"] for s in full["selected"])
    # the CSV streams every candidate, the selected ones marked
    rows = list(csv.reader(io.StringIO(client.get(f"/api/v1/rankings/{doc['id']}/export.csv", headers=planner)
                                       .content.decode("utf-8-sig"))))  # fmt: skip
    assert rows[0][-1] == "selected" and len(rows) == doc["candidates"] + 1
    assert {r[1] for r in rows[1:] if r[-1] == "1"} == {s["facility_id"] for s in full["selected"]}


def test_paging_walks_every_item_exactly_once_in_order(client, make_key) -> None:
    _demo(client, 300, seed=7)
    planner = make_key("planner", name="p")
    doc = client.post("/api/v1/rankings", json=_budgeted(3_000_000_000), headers=planner).json()
    n = doc["candidates"]
    assert n > 150
    # from the start, with odd page sizes: the same items as the document's first page and its cursor
    for limit in (1, 7, 100, 1000):
        walked = (
            walk(client, f"/api/v1/rankings/{doc['id']}/items", planner, limit=limit) if limit > 1 else None
        )
        if walked is not None:
            assert [it["rank"] for it in walked] == list(range(1, n + 1))
            assert walked[:100] == doc["items"]
    assert all_items(client, doc, planner, limit=33) == walk(
        client, f"/api/v1/rankings/{doc['id']}/items", planner, limit=1000
    )
    # the frozen items are the live ranking's at the same instant
    live = walk(
        client,
        "/api/v1/priorities",
        planner,
        profile="point-project",
        profile_version=1,
        as_of=doc["as_of"],
        limit=1000,
    )
    assert live == all_items(client, doc, planner)
    # the selection's pages: every selected facility once, in rank order, whatever the page size
    sel_path = f"/api/v1/rankings/{doc['id']}/selection"
    one_by_one = walk(client, sel_path, planner, limit=1)
    assert one_by_one == walk(client, sel_path, planner, limit=1000)
    assert len(one_by_one) == doc["selection"]["selected_count"] > 1
    unselectable = walk(client, sel_path, planner, part="not_selectable", limit=5)
    assert len(unselectable) == doc["selection"]["not_selectable_count"]
    assert all(u["cost_vnd"] is None for u in unselectable)
    ranks = [s["rank"] for s in one_by_one + unselectable]
    assert len(set(ranks)) == len(ranks)


def test_bad_cursors_and_limits_are_problems(client, make_key) -> None:
    _demo(client, 60, seed=2)
    planner = make_key("planner", name="p")
    doc = client.post("/api/v1/rankings", json=_budgeted(1_000_000_000), headers=planner).json()
    for path in (f"/api/v1/rankings/{doc['id']}/items", f"/api/v1/rankings/{doc['id']}/selection"):
        for cursor in (
            "not-a-cursor",
            "WyJ4Il0",
            "Wy0xXQ",
            "W3RydWVd",
            "WzEsMl0",
            "x" * 401,
        ):  # ["x"], [-1], [true], [1,2]
            r = client.get(path, params={"cursor": cursor}, headers=planner)
            assert_problem(r, 422, "query.cursor")
        assert_problem(client.get(path, params={"limit": 0}, headers=planner), 422, "query.limit")
        assert_problem(client.get(path, params={"limit": 1001}, headers=planner), 422, "query.limit")
    assert_problem(
        client.get(f"/api/v1/rankings/{doc['id']}/selection", params={"part": "all"}, headers=planner),
        422,
        "query.part",
    )
    # a ranking without a budget has no selection to page
    plain = client.post(
        "/api/v1/rankings", json={"profile": "point-project", "profile_version": 1}, headers=planner
    ).json()
    assert plain["selection"] is None
    assert_problem(client.get(f"/api/v1/rankings/{plain['id']}/selection", headers=planner), 404)
    assert client.get(f"/api/v1/rankings/{plain['id']}/items", headers=planner).status_code == 200


def test_pages_follow_the_ranking_scope_rules(client, make_key) -> None:
    _demo(client, 200, seed=3)
    lam_dong = make_key("planner", provinces=["68"], name="lam-dong")
    doc = client.post("/api/v1/rankings", json=_budgeted(2_000_000_000), headers=lam_dong).json()
    assert {it["facility"]["province_code"] for it in doc["items"]} == {"68"}
    paths = [f"/api/v1/rankings/{doc['id']}", f"/api/v1/rankings/{doc['id']}/items",
             f"/api/v1/rankings/{doc['id']}/selection", f"/api/v1/rankings/{doc['id']}/export.csv"]  # fmt: skip
    hanoi = make_key("planner", provinces=["01"], name="ha-noi")
    officer, everywhere = make_key("field_officer", provinces=["68"]), make_key("planner", name="national")
    for path in paths:
        assert_problem(client.get(path, headers=hanoi), 404)  # another province's planner: not found
        assert_problem(client.get(path, headers=officer), 403)
        assert client.get(path, headers=everywhere).status_code == 200
        assert client.get(path, headers=lam_dong).status_code == 200
    # a planner of the whole country may see it; a ranking over every province is not a provincial planner's
    national = client.post(
        "/api/v1/rankings", json=_budgeted(), headers=make_key("planner", name="n2")
    ).json()
    assert_problem(client.get(f"/api/v1/rankings/{national['id']}/items", headers=lam_dong), 404)


def test_the_pages_are_documented_in_openapi(client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, model in (("/api/v1/rankings/{ranking_id}/items", "RankedItemsPage"),
                        ("/api/v1/rankings/{ranking_id}/selection", "SelectionPage")):  # fmt: skip
        op = paths[path]["get"]
        assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(model)
        assert {p["name"] for p in op["parameters"]} >= {"ranking_id", "cursor", "limit"}
        assert {"401", "403", "404", "422"} <= set(op["responses"])
    doc = spec["components"]["schemas"]["RankingDocument"]
    assert "items_next_cursor" in doc["properties"]
    sel = spec["components"]["schemas"]["Selection"]["properties"]
    assert "selected_count" in sel and "not_selectable_count" in sel and "selected" not in sel


def test_rankings_frozen_before_the_rows_keep_their_documents(client, make_key) -> None:
    """Migration rankitems01 moves a stored whole result into rows (and back on downgrade): the document and
    every page read the same before and after."""
    from alembic import command
    from sqlalchemy import text

    from tests.conftest import alembic_config

    _demo(client, 150, seed=5)
    planner = make_key("planner", name="p")
    doc = client.post("/api/v1/rankings", json=_budgeted(2_000_000_000), headers=planner).json()
    items, sel = all_items(client, doc, planner), full_selection(client, doc, planner)
    cfg = alembic_config()
    command.downgrade(cfg, "planner01")
    try:
        with session_scope() as s:
            stored = s.execute(text("SELECT result FROM ranking")).scalar_one()
        whole = stored if isinstance(stored, dict) else json.loads(stored)
        assert whole["items"] == items  # the old form: every item and the selection's lists in the result
        assert whole["selection"]["selected"] == sel["selected"]
        assert whole["selection"]["not_selectable"] == sel["not_selectable"]
    finally:
        command.upgrade(cfg, "head")
    assert client.get(f"/api/v1/rankings/{doc['id']}", headers=planner).json() == doc
    assert all_items(client, doc, planner) == items and full_selection(client, doc, planner) == sel
    wipe()  # the next test module may migrate the schema down and up again: leave no rows behind
