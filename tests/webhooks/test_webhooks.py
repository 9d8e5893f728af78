"""Webhooks through HTTP: subscriptions (access, bad input, the SSRF guard), signed deliveries verified by the
`standardwebhooks` library, once per change, in scope, retried through failures, secrets rotated."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text

from app.core import uow
from app.core.db import session_scope
from app.webhooks import urls
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body
from tests.webhooks.conftest import ALL_EVENTS
from tests.webhooks.receiver import Receiver

HOOKS = "/api/v1/webhooks"
PUBLIC_URL = "https://93.184.215.14/hooks/khuyencong"  # a public address literal: no DNS needed


def subscribe(client, headers, url: str, events: list[str] = ALL_EVENTS) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(
        HOOKS, json={"url": url, "events": events, "description": "Sở Công Thương"}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def facility(client, headers, province: str = "68") -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/facilities", json=facility_body(province_code=province), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def outbox_rows() -> int:
    with session_scope() as s:
        return int(s.execute(text("SELECT count(*) FROM webhook_delivery")).scalar_one())


# -- subscriptions ----------------------------------------------------------------------------------------


def test_subscribe_list_delete_in_scope(client, keys, make_key) -> None:
    body = {"url": PUBLIC_URL, "events": ["response.created"]}
    assert_problem(client.post(HOOKS, json=body), 401)
    for role in ("planner", "field_officer", "portal"):
        assert_problem(client.post(HOOKS, json=body, headers=make_key(role, ["68"])), 403)
        assert_problem(client.get(HOOKS, headers=make_key(role, ["68"])), 403)
    created = client.post(HOOKS, json=body, headers=keys["admin"])
    assert created.status_code == 201, created.text
    hook = created.json()
    assert (
        hook["secret"].startswith("whsec_")
        and hook["provinces"] == ["68"]
        and hook["events"] == ["response.created"]
    )
    listed = client.get(HOOKS, headers=keys["admin"]).json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]  # shown once
    assert [h["id"] for h in client.get(HOOKS, headers=keys["national"]).json()] == [hook["id"]]
    # Another province's admin: as if it did not exist.
    assert client.get(HOOKS, headers=keys["admin37"]).json() == []
    for method, path in (("DELETE", ""), ("GET", "/deliveries"), ("POST", "/rotate-secret")):
        assert_problem(client.request(method, f"{HOOKS}/{hook['id']}{path}", headers=keys["admin37"]), 404)
        assert_problem(client.request(method, f"{HOOKS}/{hook['id']}{path}"), 401)
        assert_problem(client.request(method, f"{HOOKS}/{hook['id']}{path}", headers=keys["planner"]), 403)
    assert client.delete(f"{HOOKS}/{hook['id']}", headers=keys["admin"]).status_code == 204
    assert client.get(HOOKS, headers=keys["admin"]).json() == []
    assert_problem(client.delete(f"{HOOKS}/{hook['id']}", headers=keys["admin"]), 404)
    trail = client.get("/api/v1/audit", params={"resource_type": "webhook"}, headers=keys["admin"]).json()[
        "items"
    ]
    assert {e["action"] for e in trail} == {"webhook.created", "webhook.deleted"}


@pytest.mark.parametrize(
    "body, path, code",
    [
        ({"url": "ftp://93.184.215.14/x", "events": ["response.created"]}, "url", "scheme"),
        ({"url": "not a url", "events": ["response.created"]}, "url", "scheme"),
        ({"url": "https://user:pw@93.184.215.14/x", "events": ["response.created"]}, "url", "credentials"),
        ({"url": "http://127.0.0.1:8000/x", "events": ["response.created"]}, "url", "private_address"),
        ({"url": "http://localhost/x", "events": ["response.created"]}, "url", "private_address"),
        ({"url": "http://[::1]/x", "events": ["response.created"]}, "url", "private_address"),
        ({"url": "http://10.1.2.3/x", "events": ["response.created"]}, "url", "private_address"),
        ({"url": "http://192.168.1.10/x", "events": ["response.created"]}, "url", "private_address"),
        (
            {"url": "http://169.254.169.254/latest/meta-data", "events": ["response.created"]},
            "url",
            "private_address",
        ),
        ({"url": "http://[::ffff:127.0.0.1]/x", "events": ["response.created"]}, "url", "private_address"),
        ({"url": "http://0.0.0.0/x", "events": ["response.created"]}, "url", "private_address"),
        ({"url": "https://no-such-host.invalid/x", "events": ["response.created"]}, "url", "unresolvable"),
        ({"url": PUBLIC_URL, "events": ["response.deleted"]}, "events.0", "unknown_event"),
        ({"url": PUBLIC_URL, "events": []}, "events", None),
        ({"url": PUBLIC_URL}, "events", None),
        ({"url": PUBLIC_URL, "events": ["response.created"], "secret": "mine"}, "secret", None),
        ({"url": 5, "events": ["response.created"]}, "url", None),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(client, keys, body, path, code) -> None:
    problem = assert_problem(client.post(HOOKS, json=body, headers=keys["admin"]), 422, path)
    if code is not None:
        assert code in {e["code"] for e in problem["errors"]}, problem
        assert all(e["message"] for e in problem["errors"])
    assert client.get(HOOKS, headers=keys["admin"]).json() == []


def test_private_addresses_need_the_setting(client, keys, fast, receiver) -> None:
    assert (
        subscribe(client, keys["admin"], receiver.url)["url"] == receiver.url
    )  # WEBHOOK_ALLOW_PRIVATE_URLS=true


# -- deliveries -------------------------------------------------------------------------------------------


def test_each_change_is_delivered_once_signed_and_in_scope(client, keys, fast, receiver) -> None:
    hook = subscribe(client, keys["admin"], receiver.url)
    other = Receiver()
    try:
        subscribe(client, keys["admin37"], other.url)  # province 37: sees none of 68's events
        fid = facility(client, keys["fo"])
        body = response_body(fid)
        assert client.post("/api/v1/responses", json=body, headers=keys["fo"]).status_code == 201
        assert (
            client.post("/api/v1/responses", json=body, headers=keys["fo"]).status_code == 200
        )  # retry: no event
        rev = {
            "base_revision": 1,
            "answers": {"needs_loan": False},
            "collected_at": "2026-11-23T09:00:00+07:00",
        }
        assert client.put(f"/api/v1/responses/{body['id']}", json=rev, headers=keys["fo"]).status_code == 201
        r = client.post(
            f"/api/v1/responses/{body['id']}/review", json={"state": "approved"}, headers=keys["planner"]
        )
        assert r.status_code == 201, r.text
        ranking = client.post("/api/v1/rankings", json={"profile": "point-project", "profile_version": 1},
                              headers=keys["planner"])  # fmt: skip
        assert ranking.status_code == 201, ranking.text
        receiver.wait_for(4)
        time.sleep(0.5)  # nothing more arrives
        got = {p["type"]: p for p in receiver.verified(hook["secret"])}
        assert len(receiver.received) == 4 and set(got) == set(ALL_EVENTS)
        assert len({p["_id"] for p in got.values()}) == 4
        created = got["response.created"]["data"]
        assert created["response_id"] == body["id"] and created["facility_id"] == fid
        assert (
            created["province_code"] == "68"
            and created["questionnaire"] == "loans"
            and created["version"] == 2
        )
        assert created["channel"] == "field"
        assert "answers" not in created  # ids and a summary, never the document
        assert got["response.revised"]["data"]["revision"] == 2
        assert got["response.reviewed"]["data"]["state"] == "approved"
        assert got["ranking.created"]["data"]["ranking_id"] == ranking.json()["id"]
        assert got["ranking.created"]["data"]["scope"] == ["68"]
        assert all(len(b) < 2048 for _, b in receiver.received)
        assert other.received == []
        log = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=keys["admin"]).json()["items"]
        assert (
            len(log) == 4
            and {d["status"] for d in log} == {"delivered"}
            and {d["attempts"] for d in log} == {1}
        )
        assert {d["id"] for d in log} == {p["_id"] for p in got.values()}
        assert all(d["next_attempt_at"] is None and d["last_status"] == 204 for d in log)
    finally:
        other.close()


def test_only_subscribed_events_and_nationwide_hooks(client, keys, fast, receiver) -> None:
    national = Receiver()
    try:
        hook = subscribe(client, keys["admin"], receiver.url, ["response.reviewed"])
        wide = subscribe(client, keys["national"], national.url, ["response.created"])
        ids = []
        for fo, province in ((keys["fo"], "68"), (keys["fo37"], "37")):
            body = response_body(facility(client, fo, province))
            assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
            ids.append(body["id"])
        national.wait_for(2)
        time.sleep(0.4)
        assert sorted(p["data"]["response_id"] for p in national.verified(wide["secret"])) == sorted(ids)
        assert receiver.received == []  # subscribed to reviews only
        assert client.post(f"/api/v1/responses/{ids[0]}/review", json={"state": "rejected"},
                           headers=keys["planner"]).status_code == 201  # fmt: skip
        receiver.wait_for(1)
        assert [p["type"] for p in receiver.verified(hook["secret"])] == ["response.reviewed"]
    finally:
        national.close()


def test_receiver_failures_are_retried_under_the_same_id(client, keys, fast, receiver) -> None:
    receiver.plan = [500, 503]
    hook = subscribe(client, keys["admin"], receiver.url, ["response.created"])
    body = response_body(facility(client, keys["fo"]))
    assert client.post("/api/v1/responses", json=body, headers=keys["fo"]).status_code == 201
    receiver.wait_for(3)
    time.sleep(0.4)
    seen = receiver.verified(hook["secret"])
    assert len(seen) == 3 and len({p["_id"] for p in seen}) == 1  # one message, three attempts
    (d,) = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=keys["admin"]).json()["items"]
    assert d["status"] == "delivered" and d["attempts"] == 3 and d["last_error"] is None


def test_a_receiver_that_never_succeeds_gives_up_after_the_schedule(client, keys, fast, receiver) -> None:
    receiver.plan = [500] * 10
    hook = subscribe(client, keys["admin"], receiver.url, ["response.created"])
    body = response_body(facility(client, keys["fo"]))
    assert client.post("/api/v1/responses", json=body, headers=keys["fo"]).status_code == 201
    receiver.wait_for(4)  # the first attempt and three retries (the test's schedule)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        (d,) = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=keys["admin"]).json()["items"]
        if d["status"] == "failed":
            break
        time.sleep(0.1)
    assert d["status"] == "failed" and d["attempts"] == 4 and d["next_attempt_at"] is None
    assert d["last_status"] == 500 and d["last_error"].startswith("HTTP 500")
    failed = client.get(
        f"{HOOKS}/{hook['id']}/deliveries", params={"status": "failed"}, headers=keys["admin"]
    )
    assert len(failed.json()["items"]) == 1
    assert_problem(client.get(f"{HOOKS}/{hook['id']}/deliveries", params={"status": "lost"}, headers=keys["admin"]),
                   422, "query.status")  # fmt: skip


def test_a_slow_receiver_costs_no_request_time(client, keys, fast, receiver) -> None:
    receiver.delay = 3.0
    subscribe(client, keys["admin"], receiver.url, ["response.created"])
    fid = facility(client, keys["fo"])
    started = time.monotonic()
    for _ in range(3):
        assert (
            client.post("/api/v1/responses", json=response_body(fid), headers=keys["fo"]).status_code == 201
        )
    assert time.monotonic() - started < 2.0
    receiver.wait_for(1)


def test_an_uncommitted_change_sends_nothing(client, keys, fast, receiver, monkeypatch) -> None:
    subscribe(client, keys["admin"], receiver.url, ["response.created"])
    fid = facility(client, keys["fo"])

    def fails_after_the_outbox(session, events) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the transaction fails after the outbox row was written")

    uow.handlers_of(uow.ResponseStored)  # every handler module imported
    last = uow._last.get(uow.ResponseStored, [])
    monkeypatch.setitem(uow._last, uow.ResponseStored, [*last, fails_after_the_outbox])  # after the outbox
    assert client.post("/api/v1/responses", json=response_body(fid), headers=keys["fo"]).status_code == 500
    time.sleep(0.5)
    assert receiver.received == [] and outbox_rows() == 0


def test_deleting_a_hook_cancels_what_is_pending(client, keys, fast, receiver) -> None:
    receiver.plan = [500] * 10
    hook = subscribe(client, keys["admin"], receiver.url, ["response.created"])
    assert client.post("/api/v1/responses", json=response_body(facility(client, keys["fo"])),
                       headers=keys["fo"]).status_code == 201  # fmt: skip
    receiver.wait_for(1)
    assert client.delete(f"{HOOKS}/{hook['id']}", headers=keys["admin"]).status_code == 204
    n = len(receiver.received)
    time.sleep(1.5)
    assert len(receiver.received) == n  # no retry after deletion
    with session_scope() as s:
        assert s.execute(text("SELECT status FROM webhook_delivery")).scalar_one() == "cancelled"


def test_rotated_secret_signs_with_both_for_a_day(client, keys, fast, receiver) -> None:
    hook = subscribe(client, keys["admin"], receiver.url, ["response.created"])
    r = client.post(f"{HOOKS}/{hook['id']}/rotate-secret", headers=keys["admin"])
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new.startswith("whsec_") and new != hook["secret"] and r.json()["previous_secret_valid_until"]
    assert client.post("/api/v1/responses", json=response_body(facility(client, keys["fo"])),
                       headers=keys["fo"]).status_code == 201  # fmt: skip
    receiver.wait_for(1)
    assert receiver.verified(new) == receiver.verified(hook["secret"])  # both verify
    assert len(receiver.received[0][0]["webhook-signature"].split(" ")) == 2


def test_dns_rebinding_is_refused_at_delivery(client, keys, fast, receiver, monkeypatch) -> None:
    """The host resolved to a public address when the hook was made and to loopback when delivering."""
    from app.core.config import get_settings

    port = receiver.server.server_address[1]
    answers = iter([["93.184.215.14"]])
    monkeypatch.setattr(urls, "resolve", lambda host, p: next(answers, ["127.0.0.1"]))
    monkeypatch.setattr(get_settings(), "webhook_allow_private_urls", False)
    hook = subscribe(client, keys["admin"], f"http://rebind.example:{port}/hook", ["response.created"])
    assert client.post("/api/v1/responses", json=response_body(facility(client, keys["fo"])),
                       headers=keys["fo"]).status_code == 201  # fmt: skip
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        (d,) = client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=keys["admin"]).json()["items"]
        if d["last_error"]:
            break
        time.sleep(0.1)
    assert d["last_error"].startswith("refused:") and "127.0.0.1" in d["last_error"], d
    assert receiver.received == []


def test_a_new_hook_is_seen_by_the_next_write(client, keys, fast, receiver) -> None:
    """The outbox handler's cached hooks follow the generation: no stale 'nobody listens'."""
    fid = facility(client, keys["fo"])
    assert client.post("/api/v1/responses", json=response_body(fid), headers=keys["fo"]).status_code == 201
    assert outbox_rows() == 0
    hook = subscribe(client, keys["admin"], receiver.url, ["response.created"])
    body = response_body(fid)
    assert client.post("/api/v1/responses", json=body, headers=keys["fo"]).status_code == 201
    receiver.wait_for(1)
    assert [p["data"]["response_id"] for p in receiver.verified(hook["secret"])] == [body["id"]]
    assert uuid.UUID(hook["id"])
