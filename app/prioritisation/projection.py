"""The answer projection: per facility, what a present ranking reads, kept in the transaction of every write.

A ranking as of T reads, per facility and questionnaire, the latest response (by collected_at, then receive
order) among those that count under its review filter as of T (app.prioritisation.data). For T at or after the
latest write (`ranking_state.changed_at`), that is the present state, which this module keeps ready: one
`answer_projection` row per facility, a document with one line per questionnaire the facility answered

    questionnaire [[version, any, not_rejected, approved], ...]      (JSON after the space)

with, per questionnaire version the facility answered, the response a ranking reads under each review filter
(app.review.states) as `[response_id, seq, collected_at in epoch microseconds, code, *answers]` (None: no
response counts; 0: the same response as under `any`). `code` is the response's channel (CHANNEL_CODES) plus 3
when it is approved now. The response read is the first in precedence order (`precedence`): an approved one,
then the latest from `field` or `office`, then the latest `portal` one (latest: by collected_at, then receive
order), so a self-report never displaces what an officer collected unless a planner approves it. `answers` are
the values of the questions listed for that questionnaire in `ranking_state.keys` (those the scoring profiles
read), in that order.

Every write a ranking can see bumps `ranking_state.generation` and `changed_at` in its own transaction
(`touch`/`bump`): present rankings are cached per generation, and an `as_of` before `changed_at` reads the
history. Each projection row is stamped with the generation that last wrote it, so a process keeps the rows it
decoded and reads only those written since (app.prioritisation.data).
Writers keep the documents exact: a new response (always `received`) can only become the one read under `any`
and `not_rejected` (`created`); a revision or a review action recomputes the facility's documents from the
history (`refresh`), as does a full `rebuild` when the profiles need questions not yet projected (`ensure`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, select, text, update
from sqlmodel import Session

from app.core.db import is_sqlite
from app.models import AnswerProjection, RankingState, Response, ResponseRevision
from app.models.types import UTCDateTime, utcnow
from app.review.states import counts, derive

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHANNEL_CODES = {"field": 0, "office": 1, "portal": 2}
CHANNEL_NAMES = ("field", "office", "portal")
APPROVED = 3  # added to the channel's code of a response approved (now, or as of the ranking's instant)


def code(channel: str, approved: bool) -> int:
    """A response's precedence code: its channel, plus APPROVED when approved."""
    return CHANNEL_CODES.get(channel, 0) + (APPROVED if approved else 0)


def rank_of(c: int) -> int:
    """0: approved; 1: field or office; 2: portal (the order rankings prefer, before recency)."""
    return 0 if c >= APPROVED else (2 if c == CHANNEL_CODES["portal"] else 1)


def channel_of(c: int) -> str:
    return CHANNEL_NAMES[c % APPROVED]


def precedence(e: list[Any]) -> tuple[int, int, int]:
    """Sort key of an entry `[rid, seq, collected, code, ...]`, the one a ranking reads first: approved, then
    field/office, then portal; within each, the latest collected, then the latest received."""
    return (rank_of(e[3]), -e[2], -e[1])


FILTER_SLOTS = {"any": 1, "not_rejected": 2, "approved": 3}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def micros(t: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, and ordered like the instants)."""
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_micros(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def needed_keys(profiles: Any) -> dict[str, list[str]]:
    """The answers every loaded scoring profile reads (criteria, divisors, conditions, support costs)."""
    out: dict[str, set[str]] = {}
    for p in profiles.items.values():
        sources = [s for c in p.criteria for s in c.all_sources]
        if p.support_cost is not None:
            sources += list(p.support_cost.sources)
        for s in sources:
            if s.kind != "facility":
                out.setdefault(s.questionnaire or "", set()).add(s.name)
    return {q: sorted(k) for q, k in sorted(out.items())}


_parsed: dict[str, dict[str, list[str]]] = {}


def _keys(raw: str | None) -> dict[str, list[str]] | None:
    if raw is None:
        return None
    if raw not in _parsed:
        _parsed[raw] = json.loads(raw)
    return _parsed[raw]


class State:
    __slots__ = ("generation", "facility_generation", "changed_at", "keys")

    def __init__(self, generation: int, facility_generation: int, changed_at: datetime | None,
                 keys: dict[str, list[str]] | None) -> None:  # fmt: skip
        self.generation, self.facility_generation, self.changed_at, self.keys = (
            generation, facility_generation, changed_at, keys)  # fmt: skip

    def covers(self, as_of: datetime, keys: dict[str, tuple[str, ...]]) -> bool:
        """Whether the projection answers a ranking as of `as_of` needing these answers exactly."""
        if self.keys is None or (self.changed_at is not None and as_of < self.changed_at):
            return False
        return all(set(k) <= set(self.keys.get(q, ())) for q, k in keys.items())


_STATE = select(RankingState.generation, RankingState.facility_generation, RankingState.changed_at, RankingState.keys).where(RankingState.id == 1)  # type: ignore[call-overload,arg-type]  # fmt: skip


def state(session: Session) -> State:
    """The ranking data's generation, last change and projected answers (read in the caller's transaction)."""
    row = session.execute(_STATE).first()
    if row is None:  # pragma: no cover - the migration inserts the row
        return State(0, 0, None, None)
    return State(row[0], row[1], row[2], _keys(row[3]))


def touch(session: Session, facilities: bool = False) -> dict[str, list[str]] | None:
    """Record, in the write transaction, that ranking data changed now (`facilities`: facility rows too);
    returns the projected answers (None: the projection is unbuilt and needs no upkeep). The row lock orders
    writers, so generations follow commits."""
    return bump(session, facilities)[1]


def bump(session: Session, facilities: bool = False) -> tuple[int, dict[str, list[str]] | None]:
    """`touch`, returning also the new generation (the one the transaction's projection rows are written with)."""
    now = utcnow()
    t = RankingState.__table__  # type: ignore[attr-defined]
    values: dict[str, Any] = {"generation": t.c.generation + 1, "changed_at": _later(t.c.changed_at, now)}
    if facilities:
        values["facility_generation"] = t.c.facility_generation + 1
    stmt = update(t).where(t.c.id == 1).values(**values).returning(t.c.generation, t.c["keys"])
    row = session.execute(stmt).first()
    return (0, None) if row is None else (int(row[0]), _keys(row[1]))


def _later(col: Any, now: datetime) -> Any:
    at = bindparam("now", now, type_=UTCDateTime())
    return case((col.is_(None), at), (col < at, at), else_=col)


# ---- documents ---------------------------------------------------------------------------------------------


def _before(a: list[Any], b: list[Any]) -> bool:
    """Entry a is read before b (see `precedence`)."""
    return precedence(a) < precedence(b)


def _slots(group: list[tuple[list[Any], str]]) -> list[Any]:
    """[any, not_rejected, approved] of one (facility, questionnaire, version): entries with their state now."""
    group.sort(key=lambda g: precedence(g[0]))
    first = group[0][0]
    nr = next((e for e, st in group if counts("not_rejected", st)), None)
    ap = next((e for e, st in group if counts("approved", st)), None)
    return [first, 0 if nr is first else nr, 0 if ap is first else ap]


_CURRENT = and_(
    ResponseRevision.response_id == Response.id,  # type: ignore[arg-type]
    ResponseRevision.revision == Response.current_revision,  # type: ignore[arg-type]
)


def _compute(
    session: Session, keys: dict[str, list[str]], facility_ids: Sequence[str] | None
) -> dict[str, str]:
    """Documents recomputed from the history (the responses' current revisions and review states)."""
    stmt: Any = select(  # type: ignore[call-overload]
        Response.facility_id,
        Response.questionnaire,
        Response.version,
        Response.id,
        Response.seq,
        Response.current_revision,
        Response.review_state,
        Response.review_revision,
        Response.channel,
        ResponseRevision.collected_at,
        ResponseRevision.answers,
    ).join(ResponseRevision, _CURRENT)
    if facility_ids is not None:
        stmt = stmt.where(Response.facility_id.in_(facility_ids))  # type: ignore[attr-defined]
    groups: dict[str, dict[str, dict[int, list[tuple[list[Any], str]]]]] = {}
    for fid, q, v, rid, seq, rev, rstate, rrev, channel, collected, answers in session.execute(stmt):
        ks = keys.get(q, [])
        st = derive(rstate, rrev, rev)
        entry = [rid, seq, micros(collected), code(channel, st == "approved"), *(answers.get(k) for k in ks)]
        groups.setdefault(fid, {}).setdefault(q, {}).setdefault(v, []).append((entry, st))
    return {
        fid: encode({q: [[v, *_slots(g)] for v, g in sorted(by_v.items())] for q, by_v in by_q.items()})
        for fid, by_q in groups.items()
    }


def encode(doc: dict[str, list[Any]]) -> str:
    """One line per questionnaire, `key JSON`: a ranking decodes only the questionnaires it reads."""
    return "\n".join(f"{q} {_dumps(items)}" for q, items in sorted(doc.items()) if items)


def decode(raw: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for line in raw.split("\n"):
        if line:
            q, _, items = line.partition(" ")
            out[q] = json.loads(items)
    return out


def _write(session: Session, docs: dict[str, str], generation: int) -> None:
    if not docs:
        return
    t = AnswerProjection.__table__  # type: ignore[attr-defined]
    if is_sqlite(session):
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    stmt = insert(t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.facility_id],
        set_={"doc": stmt.excluded.doc, "generation": stmt.excluded.generation},
    )
    rows = [{"facility_id": f, "doc": d, "generation": generation} for f, d in sorted(docs.items())]
    for i in range(0, len(rows), 500):
        session.execute(stmt, rows[i : i + 500])


def _lock(session: Session, facility_ids: Iterable[str]) -> dict[str, str]:
    """The facilities' documents, row-locked (PostgreSQL) in id order so concurrent writers cannot lose updates."""
    ids = sorted(set(facility_ids))
    t = AnswerProjection.__table__  # type: ignore[attr-defined]
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        stmt = (
            select(t.c.facility_id, t.c.doc)
            .where(t.c.facility_id.in_(ids[i : i + 500]))
            .order_by(t.c.facility_id)
        )
        if not is_sqlite(session):
            stmt = stmt.with_for_update()
        out.update((k, v) for k, v in session.execute(stmt))
    return out


def refresh(session: Session, facility_ids: Iterable[str]) -> None:
    """After a revision or a review action: these facilities' documents recomputed from the history."""
    generation, keys = bump(session)
    if keys is None:
        return
    ids = sorted(set(facility_ids))
    _lock(session, ids)
    docs = _compute(session, keys, ids)
    _write(session, {**{f: "" for f in ids}, **docs}, generation)


_SEQS = select(Response.id, Response.seq).where(Response.id.in_(bindparam("ids", expanding=True)))  # type: ignore[union-attr,call-overload,attr-defined]


def _sqlite_stamp(t: datetime) -> str:
    """An aware datetime as SQLite's stored form of a UTCDateTime column (SQLAlchemy's fixed-width naive UTC text)."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


_SQLITE_TOUCH = (
    "UPDATE ranking_state SET generation = generation + 1, facility_generation = facility_generation + ?, "
    "changed_at = CASE WHEN changed_at IS NULL OR changed_at < ? THEN ? ELSE changed_at END "
    "WHERE id = 1 RETURNING generation, keys"
)


class _SqliteGroup:
    """The upkeep of one group commit through the driver (SQLite's hot path: the per-statement work of the ORM
    would cost more than these indexed reads and one upsert). Same statements as the portable path."""

    def __init__(self, session: Session) -> None:
        self.cur = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]

    def bump(self, facilities: bool) -> tuple[int, dict[str, list[str]] | None]:
        now = _sqlite_stamp(utcnow())
        row = self.cur.execute(_SQLITE_TOUCH, (1 if facilities else 0, now, now)).fetchone()
        return (0, None) if row is None else (int(row[0]), _keys(row[1]))

    def seqs(self, ids: list[str]) -> dict[str, int]:
        marks = ",".join("?" * len(ids))
        return dict(self.cur.execute(f"SELECT id, seq FROM response WHERE id IN ({marks})", ids).fetchall())

    def docs(self, fids: list[str]) -> dict[str, str]:
        marks = ",".join("?" * len(fids))
        sql = f"SELECT facility_id, doc FROM answer_projection WHERE facility_id IN ({marks})"
        return dict(self.cur.execute(sql, fids).fetchall())

    def write(self, docs: dict[str, str], generation: int) -> None:
        items = sorted(docs.items())
        for i in range(0, len(items), 300):
            part = items[i : i + 300]
            values = ",".join("(?,?,?)" for _ in part)
            sql = (f"INSERT INTO answer_projection (facility_id, doc, generation) VALUES {values} "
                   "ON CONFLICT (facility_id) DO UPDATE SET doc = excluded.doc, generation = excluded.generation")  # fmt: skip
            self.cur.execute(sql, [x for f, d in part for x in (f, d, generation)])


def _lines(raw: str) -> dict[str, str]:
    """A document's lines by questionnaire, undecoded."""
    out: dict[str, str] = {}
    for line in raw.split("\n"):
        if line:
            q, _, items = line.partition(" ")
            out[q] = items
    return out


def created(
    session: Session,
    rows: Sequence[tuple[str, str, str, int, datetime, dict[str, Any], str]],
    facilities: bool = False,
) -> None:
    """New responses (id, facility, questionnaire, version, collected_at, answers, channel) stored in this
    transaction: each is `received`, so it becomes the one read under `any` and `not_rejected` where it comes
    first in precedence; the latest approved response cannot change. One read and one upsert for the whole group; only the lines of the
    questionnaires answered are decoded and encoded again."""
    fast = _SqliteGroup(session) if is_sqlite(session) else None
    generation, keys = fast.bump(facilities) if fast is not None else bump(session, facilities)
    if keys is None or not rows:
        return
    ids = [r[0] for r in rows]
    fids = sorted({r[1] for r in rows})
    if fast is not None:
        seqs, stored = fast.seqs(ids), fast.docs(fids)
    else:
        seqs = {k: v for k, v in session.execute(_SEQS, {"ids": ids})}
        stored = _lock(session, fids)
    lines = {f: _lines(d) for f, d in stored.items()}
    docs: dict[str, dict[str, list[Any]]] = {}
    for rid, fid, q, v, collected, answers, channel in rows:
        entry = [
            rid,
            seqs[rid],
            micros(collected),
            code(channel, False),
            *(answers.get(k) for k in keys.get(q, [])),
        ]
        by_q = docs.setdefault(fid, {})
        if q not in by_q:
            raw = lines.get(fid, {}).get(q)
            by_q[q] = json.loads(raw) if raw is not None else []
        items = by_q[q]
        item = next((it for it in items if it[0] == v), None)
        if item is None:
            items.append([v, entry, 0, None])
            items.sort(key=lambda it: it[0])
            continue
        _, first, nr, ap = item
        nr = first if nr == 0 else nr
        ap = first if ap == 0 else ap
        if _before(entry, first):
            first = entry
        if nr is None or _before(entry, nr):
            nr = entry
        item[1:] = [first, 0 if nr is first else nr, 0 if ap is first else ap]
    out: dict[str, str] = {}
    for fid, by_q in docs.items():
        merged = dict(lines.get(fid, {}))
        merged.update((q, _dumps(items)) for q, items in by_q.items() if items)
        out[fid] = "\n".join(f"{q} {merged[q]}" for q in sorted(merged))
    if fast is not None:
        fast.write(out, generation)
    else:
        _write(session, out, generation)


def rebuild(session: Session, keys: dict[str, list[str]]) -> None:
    """Every document recomputed from the history for these projected answers (in the caller's write transaction)."""
    t = RankingState.__table__  # type: ignore[attr-defined]
    session.execute(update(t).where(t.c.id == 1).values(keys=_dumps(keys)))
    generation, _ = bump(session, facilities=True)
    session.execute(AnswerProjection.__table__.delete())  # type: ignore[attr-defined]
    fids = list(session.execute(select(Response.facility_id).distinct()).scalars())  # type: ignore[call-overload]
    for i in range(0, len(fids), 2000):
        _write(session, _compute(session, keys, fids[i : i + 2000]), generation)


def ensure(session: Session, profiles: Any) -> bool:
    """Build the projection (or extend it) when the profiles read answers it does not hold; True if rebuilt."""
    need = needed_keys(profiles)
    have = state(session).keys
    if have is not None and all(set(k) <= set(have.get(q, ())) for q, k in need.items()):
        return False
    merged = {
        q: sorted(set(need.get(q, ())) | set((have or {}).get(q, ()))) for q in sorted({*need, *(have or {})})
    }
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(7300002)"))
        have = state(session).keys  # another process may have built it meanwhile
        if have is not None and all(set(k) <= set(have.get(q, ())) for q, k in merged.items()):
            return False
    rebuild(session, merged)
    return True


def bulk_written(session: Session) -> None:
    """After rows were written around the write paths (demo data): every document recomputed, if built."""
    keys = state(session).keys
    if keys is None:
        touch(session, facilities=True)
    else:
        rebuild(session, keys)
