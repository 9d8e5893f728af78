"""Soak: a realistic mixed load against the real server for a while, then an integrity check.

Mostly single posts from many devices, some 100-item batches, portal definition fetches, planner
priorities and an export now and then. Reports per-endpoint rate and p50/p99, errors (must be 0),
server RSS at start and end, and whether every acknowledged response is stored exactly once.
Usage: python bench/soak.py [--seconds 60] [--devices 24]
Memory plateau (issue 15): python bench/soak.py --seconds 600 --devices 0 — reads only, on fixed data; the RSS
at the end must be within 10 % of the RSS at half time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, make_key, pct, report, rss_mb, server  # noqa: E402

ANSWERS = {
    "needs_loan": True,
    "loan_amount_vnd": 300_000_000,
    "loan_purpose": ["machinery"],
    "has_collateral": False,
    "wants_interest_subsidy": True,
}


async def main_async(args: argparse.Namespace) -> None:
    url = fresh_db("soak")
    demo(url, 2000, seed=4)
    fo, planner = make_key(url, "field_officer", "devices"), make_key(url, "planner", "planner")
    db = sqlite3.connect(url.split("///", 1)[1])
    fids = [r[0] for r in db.execute("SELECT id FROM facility")]
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    acked: set[str] = set()
    rnd = random.Random(7)
    with server(url) as (base, proc):
        rss_start = rss_mb(proc.pid)
        rss_samples = [rss_start]
        t0 = time.perf_counter()
        rss_timed: list[tuple[float, float]] = [(0.0, rss_start)]
        deadline = time.perf_counter() + args.seconds
        hf, hp = {"Authorization": f"Bearer {fo}"}, {"Authorization": f"Bearer {planner}"}

        async def call(c: httpx.AsyncClient, name: str, method: str, path: str, **kw):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            r = await c.request(method, path, **kw)
            lat[name].append(time.perf_counter() - t)
            if r.status_code >= 400:
                errors[name] += 1
            return r

        def body() -> dict:
            return {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": rnd.choice(fids), "answers": ANSWERS,
                    "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip

        async def device(c: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                if rnd.random() < 0.1:
                    items = [body() for _ in range(100)]
                    r = await call(
                        c,
                        "POST /responses/batch",
                        "POST",
                        "/api/v1/responses/batch",
                        json={"items": items},
                        headers=hf,
                    )
                    if r.status_code == 200:
                        acked.update(
                            x["id"] for x in r.json()["results"] if x["status"] in ("created", "duplicate")
                        )
                else:
                    b = body()
                    r = await call(c, "POST /responses", "POST", "/api/v1/responses", json=b, headers=hf)
                    if r.status_code in (200, 201):
                        acked.add(b["id"])
                await asyncio.sleep(rnd.uniform(0, 0.05))

        async def portal(c: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                key, version = rnd.choice([("loans", 2), ("loans", 3), ("pollution", 2), ("websites", 2), ("packaging", 2),
                                            ("market-needs", 2), ("technology-demonstration", 1)])  # fmt: skip
                await call(
                    c,
                    "GET definition/json-schema",
                    "GET",
                    f"/api/v1/questionnaires/{key}/versions/{version}/json-schema",
                )
                await asyncio.sleep(0.05)

        async def planner_loop(c: httpx.AsyncClient) -> None:
            n = 0
            while time.perf_counter() < deadline:
                await call(
                    c,
                    "GET /priorities",
                    "GET",
                    "/api/v1/priorities",
                    params={"profile": "point-project", "profile_version": 1 + n % 2, "limit": 50},
                    headers=hp,
                )
                if n % 3 == 0:
                    await call(
                        c,
                        "GET /exports/responses.csv",
                        "GET",
                        "/api/v1/exports/responses.csv",
                        params={"questionnaire": "pollution", "version": 1},
                        headers=hp,
                    )
                n += 1
                rss_samples.append(rss_mb(proc.pid))
                rss_timed.append((time.perf_counter() - t0, rss_samples[-1]))
                await asyncio.sleep(1)

        async with httpx.AsyncClient(
            base_url=base, timeout=120, limits=httpx.Limits(max_connections=64)
        ) as c:
            await asyncio.gather(
                *(device(c) for _ in range(args.devices)), portal(c), portal(c), planner_loop(c)
            )
        rss_end = rss_mb(proc.pid)
    stored = {r[0] for r in db.execute("SELECT id FROM response WHERE submitted_by = 'devices'")}
    dupes = db.execute("SELECT count(*) - count(DISTINCT id) FROM response").fetchone()[0]
    missing = len(acked - stored)
    rows = [(name, f"{len(v) / args.seconds:7.1f}/s   p50 {pct(v, 0.5) * 1000:7.1f} ms   p99 {pct(v, 0.99) * 1000:7.1f} ms   errors {errors[name]}")
            for name, v in sorted(lat.items())]  # fmt: skip
    half = min(rss_timed, key=lambda x: abs(x[0] - args.seconds / 2))[1]
    third = max(1, len(rss_samples) // 3)
    early, late = sum(rss_samples[:third]) / third, sum(rss_samples[-third:]) / third
    rows += [("server RSS", f"{rss_start:.0f} MB at start, {half:.0f} MB at half time, {rss_end:.0f} MB at end "
                            f"(end / half {rss_end / half:.3f}); mean first third {early:.0f} MB, last third {late:.0f} MB"),
             ("integrity", f"{len(acked)} acknowledged, {missing} missing, {dupes} duplicate ids")]  # fmt: skip
    report(
        f"Soak: {args.seconds:.0f} s, {args.devices} devices + 2 portals + 1 planner, SQLite, one uvicorn worker",
        rows,
        {
            "bench": "soak",
            "seconds": args.seconds,
            "requests": {k: len(v) for k, v in lat.items()},
            "p99_ms": {k: round(pct(v, 0.99) * 1000, 1) for k, v in lat.items()},
            "errors": sum(errors.values()),
            "rss_start_mb": round(rss_start),
            "rss_end_mb": round(rss_end),
            "rss_half_mb": round(half),
            "rss_end_over_half": round(rss_end / half, 3),
            "acknowledged": len(acked),
            "missing": missing,
            "duplicates": dupes,
        },  # fmt: skip
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--devices", type=int, default=24)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
