"""The unit of work's events: handlers run inside the change's transaction, after-commit hooks only on commit.

Driven through HTTP (single post through the group committer, batch, revision, review) with a handler that
records what it saw, including whether the change's own rows were visible from its transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.core import uow
from app.core.db import session_scope
from tests.factories import facility_body, response_body

URL = "/api/v1/responses"


@pytest.fixture
def seen(monkeypatch):  # type: ignore[no-untyped-def]
    """Every event handed to a recording handler, with what its transaction could read at that moment."""
    got: list[tuple[Any, bool, bool]] = []

    def record(session, events) -> None:  # type: ignore[no-untyped-def]
        for e in events:
            rid = getattr(e, "response_id", None)
            visible = rid is not None and bool(
                session.execute(text("SELECT count(*) FROM response WHERE id = :r"), {"r": rid}).scalar()
            )
            got.append((e, session.in_transaction(), visible))

    for t in (uow.ResponseStored, uow.ResponseRevised, uow.Reviewed, uow.RankingFrozen):
        uow.handlers_of(t)  # every handler module imported
        monkeypatch.setitem(uow._last, t, [*uow._last.get(t, []), record])  # after every handler
    return got


@pytest.fixture
def keys(make_key):  # type: ignore[no-untyped-def]
    return {"fo": make_key("field_officer", ["68"]), "planner": make_key("planner", ["68"])}


def test_each_write_emits_its_event_inside_its_transaction(client, keys, seen) -> None:
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=keys["fo"]).json()["id"]
    body = response_body(fid)
    assert client.post(URL, json=body, headers=keys["fo"]).status_code == 201
    assert client.post(URL, json=body, headers=keys["fo"]).status_code == 200  # a retry: no second event
    batch = [response_body(fid), response_body(fid)]
    assert client.post(f"{URL}/batch", json={"items": batch}, headers=keys["fo"]).status_code == 200
    rev = {"base_revision": 1, "answers": {"needs_loan": False}, "collected_at": "2026-11-23T09:00:00+07:00"}
    assert client.put(f"{URL}/{body['id']}", json=rev, headers=keys["fo"]).status_code == 201
    r = client.post(f"{URL}/{body['id']}/review", json={"state": "approved"}, headers=keys["planner"])
    assert r.status_code == 201, r.text
    kinds = [(type(e).__name__, getattr(e, "response_id", None)) for e, _, _ in seen]
    assert kinds == [
        ("ResponseStored", body["id"]),
        ("ResponseStored", batch[0]["id"]),
        ("ResponseStored", batch[1]["id"]),
        ("ResponseRevised", body["id"]),
        ("Reviewed", body["id"]),
    ]
    assert all(in_tx and visible for _, in_tx, visible in seen)
    stored = seen[0][0]
    assert (stored.facility_id, stored.province_code, stored.questionnaire, stored.version) == (
        fid,
        "68",
        "loans",
        2,
    )
    assert seen[3][0].revision == 2 and seen[4][0].state == "approved" and seen[4][0].revision == 2


def test_a_handler_that_fails_rolls_the_change_back(client, keys, monkeypatch) -> None:
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=keys["fo"]).json()["id"]

    def broken(session, events) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("handler failed")

    uow.handlers_of(uow.ResponseStored)  # every handler module imported
    monkeypatch.setitem(uow._last, uow.ResponseStored, [*uow._last.get(uow.ResponseStored, []), broken])
    body = response_body(fid)
    assert client.post(URL, json=body, headers=keys["fo"]).status_code == 500
    monkeypatch.undo()
    assert client.get(f"{URL}/{body['id']}", headers=keys["fo"]).status_code == 404  # nothing half-stored
    assert client.post(URL, json=body, headers=keys["fo"]).status_code == 201


def test_after_commit_hooks_run_on_commit_only(client) -> None:
    ran: list[str] = []

    def twice() -> None:
        ran.append("b")

    with session_scope(write=True) as s:
        uow.after_commit(s, lambda: ran.append("a"))
        uow.after_commit(s, twice)
        uow.after_commit(s, twice)  # the same hook registered twice runs once
        with s.begin_nested():  # a savepoint's commit is not the transaction's
            uow.after_commit(s, lambda: ran.append("c"))
        assert ran == []
    assert ran == ["a", "b", "c"]
    ran.clear()
    with session_scope(write=True) as s:
        uow.after_commit(s, lambda: ran.append("once"))
        try:
            with s.begin_nested():
                uow.after_commit(s, lambda: ran.append("kept"))
                raise ValueError
        except ValueError:
            pass
    assert ran == ["once", "kept"]  # a rolled-back savepoint keeps the transaction's hooks
    ran.clear()
    with pytest.raises(ValueError), session_scope(write=True) as s:
        uow.after_commit(s, lambda: ran.append("rolled back"))
        raise ValueError
    with session_scope(write=True) as s:
        pass
    assert ran == []  # dropped with the rollback, not carried into the session's next transaction
