"""Ranking: as-of data → criteria matrix (missing and stale resolved) → method → ordered, explained items."""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import numpy as np
from sqlmodel import Session

from app.access import scope
from app.access.principal import Principal
from app.core.errors import Invalid
from app.models.types import utcnow
from app.prioritisation import data, projection
from app.prioritisation.methods import METHODS, weighted_sum_extended
from app.prioritisation.profiles import Condition, Criterion, Profile, Source
from app.questionnaires.registry import Registry
from app.review.states import DEFAULT_FILTER

# as_of caveat: a write is stamped received_at when inserted and is visible at commit, a few ms later
# (seconds for a big batch). An explicit as_of older than that reproduces exactly; frozen rankings
# store their result and never recompute.


@dataclass(frozen=True)
class Filters:
    province_code: tuple[str, ...] = ()
    sector: tuple[str, ...] = ()
    kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"province_code": list(self.province_code), "sector": list(self.sector), "kind": self.kind}


def default_as_of() -> datetime:
    return utcnow()


def check_as_of(as_of: datetime | None, path: str = "as_of") -> datetime:
    """The instant a ranking uses: `as_of` in UTC (now when absent); 422 when naive or in the future."""
    if as_of is None:
        return default_as_of()
    if as_of.tzinfo is None:
        raise Invalid.at(path, "naive_datetime", "Write as_of as RFC 3339 with an offset, e.g. 2026-11-20T00:00:00+07:00.",
                         detail="as_of needs a time-zone offset.")  # fmt: skip
    try:
        as_of = as_of.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Invalid.at(
            path, "out_of_range", "as_of is outside the range of instants this service stores."
        ) from None
    if as_of > utcnow():
        raise Invalid.at(
            path,
            "in_future",
            "A ranking can only use data received up to now.",
            detail="as_of is in the future.",
        )
    return as_of


def provinces_of(principal: Principal, filters: Filters) -> list[str] | None:
    """The provinces a ranking of this caller with these filters covers (None: every province)."""
    return scope.ranking_provinces(principal, filters.province_code)


def _value(raw: Any, crit: Criterion) -> float | None:
    if raw is None:
        return None
    if crit.map is not None and isinstance(raw, str):
        return crit.map.get(raw)
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:  # an integer beyond float range: not a usable score input
            return None
        return value if math.isfinite(value) else None
    return None


class _Columns:
    """Resolves criterion sources to candidate-aligned columns, in bulk.

    For an answer source, each candidate's value comes from its first as-of response in precedence order (an
    approved one, then the latest from field or office, then the latest portal one; latest by collected_at, then
    receive order) among the questionnaire versions that carry the question; rows arrive grouped by facility in
    that order, so one pass over a questionnaire's rows picks them for every candidate at once.
    """

    def __init__(
        self,
        registry: Registry,
        tables: dict[str, data.AnswerTable],
        snaps: list[data.Snapshot],
    ) -> None:
        self.registry, self.tables, self.snaps = registry, tables, snaps
        self.pos = {s.id: i for i, s in enumerate(snaps)}
        self._picks: dict[tuple[str, frozenset[int]], list[int]] = {}

    def picks(self, src: Source) -> list[int]:
        """Per candidate, the index of the row its value comes from in the questionnaire's table (-1: none)."""
        q = src.questionnaire or ""
        carriers = frozenset(d.version for d in self.registry.questions_by_id(q).get(src.name, []))
        key = (q, carriers)
        if key not in self._picks:
            t, pos = self.tables[q], self.pos
            out = [-1] * len(self.snaps)
            last = None
            for r, (fid, ver) in enumerate(zip(t.facility_id, t.version, strict=True)):
                if fid != last and ver in carriers:
                    last = fid
                    i = pos.get(fid)
                    if i is not None:
                        out[i] = r
            self._picks[key] = out
        return self._picks[key]

    def unasked(self, src: Source) -> np.ndarray:
        """Per candidate: it has responses to the source's questionnaire (counted under the filter, as of the
        instant) but none in a version that carries the question — the facility was never asked it."""
        n = len(self.snaps)
        if src.kind == "facility":
            return np.zeros(n, dtype=bool)
        t, pos = self.tables[src.questionnaire or ""], self.pos
        answered = np.zeros(n, dtype=bool)
        for fid in set(t.facility_id):
            i = pos.get(fid)
            if i is not None:
                answered[i] = True
        return answered & (np.array(self.picks(src), dtype=np.int64) < 0)

    def column(self, src: Source, crit: Criterion) -> tuple[np.ndarray, np.ndarray, list[int] | None]:
        """(values with NaN for missing, stale flags, row per candidate or None for a facility field)."""
        n = len(self.snaps)
        vals = np.full(n, np.nan)
        stale = np.zeros(n, dtype=bool)
        if src.kind == "facility":
            got = [s.attrs.get(src.name) for s in self.snaps]
            vals[:] = [np.nan if v is None else v for v in got]
            return vals, stale, None
        rows = self.picks(src)
        t = self.tables[src.questionnaire or ""]
        answers, old = t.answers[src.name], t.old
        memo: dict[Any, float | None] = {}  # answers repeat: each distinct one is valued once
        for i, r in enumerate(rows):
            if r < 0:
                continue
            if old[r]:  # collected before the profile's max_age_days: missing, and flagged
                stale[i] = True
                continue
            a = answers[r]
            try:
                v = memo[a]
            except KeyError:
                v = memo[a] = _value(a, crit)
            except TypeError:  # a list (select_multiple): not hashable
                v = _value(a, crit)
            if v is not None:
                vals[i] = v
        return vals, stale, rows

    def raw(self, src: Source, kind: str) -> list[Any]:
        """Per candidate, the answer as a condition compares it (None: missing or stale).

        SQLite extracts yes/no answers as 1/0 and lists as JSON text; PostgreSQL returns JSON values: both are
        brought to True/False and lists here, by the answer's type.
        """
        if src.kind == "facility":
            return [s.attrs.get(src.name) for s in self.snaps]
        t = self.tables[src.questionnaire or ""]
        answers, old = t.answers[src.name], t.old
        out: list[Any] = []
        for r in self.picks(src):
            v = None if r < 0 or old[r] else answers[r]
            if v is not None:
                if kind == "boolean":
                    v = bool(v) if isinstance(v, bool | int) else None
                elif kind == "select_multiple" and isinstance(v, str):
                    v = json.loads(v)
            out.append(v)
        return out


def _holds(cond: Condition, cols: _Columns, n: int) -> np.ndarray:
    """Where a condition holds, per candidate; a condition on a missing (or stale) value does not hold, as
    relevance on an unanswered question is false in the questionnaires."""
    if cond.op in ("all", "any"):
        parts = [_holds(p, cols, n) for p in cond.parts]
        return np.logical_and.reduce(parts) if cond.op == "all" else np.logical_or.reduce(parts)
    assert cond.source is not None
    values = cols.raw(cond.source, cond.kind)
    wanted = list(cond.value) if cond.op == "in" else [cond.value]
    if cond.kind == "number":
        x = np.array([np.nan if v is None or isinstance(v, bool) else float(v) for v in values], dtype=float)
        with np.errstate(invalid="ignore"):
            if cond.op in ("equals", "in"):
                return np.isin(x, np.array(wanted, dtype=float))
            return {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}[cond.op](
                x, float(cond.value)
            )  # NaN compares False
    if cond.kind == "select_multiple":
        codes = set(wanted)
        return np.array([isinstance(v, list) and any(c in codes for c in v) for v in values], dtype=bool)
    if cond.kind == "boolean":
        return np.array([v is not None and any(v is w for w in wanted) for v in values], dtype=bool)
    codes = set(wanted)
    return np.array([isinstance(v, str) and v in codes for v in values], dtype=bool)


def _coverage(everyone: list[data.Snapshot], snaps: list[data.Snapshot]) -> None:
    """Set `province_prior_support_count` on `snaps`: supported facilities of their province among `everyone`.

    Coverage counts every facility of the province, whatever the sector/kind filters; the snapshots already
    loaded cover the candidate provinces completely, so no second pass over the table."""
    counts: dict[str, int] = {}
    for e in everyone:
        if (e.attrs.get("prior_support_count") or 0) > 0:
            counts[e.province_code] = counts.get(e.province_code, 0) + 1
    for s in snaps:
        s.attrs["province_prior_support_count"] = float(counts.get(s.province_code, 0))


def _needed_keys(sources: list[Source]) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    for s in sources:
        if s.kind != "facility":
            out.setdefault(s.questionnaire or "", set()).add(s.name)
    return {q: tuple(sorted(keys)) for q, keys in out.items()}


# -- the criterion matrix and its states ------------------------------------------------------------------

VALUE, MISSING, NOT_ASKED, NOT_APPLICABLE, STALE = range(5)
STATE_NAMES = ("value", "missing", "not_asked", "not_applicable", "stale")


def _matrix(
    profile: Profile, cols: _Columns, tables: dict[str, data.AnswerTable], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[tuple[np.ndarray, data.Provenance]]]]:
    """Inputs → the criterion matrix: per candidate and criterion its value (NaN: none usable), whether the
    answer was too old (stale), whether the facility's questionnaire version never asked it, and per criterion
    what provenance needs (each answer source's values and, per candidate, the response its value came from:
    only these small columns stay with a cached ranking; items are explained when a page builds them)."""
    m = len(profile.criteria)
    raw = np.full((n, m), np.nan)
    stale = np.zeros((n, m), dtype=bool)
    unasked = np.zeros((n, m), dtype=bool)
    trace: list[list[tuple[np.ndarray, data.Provenance]]] = []
    for j, c in enumerate(profile.criteria):
        value = np.full(n, np.nan)
        count = np.zeros(n)
        any_stale = np.zeros(n, dtype=bool)
        never = np.ones(n, dtype=bool)  # every summed source unasked
        tj: list[tuple[np.ndarray, data.Provenance]] = []
        for src in c.sources:  # summed left to right, missing parts skipped, as a planner adds them
            v, st, rows = cols.column(src, c)
            any_stale |= st
            never &= cols.unasked(src)
            seen = ~np.isnan(v)
            count += seen
            value = np.where(seen, np.where(np.isnan(value), 0.0, value) + np.where(seen, v, 0.0), value)
            if rows is not None:
                tj.append((v, tables[src.questionnaire or ""].provenance(rows)))
        if c.combine == "mean":  # over the sources that hold a value
            value = np.where(count > 0, value / np.where(count > 0, count, 1.0), np.nan)
        if c.per is not None:
            d, st, rows = cols.column(c.per, c)
            has = ~np.isnan(value)
            any_stale |= st & has
            never |= has & cols.unasked(c.per)
            ok = has & ~np.isnan(d) & (d != 0)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                value = np.where(ok, value / np.where(ok, d, 1.0), np.nan)
            if rows is not None:
                tj.append((value, tables[c.per.questionnaire or ""].provenance(rows)))
        raw[:, j] = np.where(np.isfinite(value), value, np.nan)
        stale[:, j] = any_stale & np.isnan(value)
        unasked[:, j] = never & np.isnan(value) & ~stale[:, j]
        trace.append(tj)
    return raw, stale, unasked, trace


def criterion_states(
    raw: np.ndarray, stale: np.ndarray, unasked: np.ndarray, applies: np.ndarray
) -> np.ndarray:
    """Per cell, what the criterion did (VALUE … STALE): `not_applicable` where applies_when does not hold
    (whatever the value), else `stale`, `not_asked`, `missing` (asked, not answered) or `value`."""
    state = np.where(np.isnan(raw), MISSING, VALUE)
    state = np.where(unasked, NOT_ASKED, state)
    state = np.where(stale, STALE, state)
    return np.where(applies, state, NOT_APPLICABLE).astype(np.int8)


def _policy(c: Criterion, state: int) -> str:
    """How a cell without a value counts: the criterion's `missing` policy, or its `not_asked` one."""
    return c.not_asked_policy if state == NOT_ASKED else c.missing


def _kept(profile: Profile, state: np.ndarray) -> np.ndarray:
    """Candidates left in: a cell without a value (that applies) under an `exclude` policy leaves it out."""
    keep = np.ones(state.shape[0], dtype=bool)
    for j, c in enumerate(profile.criteria):
        for s in (MISSING, STALE, NOT_ASKED):
            if _policy(c, s) == "exclude":
                keep &= state[:, j] != s
    return keep


def resolve(
    profile: Profile, raw: np.ndarray, state: np.ndarray, benefit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The matrix a method reads, by each criterion's policies: (values with every gap filled, the cells that
    count as the normalised value 0.5, the cells that carry weight). `worst` is the worst value observed among
    the candidates the criterion applies to (it normalises to the bottom); `zero` is 0; a `not_applicable`
    cell carries no weight (`redistribute`) or counts 0.5 at its weight (`neutral`)."""
    x = raw.copy()
    neutral = np.zeros(state.shape, dtype=bool)
    weighted = state != NOT_APPLICABLE
    for j, c in enumerate(profile.criteria):
        col, sj = x[:, j], state[:, j]
        observed = col[sj == VALUE]
        for s in (MISSING, STALE, NOT_ASKED):
            cells = sj == s
            how = _policy(c, s)
            if how == "neutral":
                neutral[:, j] |= cells
                col[cells] = 0.0
            elif how == "zero" or observed.size == 0:
                col[cells] = 0.0
            else:
                col[cells] = observed.min() if benefit[j] else observed.max()
        if c.not_applicable == "neutral":
            neutral[:, j] |= sj == NOT_APPLICABLE
            weighted[:, j] = True
        col[np.isnan(col)] = 0.0
    return x, neutral, weighted


def rank(
    *,
    session: Session,
    registry: Registry,
    profile: Profile,
    principal: Principal,
    filters: Filters,
    as_of: datetime,
    review: str = DEFAULT_FILTER,
    present: projection.State | None = None,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The full ranking of every candidate, each item explaining itself; deterministic for the same inputs.

    `review` decides which responses count (app.review.states): their review states as of `as_of`.
    `present`: the ranking state read in this transaction when it covers `as_of` (no write is newer): the
    inputs come from the answer projection, one row per facility, instead of the history; `info` then gets
    `fresh_until` (see data.Present)."""
    provinces = provinces_of(principal, filters)
    cutoff = as_of - timedelta(days=profile.max_age_days) if profile.max_age_days else None
    keys = _needed_keys([s for c in profile.criteria for s in c.all_sources])
    if present is not None:
        now = data.present(session, present, as_of, provinces, keys, review, cutoff)
        everyone, tables = now.snapshots, now.tables
        if info is not None:
            info["fresh_until"] = now.fresh_until
    else:
        everyone = data.facilities_as_of(session, as_of, provinces)
        # Facilities that were elsewhere at as_of (moved since) carry their responses' current province.
        moved = [e.id for e in everyone if e.moved]
        tables = {
            q: data.latest_revisions(session, q, keys[q], as_of, provinces, cutoff, moved, review=review)
            for q in sorted(keys)
        }
    snaps = [s for s in everyone
             if (not filters.sector or s.sector in filters.sector) and (not filters.kind or s.kind == filters.kind)]  # fmt: skip
    needs_coverage = any(
        s.name == "province_prior_support_count" for c in profile.criteria for s in c.all_sources
    )
    if needs_coverage:
        _coverage(everyone, snaps)
    cols = _Columns(registry, tables, snaps)

    n, m = len(snaps), len(profile.criteria)
    raw, stale, unasked, trace = _matrix(profile, cols, tables, n)

    def provenance(i: int, j: int) -> tuple[str | None, str | None, str | None]:
        """(response id, collected_at, channel) of the response a criterion's value came from (the newest of its
        sources' responses)."""
        found = [(pv.collected(i), pv.seq[i], pv.response_id[i], pv.channel(i))
                 for v, pv in trace[j] if pv.response_id[i] is not None and not np.isnan(v[i])]  # fmt: skip
        if not found:
            return None, None, None
        newest = max(found, key=lambda f: (f[0], f[1]))
        return newest[2], newest[0].isoformat(), newest[3]

    # Where each criterion concerns each candidate (applies_when); elsewhere it is neutral, whatever its value.
    applies = np.ones((n, m), dtype=bool)
    for j, c in enumerate(profile.criteria):
        if c.applies_when is not None:
            applies[:, j] = _holds(c.applies_when, cols, n)
    state = criterion_states(raw, stale, unasked, applies)
    keep = _kept(profile, state)
    idx = np.flatnonzero(keep)
    st = state[idx]
    benefit = np.array([c.direction == "benefit" for c in profile.criteria], dtype=bool)
    w = np.array([c.weight for c in profile.criteria])
    x, neutral, weighted = resolve(profile, raw[idx], st, benefit)
    eff: np.ndarray | None = None
    if not len(idx):
        scores, norm, contrib, constant = (
            np.zeros(0),
            np.zeros((0, m)),
            np.zeros((0, m)),
            np.zeros(m, dtype=bool),
        )
    elif profile.extended and profile.method == "weighted_sum":
        how = [c.normalise for c in profile.criteria]
        scores, norm, contrib, constant, eff = weighted_sum_extended(x, benefit, w, how, weighted, neutral)
    else:  # a profile written before the extensions: computed exactly as it always was
        scores, norm, contrib, constant = METHODS[profile.method](x, benefit, w)
    missing = np.isnan(raw)
    app = applies[idx]

    # Best score first (12 decimals, Python's rounding), then facility id: sorted in numpy, not key by key.
    rounded = np.array([-round(v, 12) for v in scores.tolist()], dtype=float)
    ids = np.array([snaps[i].id for i in idx.tolist()], dtype=str)
    order = np.lexsort((ids, rounded)).tolist() if len(idx) else []

    def item(rank_no: int) -> dict[str, Any]:
        k = order[rank_no - 1]
        i = idx[k]
        s = snaps[i]
        crits = []
        for j, c in enumerate(profile.criteria):
            rid, cat, channel = provenance(i, j)
            used = _clean(eff[k, j]) if eff is not None else _clean(w[j])
            crit = {
                "id": c.id, "raw": None if missing[i, j] else _clean(raw[i, j]), "normalised": _clean(norm[k, j]),
                "weight": _clean(w[j]), "contribution": _clean(contrib[k, j]), "response_id": rid, "collected_at": cat,
                "channel": channel, "stale": bool(stale[i, j]), "state": STATE_NAMES[st[k, j]], "weight_used": used,
            }  # fmt: skip
            if profile.extended:  # the extensions' fields, named only by profiles that use them
                on = bool(app[k, j])
                crit = {
                    "id": c.id, "raw": crit["raw"], "normalised": crit["normalised"] if weighted[k, j] else None,
                    "normalise": c.normalise if profile.method == "weighted_sum" else "vector", "applies": on,
                    "weight": crit["weight"], "effective_weight": used, "weight_used": used, "state": crit["state"],
                    "contribution": crit["contribution"], "response_id": rid, "collected_at": cat, "channel": channel,
                    "stale": crit["stale"],
                }  # fmt: skip
            crits.append(crit)
        return {
            "rank": rank_no, "facility": {"id": s.id, "name": s.name, "province_code": s.province_code, "sector": s.sector},
            "score": _clean(scores[k]), "criteria": crits,
            "missing": [c.id for j, c in enumerate(profile.criteria) if st[k, j] == MISSING],
        }  # fmt: skip

    return {
        "profile": {"key": profile.key, "version": profile.version, "hash": profile.content_hash},
        "method": profile.method,
        "as_of": as_of.isoformat().replace("+00:00", "Z"),
        "filters": filters.as_dict(),
        "review": review,
        "candidates": len(idx),
        "excluded": int(n - len(idx)),
        "constant_criteria": [c.id for j, c in enumerate(profile.criteria) if len(idx) and constant[j]],
        "items": LazyItems(len(order), item),
    }


class _RankingCache:
    """The last few rankings computed in this process: rankings are pure functions of (profile, filters,
    scope, as_of), so the pages of one ranking reuse it. Guarded by a lock (requests run in several threads);
    the computation itself runs outside it."""

    def __init__(self, size: int = 8) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._size = size

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        result = compute()
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _RankingCache()


class _PresentCache:
    """Present rankings of this process per (inputs, data generation): valid for an instant from the one computed
    for up to `until` (exclusive), re-stamped with the instant asked for. Old generations are dropped."""

    def __init__(self, size: int = 16) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], tuple[int, datetime, datetime, dict[str, Any]]] = (
            OrderedDict()
        )
        self._size = size

    def get(self, inputs: tuple[Any, ...], generation: int, as_of: datetime) -> dict[str, Any] | None:
        with self._lock:
            hit = self._items.get(inputs)
            if hit is None or hit[0] != generation or not hit[1] <= as_of < hit[2]:
                return None
            self._items.move_to_end(inputs)
            result = hit[3]
        return {**result, "as_of": as_of.isoformat().replace("+00:00", "Z")}

    def put(self, inputs: tuple[Any, ...], generation: int, as_of: datetime, until: datetime,
            result: dict[str, Any]) -> None:  # fmt: skip
        with self._lock:
            if (old := self._items.get(inputs)) is not None and old[0] > generation:
                return
            self._items[inputs] = (generation, as_of, until, result)
            self._items.move_to_end(inputs)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_present = _PresentCache()


def ranked(
    *,
    session: Session,
    registry: Registry,
    profile: Profile,
    principal: Principal,
    filters: Filters,
    as_of: datetime,
    review: str = DEFAULT_FILTER,
) -> dict[str, Any]:
    """`rank`, reusing this process's recent results for the same inputs (the pages of one ranking).

    When no write is newer than `as_of` (the default, now), the ranking comes from the answer projection and
    is cached per data generation: it is reused for any later instant until a write, the new year, or a
    response turning stale under the profile's max_age_days (`fresh_until`) changes it."""
    inputs = (profile.key, profile.version, profile.content_hash, filters, principal.provinces, review)
    st = projection.state(session)
    if st.covers(as_of, _needed_keys([s for c in profile.criteria for s in c.all_sources])):
        hit = _present.get(inputs, st.generation, as_of)
        if hit is not None:
            return hit
        info: dict[str, Any] = {}
        with data.no_cycle_collection():
            result = rank(session=session, registry=registry, profile=profile, principal=principal, filters=filters,
                          as_of=as_of, review=review, present=st, info=info)  # fmt: skip
        if projection.state(session).generation == st.generation:  # nothing committed in between (PostgreSQL)
            year_end = datetime(as_of.year + 1, 1, 1, tzinfo=UTC)
            until = (
                year_end
                if info["fresh_until"] is None
                else min(year_end, projection.from_micros(info["fresh_until"]))
            )
            _present.put(inputs, st.generation, as_of, until, result)
        return result
    key = (*inputs, as_of.isoformat())

    def compute() -> dict[str, Any]:
        with data.no_cycle_collection():
            return rank(session=session, registry=registry, profile=profile, principal=principal, filters=filters,
                        as_of=as_of, review=review)  # fmt: skip

    return _cache.get_or_compute(key, compute)


class LazyItems(Sequence[dict[str, Any]]):
    """Ranked items built on demand: a page of 100 out of 80,000 candidates explains only those 100."""

    def __init__(self, n: int, build: Callable[[int], dict[str, Any]]) -> None:
        self._n, self._build = n, build

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self._build(r + 1) for r in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._build(i % self._n + 1)


def _clean(v: float) -> float:
    """Round to 12 decimals: stable text across runs, far below any meaningful difference."""
    return float(round(float(v), 12)) + 0.0


def cost_values(
    *,
    session: Session,
    registry: Registry,
    cost: Source,
    as_of: datetime,
    items: list[dict[str, Any]],
    provinces: list[str] | None,
    review: str = DEFAULT_FILTER,
) -> dict[str, float | None]:
    """The cost of each ranked facility from a numeric source, as of the ranking's instant (from the responses
    that count under the ranking's `review` filter)."""
    ids = {it["facility"]["id"] for it in items}
    if cost.kind == "facility":
        by_id = {s.id: s for s in data.facilities_as_of(session, as_of, provinces) if s.id in ids}
        return {fid: by_id[fid].attrs.get(cost.name) for fid in ids}
    ranked = [data.Snapshot(fid, "", "", "", "", {}) for fid in sorted(ids)]
    q = cost.questionnaire or ""
    moved = data.moved_ids(session, as_of, provinces)
    table = data.latest_revisions(session, q, (cost.name,), as_of, provinces, None, moved, review=review)
    crit = Criterion(id="cost", sources=(cost,), direction="cost", weight=1.0, missing="exclude")
    vals, _, _ = _Columns(registry, {q: table}, ranked).column(cost, crit)
    return {s.id: None if np.isnan(v) else float(v) for s, v in zip(ranked, vals, strict=True)}


def support_costs(
    *,
    session: Session,
    registry: Registry,
    profile: Profile,
    as_of: datetime,
    items: list[dict[str, Any]],
    provinces: list[str] | None,
    review: str = DEFAULT_FILTER,
    kinds_out: dict[str, str | None] | None = None,
) -> dict[str, float | None]:
    """What the programme would pay each ranked facility under the profile's `support_cost`: by the first rule
    whose applies_when holds, min(cap, max(floor, share × source)) in whole VND. None (not selectable) when no
    rule applies or its source has no usable value, including one older than the profile's max_age_days, or
    none from a response that counts under the ranking's `review` filter. `kinds_out` gets each facility's
    kind of support: the id of the rule that priced it (selections bound and filter by it)."""
    rule_set = profile.support_cost
    assert rule_set is not None
    ids = {it["facility"]["id"] for it in items}
    everyone = data.facilities_as_of(session, as_of, provinces)
    if any(s.name == "province_prior_support_count" for s in rule_set.sources):
        _coverage(everyone, everyone)
    snaps = [s for s in everyone if s.id in ids]
    cutoff = as_of - timedelta(days=profile.max_age_days) if profile.max_age_days else None
    keys = _needed_keys(list(rule_set.sources))
    moved = data.moved_ids(session, as_of, provinces)
    tables = {
        q: data.latest_revisions(session, q, keys[q], as_of, provinces, cutoff, moved, review=review)
        for q in sorted(keys)
    }
    cols = _Columns(registry, tables, snaps)
    n = len(snaps)
    costs: list[float | None] = [None] * n
    open_ = np.ones(n, dtype=bool)  # not yet claimed by an earlier rule
    for rule in rule_set.rules:
        holds = (
            _holds(rule.applies_when, cols, n) if rule.applies_when is not None else np.ones(n, dtype=bool)
        )
        crit = Criterion(id="cost", sources=(rule.source,), direction="cost", weight=1.0, missing="exclude")
        values, _, _ = cols.column(rule.source, crit)
        for i in np.flatnonzero(holds & open_).tolist():
            costs[i] = None if np.isnan(values[i]) else rule.of(float(values[i]))
            if kinds_out is not None:
                kinds_out[snaps[i].id] = rule.id
        open_ &= ~holds
    return {s.id: c for s, c in zip(snaps, costs, strict=True)}
