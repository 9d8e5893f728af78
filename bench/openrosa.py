"""OpenRosa submissions per second beside JSON single posts, same server, same answers, same run.

Usage: python bench/openrosa.py [--seconds 15] [--clients 16] [--rounds 2]
Each round measures JSON (POST /api/v1/responses) then OpenRosa (POST /openrosa/submission, multipart with
xml_submission_file, HTTP Basic) for the same time with the same concurrency; the rates are averaged over the
rounds, alternated so that drift of a shared machine falls on both. Target (issue 11): an OpenRosa submission
costs at most 2× a JSON one, i.e. json_rps / openrosa_rps ≤ 2.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fresh_db, make_key, pct, report, server  # noqa: E402
from ingest import ANSWERS, body  # noqa: E402


def instance_xml(fid: str) -> bytes:
    """The loans v2 instance Collect would send for ANSWERS (as ODK's engine serialises it)."""
    a = ANSWERS
    parts = [
        f"<facility_id>{fid}</facility_id>", "<needs_loan>yes</needs_loan>",
        f"<loan_amount_vnd>{a['loan_amount_vnd']}.0</loan_amount_vnd>",
        f"<loan_purpose>{' '.join(a['loan_purpose'])}</loan_purpose>", f"<loan_term_months>{a['loan_term_months']}</loan_term_months>",
        "<has_collateral>yes</has_collateral>", f"<collateral_type>{a['collateral_type']}</collateral_type>",
        f"<counterpart_funds_vnd>{a['counterpart_funds_vnd']}.0</counterpart_funds_vnd>",
        "<wants_interest_subsidy>yes</wants_interest_subsidy>", "<planned_investment_vnd/>",
        f"<outstanding_loans_vnd>{a['outstanding_loans_vnd']}.0</outstanding_loans_vnd>",
        f"<borrowing_sources>{' '.join(a['borrowing_sources'])}</borrowing_sources>", "<loan_barriers/>", "<investment_plan/>",
        "<start>2026-11-20T08:10:00.000+07:00</start><end>2026-11-20T08:30:00.000+07:00</end>",
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID><instanceName>Cơ sở cà phê</instanceName></meta>",
    ]  # fmt: skip
    return (
        f'<data xmlns:jr="http://openrosa.org/javarosa" id="loans" version="2">{"".join(parts)}</data>'
    ).encode()


async def load(url: str, headers: dict, send, seconds: float, clients: int) -> tuple[int, list[float], int]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            r = await send(client, url, headers)
            latencies.append(time.perf_counter() - t)
            if r.status_code not in (200, 201):
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return len(latencies), latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    url = fresh_db("openrosa")
    secret = make_key(url, "field_officer", "bench-collect")
    bearer = {"Authorization": f"Bearer {secret}"}
    basic = {"Authorization": "Basic " + base64.b64encode(f"bench-collect:{secret}".encode()).decode(),
             "X-OpenRosa-Version": "1.0"}  # fmt: skip
    json_n, or_n, json_lat, or_lat, errors = 0, 0, [], [], 0
    with server(url) as (base, _):
        fid = httpx.post(base + "/api/v1/facilities", json={"name": "Cơ sở cà phê", "kind": "household_business",
                         "sector": "agro_food_processing", "province_code": "68"}, headers=bearer).json()["id"]  # fmt: skip
        probe = httpx.post(base + "/openrosa/submission", headers=basic,
                           files={"xml_submission_file": ("submission.xml", instance_xml(fid), "text/xml")})  # fmt: skip
        assert probe.status_code == 201, probe.text

        async def send_json(client, u, h):  # type: ignore[no-untyped-def]
            return await client.post(u, json=body(fid), headers=h)

        async def send_xml(client, u, h):  # type: ignore[no-untyped-def]
            return await client.post(
                u, headers=h, files={"xml_submission_file": ("submission.xml", instance_xml(fid), "text/xml")}
            )

        for _ in range(args.rounds):
            n, lat, err = asyncio.run(
                load(base + "/api/v1/responses", bearer, send_json, args.seconds, args.clients)
            )
            json_n, errors = json_n + n, errors + err
            json_lat += lat
            n, lat, err = asyncio.run(
                load(base + "/openrosa/submission", basic, send_xml, args.seconds, args.clients)
            )
            or_n, errors = or_n + n, errors + err
            or_lat += lat
    total = args.seconds * args.rounds
    json_rps, or_rps = json_n / total, or_n / total
    cost = json_rps / or_rps
    report(
        f"OpenRosa vs JSON submissions, {args.clients} clients, {args.rounds} × {args.seconds:.0f} s each, SQLite "
        "(WAL, synchronous=FULL), one uvicorn worker",
        [
            (
                "JSON POST /api/v1/responses",
                f"{json_rps:8.0f} responses/s   p50 {pct(json_lat, 0.5) * 1000:6.1f} ms   p99 {pct(json_lat, 0.99) * 1000:6.1f} ms",
            ),
            (
                "OpenRosa POST /openrosa/submission",
                f"{or_rps:8.0f} submissions/s p50 {pct(or_lat, 0.5) * 1000:6.1f} ms   p99 {pct(or_lat, 0.99) * 1000:6.1f} ms",
            ),
            ("cost of an OpenRosa submission", f"{cost:8.2f} × a JSON post  (target ≤ 2)"),
            ("errors", f"{errors}"),
        ],  # fmt: skip
        {
            "bench": "openrosa",
            "json_rps": round(json_rps, 1),
            "openrosa_rps": round(or_rps, 1),
            "json_p50_ms": round(pct(json_lat, 0.5) * 1000, 2),
            "openrosa_p50_ms": round(pct(or_lat, 0.5) * 1000, 2),
            "cost_ratio": round(cost, 3),
            "errors": errors,
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
