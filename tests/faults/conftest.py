"""The real server in a subprocess, started as `make run` starts it, against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DB_URL

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="kc-server-", suffix=".log")[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {
            **os.environ,
            "DATABASE_URL": TEST_DB_URL,
            "PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_MINUTE": "10000000",
            "WEBHOOK_DELIVERY": "off",  # the webhook tests' own deliverers alone take outbox rows
        }
        self.proc = subprocess.Popen(
            [str(BIN / "khuyencong"), "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start")

    def errors(self) -> str:
        """The server's error log lines (JSON), for failure messages."""
        return "\n".join(
            line for line in self.log.read_text(errors="replace").splitlines() if '"ERROR"' in line
        )[-3000:]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_server(client) -> Iterator:  # type: ignore[no-untyped-def]
    """Factory of servers (the `client` fixture has wiped the database first)."""
    servers: list[Server] = []

    def _start(port: int | None = None) -> Server:
        s = Server(port).start()
        servers.append(s)
        return s

    yield _start
    for s in servers:
        s.stop()
