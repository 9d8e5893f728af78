"""Synthetic but plausible demo data: facilities over the 34 provinces and answers to every questionnaire.

Deterministic for a seed (with the same numpy release: numpy does not promise the same random stream across
releases). Amounts are log-normal and tied to the facility's size; needs are correlated (a loan is likelier
where needs are high, pollution urgency follows the sector); some facilities skip modules, some were
surveyed twice a year apart (the first time on the retired loans form), some responses were revised.

Speed: facilities and the shape of their surveys (which modules, when, which form version) are drawn one
by one with `random`; answers are then drawn column-wise with numpy, a chunk of responses and one
questionnaire version at a time, and assembled row by row following each definition's relevance rules.
Rows are built in stored form (JSON text, timestamps as stored) and inserted by a second thread
(`core.db.RowWriter`, multi-row statements) while the next ones are drawn. Demo responses never came
through the API, so their content_hash is a placeholder, not the hash of a request body.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import queue
import random
import re
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlmodel import Session

from app.core.db import RowWriter, row_writer
from app.models import Facility, FacilityRevision, Response, ResponseRevision
from app.places.service import fold, provinces
from app.questionnaires.definition import Definition, Question
from app.questionnaires.registry import Registry
from app.questionnaires.validator import compile_condition

SECTORS = [("agro_food_processing", 0.38), ("handicrafts", 0.2), ("textiles_garments", 0.14),
           ("mechanical_engineering", 0.12), ("building_materials", 0.08), ("other", 0.08)]  # fmt: skip
KINDS = [("household_business", 0.55), ("cooperative", 0.15), ("cooperative_group", 0.1), ("enterprise", 0.2)]
PRODUCTS = {
    "agro_food_processing": ["cà phê", "chè", "bún khô", "nước mắm", "mật ong", "hạt điều", "miến dong", "rượu cần"],
    "handicrafts": ["mây tre đan", "gốm", "thổ cẩm", "sơn mài", "chiếu cói", "đồ gỗ mỹ nghệ"],
    "textiles_garments": ["may mặc", "dệt lụa", "thêu ren", "dệt thổ cẩm"],
    "mechanical_engineering": ["cơ khí nông cụ", "rèn", "sửa chữa máy nông nghiệp", "đúc đồng"],
    "building_materials": ["gạch không nung", "đá mỹ nghệ", "ngói"],
    "other": ["giấy dó", "hương trầm", "đồ chơi gỗ"],
}  # fmt: skip
SECTOR_INDEX = {s: i for i, (s, _) in enumerate(SECTORS)}
PREFIX = {
    "household_business": "Cơ sở",
    "cooperative": "HTX",
    "cooperative_group": "Tổ hợp tác",
    "enterprise": "Công ty TNHH",
}
BRANDS = ["Hưng Phát", "Thành Công", "Bình An", "Tân Tiến", "Phú Quý", "Đại Lộc", "Minh Châu"]
NOTES = ["Cần hỗ trợ sớm", "Đề nghị ưu tiên", "Không", "Đang mở rộng sản xuất"]
PROGRAMMES = ["khuyến công quốc gia", "khuyến công địa phương"]
BATCH = 5000  # facilities drawn and written per round; responses answered 4 × BATCH at a time


def _lognormal(rnd: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rnd.gauss(0, sigma))


class _Traits:
    """Per answer row: the traits of the facility it describes (numpy columns)."""

    def __init__(self, rows: Sequence[tuple[float, float, float, float, bool, int]]) -> None:
        cols = np.array(rows, dtype=float).reshape(-1, 6)
        self.need, self.dirty, self.wealth, self.revenue = cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3]
        self.enterprise = cols[:, 4] > 0.5
        self.sector = cols[:, 5].astype(np.int64)
        self.n = len(cols)


class _AnswerDrawer:
    """Answers for many responses to one questionnaire version at once, following its relevance and bounds."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._plans: dict[
            tuple[str, int], list[tuple[Question, Callable[[dict[str, Any]], bool] | None]]
        ] = {}

    def plan(self, d: Definition) -> list[tuple[Question, Callable[[dict[str, Any]], bool] | None]]:
        key = (d.key, d.version)
        if key not in self._plans:
            types = {q.id: q.type for q in d.questions}
            self._plans[key] = [
                (q, compile_condition(q.relevant, types) if q.relevant else None) for q in d.questions
            ]
        return self._plans[key]

    def draw(self, d: Definition, g: np.random.Generator, t: _Traits) -> list[dict[str, Any]]:
        columns = []
        for q, relevant in self.plan(d):
            kept = (
                np.ones(t.n, dtype=bool) if q.required else g.random(t.n) >= 0.25
            )  # optional: 1 in 4 left blank
            values = self._special(q, g, t)
            if values is None:
                values = self._generic(q, g, t.n)
            columns.append((q.id, relevant, kept.tolist(), values))
        out = []
        for r in range(t.n):
            answers: dict[str, Any] = {}
            for qid, relevant, present, values in columns:
                if present[r] and (relevant is None or relevant(answers)):
                    answers[qid] = values[r]
            out.append(answers)
        return out

    @staticmethod
    def _number(q: Question, v: np.ndarray) -> list[Any]:
        lo = q.min if q.min is not None else 0
        hi = q.max if q.max is not None else 10**12
        v = np.clip(v, lo, hi)
        return np.rint(v).astype(np.int64).tolist() if q.type == "integer" else np.round(v, 2).tolist()

    def _special(self, q: Question, g: np.random.Generator, t: _Traits) -> list[Any] | None:
        n, qid = t.n, q.id

        def lognormal(median: np.ndarray, sigma: float) -> np.ndarray:
            return median * np.exp(g.normal(0.0, sigma, n))

        if qid == "needs_loan":
            return (g.random(n) < 0.35 + 0.4 * t.need).tolist()
        if qid == "loan_amount_vnd":
            return self._number(q, lognormal(0.3 * t.revenue, 0.8))
        if qid == "counterpart_funds_vnd":
            return self._number(q, lognormal(0.1 * t.revenue, 0.9) * t.wealth)
        if qid == "planned_investment_vnd":
            return self._number(q, lognormal(0.5 * t.revenue, 0.7))
        if qid == "investment_needed_vnd":
            return self._number(q, lognormal(0.2 * t.revenue, 0.8))
        if qid == "annual_output_value_vnd":
            return self._number(q, lognormal(0.9 * t.revenue, 0.2))
        if qid == "severity":  # none / low / medium / high with weights 1-d, .5d, .3d, .2d
            u, d = g.random(n), t.dirty
            level = (u >= 1 - d).astype(int) + (u >= 1 - 0.5 * d) + (u >= 1 - 0.2 * d)
            names = ("none", "low", "medium", "high")
            return [names[i] for i in level.tolist()]
        if qid == "needs_treatment_investment":
            return (g.random(n) < 0.2 + 0.6 * t.dirty).tolist()
        if qid in ("needs_trade_promotion", "needs_packaging_support", "needs_digital_support"):
            return (g.random(n) < 0.3 + 0.5 * t.need).tolist()
        if qid == "has_website":
            return (g.random(n) < np.where(t.enterprise, 0.6, 0.12)).tolist()
        if qid == "main_products":  # two different products of the facility's sector
            lists = [PRODUCTS[s] for s, _ in SECTORS]
            u1, u2 = g.random(n).tolist(), g.random(n).tolist()
            out = []
            for s, a, b in zip(t.sector.tolist(), u1, u2, strict=True):
                items = lists[s]
                i = int(a * len(items))
                j = (i + 1 + int(b * (len(items) - 1))) % len(items)
                out.append(f"{items[i]}, {items[j]}")
            return out
        return None

    def _generic(self, q: Question, g: np.random.Generator, n: int) -> list[Any]:
        if q.type == "integer":
            lo, hi = int(q.min or 0), q.max if q.max is not None else 1000
            return g.integers(lo, int(min(hi, lo + 200)), endpoint=True, size=n).tolist()
        if q.type == "decimal":
            lo_f, hi_f = float(q.min or 0), float(q.max if q.max is not None else 100)
            return np.round(g.uniform(lo_f, min(hi_f, lo_f + 100), n), 2).tolist()
        if q.type == "boolean":
            return (g.random(n) < 0.4).tolist()
        if q.type == "text":
            if q.pattern:  # a sample of each form the questionnaires ask for (a web address, a phone number)
                pattern = re.compile(q.pattern)
                sample = next((x for x in ("https://coso-demo.vn", "0912345678") if pattern.search(x)), None)
                if sample is not None:
                    return [sample] * n
            return [NOTES[i] for i in g.integers(0, len(NOTES), n).tolist()]
        if q.type == "date":
            months, days = g.integers(1, 13, n).tolist(), g.integers(1, 29, n).tolist()
            return [f"2026-{m:02d}-{day:02d}" for m, day in zip(months, days, strict=True)]
        if q.type == "geopoint":  # within Viet Nam's bounding box, as a phone reports it
            lat, lon = (
                np.round(g.uniform(8.6, 23.3, n), 6).tolist(),
                np.round(g.uniform(102.2, 109.4, n), 6).tolist(),
            )
            acc = np.round(g.uniform(3, 30, n), 1).tolist()
            return [{"lat": a, "lon": b, "accuracy_m": c} for a, b, c in zip(lat, lon, acc, strict=True)]
        if q.type in ("image", "file"):  # names only: demo responses have no attachment files
            ext = "jpg" if q.type == "image" else "pdf"
            return [f"{q.id}-{i}.{ext}" for i in g.integers(10**9, 10**12, n).tolist()]
        codes = q.choice_codes
        if q.type == "select_one":
            return [codes[i] for i in g.integers(0, len(codes), n).tolist()]
        # select_multiple: 1 to 3 different codes in a random order, uniform over the ordered choices of each size
        # (one flat table of every ordered choice; rows share its lists, which are serialised, never changed)
        # an exclusive choice ("none") is only ever ticked alone
        excl = set(q.exclusive_codes)
        perms = [
            [list(p) for p in itertools.permutations(codes, m) if m == 1 or not excl.intersection(p)]
            for m in range(1, min(3, len(codes)) + 1)
        ]
        perms = [ps for ps in perms if ps]
        table = [p for ps in perms for p in ps]
        counts = np.array([len(ps) for ps in perms])
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        size = g.integers(0, len(perms), size=n)
        pick = offsets[size] + (g.random(n) * counts[size]).astype(np.int64)
        return [table[i] for i in pick.tolist()]


class _Sink:
    """A thread that writes the rows it is given, in order, while the caller draws the next ones.

    The database connection is used by this thread only until close() returns (the caller does not touch
    it meanwhile); the driver releases the GIL while SQLite works, so drawing and writing overlap.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._queue: queue.Queue[tuple[RowWriter, list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="demo-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (task := self._queue.get()) is not None:
            if self._error is None:
                try:
                    task[0].insert(self.conn, task[1])
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller by put() / close()
                    self._error = exc

    def put(self, writer: RowWriter, rows: list[tuple[Any, ...]]) -> None:
        if self._error is not None:
            self.close()
        self._queue.put((writer, rows))

    def close(self) -> None:
        """Wait until everything given is written; raise what the writer hit, if anything."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


def _uuid4(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)) without the object."""
    bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid7(when: datetime, bits: int) -> str:
    """A time-ordered UUID (version 7, RFC 9562) for `when` (naive UTC): ids then sort in receive order,
    as a client using UUIDv7 would send them, and the unique index on response ids grows at its end."""
    ms = (when - _EPOCH) // _MS
    value = ms << 80 | 7 << 76 | (bits >> 62 & 0xFFF) << 64 | 0b10 << 62 | bits & (1 << 62) - 1
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_EPOCH, _MS = datetime(1970, 1, 1), timedelta(milliseconds=1)


def _sqlite_time(v: datetime) -> str:
    """The text SQLAlchemy stores for a (naive UTC) datetime on SQLite: fixed width, microseconds always written."""
    text = v.isoformat(" ")
    return text if v.microsecond else text + ".000000"


def _pg_time(v: datetime) -> datetime:
    return v.replace(tzinfo=UTC)


FACILITY_COLS = ("id", "name", "search_text", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code",
                 "address", "employees", "annual_revenue_vnd", "established_year", "prior_support", "prior_support_count",
                 "last_support_year", "location", "revision", "created_at", "updated_at", "created_by")  # fmt: skip
SNAPSHOT_COLS = ("name", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code", "address", "employees",
                 "annual_revenue_vnd", "established_year", "prior_support", "prior_support_count", "last_support_year",
                 "location")  # fmt: skip
FREV_COLS = ("facility_id", "revision", "data", "changed_at", "changed_by")
RESPONSE_COLS = ("id", "questionnaire", "version", "facility_id", "province_code", "submitted_by", "received_at",
                 "content_hash", "current_revision")  # fmt: skip
REVISION_COLS = ("response_id", "revision", "answers", "collected_at", "collected_offset_min", "location",
                 "received_at", "submitted_by")  # fmt: skip


def generate(
    *, session: Session, registry: Registry, facilities: int, seed: int = 1, now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Write `facilities` facilities and their responses; returns the counts written."""
    # Millions of short-lived rows and no reference cycles: the cyclic collector would rescan every live
    # row again and again as the lists grow. Reference counting frees everything; collection resumes after.
    paused = gc.isenabled()
    gc.disable()
    # The writer thread wants the GIL back after each statement; with the default 5 ms switch interval it
    # would wait that long behind the drawing thread every time.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    sink = _Sink(session.connection())  # rows are written by another thread while the next ones are drawn
    try:
        return _generate(session, registry, facilities, seed, now, progress, sink)
    finally:
        try:
            sink.close()  # never leave the writer using the connection while the caller rolls back
        finally:
            sys.setswitchinterval(interval)
            if paused:
                gc.enable()


def _generate(
    session: Session, registry: Registry, facilities: int, seed: int, now: datetime | None,
    progress: Callable[[int], None] | None, sink: _Sink,
) -> dict[str, int]:  # fmt: skip
    rnd = random.Random(seed)
    g = np.random.default_rng(rnd.getrandbits(64))
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)  # naive UTC inside
    codes = list(provinces())
    # Provinces are unevenly industrialised: some get many more establishments.
    province_cum = list(itertools.accumulate(rnd.uniform(0.3, 3.0) for _ in codes))
    kinds, kind_cum = [k for k, _ in KINDS], list(itertools.accumulate(w for _, w in KINDS))
    sectors, sector_cum = [k for k, _ in SECTORS], list(itertools.accumulate(w for _, w in SECTORS))
    drawer = _AnswerDrawer(registry)
    keys = registry.keys
    current = {k: (registry.latest_published(k) or registry.versions(k)[-1]).version for k in keys}
    conn = session.connection()
    if conn.dialect.name == "sqlite":  # a bigger page cache for this load: index pages stay in memory
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    tm = _pg_time if conn.dialect.name == "postgresql" else _sqlite_time
    # Rows are built here already in stored form (JSON text, `tm` times), so the writers only insert them.
    write_facilities = row_writer(Facility.__table__, FACILITY_COLS, conn.dialect)  # type: ignore[attr-defined]
    write_frevs = row_writer(FacilityRevision.__table__, FREV_COLS, conn.dialect)  # type: ignore[attr-defined]
    write_heads = row_writer(Response.__table__, RESPONSE_COLS, conn.dialect)  # type: ignore[attr-defined]
    write_revs = row_writer(ResponseRevision.__table__, REVISION_COLS, conn.dialect)  # type: ignore[attr-defined]
    # A head row, then (collected, revised, traits) for drawing its answers later.
    slots: list[tuple[tuple[Any, ...], Any, Any, tuple[Any, ...]]] = []
    revision_count = 0
    null = json.dumps(None)
    dumps = json.JSONEncoder(separators=(",", ":")).encode  # compact: fewer bytes to write
    hour, day = timedelta(hours=1), timedelta(days=1)
    folded: dict[str, str] = {}  # fold() of each name stem; the number and tax code need no folding

    for start in range(0, facilities, BATCH):
        facility_rows, frev_rows = [], []
        for i in range(start, min(start + BATCH, facilities)):
            kind = rnd.choices(kinds, cum_weights=kind_cum)[0]
            sector = rnd.choices(sectors, cum_weights=sector_cum)[0]
            province = rnd.choices(codes, cum_weights=province_cum)[0]
            employees = max(1, int(_lognormal(rnd, 40 if kind == "enterprise" else 8, 0.7)))
            revenue = int(employees * _lognormal(rnd, 180_000_000, 0.5))
            created = now - day * (200 + 700 * rnd.random())
            first_collectable = created + hour
            supports: list[dict[str, Any]] = [{"year": rnd.randint(2015, 2025), "programme": rnd.choice(PROGRAMMES), "amount_vnd": rnd.randint(1, 30) * 50_000_000}
                        for _ in range(rnd.choices((0, 1, 2), cum_weights=(0.75, 0.95, 1.0))[0])]  # fmt: skip
            stem = f"{PREFIX[kind]} {rnd.choice(PRODUCTS[sector])} {rnd.choice(BRANDS)}"
            if stem not in folded:
                folded[stem] = fold(stem)
            name = f"{stem} {i + 1}"
            fid = _uuid4(rnd.getrandbits(128))
            tax_code = f"{seed % 90 + 10}{i:08d}" if kind in ("enterprise", "cooperative") else None
            search_text = f"{folded[stem]} {i + 1} {tax_code}" if tax_code else f"{folded[stem]} {i + 1}"
            f: dict[str, Any] = {
                "id": fid, "name": name, "search_text": search_text, "tax_code": tax_code,
                "kind": kind, "sector": sector, "vsic_code": None, "province_code": province, "ward_code": None, "address": None,
                "employees": employees, "annual_revenue_vnd": revenue, "established_year": rnd.randint(1990, 2024),
                "prior_support": supports, "prior_support_count": len(supports),
                "last_support_year": max((int(s["year"]) for s in supports), default=None), "location": None, "revision": 1,
            }  # fmt: skip
            snapshot = dumps({c: f[c] for c in SNAPSHOT_COLS})
            f.update(prior_support=dumps(supports), location=null, created_at=tm(created), updated_at=tm(created),
                     created_by="demo-data")  # fmt: skip
            facility_rows.append(tuple(f[c] for c in FACILITY_COLS))
            frev_rows.append((fid, 1, snapshot, f["created_at"], "demo-data"))
            traits = (rnd.random(), rnd.random() ** (0.7 if sector in ("agro_food_processing", "building_materials") else 1.5),
                      0.2 + 1.3 * rnd.random(), float(revenue or 1_000_000_000), kind == "enterprise", SECTOR_INDEX[sector])  # fmt: skip
            for key in keys:
                if rnd.random() < 0.12:  # some modules not surveyed
                    continue
                rounds = 2 if rnd.random() < 0.1 else 1
                for r in range(rounds):
                    version = current[key]
                    if key == "loans" and (r == 0 and rounds == 2 or rnd.random() < 0.15):
                        version = 1  # surveyed with the earlier, now retired, loans form
                    collected = now - day * (170 * rnd.random() + (365 if r == 0 and rounds == 2 else 0))
                    if collected < first_collectable:
                        collected = first_collectable
                    received = collected + hour * (1 + 239 * rnd.random())
                    if received > now:
                        received = now
                    rid = _uuid7(received, rnd.getrandbits(128))
                    revised = (
                        min(now, received + day * (0.1 + 19.9 * rnd.random()))
                        if rnd.random() < 0.05
                        else None
                    )
                    head = (rid, key, version, fid, province, "demo-data", tm(received), rid.replace("-", "") * 2,
                            2 if revised else 1)  # fmt: skip
                    slots.append((head, tm(collected), tm(revised) if revised else None, traits))
        sink.put(write_facilities, facility_rows)
        sink.put(write_frevs, frev_rows)
        if progress:
            progress(len(facility_rows))
    # Receive order is the listing order: heads go in sorted by the time they were received (their ids,
    # UUIDv7 of that time, then sort the same way, so every index on them grows at its end).
    slots.sort(key=lambda slot: (slot[0][6], slot[0][0]))
    for start in range(0, len(slots), BATCH * 4):
        sink.put(write_heads, [slot[0] for slot in slots[start : start + BATCH * 4]])
    # Answers, drawn a chunk of responses at a time (in receive order), per questionnaire version.
    for start in range(0, len(slots), BATCH * 4):
        groups: dict[tuple[str, int], tuple[list[Any], list[tuple[Any, ...]]]] = {}
        for head, collected_s, revised_s, traits in slots[start : start + BATCH * 4]:
            traits_rows, targets = groups.setdefault((head[1], head[2]), ([], []))
            traits_rows.append(traits)
            targets.append((head[0], 1, collected_s, head[6]))
            if revised_s is not None:
                traits_rows.append(traits)
                targets.append((head[0], 2, collected_s, revised_s))
        revisions: list[tuple[Any, ...]] = []
        for (key, version), (traits_rows, targets) in sorted(groups.items()):
            drawn = drawer.draw(registry.get(key, version), g, _Traits(traits_rows))
            revisions.extend((rid, rev, dumps(answers), collected_s, 420, null, received_s, "demo-data")
                             for (rid, rev, collected_s, received_s), answers in zip(targets, drawn, strict=True))  # fmt: skip
        revisions.sort()  # by (response id, revision): the unique index grows at its end
        revision_count += len(revisions)
        sink.put(write_revs, revisions)
    sink.close()
    return {"facilities": facilities, "responses": len(slots), "revisions": revision_count}
