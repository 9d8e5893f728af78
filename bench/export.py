"""CSV export of 200,000 responses to one questionnaire version, beside a raw baseline; server RSS during it.

Baseline: the same rows read with one SQL query and written with Python's csv module, in this process.
Usage: python bench/export.py [--rows 200000] [--labels]   Targets: rate ≥ 0.5 × baseline; RSS growth ≤ 100 MB.
`--labels` also exports with `labels=vi` (question labels as headers, choice labels as values) beside the same
baseline (codes, no label lookup: the raw floor).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo, fresh_db, make_key, report, rss_mb, server  # noqa: E402


def grow(path: str, rows: int) -> int:
    """Clone loans v2 responses (new ids, same answers) until there are `rows` of them."""
    db = sqlite3.connect(path)
    src = db.execute("SELECT r.facility_id, r.province_code, rr.answers, rr.collected_at FROM response r JOIN response_revision rr "
                     "ON rr.response_id = r.id AND rr.revision = r.current_revision WHERE r.questionnaire='loans' AND r.version=2").fetchall()  # fmt: skip
    have = len(src)
    heads, revs = [], []
    i = 0
    while have < rows:
        fid, prov, answers, collected = src[i % len(src)]
        rid = str(uuid.uuid4())
        heads.append((rid, "loans", 2, fid, prov, "bench", collected, rid.replace("-", "") * 2, 1))
        revs.append((rid, 1, answers, collected, 420, None, collected, "bench"))
        have += 1
        i += 1
    db.executemany("INSERT INTO response (id, questionnaire, version, facility_id, province_code, submitted_by, received_at, content_hash, "
                   "current_revision) VALUES (?,?,?,?,?,?,?,?,?)", heads)  # fmt: skip
    db.executemany("INSERT INTO response_revision (response_id, revision, answers, collected_at, collected_offset_min, location, "
                   "received_at, submitted_by) VALUES (?,?,?,?,?,?,?,?)", revs)  # fmt: skip
    db.commit()
    return have


def baseline(path: str, columns: list[str]) -> tuple[int, float]:
    t = time.perf_counter()
    db = sqlite3.connect(path)
    out = io.StringIO()
    w = csv.writer(out)
    n = 0
    for row in db.execute("SELECT r.id, r.facility_id, f.name, r.province_code, rr.collected_at, r.received_at, rr.revision, rr.answers "
                          "FROM response r JOIN response_revision rr ON rr.response_id = r.id AND rr.revision = r.current_revision "
                          "JOIN facility f ON f.id = r.facility_id WHERE r.questionnaire='loans' AND r.version=2 ORDER BY r.seq"):  # fmt: skip
        answers = json.loads(row[7])
        w.writerow([*row[:7], *(answers.get(c) for c in columns)])
        n += 1
        if out.tell() > 1 << 20:
            out.seek(0)
            out.truncate()
    return n, time.perf_counter() - t


def fetch(base: str, key: str, params: dict[str, str]) -> tuple[int, int, float]:
    """Stream one export; (CRLF-terminated lines, bytes, seconds)."""
    t = time.perf_counter()
    size = lines = 0
    with httpx.stream("GET", base + "/api/v1/exports/responses.csv", params={"questionnaire": "loans", "version": 2, **params},
                      headers={"Authorization": f"Bearer {key}"}, timeout=600) as r:  # fmt: skip
        last = b""
        for chunk in r.iter_bytes():
            size += len(chunk)
            split = last == b"\r" and chunk[:1] == b"\n"  # a CRLF cut in two by the transport
            lines += chunk.count(b"\r\n") + split
            last = chunk[-1:]
    return lines, size, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--labels", action="store_true", help="also export with labels=vi")
    args = ap.parse_args()
    url = fresh_db("export")
    path = url.split("///", 1)[1]
    demo(url, 20000, seed=5)
    rows = grow(path, args.rows)
    key = make_key(url, "planner", "bench")
    from app.questionnaires.registry import Registry

    d = Registry.load(Path(__file__).resolve().parents[1] / "survey_schemas").get("loans", 2)
    n_base, t_base = baseline(path, [q.id for q in d.questions])
    peak = {"rss": 0.0}
    with server(url) as (base, proc):
        start_rss = rss_mb(proc.pid)
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak["rss"] = max(peak["rss"], rss_mb(proc.pid))
                time.sleep(0.05)

        th = threading.Thread(target=sample)
        th.start()
        lines, size, took = fetch(base, key, {})
        labelled = fetch(base, key, {"labels": "vi"}) if args.labels else None
        stop.set()
        th.join()
    ours, base_rate = (lines - 1) / took, n_base / t_base
    growth = peak["rss"] - start_rss
    figures = [
        ("baseline (1 SQL query + csv module)", f"{base_rate:9.0f} rows/s  ({n_base} rows in {t_base:.1f} s)"),
        ("GET /exports/responses.csv", f"{ours:9.0f} rows/s  ({lines - 1} rows, {size / 1e6:.0f} MB in {took:.1f} s)"),
        ("ratio ours / baseline", f"{ours / base_rate:9.2f}  (target ≥ 0.5)"),
    ]  # fmt: skip
    summary = {"bench": "export", "rows": lines - 1, "rows_per_s": round(ours), "baseline_rows_per_s": round(base_rate),
               "ratio": round(ours / base_rate, 3)}  # fmt: skip
    if labelled is not None:
        l_lines, l_size, l_took = labelled
        l_rate = (l_lines - 1) / l_took
        figures += [
            ("GET /exports/responses.csv?labels=vi", f"{l_rate:9.0f} rows/s  ({l_lines - 1} rows, {l_size / 1e6:.0f} MB in {l_took:.1f} s)"),
            ("ratio labels=vi / baseline", f"{l_rate / base_rate:9.2f}  (target ≥ 0.5)"),
        ]  # fmt: skip
        summary |= {
            "labels_rows": l_lines - 1,
            "labels_rows_per_s": round(l_rate),
            "labels_ratio": round(l_rate / base_rate, 3),
        }
    figures.append(
        (
            "server RSS",
            f"{start_rss:.0f} MB at start, peak {peak['rss']:.0f} MB: growth {growth:.0f} MB (target ≤ 100)",
        )
    )
    summary |= {
        "rss_start_mb": round(start_rss),
        "rss_peak_mb": round(peak["rss"]),
        "rss_growth_mb": round(growth),
    }
    report(f"CSV export of loans v2 ({rows} responses), one uvicorn worker, SQLite", figures, summary)


if __name__ == "__main__":
    main()
