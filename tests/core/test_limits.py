"""Issue 20, findings 1 and 5: error replies never grow with the input; no secret in the access log."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from tests.conftest import assert_problem
from tests.factories import facility_body

MAX_FIELD_ERRORS = 50  # what the README promises (app.core.errors.MAX_FIELD_ERRORS)


def _link(client, admin) -> str:  # type: ignore[no-untyped-def]
    body = {"name": "Cổng TTĐT Lâm Đồng", "questionnaires": ["loans"], "province_code": "68"}
    r = client.post("/api/v1/form-links", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def _facility(client, make_key) -> str:  # type: ignore[no-untyped-def]
    fo = make_key("field_officer", provinces=["68"], name=f"reg-{uuid.uuid4().hex[:6]}")
    r = client.post("/api/v1/facilities", json=facility_body(), headers=fo)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _unknown_answers(n: int) -> dict[str, int]:
    return {f"q{i:05d}": 1 for i in range(n)}


# -- 1. error replies bounded ----------------------------------------------------------------------------------


def test_a_single_post_with_thousands_of_bad_answers_lists_the_first_50_and_counts_the_rest(
    client, admin, make_key
) -> None:
    token = _link(client, admin)
    fid = _facility(client, make_key)
    body = {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid,
            "answers": _unknown_answers(5000), "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip
    raw = json.dumps(body).encode()
    r = client.post("/api/v1/responses", content=raw,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    problem = assert_problem(r, 422, "answers.q00000")
    assert len(problem["errors"]) == MAX_FIELD_ERRORS
    assert problem["more_errors"] >= 5000 - MAX_FIELD_ERRORS  # and the required answers left out
    assert len(r.content) < len(raw) / 4


def test_thousands_of_answers_from_a_key_are_checked_off_the_event_loop(
    client, make_key, monkeypatch
) -> None:
    import asyncio

    from app.responses import ingest

    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = _facility(client, make_key)
    seen: list[bool] = []
    real = ingest.check_answers

    def spy(*a, **k):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        return real(*a, **k)

    monkeypatch.setattr(ingest, "check_answers", spy)
    body = {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid,
            "answers": _unknown_answers(5000), "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip
    assert_problem(client.post("/api/v1/responses", json=body, headers=fo), 422)
    assert seen == [False]


def test_an_echoed_name_is_cut_so_one_error_is_never_as_large_as_what_was_sent(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = _facility(client, make_key)
    name = "x" * 200_000
    body = {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid,
            "answers": {name: 1}, "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip
    r = client.post("/api/v1/responses", json=body, headers=fo)
    problem = assert_problem(r, 422)
    assert "more_errors" not in problem
    for e in problem["errors"]:
        assert len(e["path"]) <= 200 and len(e["message"]) <= 500
    assert len(r.content) < 3000


def test_a_body_with_thousands_of_unknown_fields_is_bounded_too(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    body = {f"extra{i}": 1 for i in range(3000)}
    r = client.post("/api/v1/facilities", json=body, headers=fo)
    problem = assert_problem(r, 422)
    assert len(problem["errors"]) == MAX_FIELD_ERRORS and problem["more_errors"] > 2900


def test_a_batch_of_bad_items_is_bounded_per_item_and_as_a_whole(client, admin, make_key) -> None:
    token = _link(client, admin)
    fid = _facility(client, make_key)
    items = [{"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid,
              "answers": _unknown_answers(400), "collected_at": "2026-11-20T08:30:00+07:00"} for _ in range(60)]  # fmt: skip
    items.append({f"junk{i}": 1 for i in range(200)})  # fails the model itself: bounded the same way
    raw = json.dumps({"items": items}).encode()
    r = client.post("/api/v1/responses/batch", content=raw,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    results = r.json()["results"]
    assert len(results) == 61 and all(x["status"] == "invalid" for x in results)
    listed = [len(x["errors"]) for x in results]
    assert listed[0] == MAX_FIELD_ERRORS and results[0]["more_errors"] >= 400 - MAX_FIELD_ERRORS
    assert (
        sum(listed) <= 1000 + len(results) and min(listed) == 1
    )  # every item keeps at least its first error
    for x in results:
        assert len(x["errors"]) + x["more_errors"] >= 200
    assert results[-1]["errors"][0]["path"].startswith("items.60.")
    assert len(r.content) < len(raw) / 2


def test_a_batch_item_id_is_echoed_cut(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    r = client.post("/api/v1/responses/batch", json={"items": [{"id": "y" * 100_000}]}, headers=fo)
    assert r.status_code == 200
    (item,) = r.json()["results"]
    assert item["status"] == "invalid" and len(item["id"]) <= 100 and len(r.content) < 3000


def test_the_openapi_documents_more_errors(client) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "more_errors" in schemas["Problem"]["properties"]
    assert "more_errors" in schemas["BatchItemResult"]["properties"]


# -- 5. no token, key or secret in the access log --------------------------------------------------------------


@pytest.fixture
def access_records(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="khuyencong.access")
    return caplog


def _logged(caplog) -> str:  # type: ignore[no-untyped-def]
    """Every record, as the JSON line the formatter writes (every attribute it prints)."""
    from app.core.logging import JsonFormatter

    fmt = JsonFormatter()
    return "\n".join(fmt.format(r) for r in caplog.records)


def test_no_form_link_token_in_the_access_log_whatever_the_path(client, admin, access_records) -> None:
    token = _link(client, admin)
    wrong = "kf_" + "A" * 40
    plain = "not-prefixed-but-a-token-all-the-same"
    access_records.clear()
    assert client.get(f"/embed/{token}/", follow_redirects=False).status_code == 307
    assert client.get(f"/embed/{token}/x").status_code == 404
    assert client.get(f"/embed/{token}").status_code == 200
    assert client.get(f"/embed/{wrong}").status_code == 404
    assert client.get(f"/embed/{plain}/").status_code in (307, 404)
    assert client.get(
        f"/api/v1/facilities/{token}", headers={"Authorization": f"Bearer {token}"}
    ).status_code in (401, 403, 404)
    assert client.get(f"/nowhere/{token}/deeper").status_code == 404
    logged = _logged(access_records)
    paths = [r.path for r in access_records.records if getattr(r, "path", None)]
    assert len(paths) >= 7, paths
    for secret in (token, token[3:], wrong, plain):
        assert secret not in logged
    assert "/embed/{token}" in paths and "/nowhere/{secret}/deeper" in paths


def test_no_key_or_secret_in_a_query_string_is_logged(client, make_key, access_records) -> None:
    key = make_key("admin", name="root")["Authorization"].removeprefix("Bearer ")
    access_records.clear()
    client.get(
        f"/api/v1/facilities?token={key}&key={key}&secret=s3cr3t-value",
        headers={"Authorization": f"Bearer {key}"},
    )
    client.get(f"/healthz?api_key={key}")
    client.get(f"/openrosa/formList?password=s3cr3t-value&{key}")
    logged = _logged(access_records)
    assert len(access_records.records) >= 3
    assert key not in logged and key[3:] not in logged and "s3cr3t-value" not in logged
