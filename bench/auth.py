"""Cost of authentication per request: the same request with the real key lookup and with it bypassed.

In-process (TestClient, SQLite file), sequential, after a warm-up. Usage: python bench/auth.py [--n 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fresh_db, make_key, report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    url = fresh_db("auth")
    os.environ["DATABASE_URL"] = url
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["RATE_LIMIT_PER_MINUTE"] = "100000000"
    secret = make_key(url, "planner", "bench")
    from fastapi.testclient import TestClient

    from app.access.deps import Principal, authenticate
    from app.main import create_app

    app = create_app()
    h = {"Authorization": f"Bearer {secret}"}
    path = "/api/v1/facilities?limit=1"

    def round_(client: TestClient, headers: dict[str, str], n: int) -> float:
        t = time.perf_counter()
        for _ in range(n):
            client.get(path, headers=headers)
        return (time.perf_counter() - t) / n

    bypass = lambda: Principal(key_id=1, name="bench", role="planner", provinces=None)  # noqa: E731
    with TestClient(app) as client:
        for _ in range(300):
            client.get(path, headers=h)
        w, wo = [], []
        for _ in range(10):  # alternate, so drift hits both sides alike
            w.append(round_(client, h, args.n // 10))
            app.dependency_overrides[authenticate] = bypass
            wo.append(round_(client, {}, args.n // 10))
            app.dependency_overrides.clear()
    with_auth, without = statistics.median(w), statistics.median(wo)

    # The lookup alone, warm: authenticate() on a live session, as the dependency calls it.
    from starlette.requests import Request

    from app.core.db import session_scope

    scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"authorization", h["Authorization"].encode())],
             "client": ("127.0.0.1", 1), "query_string": b"", "state": {}}  # fmt: skip
    with session_scope() as s:
        for _ in range(500):
            authenticate(Request(scope), s)
        t = time.perf_counter()
        for _ in range(args.n):
            authenticate(Request(scope), s)
        direct = (time.perf_counter() - t) / args.n
    cost = with_auth - without
    report(
        f"Authentication cost, GET {path}, {args.n} sequential requests, in-process, SQLite",
        [
            ("request with key lookup (median of 10 rounds)", f"{with_auth * 1e6:8.0f} µs"),
            ("same request, auth bypassed", f"{without * 1e6:8.0f} µs"),
            ("difference", f"{cost * 1e6:8.0f} µs per request (within round-to-round noise)"),
            ("authenticate() alone, warm", f"{direct * 1e6:8.1f} µs per call"),
            ("ratio with / without", f"{with_auth / without:8.3f}"),
        ],
        {
            "bench": "auth",
            "with_auth_us": round(with_auth * 1e6, 1),
            "without_auth_us": round(without * 1e6, 1),
            "auth_cost_us": round(cost * 1e6, 1),
            "authenticate_call_us": round(direct * 1e6, 1),
            "ratio": round(with_auth / without, 3),
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
