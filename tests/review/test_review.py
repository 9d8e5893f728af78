"""Review through HTTP: states on every read, actions, history, comments, the field officer's to-do list,
retries, bad input, audit, and scope (anonymous, wrong role, other province, another officer's response)."""

from __future__ import annotations

import uuid

import pytest

from app.review.states import counts, derive
from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

URL = "/api/v1/responses"


@pytest.fixture
def keys(make_key):  # type: ignore[no-untyped-def]
    return {
        "fo": make_key("field_officer", provinces=["68"], name="fo"),
        "fo2": make_key("field_officer", provinces=["68"], name="fo2"),
        "planner": make_key("planner", provinces=["68"], name="planner-68"),
        "planner_hn": make_key("planner", provinces=["01"], name="planner-01"),
        "admin": make_key("admin", name="admin"),
        "admin_hn": make_key("admin", provinces=["01"], name="admin-01"),
        "admin_ld": make_key("admin", provinces=["68"], name="admin-68"),
        "portal": make_key("portal", provinces=["68"], name="portal"),
    }


@pytest.fixture
def fid(client, keys) -> str:  # type: ignore[no-untyped-def]
    return str(client.post("/api/v1/facilities", json=facility_body(), headers=keys["fo"]).json()["id"])


def submit(client, headers, fid, **over):  # type: ignore[no-untyped-def]
    r = client.post(URL, json=response_body(fid, **over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def review(client, headers, rid, state, comment=None, **extra):  # type: ignore[no-untyped-def]
    body = {"state": state, **({"comment": comment} if comment is not None else {}), **extra}
    return client.post(f"{URL}/{rid}/review", json=body, headers=headers)


def revise(client, headers, rid, base, amount):  # type: ignore[no-untyped-def]
    answers = dict(response_body("x")["answers"], loan_amount_vnd=amount)
    r = client.put(f"{URL}/{rid}", json={"base_revision": base, "answers": answers,
                                          "collected_at": "2026-11-22T09:00:00+07:00"}, headers=headers)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_a_review_cycle_as_the_device_and_the_planner_see_it(client, keys, fid) -> None:
    fo, planner = keys["fo"], keys["planner"]
    created = submit(client, fo, fid)
    rid = created["id"]
    assert created["review_state"] == "received" and created["last_review"] is None
    other = submit(client, fo, fid)  # stays unreviewed

    r = review(client, planner, rid, "has_issues", "  Số tiền vay 500 triệu có đúng không?  ")
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["review_state"] == "has_issues" and done["kind"] == "review" and done["state"] == "has_issues"
    assert done["comment"] == "Số tiền vay 500 triệu có đúng không?"  # kept as written, without the blanks
    assert done["revision"] == 1 and done["author"] == "planner-68" and done["author_role"] == "planner"

    # The device's to-do list: its own responses that have issues, with the comment to act on.
    todo = client.get(URL, params={"review_state": "has_issues"}, headers=fo).json()
    assert [x["id"] for x in todo["items"]] == [rid]
    last = todo["items"][0]["last_review"]
    assert (
        last["state"] == "has_issues" and last["comment"].startswith("Số tiền vay") and last["revision"] == 1
    )
    assert last["by"] == "planner-68" and last["at"]
    assert client.get(URL, params={"review_state": "has_issues"}, headers=keys["fo2"]).json()["items"] == []
    received = client.get(URL, params={"review_state": "received"}, headers=planner).json()["items"]
    assert [x["id"] for x in received] == [other["id"]]

    # The field officer answers in the thread and revises: the revision answers the has_issues.
    reply = client.post(f"{URL}/{rid}/comments", json={"comment": "Đã hỏi lại: 450 triệu."}, headers=fo)
    assert reply.status_code == 201 and reply.json()["kind"] == "comment" and reply.json()["state"] is None
    revised = revise(client, fo, rid, 1, 450_000_000)
    assert revised["review_state"] == "edited" and revised["last_review"]["revision"] == 1
    assert client.get(URL, params={"review_state": "has_issues"}, headers=fo).json()["items"] == []
    edited = client.get(URL, params={"review_state": "edited"}, headers=planner).json()["items"]
    assert [x["id"] for x in edited] == [rid]

    ok = review(client, planner, rid, "approved")
    assert ok.status_code == 201 and ok.json()["review_state"] == "approved" and ok.json()["revision"] == 2
    got = client.get(f"{URL}/{rid}", headers=fo).json()
    assert got["review_state"] == "approved" and got["last_review"] == {
        "state": "approved", "revision": 2, "comment": None, "by": "planner-68", "at": got["last_review"]["at"]
    }  # fmt: skip
    # Every revision read carries the response's state now.
    revs = client.get(f"{URL}/{rid}/revisions", headers=planner).json()["items"]
    assert [(x["revision"], x["review_state"]) for x in revs] == [(1, "approved"), (2, "approved")]
    # A retried submission (200) carries it too.
    again = client.post(URL, json=response_body(fid, id=rid, answers=created["answers"]), headers=fo)
    assert again.status_code == 200 and again.json()["review_state"] == "approved"

    history = client.get(f"{URL}/{rid}/reviews", headers=fo).json()
    assert [(h["state"], h["revision"], h["author"]) for h in history["items"]] == [
        ("has_issues", 1, "planner-68"), ("approved", 2, "planner-68")
    ]  # fmt: skip
    thread = client.get(f"{URL}/{rid}/comments", headers=planner).json()["items"]
    assert [(c["kind"], c["author"]) for c in thread] == [("review", "planner-68"), ("comment", "fo")]

    # A rejection, then a revision: reopened as edited.
    assert (
        review(client, planner, rid, "rejected", "Cơ sở không tồn tại").json()["review_state"] == "rejected"
    )
    assert (
        client.get(URL, params={"review_state": ["rejected", "approved"]}, headers=planner).json()["items"][
            0
        ]["id"]
        == rid
    )
    assert revise(client, fo, rid, 2, 400_000_000)["review_state"] == "edited"


def test_review_history_and_comments_page(client, keys, fid) -> None:
    rid = submit(client, keys["fo"], fid)["id"]
    for i in range(5):
        assert (
            review(
                client, keys["planner"], rid, "has_issues" if i % 2 else "approved", f"lần {i}"
            ).status_code
            == 201
        )
    first = client.get(f"{URL}/{rid}/reviews", params={"limit": 2}, headers=keys["fo"]).json()
    assert [h["comment"] for h in first["items"]] == ["lần 0", "lần 1"] and first["next_cursor"]
    rest = client.get(
        f"{URL}/{rid}/reviews", params={"limit": 10, "cursor": first["next_cursor"]}, headers=keys["fo"]
    )
    assert [h["comment"] for h in rest.json()["items"]] == ["lần 2", "lần 3", "lần 4"]
    assert rest.json()["next_cursor"] is None
    assert_problem(
        client.get(f"{URL}/{rid}/reviews", params={"cursor": "bogus"}, headers=keys["fo"]),
        422,
        "query.cursor",
    )


def test_retries_with_a_client_chosen_id_are_never_two_events(client, keys, fid) -> None:
    rid = submit(client, keys["fo"], fid)["id"]
    eid = str(uuid.uuid4())
    first = review(client, keys["planner"], rid, "has_issues", "Thiếu ảnh", id=eid)
    assert first.status_code == 201 and first.json()["id"] == eid
    again = review(client, keys["planner"], rid, "has_issues", "Thiếu ảnh", id=eid)
    assert again.status_code == 200 and again.json() == first.json()
    assert_problem(review(client, keys["planner"], rid, "approved", "Thiếu ảnh", id=eid), 409, "id")
    # The same id as a comment is other content too.
    assert_problem(
        client.post(f"{URL}/{rid}/comments", json={"id": eid, "comment": "Thiếu ảnh"}, headers=keys["fo"]),
        409,
        "id",
    )
    cid = str(uuid.uuid4())
    c1 = client.post(f"{URL}/{rid}/comments", json={"id": cid, "comment": "Đã bổ sung"}, headers=keys["fo"])
    c2 = client.post(f"{URL}/{rid}/comments", json={"id": cid, "comment": "Đã bổ sung"}, headers=keys["fo"])
    assert (c1.status_code, c2.status_code) == (201, 200) and c1.json() == c2.json()
    assert len(client.get(f"{URL}/{rid}/reviews", headers=keys["planner"]).json()["items"]) == 1
    assert len(client.get(f"{URL}/{rid}/comments", headers=keys["planner"]).json()["items"]) == 2
    # Without an id each post is a new event (a deliberate second review is history too).
    assert review(client, keys["planner"], rid, "approved").status_code == 201
    assert review(client, keys["planner"], rid, "approved").status_code == 201
    assert len(client.get(f"{URL}/{rid}/reviews", headers=keys["planner"]).json()["items"]) == 3


def test_bad_input(client, keys, fid) -> None:
    rid = submit(client, keys["fo"], fid)["id"]
    p = keys["planner"]
    assert_problem(review(client, p, rid, "edited"), 422, "state")  # derived, never set by hand
    assert_problem(review(client, p, rid, "received"), 422, "state")
    assert_problem(client.post(f"{URL}/{rid}/review", json={}, headers=p), 422, "state")
    assert_problem(review(client, p, rid, "approved", comment=5), 422, "comment")
    assert_problem(review(client, p, rid, "approved", "x" * 4001), 422, "comment")
    assert_problem(review(client, p, rid, "approved", extra=1), 422, "extra")
    assert_problem(review(client, p, rid, "approved", id="not-a-uuid"), 422, "id")
    assert_problem(client.post(f"{URL}/{rid}/comments", json={"comment": "   "}, headers=p), 422, "comment")
    assert_problem(client.post(f"{URL}/{rid}/comments", json={}, headers=p), 422, "comment")
    assert_problem(
        client.post(
            f"{URL}/{rid}/comments",
            content=b'{"comment": ',
            headers={**p, "Content-Type": "application/json"},
        ),
        422,
    )
    assert_problem(client.post(f"{URL}/{rid}/comments", json={"comment": "x" * 70_000}, headers=p), 413)
    assert_problem(
        client.get(URL, params={"review_state": "pending"}, headers=p), 422, "query.review_state.0"
    )
    assert_problem(review(client, p, str(uuid.uuid4()), "approved"), 404)
    # Blank review comments are no comment (and do not appear in the thread).
    assert review(client, p, rid, "approved", "  ").json()["comment"] is None
    assert client.get(f"{URL}/{rid}/comments", headers=p).json()["items"] == []


def test_scope_and_roles_on_every_review_route(client, keys, fid) -> None:
    rid = submit(client, keys["fo"], fid)["id"]
    hn_fid = client.post(
        "/api/v1/facilities", json=facility_body(province_code="01"), headers=keys["admin"]
    ).json()["id"]
    assert client.post(URL, json=response_body(hn_fid), headers=keys["admin"]).status_code == 201
    paths = [("POST", f"{URL}/{rid}/review", {"state": "approved"}), ("GET", f"{URL}/{rid}/reviews", None),
             ("GET", f"{URL}/{rid}/comments", None), ("POST", f"{URL}/{rid}/comments", {"comment": "?"})]  # fmt: skip
    for method, path, body in paths:
        assert_problem(client.request(method, path, json=body), 401)
        assert_problem(
            client.request(method, path, json=body, headers={"Authorization": "Bearer kc_nope"}), 401
        )
        assert_problem(client.request(method, path, json=body, headers=keys["portal"]), 403)
        # Another province: as if the response did not exist.
        for who in ("planner_hn", "admin_hn"):
            body404 = assert_problem(client.request(method, path, json=body, headers=keys[who]), 404)
            assert "68" not in str(body404).replace(rid, "")  # the id may hold "68" by chance
    # A field officer may not review, not even its own response; another officer's response is not there at all.
    assert_problem(review(client, keys["fo"], rid, "approved"), 403)
    for method, path, body in paths[1:]:
        assert_problem(client.request(method, path, json=body, headers=keys["fo2"]), 404)
    assert client.get(URL, params={"review_state": "received"}, headers=keys["fo2"]).json()["items"] == []
    # Lists stay in scope: the Hà Nội planner's list never shows the Lâm Đồng response, whatever the state.
    seen = client.get(
        URL, params={"review_state": ["received", "approved"]}, headers=keys["planner_hn"]
    ).json()
    assert [x["province_code"] for x in seen["items"]] == ["01"]
    # Nothing was stored by the refused requests.
    assert client.get(f"{URL}/{rid}/reviews", headers=keys["admin"]).json()["items"] == []
    assert client.get(f"{URL}/{rid}/comments", headers=keys["admin"]).json()["items"] == []
    # An admin in scope reviews.
    assert review(client, keys["admin_ld"], rid, "approved").status_code == 201


def test_reviews_are_audited_with_the_response_province(client, keys, fid) -> None:
    rid = submit(client, keys["fo"], fid)["id"]
    rev_id = review(client, keys["planner"], rid, "rejected", "Trùng phiếu").json()["id"]
    com_id = client.post(f"{URL}/{rid}/comments", json={"comment": "Vâng"}, headers=keys["fo"]).json()["id"]
    trail = client.get("/api/v1/audit", headers=keys["admin_ld"]).json()["items"]
    by_action = {e["action"]: e for e in trail}
    reviewed = by_action["response.reviewed"]
    assert reviewed["resource_id"] == rid and reviewed["key_name"] == "planner-68"
    assert reviewed["detail"] == {"state": "rejected", "revision": 1, "review_id": rev_id}
    assert by_action["response.commented"]["detail"] == {"comment_id": com_id}
    hn = client.get("/api/v1/audit", headers=keys["admin_hn"]).json()["items"]
    assert not {"response.reviewed", "response.commented"} & {e["action"] for e in hn}


@pytest.mark.parametrize(
    "last_state, last_revision, revision, state",
    [(None, None, 1, "received"), (None, None, 3, "received"), ("has_issues", 1, 1, "has_issues"),
     ("has_issues", 1, 2, "edited"), ("approved", 2, 2, "approved"), ("approved", 2, 3, "edited"),
     ("rejected", 1, 1, "rejected"), ("rejected", 1, 2, "edited")],
)  # fmt: skip
def test_state_derivation(last_state, last_revision, revision, state) -> None:  # type: ignore[no-untyped-def]
    assert derive(last_state, last_revision, revision) == state


def test_which_states_count_under_each_filter() -> None:
    states = ["received", "has_issues", "approved", "rejected", "edited"]
    assert [s for s in states if counts("any", s)] == states
    assert [s for s in states if counts("not_rejected", s)] == [
        "received",
        "has_issues",
        "approved",
        "edited",
    ]
    assert [s for s in states if counts("approved", s)] == ["approved"]


def test_threads_racing_the_same_review_id_store_one(client, keys, fid) -> None:
    from concurrent.futures import ThreadPoolExecutor

    rid = submit(client, keys["fo"], fid)["id"]
    body = {"id": str(uuid.uuid4()), "state": "approved", "comment": "Đạt"}
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda _: client.post(f"{URL}/{rid}/review", json=body, headers=keys["planner"]).status_code,
                range(12),
            )
        )
    assert sorted(codes) == [200] * 11 + [201]
    assert len(client.get(f"{URL}/{rid}/reviews", headers=keys["planner"]).json()["items"]) == 1


def test_services_check_roles_themselves_for_callers_without_a_route_rule(client, keys, fid) -> None:
    """Pages call the services directly: the role and scope rules hold there too."""
    from app.access.principal import Principal
    from app.core.db import session_scope
    from app.core.errors import Forbidden, NotFound
    from app.review import service

    rid = submit(client, keys["fo"], fid)["id"]
    fo = Principal(key_id=1, name="fo", role="field_officer", provinces=frozenset({"68"}))
    portal = Principal(key_id=2, name="portal", role="portal", provinces=frozenset({"68"}))
    link = Principal(key_id=3, name="link", role="form_link", provinces=frozenset({"68"}), kind="form_link")
    hn = Principal(key_id=4, name="planner-01", role="planner", provinces=frozenset({"01"}))
    ld = Principal(key_id=5, name="planner-68", role="planner", provinces=frozenset({"68"}))
    with session_scope(write=True) as s:
        with pytest.raises(Forbidden):
            service.act(session=s, principal=fo, response_id=rid, state="approved")
        for who in (portal, link):
            with pytest.raises(Forbidden):
                service.comment(session=s, principal=who, response_id=rid, text="?")
            with pytest.raises(Forbidden):
                service.history(session=s, principal=who, response_id=rid)
        with pytest.raises(NotFound):
            service.act(session=s, principal=hn, response_id=rid, state="approved")
        out, created = service.act(
            session=s, principal=ld, response_id=rid, state="has_issues", comment="Ảnh mờ"
        )
        assert created and out.review_state == "has_issues"
        items, nxt = service.comments(session=s, principal=fo, response_id=rid)
        assert [c.comment for c in items] == ["Ảnh mờ"] and nxt is None
    assert client.get(f"{URL}/{rid}", headers=keys["fo"]).json()["review_state"] == "has_issues"
