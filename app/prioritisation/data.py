"""Bulk, as-of extraction of what a ranking needs: facility attributes and latest answers.

Facilities: the facility table for rows unchanged since `as_of`, facility_revision snapshots for the
rest. Answers: one query per questionnaire returning, for every response received by `as_of` that counts under
the ranking's review filter as of `as_of` (app.review.states), its latest revision received by `as_of` (a plain
join on current_revision when nothing newer exists), with only the answers the profile reads, extracted by the
database.
"""

from __future__ import annotations

import gc
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select, type_coerce
from sqlalchemy.types import NullType
from sqlmodel import Session

from app.models import Facility, FacilityRevision, Response, ResponseRevision, ReviewEvent
from app.models.types import UTCDateTime
from app.prioritisation import projection
from app.prioritisation.profiles import FACILITY_FIELDS
from app.prioritisation.projection import precedence
from app.review import states

SNAP_COLS = ("name", "province_code", "sector", "kind", "employees", "annual_revenue_vnd", "established_year",
             "prior_support_count", "last_support_year")  # fmt: skip


@dataclass
class Snapshot:
    id: str
    name: str
    province_code: str
    sector: str
    kind: str
    attrs: dict[str, float | None]
    moved: bool = False  # in another province now than at as_of (its responses carry the current one)


def facilities_as_of(session: Session, as_of: datetime, provinces: list[str] | None) -> list[Snapshot]:
    """Every facility registered by `as_of`, with its attributes as they were then (in facility id order)."""
    cols = [Facility.id, Facility.updated_at, *(getattr(Facility, c) for c in SNAP_COLS)]
    stmt: Any = select(*cols).where(Facility.created_at <= as_of)  # type: ignore[operator]
    if provinces is not None:  # a facility changed since as_of may have been in these provinces then
        stmt = stmt.where(or_(Facility.province_code.in_(provinces), Facility.updated_at > as_of))  # type: ignore[attr-defined,operator]
    rows: dict[str, dict[str, Any]] = {}
    changed: dict[str, str] = {}  # id -> current province, for facilities changed since as_of
    for r in session.execute(stmt):
        if r.updated_at > as_of:
            changed[r.id] = r.province_code
        else:
            rows[r.id] = {c: getattr(r, c) for c in SNAP_COLS}
    changed_ids = list(changed)
    for i in range(0, len(changed_ids), 500):
        chunk = changed_ids[i : i + 500]
        latest = (
            select(FacilityRevision.facility_id, func.max(FacilityRevision.revision).label("rev"))
            .where(FacilityRevision.facility_id.in_(chunk), FacilityRevision.changed_at <= as_of)  # type: ignore[attr-defined,operator]
            .group_by(FacilityRevision.facility_id)
            .subquery()
        )
        q = select(FacilityRevision.facility_id, FacilityRevision.data).join(
            latest,
            and_(
                latest.c.facility_id == FacilityRevision.facility_id,
                latest.c.rev == FacilityRevision.revision,
            ),
        )
        for fid, data in session.execute(q):
            if provinces is None or data["province_code"] in provinces:
                rows[fid] = {c: data.get(c) for c in SNAP_COLS}
    out = []
    for fid in sorted(rows):
        d = rows[fid]
        attrs: dict[str, float | None] = {f: _num(d.get(f)) for f in FACILITY_FIELDS if f in d}
        last = d.get("last_support_year")
        attrs["years_since_last_support"] = float(as_of.year - last) if last is not None else None
        moved = fid in changed and changed[fid] != d["province_code"]
        out.append(Snapshot(fid, d["name"], d["province_code"], d["sector"], d["kind"], attrs, moved))
    return out


def moved_ids(session: Session, as_of: datetime, provinces: list[str] | None) -> list[str]:
    """Facilities changed since `as_of` that are now outside `provinces` (they may have been inside then)."""
    if provinces is None:
        return []
    stmt = select(Facility.id).where(Facility.updated_at > as_of, Facility.province_code.not_in(provinces))  # type: ignore[operator,attr-defined]
    return list(session.execute(stmt).scalars())


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass
class AnswerTable:
    """One questionnaire's as-of response rows, column-wise, within each facility in the order a ranking reads
    them (projection.precedence: approved, then field/office, then portal; newest first within each).

    `answers[key][r]` is row r's answer to question `key` (None when absent): only the questions a ranking
    reads are extracted, by the database, so no whole answers document is decoded in Python. `old[r]` says
    the row was collected before the freshness cutoff. Collection times stay as the driver returned them
    until an explanation needs one (`Provenance.collected`).
    """

    questionnaire: str
    facility_id: list[str]
    response_id: list[str]
    version: list[int]
    seq: list[int]
    code: list[int]  # each row's precedence code (projection.code: its channel, +3 when approved)
    old: list[bool]
    answers: dict[str, list[Any]]
    _collected: list[Any]
    _to_datetime: Callable[[Any], datetime]

    def __len__(self) -> int:
        return len(self.facility_id)

    def collected_at(self, r: int) -> datetime:
        """Row r's collection time."""
        return self._to_datetime(self._collected[r])

    def provenance(self, rows: list[int]) -> Provenance:
        """Per candidate (rows[i] is its row, or -1), the response it was read from (looked up when asked:
        only the candidates of a page are ever explained)."""
        return Provenance(
            _Picked(self.response_id, rows, None),
            _Picked(self.seq, rows, 0),
            _Picked(self.code, rows, 0),
            _Picked(self._collected, rows, None),
            self._to_datetime,
        )


class _Picked(Sequence[Any]):
    """column[rows[i]] for candidate i (`missing` where rows[i] is -1), without copying the column."""

    __slots__ = ("_column", "_rows", "_missing")

    def __init__(self, column: list[Any], rows: list[int], missing: Any) -> None:
        self._column, self._rows, self._missing = column, rows, missing

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: Any) -> Any:
        r = self._rows[i]
        return self._column[r] if r >= 0 else self._missing


@dataclass
class Provenance:
    """Which response each candidate's value came from (response_id None: none), and when it was collected."""

    response_id: Sequence[str | None]
    seq: Sequence[int]
    code: Sequence[int]
    _collected: Sequence[Any]
    _to_datetime: Callable[[Any], datetime]

    def collected(self, i: int) -> datetime:
        return self._to_datetime(self._collected[i])

    def channel(self, i: int) -> str:
        return projection.channel_of(self.code[i])


def _answer(bind: Any, key: str) -> Any:
    """One answer, extracted in SQL (question ids are [a-z][a-z0-9_]*, so the path needs no escaping).

    SQLite returns JSON scalars as SQL values (true/false as 1/0, which score the same); PostgreSQL returns
    the JSON value, decoded by the driver.
    """
    col = ResponseRevision.answers
    if bind.dialect.name == "postgresql":
        return col[key]  # type: ignore[index]
    return func.json_extract(col, f'$."{key}"')


def _review_filter(conn: Any, stmt: Any, review: str, as_of: datetime, current: bool) -> tuple[Any, Any]:
    """Keep the rows whose response counts under `review` as of `as_of`: its latest review action received by
    then (if any) against the revision joined (the latest received by then). Returns the statement and a SQL
    boolean: the row's response is approved as of `as_of` (what precedence puts first).

    Without any review action by `as_of`, every response is `received` then (the statement stays as it was for
    `not_rejected`). When no review action and no revision is newer than `as_of` (`current`: the join is on
    current_revision), the latest review copied onto the response row is the one as of `as_of`; otherwise the
    latest review event received by `as_of` is joined per response."""
    actions = ReviewEvent.state.is_not(None)  # type: ignore[union-attr]
    first_at, last_at = conn.execute(
        select(func.min(ReviewEvent.at), func.max(ReviewEvent.at)).where(actions)
    ).one()
    if first_at is None or first_at > as_of:
        return (stmt if states.counts(review, "received") else stmt.where(false())), false()
    if current and last_at <= as_of:
        cols = (Response.review_state, Response.review_revision, Response.current_revision)
    else:
        e = ReviewEvent.__table__.alias("e")  # type: ignore[attr-defined]
        x = ReviewEvent.__table__.alias("last_action")  # type: ignore[attr-defined]
        last = (
            select(func.max(x.c.seq))
            .where(x.c.response_id == Response.id, x.c.state.is_not(None), x.c.at <= as_of)
            .scalar_subquery()
        )
        stmt = stmt.outerjoin(e, e.c.seq == last)
        cols = (e.c.state, e.c.revision, ResponseRevision.revision)
    if review != "any":
        stmt = stmt.where(states.counted(review, *cols))
    return stmt, states.state_is(["approved"], *cols)


def _precedence_code(approved: Any) -> Any:
    """SQL: projection.code of the row (its channel, +APPROVED when `approved` holds)."""
    channel = case(*((Response.channel == name, c) for name, c in projection.CHANNEL_CODES.items()), else_=0)  # type: ignore[arg-type]
    return channel + case((approved, projection.APPROVED), else_=0)


def latest_revisions(
    session: Session,
    questionnaire: str,
    keys: tuple[str, ...],
    as_of: datetime,
    provinces: list[str] | None,
    cutoff: datetime | None = None,
    also: list[str] | None = None,
    review: str = "any",
    response_ids: list[str] | None = None,
) -> AnswerTable:
    """Every response to `questionnaire` received by `as_of`, each at its latest revision received by then.

    `provinces` filters on the responses' (current) province; `also` adds the responses of these facilities
    wherever they are now (facilities moved since as_of, ranked where they were). `review` keeps only the
    responses that count under that filter as of `as_of` (`any`: all; see app.review.states). `response_ids`:
    only these responses (a reader keeping its own copy re-reads what changed)."""
    conn = session.connection()
    newest = conn.execute(
        select(func.max(ResponseRevision.received_at))
        .join(Response, Response.id == ResponseRevision.response_id)  # type: ignore[arg-type]
        .where(Response.questionnaire == questionnaire)  # type: ignore[arg-type]
    ).scalar()
    collected: Any = ResponseRevision.collected_at
    cols = [
        Response.facility_id,
        Response.id,
        Response.version,
        Response.seq,
        (collected < cutoff) if cutoff is not None else literal(False),
        type_coerce(collected, NullType()),
        *(_answer(conn, k) for k in keys),
    ]
    current = newest is None or newest <= as_of
    stmt: Any = select(*cols)  # the precedence code is added below, once the review state is known
    if current:
        join_on = and_(
            ResponseRevision.response_id == Response.id,
            ResponseRevision.revision == Response.current_revision,
        )  # type: ignore[arg-type]
        stmt = stmt.join(ResponseRevision, join_on)
    else:
        x = ResponseRevision.__table__.alias("x")  # type: ignore[attr-defined]
        best = (
            select(func.max(x.c.revision))
            .where(x.c.response_id == Response.id, x.c.received_at <= as_of)
            .scalar_subquery()
        )
        join_on = and_(ResponseRevision.response_id == Response.id, ResponseRevision.revision == best)  # type: ignore[arg-type]
        stmt = stmt.join(ResponseRevision, join_on)
    stmt, approved = _review_filter(conn, stmt, review, as_of, current=current)
    code = _precedence_code(approved)
    stmt = stmt.add_columns(code)
    # Read first, per facility: approved, then field/office, then portal (projection.precedence).
    rank = case((approved, 0), (Response.channel == "portal", 2), else_=1)  # type: ignore[arg-type]
    stmt = stmt.where(Response.questionnaire == questionnaire, Response.received_at <= as_of)  # type: ignore[arg-type,operator]
    if response_ids is not None:
        stmt = stmt.where(Response.id.in_(response_ids))  # type: ignore[attr-defined]
    if provinces is not None:
        where = Response.province_code.in_(provinces)  # type: ignore[attr-defined]
        stmt = stmt.where(or_(where, Response.facility_id.in_(also)) if also else where)  # type: ignore[attr-defined]
    newest_first = (collected.desc(), Response.seq.desc())  # type: ignore[union-attr]
    rows = conn.execute(stmt.order_by(Response.facility_id, rank, *newest_first)).all()
    columns: list[list[Any]] = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(len(cols) + 1)]
    )
    fid, rid, version, seq, old, raw_collected, *answers, codes = columns
    to_datetime = UTCDateTime().dialect_impl(conn.dialect).result_processor(conn.dialect, None) or (
        lambda v: v
    )
    return AnswerTable(questionnaire, fid, rid, version, seq, [int(c) for c in codes], [bool(o) for o in old],
                       dict(zip(keys, answers, strict=True)), raw_collected, to_datetime)  # fmt: skip


# ---- the present, from the answer projection (app.prioritisation.projection) ----------------------------------

_FAC_COLS = ("id", *SNAP_COLS)


@dataclass
class Present:
    """A ranking's inputs at an instant no write is newer than, read from the projection: the snapshots, one
    AnswerTable per questionnaire (at most one row per facility and version), and until when (epoch
    microseconds, exclusive) the same rows stay exactly as fresh or stale (None: no freshness cutoff)."""

    snapshots: list[Snapshot]
    tables: dict[str, AnswerTable]
    fresh_until: int | None


def present(
    session: Session,
    st: projection.State,
    as_of: datetime,
    provinces: list[str] | None,
    keys: dict[str, tuple[str, ...]],
    review: str,
    cutoff: datetime | None,
) -> Present:
    """What `facilities_as_of` and `latest_revisions` return for `as_of` when `st.covers(as_of, keys)`: every
    facility is unchanged since, every response counted under `review` now is counted then, so each
    facility's projected row holds all a ranking reads. Through the driver (no row objects), and only the
    projection rows written since the process last read them (`_rows_cache`)."""
    assert st.keys is not None
    conn = session.connection()
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        snaps = _facilities(session, cur, st.facility_generation, provinces, as_of.year)
        rows = _rows_cache.current(session, cur, st, keys, review)
    finally:
        cur.close()
    return _present(snaps, rows, keys, as_of, cutoff)


class _Shape:
    """How one facility's projected document becomes ranking rows for one (review filter, answers read): per
    questionnaire, (version, facility, response, seq, collected, code, *answers) tuples, in the order a ranking
    reads them (projection.precedence)."""

    def __init__(self, st_keys: dict[str, list[str]], keys: dict[str, tuple[str, ...]], review: str) -> None:
        self.slot = projection.FILTER_SLOTS[review]
        self.qs = sorted(keys)
        pos = {q: [st_keys[q].index(k) for k in keys[q]] for q in self.qs}
        self.key = (self.slot, tuple((q, tuple(st_keys[q]), tuple(keys[q])) for q in self.qs))
        # entries are [rid, seq, collected, code, *answers]: every projected answer in order, or a selection
        self.whole = {q: pos[q] == list(range(len(st_keys[q]))) for q in self.qs}
        self.take = {q: tuple(i + 4 for i in pos[q]) for q in self.qs}

    def rows(self, docs: Sequence[tuple[str, str]]) -> dict[str, dict[str, tuple[tuple[Any, ...], ...]]]:
        """{questionnaire: {facility: its rows}} of these documents (only the lines read are decoded, in one call)."""
        out: dict[str, dict[str, tuple[tuple[Any, ...], ...]]] = {q: {} for q in self.qs}
        texts: list[str] = []
        owner_f: list[str] = []
        owner_q: list[str] = []
        for fid, raw in docs:
            if not raw:
                continue
            for line in raw.split("\n"):  # one line per questionnaire: only those read are decoded
                q, _, text = line.partition(" ")
                if q in out:
                    texts.append(text)
                    owner_f.append(fid)
                    owner_q.append(q)
        slot = self.slot
        for fid, q, items in zip(owner_f, owner_q, json.loads("[" + ",".join(texts) + "]"), strict=True):
            whole, take = self.whole[q], self.take[q]
            picked = []
            for it in items:
                e = it[slot]
                if e == 0:
                    e = it[1]
                if e is not None:
                    picked.append((it[0], e))
            if not picked:
                continue
            if len(picked) > 1:  # approved, field/office, portal; newest first within each
                picked.sort(key=lambda p: precedence(p[1]))
            out[q][fid] = tuple(
                (v, fid, *e) if whole else (v, fid, e[0], e[1], e[2], e[3], *(e[i] for i in take))
                for v, e in picked
            )
        return out


class _Rows:
    """One shape's rows of every facility as of a generation, and the facilities that have a projection row."""

    __slots__ = ("generation", "seen", "by_q")

    def __init__(
        self, generation: int, seen: frozenset[str], by_q: dict[str, dict[str, tuple[tuple[Any, ...], ...]]]
    ):
        self.generation, self.seen, self.by_q = generation, seen, by_q


class _RowsCache:
    """Per process: each facility's ranking rows per shape, brought up to date by reading only the projection
    rows written since (`answer_projection.generation`) — a present ranking after a write decodes the few
    documents that write changed, not all of them.

    Exact by construction: every writer of a projection row stamps it with the generation its transaction
    bumped `ranking_state` to (the row lock orders them, so a reader that sees generation G sees every row
    stamped ≤ G; a row stamped later and read early is read again next time, harmlessly: documents are whole).
    Rows never disappear except by a rebuild or a test's wipe, which the row count reveals (a full read then).
    Entries are replaced, never changed in place, so a ranking in another thread keeps a consistent one.
    """

    def __init__(self, size: int = 3) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], _Rows] = OrderedDict()
        self._size = size

    def current(self, session: Session, cur: Any, st: projection.State, keys: dict[str, tuple[str, ...]],
                review: str) -> dict[str, dict[str, tuple[tuple[Any, ...], ...]]]:  # fmt: skip
        assert st.keys is not None
        shape = _Shape(st.keys, keys, review)
        with self._lock:
            held = self._items.get(shape.key)
        if held is not None and held.generation == st.generation:
            return held.by_q
        mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
        fresh: _Rows | None = None
        if held is not None and held.generation < st.generation:
            cur.execute(
                f"SELECT facility_id, doc FROM answer_projection WHERE generation > {mark}",
                (held.generation,),
            )
            changed = cur.fetchall()
            seen = held.seen.union(f for f, _ in changed)
            cur.execute("SELECT count(*) FROM answer_projection")
            if cur.fetchone()[0] == len(seen):  # no row vanished (else: a full read below)
                update = shape.rows(changed)
                by_q = {}
                for q, rows in held.by_q.items():
                    rows = dict(rows)
                    for fid, _ in changed:
                        rows.pop(fid, None)
                    rows.update(update[q])
                    by_q[q] = rows
                fresh = _Rows(st.generation, seen, by_q)
        if fresh is None:
            cur.execute("SELECT facility_id, doc FROM answer_projection")
            docs = cur.fetchall()
            fresh = _Rows(st.generation, frozenset(f for f, _ in docs), shape.rows(docs))
        with self._lock:
            self._items[shape.key] = fresh
            self._items.move_to_end(shape.key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return fresh.by_q


_rows_cache = _RowsCache()


class _SnapshotCache:
    """Present snapshots per (facility generation, provinces, year): facilities change far more rarely than
    answers, so a ranking after a response write reuses them. The snapshots are shared read-only (a ranking
    sets the same province coverage on them whenever it needs it: it depends on these keys alone)."""

    def __init__(self, size: int = 4) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], list[Snapshot]] = OrderedDict()
        self._size = size

    def get(self, key: tuple[Any, ...]) -> list[Snapshot] | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[Any, ...], snaps: list[Snapshot]) -> None:
        with self._lock:
            self._items[key] = snaps
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_snapshots = _SnapshotCache()


def _facilities(
    session: Session, cur: Any, generation: int, provinces: list[str] | None, year: int
) -> list[Snapshot]:
    """Every facility (in these provinces) as it is now, in id order: one scan through the driver, or cached."""
    key = (generation, None if provinces is None else tuple(provinces), year)
    if (hit := _snapshots.get(key)) is not None:
        return hit
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    sql = "SELECT " + ", ".join(_FAC_COLS) + " FROM facility"
    if provinces is not None:
        sql += (
            f" WHERE province_code IN ({', '.join([mark] * len(provinces))})" if provinces else " WHERE 1 = 0"
        )
    cur.execute(sql, list(provinces or ()))
    rows: list[Any] = list(cur.fetchall())
    rows.sort(key=itemgetter(0))
    snaps = []
    for row in rows:
        last = row[9]
        attrs: dict[str, float | None] = {
            "employees": _num(row[5]), "annual_revenue_vnd": _num(row[6]), "established_year": _num(row[7]),
            "prior_support_count": _num(row[8]),
            "years_since_last_support": float(year - last) if last is not None else None,
        }  # fmt: skip
        snaps.append(Snapshot(row[0], row[1], row[2], row[3], row[4], attrs))
    if (
        projection.state(session).facility_generation == generation
    ):  # nothing committed in between (PostgreSQL)
        _snapshots.put(key, snaps)
    return snaps


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a ranking is computed: it builds hundreds of thousands of
    short-lived objects without reference cycles, and each automatic collection would rescan every live object
    (a cached ranking's included) again and again; reference counting frees them all the same."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _present(snaps: list[Snapshot], rows: dict[str, dict[str, tuple[tuple[Any, ...], ...]]],
             keys: dict[str, tuple[str, ...]], as_of: datetime, cutoff: datetime | None) -> Present:  # fmt: skip
    cut = projection.micros(cutoff) if cutoff is not None else None
    max_age = projection.micros(as_of) - cut + 1 if cut is not None else 0
    qs = sorted(keys)
    rows_of: dict[str, list[tuple[Any, ...]]] = {q: [] for q in qs}
    ids = [s.id for s in snaps]
    for q in qs:  # the candidates' rows, in the snapshots' (id) order
        out = rows_of[q]
        for found in map(rows[q].get, ids):
            if found is not None:
                out.extend(found)
    tables = {}
    fresh_until: int | None = None
    for q in qs:
        got = rows_of[q]
        width = 6 + len(keys[q])
        # one transposition in C (zip) instead of a Python pass per column
        columns = list(map(list, zip(*got, strict=True))) if got else [[] for _ in range(width)]
        version, fids, rids, seqs, collected, codes, *answers = columns
        if cut is not None:
            old = [c < cut for c in collected]
            fresh = min((c for c in collected if c >= cut), default=None)
            if fresh is not None and (fresh_until is None or fresh + max_age < fresh_until):
                fresh_until = fresh + max_age
        else:
            old = [False] * len(collected)
        tables[q] = AnswerTable(q, fids, rids, version, seqs, codes, old, dict(zip(keys[q], answers, strict=True)),
                                collected, projection.from_micros)  # fmt: skip
    return Present(list(snaps), tables, fresh_until)
