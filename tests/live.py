"""A real server process on the test database, for the clients that need one (browsers, ODK's engine, curl).

The process serves the same database the in-process `client` fixture uses (its tables are wiped before each
test by that fixture), with the environment conftest set (CORS_ORIGINS, rate limit, ...).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: dict[str, str] | None = None) -> Iterator[str]:
    """Start uvicorn on a free port; yield its base URL (http://127.0.0.1:PORT); stop it after."""
    port = free_port()
    # As `make run` serves (khuyencong serve): the same uvicorn settings, forwarded headers included.
    cmd = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # It delivers no webhooks: a session-long second deliverer on the test database would race the webhook
    # tests' own deliverers for their outbox rows (and, without their settings, refuse loopback receivers).
    env = {**os.environ, "WEBHOOK_DELIVERY": "off", **(env or {})}
    # Its log goes to a file, never an unread pipe (a full pipe would stall a session-long server).
    log = tempfile.NamedTemporaryFile(prefix="kc-live-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the live server exited: {Path(log.name).read_text(errors='replace')[-3000:]}"
                )
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the live server did not become ready within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
