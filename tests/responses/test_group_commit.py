"""Group commit of single posts: one transaction for a group, each item still resolved on its own.

Groups form only under concurrency, so these tests build groups directly and hand them to a committer;
the HTTP-level races (16 threads, two processes) are in test_responses.py and tests/faults.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from sqlalchemy import text

from app.access.principal import Principal
from app.core.db import get_engine, session_scope
from app.core.errors import AppError, Conflict, Unavailable
from app.responses import store
from app.responses.committer import GroupCommitter, _Job
from app.responses.ingest import content_hash
from app.responses.schemas import ResponseCreate
from tests.factories import response_body

Ref = namedtuple("Ref", "id province_code")
OFFICER = Principal(key_id=1, name="fo", role="field_officer", provinces=frozenset({"68"}))


def pending(app, fid: str, **over) -> store.Pending:  # type: ignore[no-untyped-def]
    body = ResponseCreate.model_validate(response_body(fid, **over))
    d = app.state.registry.get(body.questionnaire, body.version)
    return store.Pending(OFFICER, body, content_hash(body), d, Ref(fid, "68"), get_engine().dialect)


def rows(sql: str) -> list[tuple]:
    with session_scope() as s:
        return [tuple(r) for r in s.execute(text(sql))]


def run_group(items: list[store.Pending]) -> list[_Job]:
    jobs = [_Job(p) for p in items]
    GroupCommitter()._commit(jobs)
    assert all(j.done.is_set() for j in jobs)
    return jobs


def test_one_group_one_transaction_ids_repeated_inside_it(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json={"name": "A", "kind": "cooperative", "sector": "handicrafts",
                                                  "province_code": "68"}, headers=fo).json()["id"]  # fmt: skip
    a = pending(client.app, fid)
    same_again = pending(client.app, fid, id=a.body.id)  # a retry racing its original
    other_content = pending(client.app, fid, id=a.body.id, answers={"needs_loan": False})
    b = pending(client.app, fid)
    jobs = run_group([a, same_again, other_content, b])
    statuses = [
        j.result.status if not isinstance(j.result, AppError) else type(j.result).__name__ for j in jobs
    ]
    assert statuses == ["created", "duplicate", "Conflict", "created"]
    assert rows("SELECT count(*) FROM response") == [(2,)] and rows(
        "SELECT count(*) FROM response_revision"
    ) == [(2,)]
    # One receive stamp for the group, sequence numbers in item order, one audit row per stored response.
    stored = rows("SELECT id, seq, received_at FROM response ORDER BY seq")
    assert [r[0] for r in stored] == [a.body.id, b.body.id] and stored[0][2] == stored[1][2]
    assert rows("SELECT count(*) FROM audit_event WHERE action = 'response.created'") == [(2,)]
    # What the created items answer is what a later GET returns.
    got = client.get(f"/api/v1/responses/{a.body.id}", headers=fo).json()
    assert jobs[0].result.read().model_dump(mode="json") == got
    assert isinstance(jobs[2].result, Conflict)


def test_a_bad_item_does_not_fail_its_group(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json={"name": "A", "kind": "cooperative", "sector": "handicrafts",
                                                  "province_code": "68"}, headers=fo).json()["id"]  # fmt: skip
    good1, good2 = pending(client.app, fid), pending(client.app, fid)
    # A facility that vanished between the checks and the insert: the whole group's INSERT fails (foreign key),
    # then each item is stored alone and only that one fails.
    ghost = pending(client.app, "00000000-0000-4000-8000-000000000000")
    jobs = run_group([good1, ghost, good2])
    assert jobs[0].result.status == "created" and jobs[2].result.status == "created"
    assert jobs[1].error is not None and jobs[1].result is None
    assert {r[0] for r in rows("SELECT id FROM response")} == {good1.body.id, good2.body.id}


def test_submit_waits_for_the_commit(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json={"name": "A", "kind": "cooperative", "sector": "handicrafts",
                                                  "province_code": "68"}, headers=fo).json()["id"]  # fmt: skip
    committer = GroupCommitter()
    items = [pending(client.app, fid) for _ in range(20)]
    results: list[tuple[object, list[tuple]] | None] = [None] * len(items)

    def post(i: int) -> None:
        outcome = committer.submit(items[i])
        # Acknowledged means committed: another connection sees the row already.
        results[i] = (outcome, rows(f"SELECT count(*) FROM response WHERE id = '{items[i].body.id}'"))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(
        r is not None and getattr(r[0], "status", None) == "created" and r[1] == [(1,)] for r in results
    )
    assert rows("SELECT count(*) FROM response") == [(20,)]


def lookup_pending(app, fid: str, principal: Principal = OFFICER, **over) -> store.Pending:  # type: ignore[no-untyped-def]
    """A single post of the hot path: its facility still an id, read in the write transaction."""
    body = ResponseCreate.model_validate(response_body(fid, **over))
    d = app.state.registry.get(body.questionnaire, body.version)
    return store.Pending(principal, body, content_hash(body), d, None, get_engine().dialect, lookup=fid)


def run_on_own_loop(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """asyncio.run(make()) in a thread of its own (the test process may already run a loop in this one)."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(make())
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            out["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_awaited_posts_are_answered_once_committed_each_checked_alone(client, make_key, admin) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    facility = {"name": "A", "kind": "cooperative", "sector": "handicrafts"}
    fid = client.post("/api/v1/facilities", json={**facility, "province_code": "68"}, headers=fo).json()["id"]
    foreign = client.post(
        "/api/v1/facilities", json={**facility, "province_code": "01"}, headers=admin
    ).json()["id"]
    committer = GroupCommitter()
    items = [lookup_pending(client.app, fid) for _ in range(24)]
    items[5] = lookup_pending(client.app, foreign)  # out of the officer's provinces: as if unknown
    items[9] = lookup_pending(client.app, "00000000-0000-4000-8000-000000000000")  # unknown
    items[12] = lookup_pending(client.app, fid, id=items[11].body.id)  # a retry racing its original

    async def post(p: store.Pending) -> tuple[object, list[tuple]]:
        try:
            outcome = await committer.submit_async(p)
        except AppError as exc:
            return exc, []
        # Acknowledged means committed: another connection sees the row already.
        return outcome, rows(f"SELECT count(*) FROM response WHERE id = '{p.body.id}'")

    async def all_of_them() -> list[tuple[object, list[tuple]]]:
        return await asyncio.gather(*(post(p) for p in items))

    results = run_on_own_loop(all_of_them)
    for k, (outcome, seen) in enumerate(results):
        if k in (5, 9):
            assert isinstance(outcome, AppError) and outcome.status == 422, (k, outcome)
            assert (
                outcome.errors[0]["path"] == "facility_id" and outcome.errors[0]["code"] == "unknown_facility"
            )
        else:
            assert getattr(outcome, "status", None) == ("duplicate" if k == 12 else "created") and seen == [
                (1,)
            ], k
    assert rows("SELECT count(*) FROM response") == [(21,)]
    assert rows(f"SELECT count(*) FROM response WHERE facility_id = '{foreign}'") == [(0,)]


def test_an_awaited_post_gives_up_with_503_and_is_still_stored(client, make_key, monkeypatch) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json={"name": "A", "kind": "cooperative", "sector": "handicrafts",
                                                  "province_code": "68"}, headers=fo).json()["id"]  # fmt: skip
    release = threading.Event()

    class Slow(GroupCommitter):
        def _commit(self, group: list[_Job]) -> None:
            release.wait(10)  # the database is busy for longer than the request waits
            super()._commit(group)

    committer = Slow()
    monkeypatch.setattr(committer, "wait_seconds", lambda: 0.2)
    p = lookup_pending(client.app, fid)
    with pytest.raises(Unavailable) as refused:
        run_on_own_loop(lambda: committer.submit_async(p))
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "1"}
    release.set()
    for _ in range(100):  # the insert still commits; the device's retry is then answered as a duplicate
        if rows(f"SELECT count(*) FROM response WHERE id = '{p.body.id}'") == [(1,)]:
            break
        time.sleep(0.05)
    retry = client.post("/api/v1/responses", json=p.body.model_dump(mode="json"), headers=fo)
    assert retry.status_code == 200 and retry.json()["id"] == p.body.id
