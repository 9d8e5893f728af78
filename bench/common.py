"""Shared bench helpers: a fresh SQLite database in ./data, the real server started as `make run` does, keys."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_db(name: str) -> str:
    path = ROOT / "data" / f"bench-{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    run([str(BIN / "alembic"), "upgrade", "head"], url)
    return url


def run(cmd: list[str], url: str) -> str:
    out = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed: {out.stderr[-2000:]}")
    return out.stdout


def make_key(url: str, role: str, name: str) -> str:
    return (
        run([str(BIN / "khuyencong"), "keys", "create", "--role", role, "--name", name], url)
        .strip()
        .splitlines()[-1]
    )


def demo(url: str, facilities: int, seed: int = 1) -> str:
    return run(
        [str(BIN / "khuyencong"), "demo-data", "--facilities", str(facilities), "--seed", str(seed)], url
    ).strip()


@contextmanager
def server(url: str, extra_env: dict[str, str] | None = None, app: list[str] | None = None):  # type: ignore[no-untyped-def]
    """The real server in a subprocess (one uvicorn worker), as `make run` starts it."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_MINUTE": "100000000",
    }
    env.update(extra_env or {})
    cmd = app or [str(BIN / "khuyencong"), "serve"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("server did not start")
    try:
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def report(title: str, rows: list[tuple[str, str]], figures: dict[str, object]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}")
    print(json.dumps({**figures, "machine": machine()}, ensure_ascii=False))
