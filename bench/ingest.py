"""Ingest: single posts beside the floor app, measured with a native load generator (wrk); then 500-item batches.

The server (one uvicorn worker) runs on one core and wrk on the other(s), so the load generator does not steal
the server's time; figures: requests/s, latency percentiles (wrk), and the server's CPU time per post (from
/proc, user + system) — the cost that decides how many devices one core serves.

Usage: python bench/ingest.py [--seconds 20] [--connections 16] [--rounds 2]
Targets (issue 15): CPU per single post ≤ 1.5 ms; single-post rate ≥ 0.5 × the floor's (same synchronous
setting). Batches are printed beside single posts for scale (no target: single posts are group-committed, so
they come within a few times of a batch's rate).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, cpu_seconds, fresh_db, make_key, median, pinned, report, server, wrk  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "wrk_post.lua"
ANSWERS = {"needs_loan": True, "loan_amount_vnd": 500_000_000, "loan_purpose": ["machinery", "workshop"], "loan_term_months": 36,
           "has_collateral": True, "collateral_type": "land_use_rights", "counterpart_funds_vnd": 150_000_000,
           "wants_interest_subsidy": True, "outstanding_loans_vnd": 0, "borrowing_sources": ["policy_bank"]}  # fmt: skip


def body(fid: str) -> dict:
    return {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid, "answers": ANSWERS,
            "collected_at": "2026-11-20T08:30:00+07:00", "location": {"lat": 11.94, "lon": 108.44, "accuracy_m": 12}}  # fmt: skip


def measure(base: str, pid: int, seconds: float, connections: int, args: list[str]) -> dict[str, float]:
    """One wrk run against a warm server: rate, latency, CPU per request."""
    wrk(base, SCRIPT, 3, connections, args)  # warm-up (connections, caches, the first group commits)
    before = cpu_seconds(pid)
    out = wrk(base, SCRIPT, seconds, connections, args)
    cpu = cpu_seconds(pid) - before
    return {**out, "rps": out["requests"] / seconds, "cpu_ms": 1000 * cpu / max(1, out["requests"])}


async def batches(
    url: str, headers: dict, fid: str, seconds: float, clients: int
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            r = await client.post(url, json={"items": [body(fid) for _ in range(500)]}, headers=headers)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                errors += 1

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return len(latencies), latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="floor and ours alternate this many times")
    args = ap.parse_args()

    floor_runs, our_runs = [], []
    ours_url = fresh_db("ingest")
    key = make_key(ours_url, "field_officer", "bench")
    h = {"Authorization": f"Bearer {key}"}
    fid = None
    for _ in range(args.rounds):
        with server(fresh_db("floor"), app=[str(BIN / "python"), "bench/floor_app.py"]) as (base, proc):
            floor_runs.append(measure(base, proc.pid, args.seconds, args.connections, ["-", ""]))
        with server(ours_url) as (base, proc):
            if fid is None:
                fid = httpx.post(base + "/api/v1/facilities", json={"name": "Cơ sở cà phê", "kind": "household_business",
                                 "sector": "agro_food_processing", "province_code": "68"}, headers=h).json()["id"]  # fmt: skip
            our_runs.append(measure(base, proc.pid, args.seconds, args.connections, [fid, key]))
    assert fid is not None
    with server(ours_url) as (base, _):
        batch_seconds = max(5.0, args.seconds / 2)
        nb, blat, berr = asyncio.run(batches(base + "/api/v1/responses/batch", h, fid, batch_seconds, 4))
        batch_rate = nb * 500 / batch_seconds

    def mean(runs: list[dict[str, float]], k: str) -> float:
        return statistics.fmean(r[k] for r in runs)

    floor_rps, ours_rps = mean(floor_runs, "rps"), mean(our_runs, "rps")
    cpu, floor_cpu = mean(our_runs, "cpu_ms"), mean(floor_runs, "cpu_ms")
    errors = int(sum(r["non2xx"] for r in floor_runs + our_runs)) + berr
    where = "server on core 0, wrk on the others" if pinned() else "server and wrk share the cores"
    report(
        f"Ingest, wrk ({args.connections} connections, {args.seconds:.0f} s × {args.rounds} alternating rounds), "
        f"SQLite WAL synchronous=FULL, one uvicorn worker; {where}",
        [
            (
                "floor app (pydantic + 1 JSON row)",
                f"{floor_rps:7.0f} responses/s  p50 {mean(floor_runs, 'p50'):6.1f} ms  p99 {mean(floor_runs, 'p99'):6.1f} ms  CPU {floor_cpu:.2f} ms/post",
            ),
            (
                "khuyencong POST /responses",
                f"{ours_rps:7.0f} responses/s  p50 {mean(our_runs, 'p50'):6.1f} ms  p99 {mean(our_runs, 'p99'):6.1f} ms  CPU {cpu:.2f} ms/post",
            ),
            (
                "per round (ours/floor)",
                "  ".join(
                    f"{o['rps']:.0f}/{f['rps']:.0f}" for o, f in zip(our_runs, floor_runs, strict=True)
                ),
            ),
            ("ratio ours / floor", f"{ours_rps / floor_rps:7.2f}  (target ≥ 0.5)"),
            ("server CPU per post", f"{cpu:7.2f} ms  (target ≤ 1.5 ms; floor {floor_cpu:.2f} ms)"),
            (
                "POST /responses/batch (500), 4 clients",
                f"{batch_rate:7.0f} responses/s  median batch {median(blat) * 1000:.0f} ms",
            ),
            ("ratio batch / single", f"{batch_rate / ours_rps:7.2f}"),
            ("errors (non-2xx)", f"{errors}"),
        ],  # fmt: skip
        {
            "bench": "ingest",
            "client": "wrk",
            "pinned": pinned(),
            "floor_rps": round(floor_rps, 1),
            "single_rps": round(ours_rps, 1),
            "single_p50_ms": round(mean(our_runs, "p50"), 2),
            "single_p99_ms": round(mean(our_runs, "p99"), 2),
            "ratio_single_floor": round(ours_rps / floor_rps, 3),
            "cpu_ms_per_post": round(cpu, 3),
            "floor_cpu_ms_per_post": round(floor_cpu, 3),
            "batch_rps": round(batch_rate, 1),
            "ratio_batch_single": round(batch_rate / ours_rps, 2),
            "errors": errors,
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
