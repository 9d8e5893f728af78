"""Issue 10's two load figures and issue 20's attack figures, each beside a baseline measured in the same run.

1. Single posts while a budgeted ranking over N demo facilities is being made: a few devices post one
   response at a time; their latency while POST /rankings computes, beside their latency with no ranking.
2. /healthz while four clients send 16 MiB bodies without a key: its latency during the flood, beside idle.
3. (issue 20) The worst case of each public route, sent as an attacker would: a single JSON post with a form
   link's token and 60,000 unknown answers, a ~15 MB batch of such items, an OpenRosa submission with as many
   bad elements as the XML limits let through, and an instance nested 2.2 million levels (15 MiB). For each:
   reply bytes ÷ request bytes (target ≤ 1), and /healthz p99 while two clients repeat it, beside /healthz
   idle in the same run.

Usage: python bench/hardening.py [--facilities 20000] [--devices 4] [--only load|attacks]
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, make_key, median, pct, report, server  # noqa: E402

ANSWERS = {"needs_loan": True, "loan_amount_vnd": 500_000_000, "loan_purpose": ["machinery"], "has_collateral": False,
           "wants_interest_subsidy": True}  # fmt: skip


def post_loop(
    base: str, key: str, fid: str, stop: threading.Event, out: list[float], errors: list[int]
) -> None:
    with httpx.Client(timeout=120) as c:
        while not stop.is_set():
            body = {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid, "answers": ANSWERS,
                    "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip
            t = time.perf_counter()
            r = c.post(base + "/api/v1/responses", json=body, headers={"Authorization": f"Bearer {key}"})
            out.append(time.perf_counter() - t)
            if r.status_code != 201:
                errors.append(r.status_code)
            time.sleep(0.05)  # a device syncing, not a load generator


def posts_during(
    base: str, key: str, fid: str, devices: int, during
) -> tuple[list[float], list[int], object]:  # type: ignore[no-untyped-def]
    stop, lat, errors = threading.Event(), [], []  # type: ignore[var-annotated]
    threads = [
        threading.Thread(target=post_loop, args=(base, key, fid, stop, lat, errors)) for _ in range(devices)
    ]
    for t in threads:
        t.start()
    try:
        result = during()
    finally:
        stop.set()
        for t in threads:
            t.join()
    return lat, errors, result


def flood(base: str, stop: threading.Event, bytes_sent: list[int]) -> None:
    """Announce 16 MiB without a key and send it as fast as the server takes it."""
    u = urlparse(base)
    chunk = b"x" * 65536
    while not stop.is_set():
        try:
            with socket.create_connection((u.hostname, u.port), timeout=10) as s:
                s.sendall(b"POST /api/v1/responses/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 16777216\r\n\r\n")  # fmt: skip
                for _ in range(256):
                    if stop.is_set():
                        break
                    s.sendall(chunk)
                    bytes_sent[0] += len(chunk)
                s.recv(4096)
        except OSError:
            time.sleep(0.01)


def healthz_latencies(base: str, seconds: float) -> list[float]:
    out = []
    deadline = time.perf_counter() + seconds
    with httpx.Client(timeout=30) as c:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            c.get(base + "/healthz")
            out.append(time.perf_counter() - t)
            time.sleep(0.02)
    return out


def _attack_bodies(
    base: str, admin: str, fo_name: str, fo: str, fid: str
) -> dict[str, tuple[str, dict[str, str], bytes]]:
    """(url, headers, body) of each route's worst case."""
    link = httpx.post(base + "/api/v1/form-links", headers={"Authorization": f"Bearer {admin}"}, timeout=30,
                      json={"name": "Bench portal", "questionnaires": ["loans"], "province_code": "68"}).json()["token"]  # fmt: skip
    json_h = {"Authorization": f"Bearer {link}", "Content-Type": "application/json"}

    def item(n: int) -> dict[str, object]:
        return {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": 2, "facility_id": fid,
                "answers": {f"q{i:06d}": 1 for i in range(n)}, "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip

    single = json.dumps(item(60_000)).encode()  # ~0.77 MB, under the 1 MiB ceiling
    batch = json.dumps({"items": [item(2_100) for _ in range(500)]}).encode()  # ~15 MB, under 16 MiB
    basic = {
        "Authorization": "Basic " + base64.b64encode(f"{fo_name}:{fo}".encode()).decode(),
        "X-OpenRosa-Version": "1.0",
    }
    end = f"<end>2026-11-20T08:30:00.000+07:00</end><meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    bad = "".join(
        f"<zz{i:04d}x>1</zz{i:04d}x>" for i in range(4_900)
    )  # as many as OPENROSA_MAX_XML_ELEMENTS lets in
    instance = f"<data id='loans' version='2'><facility_id>{fid}</facility_id>{bad}{end}".encode()
    deep = b"<data id='loans' version='2'>" + b"<a>" * 2_200_000 + b"</a>" * 2_200_000 + b"</data>"  # ~15 MiB

    def multipart(xml: bytes) -> tuple[dict[str, str], bytes]:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; filename=\"s.xml\"\r\n"
                f"Content-Type: text/xml\r\n\r\n").encode() + xml + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
        return {**basic, "Content-Type": f"multipart/form-data; boundary={boundary}"}, body

    or_h, or_body = multipart(instance)
    deep_h, deep_body = multipart(deep)
    return {
        "JSON single post, form-link token, 60,000 unknown answers": (
            base + "/api/v1/responses",
            json_h,
            single,
        ),
        "batch, 500 items x 2,100 unknown answers": (base + "/api/v1/responses/batch", json_h, batch),
        "OpenRosa submission, 4,900 bad elements": (base + "/openrosa/submission", or_h, or_body),
        "OpenRosa deep XML, 2.2 million levels": (base + "/openrosa/submission", deep_h, deep_body),
    }


def attack_loop(
    url: str, headers: dict[str, str], body: bytes, stop: threading.Event, sizes: list, took: list
) -> None:  # type: ignore[type-arg]
    with httpx.Client(timeout=600) as c:
        while not stop.is_set():
            t = time.perf_counter()
            r = c.post(url, headers=headers, content=body)
            took.append(time.perf_counter() - t)
            sizes.append((r.status_code, len(r.content)))


def attack_figures(base: str, admin: str, fo_name: str, fo: str, fid: str, rows: list, figures: dict) -> None:  # type: ignore[type-arg]
    """Issue 20: reply ÷ request bytes of each route's worst case, /healthz p99 while it repeats, idle beside."""
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    idle = healthz_latencies(base, 5)
    rows.append(("/healthz idle (baseline, attacks)", f"p50 {ms(median(idle))}, p99 {ms(pct(idle, 0.99))}"))
    figures["attacks_healthz_idle_p99_ms"] = round(pct(idle, 0.99) * 1000, 2)
    for i, (label, (url, headers, body)) in enumerate(_attack_bodies(base, admin, fo_name, fo, fid).items()):
        stop, sizes, took = threading.Event(), [], []  # type: ignore[var-annotated]

        threads = [
            threading.Thread(target=attack_loop, args=(url, headers, body, stop, sizes, took))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        time.sleep(0.3)
        during = healthz_latencies(base, 8)
        stop.set()
        for t in threads:
            t.join()
        status, reply = max(sizes, key=lambda x: x[1])
        ratio = reply / len(body)
        rows.append((label, f"{len(body) / 1e6:.2f} MB in → {reply / 1e3:.1f} kB out (status {status}), ratio {ratio:.4f}; "
                            f"{len(took)} sent, median {ms(median(took))}; /healthz p50 {ms(median(during))}, p99 {ms(pct(during, 0.99))}"))  # fmt: skip
        figures[f"attack{i + 1}_ratio"] = round(ratio, 5)
        figures[f"attack{i + 1}_request_mb"] = round(len(body) / 1e6, 2)
        figures[f"attack{i + 1}_reply_kb"] = round(reply / 1e3, 1)
        figures[f"attack{i + 1}_median_s"] = round(median(took), 3)
        figures[f"attack{i + 1}_healthz_p99_ms"] = round(pct(during, 0.99) * 1000, 2)


def attacks_only() -> None:
    url = fresh_db("hardening-attacks")
    admin = make_key(url, "admin", "bench-admin")
    fo = make_key(url, "field_officer", "bench-fo")
    rows: list[tuple[str, str]] = []
    figures: dict[str, object] = {}
    with server(url, {"FORM_LINK_RATE_LIMIT_PER_MINUTE": "100000"}) as (base, _):
        fid = httpx.post(base + "/api/v1/facilities", headers={"Authorization": f"Bearer {fo}"}, timeout=30,
                         json={"name": "Bench", "kind": "cooperative", "sector": "other", "province_code": "68"}).json()["id"]  # fmt: skip
        attack_figures(base, admin, "bench-fo", fo, fid, rows, figures)
    report(
        "Issue 20: worst case of each public route (2 clients repeating it) beside /healthz idle",
        rows,
        figures,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=20000)
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--only", choices=["load", "attacks"], default=None)
    args = ap.parse_args()
    if args.only != "load":
        attacks_only()
        if args.only == "attacks":
            return
    url = fresh_db("hardening")
    demo(url, args.facilities)
    fo = make_key(url, "field_officer", "bench-fo")
    planner = make_key(url, "planner", "bench-planner")
    with server(url) as (base, _):
        fid = httpx.post(base + "/api/v1/facilities", headers={"Authorization": f"Bearer {fo}"}, timeout=30,
                         json={"name": "Bench", "kind": "cooperative", "sector": "other", "province_code": "68"}).json()["id"]  # fmt: skip
        base_lat, base_err, _ = posts_during(base, fo, fid, args.devices, lambda: time.sleep(10))

        def make_ranking() -> tuple[int, float]:
            t = time.perf_counter()
            r = httpx.post(base + "/api/v1/rankings", headers={"Authorization": f"Bearer {planner}"}, timeout=600,
                           json={"profile": "point-project", "profile_version": 1, "budget_vnd": 50_000_000_000,
                                 "cost_source": "loans.loan_amount_vnd", "per_province": {"min": 1, "max": 20}})  # fmt: skip
            return r.status_code, time.perf_counter() - t

        rank_lat, rank_err, (status, took) = posts_during(base, fo, fid, args.devices, make_ranking)  # type: ignore[misc]

        idle = healthz_latencies(base, 5)
        stop, sent = threading.Event(), [0]
        flooders = [threading.Thread(target=flood, args=(base, stop, sent)) for _ in range(4)]
        for t in flooders:
            t.start()
        time.sleep(0.5)
        during = healthz_latencies(base, 10)
        stop.set()
        for t in flooders:
            t.join()

    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    report(
        f"Hardening figures ({args.facilities:,} demo facilities, {args.devices} devices posting one at a time)",
        [
            (
                "posts, no ranking (baseline)",
                f"{len(base_lat)} posts, p50 {ms(median(base_lat))}, p99 {ms(pct(base_lat, 0.99))}, max {ms(max(base_lat))}, errors {len(base_err)}",
            ),
            (
                "posts while POST /rankings runs",
                f"{len(rank_lat)} posts, p50 {ms(median(rank_lat))}, p99 {ms(pct(rank_lat, 0.99))}, max {ms(max(rank_lat))}, errors {len(rank_err)}",
            ),
            ("the budgeted ranking", f"status {status}, {took:.1f} s"),
            (
                "/healthz idle (baseline)",
                f"p50 {ms(median(idle))}, p99 {ms(pct(idle, 0.99))}, max {ms(max(idle))}",
            ),
            (
                "/healthz, 4 keyless 16 MiB floods",
                f"p50 {ms(median(during))}, p99 {ms(pct(during, 0.99))}, max {ms(max(during))}; {sent[0] / 2**20:,.0f} MiB offered",
            ),
        ],  # fmt: skip
        {
            "posts_p50_ms": round(median(base_lat) * 1000, 1),
            "posts_p99_ms": round(pct(base_lat, 0.99) * 1000, 1),
            "posts_during_ranking_p50_ms": round(median(rank_lat) * 1000, 1),
            "posts_during_ranking_p99_ms": round(pct(rank_lat, 0.99) * 1000, 1),
            "posts_during_ranking_max_ms": round(max(rank_lat) * 1000, 1),
            "post_errors": len(base_err) + len(rank_err),
            "ranking_status": status,
            "ranking_s": round(took, 1),
            "healthz_idle_p50_ms": round(median(idle) * 1000, 2),
            "healthz_flood_p50_ms": round(median(during) * 1000, 2),
            "healthz_flood_p99_ms": round(pct(during, 0.99) * 1000, 2),
            "flood_mib_offered": round(sent[0] / 2**20),
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
