"""Ingest throughput: 16 concurrent clients posting single responses, beside the floor app; then 500-item batches.

Usage: python bench/ingest.py [--seconds 20] [--clients 16]
Targets (issue 4): our single-post rate ≥ 0.5 × the floor's; batch rate ≥ 10 × our single-post rate.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, fresh_db, make_key, median, pct, report, server  # noqa: E402

ANSWERS = {"needs_loan": True, "loan_amount_vnd": 500_000_000, "loan_purpose": ["machinery", "workshop"], "loan_term_months": 36,
           "has_collateral": True, "collateral_type": "land_use_rights", "counterpart_funds_vnd": 150_000_000,
           "wants_interest_subsidy": True, "outstanding_loans_vnd": 0, "borrowing_sources": ["policy_bank"]}  # fmt: skip


def body(fid: str) -> dict:
    return {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid, "answers": ANSWERS,
            "collected_at": "2026-11-20T08:30:00+07:00", "location": {"lat": 11.94, "lon": 108.44, "accuracy_m": 12}}  # fmt: skip


async def load(url: str, headers: dict, make, seconds: float, clients: int) -> tuple[int, list[float], int]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            r = await client.post(url, json=make(), headers=headers)
            latencies.append(time.perf_counter() - t)
            if r.status_code not in (200, 201):
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return len(latencies), latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()

    floor_url = fresh_db("floor")
    with server(floor_url, app=[str(BIN / "python"), "bench/floor_app.py"]) as (base, _):
        n, lat, err = asyncio.run(
            load(base + "/api/v1/responses", {}, lambda: body(str(uuid.uuid4())), args.seconds, args.clients)
        )
    floor_rate, floor_p50, floor_p99 = n / args.seconds, pct(lat, 0.5), pct(lat, 0.99)

    url = fresh_db("ingest")
    key = make_key(url, "field_officer", "bench")
    h = {"Authorization": f"Bearer {key}"}
    with server(url) as (base, _):
        fid = httpx.post(base + "/api/v1/facilities", json={"name": "Cơ sở cà phê", "kind": "household_business",
                         "sector": "agro_food_processing", "province_code": "68"}, headers=h).json()["id"]  # fmt: skip
        n, lat, err2 = asyncio.run(
            load(base + "/api/v1/responses", h, lambda: body(fid), args.seconds, args.clients)
        )
        ours_rate, p50, p99 = n / args.seconds, pct(lat, 0.5), pct(lat, 0.99)
        batch_seconds = max(5.0, args.seconds / 2)
        nb, blat, err3 = asyncio.run(load(base + "/api/v1/responses/batch", h, lambda: {"items": [body(fid) for _ in range(500)]},
                                          batch_seconds, 4))  # fmt: skip
        batch_rate = nb * 500 / batch_seconds
    report(
        f"Ingest, {args.clients} clients, {args.seconds:.0f} s, SQLite (WAL, synchronous=FULL), one uvicorn worker",
        [
            (
                "floor app (pydantic + 1 JSON row)",
                f"{floor_rate:8.0f} responses/s   p50 {floor_p50 * 1000:6.1f} ms   p99 {floor_p99 * 1000:6.1f} ms",
            ),
            (
                "khuyencong POST /responses",
                f"{ours_rate:8.0f} responses/s   p50 {p50 * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms",
            ),
            ("ratio ours / floor", f"{ours_rate / floor_rate:8.2f}  (target ≥ 0.5)"),
            (
                "khuyencong POST /responses/batch (500)",
                f"{batch_rate:8.0f} responses/s   median batch {median(blat) * 1000:.0f} ms",
            ),
            ("ratio batch / single", f"{batch_rate / ours_rate:8.2f}  (target ≥ 10)"),
            ("errors", f"{err + err2 + err3}"),
        ],
        {
            "bench": "ingest",
            "floor_rps": round(floor_rate, 1),
            "single_rps": round(ours_rate, 1),
            "single_p50_ms": round(p50 * 1000, 2),
            "single_p99_ms": round(p99 * 1000, 2),
            "ratio_single_floor": round(ours_rate / floor_rate, 3),
            "batch_rps": round(batch_rate, 1),
            "ratio_batch_single": round(batch_rate / ours_rate, 2),
            "errors": err + err2 + err3,
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
