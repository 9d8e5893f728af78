"""Shared bench helpers: a fresh SQLite database in ./data, the real server started as `make run` does, keys."""

from __future__ import annotations

import json
import os
import platform
import shutil
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


SERVER_CPU = 0  # with a native load generator, the server runs on this core and the load on the others


def pinned() -> bool:
    """Server and load generator on separate cores (the load must not steal the server's CPU)."""
    return len(os.sched_getaffinity(0)) >= 2


def find_wrk() -> str:
    """Debian's wrk: found on PATH, or installed with apt-get (as root) the first time."""
    path = shutil.which("wrk")
    if path is None and os.geteuid() == 0:
        subprocess.run(["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"],
                       check=False, capture_output=True)  # fmt: skip
        path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed (Debian package 'wrk'): apt-get install wrk")
    return path


def wrk(base: str, script: Path, seconds: float, connections: int, args: list[str]) -> dict[str, float]:
    """Run wrk (pinned away from the server's core); requests, non-2xx count, latency percentiles in ms."""
    cmd = [
        find_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--latency",
        "-s",
        str(script),
        base,
        "--",
        *args,
    ]
    if pinned():
        others = sorted(os.sched_getaffinity(0) - {SERVER_CPU})
        cmd = ["taskset", "-c", ",".join(map(str, others)), *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def ms(text: str) -> float:
        num = text.rstrip("usm")
        return float(num) * unit[text[len(num) :]]

    lat = {f"p{p}": ms(line.split()[1]) for line in out.splitlines() for p in ("50", "90", "99")
           if line.strip().startswith(f"{p}.000%") or line.strip().startswith(f"{p}%")}  # fmt: skip
    requests = next(int(line.split()[0]) for line in out.splitlines() if " requests in " in line)
    bad = sum(int(line.split(":")[1]) for line in out.splitlines() if "Non-2xx" in line)
    return {"requests": requests, "non2xx": bad, **lat}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(url: str, extra_env: dict[str, str] | None = None, app: list[str] | None = None):  # type: ignore[no-untyped-def]
    """The real server in a subprocess (one uvicorn worker), as `make run` starts it (on one core when the
    machine has several, so a load generator on the others does not steal its time)."""
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
    if pinned():
        cmd = ["taskset", "-c", str(SERVER_CPU), *cmd]
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
