"""OData feed: the first page of a questionnaire's Submissions and a page at offset 190,000 (reached by the keyset
$skiptoken of @odata.nextLink), with 200,000 responses to one questionnaire, both measured in the same run.

Usage: python bench/odata.py [--responses 200000] [--top 1000]   Target: deep page ≤ 1.5 × first page.
The responses are written by direct inserts (the demo generator writes the facilities), so loading takes seconds;
`$skip=190000` (an OFFSET, as Central pages) is measured beside them for comparison.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import demo, fresh_db, make_key, median, report, server  # noqa: E402


def load_responses(url: str, n: int, seed: int = 7) -> None:
    """`n` loans v3 responses about the demo's facilities, inserted directly (two rows each, no checks)."""
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import create_engine, insert, select

    from app.models import Facility, Response, ResponseRevision

    engine = create_engine(url)
    rnd = random.Random(seed)
    with engine.begin() as conn:
        facilities = conn.execute(select(Facility.id, Facility.province_code)).all()  # type: ignore[call-overload]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 5000
    for lo in range(0, n, batch):
        heads, revs = [], []
        for i in range(lo, min(n, lo + batch)):
            fid, province = facilities[rnd.randrange(len(facilities))]
            rid, at = str(uuid.UUID(int=rnd.getrandbits(128), version=4)), start + timedelta(seconds=i * 60)
            needs = rnd.random() < 0.6
            answers = {"respondent_name": "Nguyễn Văn An", "respondent_position": "Chủ hộ",
                       "respondent_phone": "0912345678", "planned_investment_vnd": rnd.randint(0, 10**10),
                       "counterpart_funds_vnd": rnd.randint(0, 10**9), "needs_loan": needs}  # fmt: skip
            if needs:
                answers["loan_amount_vnd"] = rnd.randint(10**7, 10**10)
            heads.append({"id": rid, "questionnaire": "loans", "version": 3, "facility_id": fid,
                          "province_code": province, "submitted_by": "bench-officer", "received_at": at,
                          "content_hash": uuid.uuid4().hex * 2, "current_revision": 1})  # fmt: skip
            revs.append({"response_id": rid, "revision": 1, "answers": answers, "collected_at": at,
                         "collected_offset_min": 420, "received_at": at, "submitted_by": "bench-officer"})  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(Response), heads)
            conn.execute(insert(ResponseRevision), revs)
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--responses", type=int, default=200_000)
    ap.add_argument("--offset", type=int, default=190_000)
    ap.add_argument("--top", type=int, default=1000)
    ap.add_argument("--facilities", type=int, default=2000)
    args = ap.parse_args()
    url = fresh_db("odata")
    t0 = time.perf_counter()
    demo(url, args.facilities, seed=5)
    load_responses(url, args.responses)
    loaded_s = time.perf_counter() - t0
    key = make_key(url, "admin", "bench")
    h = {"Authorization": f"Bearer {key}"}
    rows = "/v1/projects/1/forms/loans.svc/Submissions"
    with server(url) as (base, _), httpx.Client(base_url=base, headers=h, timeout=300) as c:
        total = c.get(rows, params={"$count": "true", "$top": "0"}).json()["@odata.count"]
        # Reach the offset as a client does, following @odata.nextLink (ids only, to walk fast).
        walked, link = 0, f"{rows}?$top=5000&$select=__id"
        while walked < args.offset:
            body = c.get(link).json()
            walked += len(body["value"])
            link = body["@odata.nextLink"]
        token = parse_qs(urlparse(link).query)["$skiptoken"][0]

        def timed(params: dict[str, str]) -> tuple[float, dict]:
            t = time.perf_counter()
            r = c.get(rows, params=params)
            assert r.status_code == 200, r.text
            return time.perf_counter() - t, r.json()

        top = {"$top": str(args.top)}
        timed(top)
        timed({**top, "$skiptoken": token})
        firsts, deeps, skips = [], [], []
        for _ in range(7):  # interleaved: the machine's noise hits both alike
            firsts.append(timed(top)[0])
            deeps.append(timed({**top, "$skiptoken": token})[0])
        for _ in range(3):
            skips.append(timed({**top, "$skip": str(args.offset)})[0])
        deep_body = timed({**top, "$skiptoken": token})[1]
        assert len(deep_body["value"]) == args.top
    first, deep, skip = median(firsts), median(deeps), median(skips)
    report(
        f"OData GET {rows}?$top={args.top} ({total:,} responses to one questionnaire, loaded in {loaded_s:.0f} s)",
        [
            ("first page (median of 7)", f"{first * 1000:8.1f} ms"),
            (f"page at offset {walked:,} by $skiptoken (median of 7)", f"{deep * 1000:8.1f} ms"),
            ("ratio deep / first", f"{deep / first:8.2f}  (target ≤ 1.5)"),
            (f"same offset by $skip={args.offset} (median of 3)", f"{skip * 1000:8.1f} ms"),
        ],  # fmt: skip
        {
            "bench": "odata",
            "responses": total,
            "top": args.top,
            "offset": walked,
            "first_ms": round(first * 1000, 1),
            "deep_skiptoken_ms": round(deep * 1000, 1),
            "ratio_deep_first": round(deep / first, 3),
            "deep_skip_ms": round(skip * 1000, 1),
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()
