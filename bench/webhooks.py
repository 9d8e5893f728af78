"""Webhooks: delivery latency after commit, and single-post ingest with the outbox beside the floor app.

1. Delivery latency: one post at a time (every 100 ms), a hook subscribed to response.created, a receiver on
   loopback verifying each signature with the `standardwebhooks` library; per message, the time from the
   201 reaching the client to the delivery reaching the receiver (and from the post being sent).
2. Single-post ingest with wrk (as bench/ingest.py): the floor app; ours with no hook (the outbox handler reads
   one generation row per group commit and writes nothing); ours with a hook subscribed to response.created
   (one outbox row per post, in the same transaction), its deliverer off during the run (WEBHOOK_DELIVERY=off:
   the rows wait; delivering 1,000s a second on the same core is a different cost) — then a
   `khuyencong deliver` process drains them and the drain rate is printed.

Usage: python bench/webhooks.py [--seconds 15] [--connections 16] [--rounds 2] [--posts 100]
Target (issue 22): ingest with the outbox on ≥ 0.85 × the floor app.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook as Verifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, ROOT, fresh_db, make_key, median, pct, pinned, report, server  # noqa: E402
from ingest import body, measure  # noqa: E402

PRIVATE_OK = {"WEBHOOK_ALLOW_PRIVATE_URLS": "true"}


class Receiver:
    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[str, float] = {}  # response id → arrival (perf_counter)
        self.count = 0
        self.bad = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers["content-length"]))
                now = time.perf_counter()
                try:
                    payload: Any = Verifier(outer.secret).verify(raw, dict(self.headers.items()))
                    outer.arrived.setdefault(payload["data"]["response_id"], now)
                    outer.count += 1
                except Exception:  # noqa: BLE001
                    outer.bad += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"


def facility(base: str, h: dict[str, str]) -> str:
    r = httpx.post(base + "/api/v1/facilities", json={"name": "Cơ sở cà phê", "kind": "household_business",
                   "sector": "agro_food_processing", "province_code": "68"}, headers=h)  # fmt: skip
    return str(r.json()["id"])


def subscribe(base: str, admin: dict[str, str], url: str) -> str:
    r = httpx.post(
        base + "/api/v1/webhooks", json={"url": url, "events": ["response.created"]}, headers=admin
    )
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def latency(posts: int, receiver: Receiver) -> tuple[list[float], list[float]]:
    url = fresh_db("webhooks-latency")
    fo = {"Authorization": f"Bearer {make_key(url, 'field_officer', 'fo')}"}
    admin = {"Authorization": f"Bearer {make_key(url, 'admin', 'admin')}"}
    after_ack, after_send = [], []
    with server(url, PRIVATE_OK) as (base, _):
        receiver.secret = subscribe(base, admin, receiver.url)
        fid = facility(base, fo)
        with httpx.Client(timeout=30) as c:
            for _ in range(posts):
                b = body(fid)
                sent = time.perf_counter()
                assert c.post(base + "/api/v1/responses", json=b, headers=fo).status_code == 201
                acked = time.perf_counter()
                deadline = acked + 10
                while b["id"] not in receiver.arrived and time.perf_counter() < deadline:
                    time.sleep(0.0005)
                got = receiver.arrived[b["id"]]
                after_ack.append(max(0.0, got - acked) * 1000)
                after_send.append((got - sent) * 1000)
                time.sleep(0.1)
    return after_ack, after_send


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--posts", type=int, default=100)
    args = ap.parse_args()

    receiver = Receiver()
    after_ack, after_send = latency(args.posts, receiver)

    floor_runs, idle_runs, on_runs = [], [], []
    idle_url, on_url = fresh_db("webhooks-idle"), fresh_db("webhooks-on")
    keys = {u: make_key(u, "field_officer", "bench") for u in (idle_url, on_url)}
    admin_on = {"Authorization": f"Bearer {make_key(on_url, 'admin', 'admin')}"}
    fids: dict[str, str] = {}
    off = {**PRIVATE_OK, "WEBHOOK_DELIVERY": "off"}
    for _ in range(args.rounds):
        with server(fresh_db("floor"), app=[str(BIN / "python"), "bench/floor_app.py"]) as (base, proc):
            floor_runs.append(measure(base, proc.pid, args.seconds, args.connections, ["-", ""]))
        for url, runs in ((idle_url, idle_runs), (on_url, on_runs)):
            with server(url, off) as (base, proc):
                h = {"Authorization": f"Bearer {keys[url]}"}
                if url not in fids:
                    fids[url] = facility(base, h)
                    if url == on_url:
                        receiver.secret = subscribe(base, admin_on, receiver.url)
                runs.append(measure(base, proc.pid, args.seconds, args.connections, [fids[url], keys[url]]))
    # Drain the outbox the "on" runs wrote with one deliverer process.
    import sqlite3

    path = on_url.split("///", 1)[1]
    pending = sqlite3.connect(path).execute("SELECT count(*) FROM webhook_delivery").fetchone()[0]
    receiver.count = 0
    env = {**os.environ, **PRIVATE_OK, "DATABASE_URL": on_url, "LOG_LEVEL": "WARNING", "WEBHOOK_WORKERS": "8"}
    started = time.perf_counter()
    drain = subprocess.Popen([str(BIN / "khuyencong"), "deliver"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    drain_s = min(60.0, max(10.0, args.seconds))
    time.sleep(drain_s)
    drained = receiver.count
    drain.terminate()
    drain.wait(10)
    elapsed = time.perf_counter() - started

    def mean(runs: list[dict[str, float]], k: str) -> float:
        return statistics.fmean(r[k] for r in runs)

    floor_rps, idle_rps, on_rps = mean(floor_runs, "rps"), mean(idle_runs, "rps"), mean(on_runs, "rps")
    errors = int(sum(r["non2xx"] for r in floor_runs + idle_runs + on_runs)) + receiver.bad
    where = "server on core 0, wrk on the others" if pinned() else "server and wrk share the cores"
    report(
        f"Webhooks: delivery latency ({args.posts} posts, one at a time) and ingest, wrk ({args.connections} connections, "
        f"{args.seconds:.0f} s × {args.rounds} alternating rounds), SQLite WAL synchronous=FULL, one uvicorn worker; {where}",
        [
            (
                "delivery after the 201, p50 / p90 / p99",
                f"{median(after_ack):6.1f} / {pct(after_ack, 0.9):6.1f} / {pct(after_ack, 0.99):6.1f} ms",
            ),
            ("delivery after the post was sent, p50", f"{median(after_send):6.1f} ms"),
            (
                "floor app",
                f"{floor_rps:7.0f} responses/s  p50 {mean(floor_runs, 'p50'):6.1f} ms  p99 {mean(floor_runs, 'p99'):6.1f} ms",
            ),
            (
                "ours, no hook (outbox idle)",
                f"{idle_rps:7.0f} responses/s  p50 {mean(idle_runs, 'p50'):6.1f} ms  p99 {mean(idle_runs, 'p99'):6.1f} ms  CPU {mean(idle_runs, 'cpu_ms'):.2f} ms/post",
            ),
            (
                "ours, a hook subscribed (outbox on)",
                f"{on_rps:7.0f} responses/s  p50 {mean(on_runs, 'p50'):6.1f} ms  p99 {mean(on_runs, 'p99'):6.1f} ms  CPU {mean(on_runs, 'cpu_ms'):.2f} ms/post",
            ),
            (
                "per round on / idle / floor",
                "  ".join(
                    f"{o['rps']:.0f}/{i['rps']:.0f}/{f['rps']:.0f}"
                    for o, i, f in zip(on_runs, idle_runs, floor_runs, strict=True)
                ),
            ),
            ("ratio outbox on / floor", f"{on_rps / floor_rps:7.2f}  (target ≥ 0.85)"),
            ("ratio outbox idle / floor", f"{idle_rps / floor_rps:7.2f}"),
            ("ratio outbox on / idle", f"{on_rps / idle_rps:7.2f}"),
            (
                "drain by one `khuyencong deliver`",
                f"{drained} of {pending} in {elapsed:.0f} s ({drained / elapsed:.0f}/s)",
            ),
            ("errors (non-2xx, bad signatures)", f"{errors}"),
        ],  # fmt: skip
        {
            "bench": "webhooks",
            "client": "wrk + httpx",
            "pinned": pinned(),
            "delivery_p50_ms": round(median(after_ack), 2),
            "delivery_p99_ms": round(pct(after_ack, 0.99), 2),
            "floor_rps": round(floor_rps, 1),
            "idle_rps": round(idle_rps, 1),
            "on_rps": round(on_rps, 1),
            "ratio_on_floor": round(on_rps / floor_rps, 3),
            "ratio_idle_floor": round(idle_rps / floor_rps, 3),
            "drain_per_s": round(drained / elapsed, 1),
            "errors": errors,
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
