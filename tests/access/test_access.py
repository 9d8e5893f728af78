"""Keys, revocation, rate limit, CORS, secrets never stored or logged, audit trail, CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from app.core.config import ROOT
from app.core.db import session_scope
from tests.conftest import TEST_DB_URL, assert_problem
from tests.factories import facility_body, response_body


def test_key_lifecycle_over_http(client, admin) -> None:
    r = client.post(
        "/api/v1/keys",
        json={"name": "lamdong-tablet-1", "role": "field_officer", "provinces": ["68"]},
        headers=admin,
    )
    assert r.status_code == 201
    secret = r.json()["secret"]
    assert secret.startswith("kc_") and len(secret) > 40
    fo = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/facilities", headers=fo).status_code == 200
    listed = client.get("/api/v1/keys", headers=admin).json()
    assert all("secret" not in k for k in listed)
    assert {k["name"] for k in listed} == {"admin", "lamdong-tablet-1"}
    assert client.post("/api/v1/keys/lamdong-tablet-1/revoke", headers=admin).json()["revoked_at"]
    body = assert_problem(client.get("/api/v1/facilities", headers=fo), 401)
    assert "revoked" in body["detail"]


def test_key_creation_errors(client, admin) -> None:
    assert_problem(
        client.post("/api/v1/keys", json={"name": "x", "role": "boss"}, headers=admin), 422, "role"
    )
    assert_problem(
        client.post(
            "/api/v1/keys", json={"name": "x", "role": "planner", "provinces": ["99"]}, headers=admin
        ),
        422,
        "provinces.0",
    )
    assert (
        client.post("/api/v1/keys", json={"name": "dup", "role": "planner"}, headers=admin).status_code == 201
    )
    assert_problem(
        client.post("/api/v1/keys", json={"name": "dup", "role": "planner"}, headers=admin), 409, "name"
    )
    assert_problem(client.post("/api/v1/keys/nobody/revoke", headers=admin), 404)


def test_malformed_auth_header(client) -> None:
    body = assert_problem(client.get("/api/v1/facilities", headers={"Authorization": "Basic abc"}), 401)
    assert "Bearer" in body["detail"]


def test_revocation_is_seen_by_another_app_instance(client, make_key) -> None:
    """Two app objects share nothing in memory but the database: revocation reaches both at once."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    h = make_key("planner", name="p")
    with TestClient(create_app()) as other:
        assert other.get("/api/v1/facilities", headers=h).status_code == 200
        with session_scope(write=True) as s:
            from app.access import service

            service.revoke(session=s, principal=None, name="p")
        assert other.get("/api/v1/facilities", headers=h).status_code == 401
    assert client.get("/api/v1/facilities", headers=h).status_code == 401


def test_rate_limit_per_key(client, make_key, monkeypatch) -> None:
    from app.core.config import get_settings

    monkeypatch.setattr(get_settings(), "rate_limit_per_minute", 3)
    a, b = make_key("planner", name="a"), make_key("planner", name="b")
    for _ in range(3):
        assert client.get("/api/v1/facilities", headers=a).status_code == 200
    r = client.get("/api/v1/facilities", headers=a)
    assert_problem(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 61
    assert client.get("/api/v1/facilities", headers=b).status_code == 200  # other keys are not starved


def test_cors_preflight(client) -> None:
    ok = client.options("/api/v1/responses", headers={"Origin": "https://portal.example.gov.vn", "Access-Control-Request-Method": "POST",
                                                      "Access-Control-Request-Headers": "authorization,content-type"})  # fmt: skip
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://portal.example.gov.vn"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert ok.headers.get("access-control-allow-credentials") != "true"
    bad = client.options(
        "/api/v1/responses",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    simple = client.get("/api/v1/provinces", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_wildcard_cors_refused() -> None:
    import pytest
    from pydantic import ValidationError

    from app.core.config import Settings

    with pytest.raises(ValidationError):
        Settings(cors_origins="*")


def test_secret_absent_from_database_and_logs(client, admin, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    r = client.post(
        "/api/v1/keys", json={"name": "portal-hn", "role": "portal", "provinces": ["01"]}, headers=admin
    )
    secret = r.json()["secret"]
    client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {secret}"})
    client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {secret}x"})
    assert secret not in caplog.text and secret[3:] not in caplog.text
    with session_scope() as s:
        rows = s.execute(text("SELECT * FROM api_key")).all()
        audit = s.execute(text("SELECT * FROM audit_event")).all()
    assert secret not in repr(rows) and secret not in repr(audit)
    if TEST_DB_URL.startswith("sqlite"):
        path = Path(TEST_DB_URL.split("///", 1)[1])
        for f in [path, path.with_name(path.name + "-wal")]:
            if f.exists():
                assert secret.encode() not in f.read_bytes()


def test_audit_trail_records_every_kind_of_write(client, admin, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
    client.patch(f"/api/v1/facilities/{fid}", json={"employees": 20}, headers=fo)
    resp = response_body(fid)
    client.post("/api/v1/responses", json=resp, headers=fo)
    client.put(f"/api/v1/responses/{resp['id']}", json={"base_revision": 1, "answers": {"needs_loan": False},
                                                        "collected_at": "2026-11-22T10:00:00+07:00"}, headers=fo)  # fmt: skip
    client.post("/api/v1/keys", json={"name": "later", "role": "planner"}, headers=admin)
    client.post("/api/v1/keys/later/revoke", headers=admin)
    page = client.get("/api/v1/audit", params={"limit": 3}, headers=admin).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = client.get(
        "/api/v1/audit", params={"cursor": page["next_cursor"], "limit": 100}, headers=admin
    ).json()
    events = page["items"] + rest["items"]
    actions = [e["action"] for e in events]
    for a in (
        "facility.created",
        "facility.updated",
        "response.created",
        "response.revised",
        "key.created",
        "key.revoked",
    ):
        assert a in actions, a
    created = next(e for e in events if e["action"] == "response.created")
    assert (
        created["key_name"] == "fo"
        and created["role"] == "field_officer"
        and created["resource_id"] == resp["id"]
    )
    assert created["request_id"] and created["client_ip"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)
    only = client.get("/api/v1/audit", params={"action": "facility.updated"}, headers=admin).json()["items"]
    assert [e["resource_id"] for e in only] == [fid]


def test_audit_row_written_in_the_same_transaction(client, make_key) -> None:
    """A refused write leaves no audit row behind."""
    fo = make_key("field_officer", provinces=["68"], name="fo")
    client.post("/api/v1/facilities", json=facility_body(province_code="01"), headers=fo)  # 403
    with session_scope() as s:
        assert (
            s.execute(text("SELECT count(*) FROM audit_event WHERE action='facility.created'")).scalar() == 0
        )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )


def test_cli_keys(client) -> None:
    made = cli(
        "keys",
        "create",
        "--role",
        "field_officer",
        "--name",
        "tablet-07",
        "--province",
        "68",
        "--province",
        "37",
    )
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("kc_") and " " not in secret
    assert client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = cli("keys", "list")
    assert "tablet-07\tfield_officer\t37,68\tactive" in listed.stdout
    assert secret not in listed.stdout and secret[:8] not in listed.stdout, "not even the first characters"
    assert cli("keys", "create", "--role", "field_officer", "--name", "tablet-07").returncode == 2
    bad_role = cli("keys", "create", "--role", "boss", "--name", "x")
    assert bad_role.returncode == 2 and "Role must be one of" in bad_role.stderr
    bad_prov = cli("keys", "create", "--role", "planner", "--name", "y", "--province", "99")
    assert bad_prov.returncode == 2 and "not a current province code" in bad_prov.stderr
    assert cli("keys", "revoke", "tablet-07").returncode == 0
    assert client.get("/api/v1/facilities", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert cli("keys", "revoke", "nobody").returncode == 2


def test_first_write_of_a_key_is_not_stalled_by_bookkeeping(client, make_key) -> None:
    """Regression: recording last_used_at once took SQLite's write lock beside the request's own."""
    import time

    from app.core.db import session_scope as scope

    fo = make_key("field_officer", provinces=["68"], name="fresh")
    started = time.perf_counter()
    assert client.post("/api/v1/facilities", json=facility_body(), headers=fo).status_code == 201
    assert time.perf_counter() - started < 5
    for _ in range(50):
        with scope() as s:
            if s.execute(text("SELECT last_used_at FROM api_key WHERE name='fresh'")).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("last_used_at was never recorded")


def test_first_key_hint_names_a_command_that_runs_here(tmp_path) -> None:
    """The start-up hint names this installation's own command: `.venv/bin/khuyencong` in a checkout, the bare
    `khuyencong` where PATH finds it (the Docker image), and the hint, pasted, creates the key."""
    from app.cli import command_name

    exe = Path(sys.executable).parent / "khuyencong"
    assert command_name() in (str(exe), os.path.relpath(exe))
    code = "from app.cli import command_name; print(command_name())"
    on_path = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"})  # fmt: skip
    assert on_path.stdout.strip() == "khuyencong", on_path.stderr
    db = f"sqlite:///{tmp_path / 'hint.db'}"
    env = {**os.environ, "DATABASE_URL": db}
    subprocess.run(
        [str(exe.parent / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    from tests.live import free_port

    served = subprocess.Popen([str(exe), "serve", "--port", str(free_port())], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert served.stderr is not None
        hint = next(line.strip() for line in served.stderr if "keys create" in line)
    finally:
        served.terminate()
        served.wait(timeout=20)
    made = subprocess.run(["sh", "-c", hint], cwd=ROOT, env=env, capture_output=True, text=True)
    assert made.returncode == 0 and made.stdout.strip().splitlines()[-1].startswith("kc_"), (
        hint,
        made.stderr,
    )
