"""Keyset listing: first page and last page of 1000 with ~200,000 responses loaded.

Usage: python bench/listing.py [--facilities 40000]   Target: last page ≤ 1.5 × first page.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, make_key, median, report, server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=40000)
    args = ap.parse_args()
    url = fresh_db("listing")
    loaded = demo(url, args.facilities, seed=3)
    key = make_key(url, "admin", "bench")
    h = {"Authorization": f"Bearer {key}"}
    with server(url) as (base, _), httpx.Client(base_url=base, headers=h, timeout=120) as c:

        def page(cursor: str | None) -> tuple[float, dict]:
            t = time.perf_counter()
            r = c.get("/api/v1/responses", params={"limit": 1000, **({"cursor": cursor} if cursor else {})})
            return time.perf_counter() - t, r.json()

        page(None)
        firsts = [page(None)[0] for _ in range(7)]
        cursor, total, pages = None, 0, 0
        while True:
            _, body = page(cursor)
            total += len(body["items"])
            pages += 1
            if not body["next_cursor"]:
                break
            cursor = body["next_cursor"]
        lasts = [page(cursor)[0] for _ in range(7)]
    first, last = median(firsts), median(lasts)
    report(
        f"Listing GET /api/v1/responses?limit=1000 ({loaded})",
        [
            ("responses listed", f"{total} in {pages} pages"),
            ("first page (median of 7)", f"{first * 1000:8.1f} ms"),
            ("last page (median of 7)", f"{last * 1000:8.1f} ms"),
            ("ratio last / first", f"{last / first:8.2f}  (target ≤ 1.5)"),
        ],  # fmt: skip
        {
            "bench": "listing",
            "responses": total,
            "first_ms": round(first * 1000, 1),
            "last_ms": round(last * 1000, 1),
            "ratio_last_first": round(last / first, 3),
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
