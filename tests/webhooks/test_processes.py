"""Webhooks across processes: a server killed (SIGKILL) between commit and delivery delivers after restart;
two `khuyencong deliver` processes deliver each message once (PostgreSQL: SKIP LOCKED; SQLite: one writer)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.core.config import get_settings
from tests.conftest import TEST_DB_URL
from tests.factories import facility_body, response_body
from tests.faults.conftest import Server
from tests.webhooks.receiver import Receiver

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
FAST = {"WEBHOOK_ALLOW_PRIVATE_URLS": "true", "WEBHOOK_POLL_SECONDS": "0.1", "WEBHOOK_TIMEOUT_SECONDS": "1",
        "WEBHOOK_RETRY_DELAYS": "0.3,0.6,1"}  # fmt: skip


@pytest.fixture
def no_inline(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """This test process's own app delivers nothing (only the processes under test do)."""
    monkeypatch.setattr(get_settings(), "webhook_delivery", "off")
    monkeypatch.setattr(get_settings(), "webhook_allow_private_urls", True)
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)


class Live(Server):
    """The faults suite's server, started with extra environment, its errors kept for the failure message."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__()
        self.env = env

    def launch(self) -> Live:
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": TEST_DB_URL,
            "PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen([str(BIN / "khuyencong"), "serve"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))  # fmt: skip
        return self

    def start(self) -> Live:
        self.launch()
        assert self.proc is not None
        deadline = time.time() + 90  # a loaded machine
        while time.time() < deadline:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start: " + self.log.read_text(errors="replace")[-3000:])


def test_sigkill_between_commit_and_delivery_loses_nothing(no_inline, client, make_key) -> None:
    receiver = Receiver()
    servers: list[Server] = []
    http = httpx.Client(timeout=60)  # a loaded machine answers a fresh server's first requests slowly
    try:
        admin, fo = make_key("admin", ["68"], name="admin"), make_key("field_officer", ["68"], name="fo")
        first = Live({"WEBHOOK_DELIVERY": "inline"}).start()
        servers.append(first)
        hook = http.post(first.base + "/api/v1/webhooks", json={"url": receiver.url, "events": ["response.created"]},
                          headers=admin).json()  # fmt: skip
        fid = http.post(first.base + "/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
        body = response_body(fid)

        def kill_the_server() -> None:  # SIGKILL mid-attempt: the receiver has it, nobody recorded it
            time.sleep(0.3)  # the 201 has left
            first.kill()

        receiver.on_request = kill_the_server
        assert http.post(first.base + "/api/v1/responses", json=body, headers=fo).status_code == 201
        receiver.wait_for(1, timeout=30)
        assert first.proc is not None and first.proc.wait(10) == -9
        receiver.on_request = None
        second = Live({"WEBHOOK_DELIVERY": "inline"}).start()
        servers.append(second)
        receiver.wait_for(2, timeout=40)  # again once the killed attempt's lease (6 × 1 s + 5 s) ran out
        time.sleep(0.5)
        got = receiver.verified(hook["secret"])
        assert (
            len(got) == 2 and got[0]["_id"] == got[1]["_id"]
        )  # the same message, retried under its webhook-id
        assert got[0]["data"]["response_id"] == body["id"]
        (d,) = http.get(f"{second.base}/api/v1/webhooks/{hook['id']}/deliveries", headers=admin).json()[
            "items"
        ]
        assert d["status"] == "delivered" and d["attempts"] == 2
    finally:
        for s in servers:
            s.stop()
        receiver.close()
        http.close()


def test_two_deliverer_processes_deliver_each_message_once(no_inline, client, make_key, tmp_path) -> None:
    receiver = Receiver()
    receiver.delay = 0.02
    procs: list[subprocess.Popen[bytes]] = []
    try:
        admin, fo = make_key("admin", ["68"], name="admin"), make_key("field_officer", ["68"], name="fo")
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["response.created"]},
                           headers=admin).json()  # fmt: skip
        fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
        items = [response_body(fid) for _ in range(40)]
        r = client.post("/api/v1/responses/batch", json={"items": items}, headers=fo)
        assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {"created"}
        env = {**os.environ, **FAST, "DATABASE_URL": TEST_DB_URL, "LOG_LEVEL": "INFO"}
        for i in range(2):
            procs.append(subprocess.Popen([str(BIN / "khuyencong"), "deliver"], cwd=ROOT, env=env,
                                          stdout=subprocess.DEVNULL, stderr=(tmp_path / f"deliverer-{i}.log").open("wb")))  # fmt: skip

        def log_of_deliveries() -> str:
            got = client.get(
                f"/api/v1/webhooks/{hook['id']}/deliveries", params={"limit": 100}, headers=admin
            )
            logs = "\n".join(f"-- deliverer {i}:\n" + (tmp_path / f"deliverer-{i}.log").read_text(errors="replace")[-3000:]
                             for i in range(2))  # fmt: skip
            rows = [(d["status"], d["attempts"], d.get("last_error")) for d in got.json()["items"]]
            return f"deliveries: {rows}\n{logs}"

        # Generous: on a loaded machine a batch whose outcome could not be recorded waits out its lease before it
        # is claimed again; what this test proves is "each once", not how fast.
        try:
            receiver.wait_for(40, timeout=180)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log_of_deliveries()}") from None
        time.sleep(1.0)  # anything delivered twice would have arrived by now
        got = receiver.verified(hook["secret"])
        assert len(got) == 40
        assert sorted(p["data"]["response_id"] for p in got) == sorted(x["id"] for x in items)
        log = client.get(
            f"/api/v1/webhooks/{hook['id']}/deliveries", params={"limit": 100}, headers=admin
        ).json()
        assert {(d["status"], d["attempts"]) for d in log["items"]} == {("delivered", 1)}, log_of_deliveries()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        receiver.close()
