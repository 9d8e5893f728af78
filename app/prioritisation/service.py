"""Ranking: as-of data → criteria matrix (missing and stale resolved) → method → ordered, explained items."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import numpy as np
from sqlmodel import Session

from app.access.deps import Principal
from app.core.errors import Invalid
from app.models.types import utcnow
from app.prioritisation import data
from app.prioritisation.methods import METHODS
from app.prioritisation.profiles import Criterion, Profile, Source
from app.questionnaires.registry import Registry

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
    if as_of is None:
        return default_as_of()
    if as_of.tzinfo is None:
        raise Invalid(
            "as_of needs a time-zone offset.",
            errors=[
                {
                    "path": path,
                    "code": "naive_datetime",
                    "message": "Write as_of as RFC 3339 with an offset, e.g. 2026-11-20T00:00:00+07:00.",
                }
            ],
        )
    as_of = as_of.astimezone(UTC)
    if as_of > utcnow():
        raise Invalid(
            "as_of is in the future.",
            errors=[
                {
                    "path": path,
                    "code": "in_future",
                    "message": "A ranking can only use data received up to now.",
                }
            ],
        )
    return as_of


def _provinces(principal: Principal, filters: Filters) -> list[str] | None:
    wanted = set(filters.province_code) if filters.province_code else None
    if principal.provinces is not None:
        wanted = set(principal.provinces) if wanted is None else wanted & set(principal.provinces)
    return None if wanted is None else sorted(wanted)


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


class _Answers:
    """Per questionnaire: every as-of response row, indexed by facility; picks the latest carrying a question."""

    def __init__(self, registry: Registry, rows: dict[str, list[data.AnswerRow]]) -> None:
        self.registry = registry
        self.by_facility: dict[str, dict[str, list[data.AnswerRow]]] = {}
        for q, rs in rows.items():
            idx: dict[str, list[data.AnswerRow]] = {}
            for r in rs:
                idx.setdefault(r.facility_id, []).append(r)
            for lst in idx.values():
                lst.sort(key=lambda r: (r.collected_at, r.seq), reverse=True)
            self.by_facility[q] = idx
        self._carriers: dict[tuple[str, str], set[int]] = {}

    def latest(self, src: Source, facility_id: str) -> data.AnswerRow | None:
        key = (src.questionnaire or "", src.name)
        if key not in self._carriers:
            self._carriers[key] = {d.version for d in self.registry.questions_by_id(key[0]).get(src.name, [])}
        versions = self._carriers[key]
        for r in self.by_facility.get(key[0], {}).get(facility_id, []):
            if r.version in versions:
                return r
        return None


def _resolve(
    src: Source, crit: Criterion, snap: data.Snapshot, answers: _Answers, cutoff: datetime | None
) -> tuple[float | None, data.AnswerRow | None, bool]:
    """(value, the response row it came from, stale)."""
    if src.kind == "facility":
        return snap.attrs.get(src.name), None, False
    row = answers.latest(src, snap.id)
    if row is None:
        return None, None, False
    if cutoff is not None and row.collected_at < cutoff:
        return None, row, True
    return _value(row.answers.get(src.name), crit), row, False


def rank(
    *,
    session: Session,
    registry: Registry,
    profile: Profile,
    principal: Principal,
    filters: Filters,
    as_of: datetime,
) -> dict[str, Any]:
    """The full ranking of every candidate, each item explaining itself; deterministic for the same inputs."""
    provinces = _provinces(principal, filters)
    everyone = data.facilities_as_of(session, as_of, provinces)
    snaps = [s for s in everyone
             if (not filters.sector or s.sector in filters.sector) and (not filters.kind or s.kind == filters.kind)]  # fmt: skip
    needs_coverage = any(
        s.name == "province_prior_support_count"
        for c in profile.criteria
        for s in (*c.sources, *([c.per] if c.per else []))
    )
    if needs_coverage:
        # Coverage counts every facility of the province, whatever the sector/kind filters; the snapshots
        # already loaded cover the candidate provinces completely, so no second pass over the table.
        counts: dict[str, int] = {}
        for e in everyone:
            if (e.attrs.get("prior_support_count") or 0) > 0:
                counts[e.province_code] = counts.get(e.province_code, 0) + 1
        for s in snaps:
            s.attrs["province_prior_support_count"] = float(counts.get(s.province_code, 0))
    answers = _Answers(
        registry,
        {q: data.latest_revisions(session, q, as_of, provinces) for q in sorted(profile.questionnaires)},
    )
    cutoff = as_of - timedelta(days=profile.max_age_days) if profile.max_age_days else None

    n, m = len(snaps), len(profile.criteria)
    raw = np.full((n, m), np.nan)
    stale = np.zeros((n, m), dtype=bool)
    prov: list[list[tuple[str | None, str | None]]] = [[(None, None)] * m for _ in range(n)]
    for i, s in enumerate(snaps):
        for j, c in enumerate(profile.criteria):
            parts, rows, any_stale = [], [], False
            for src in c.sources:
                v, row, st = _resolve(src, c, s, answers, cutoff)
                any_stale |= st
                if v is not None:
                    parts.append(v)
                    if row is not None:
                        rows.append(row)
            value = sum(parts) if parts else None
            if value is not None and c.per is not None:
                d, row, st = _resolve(c.per, c, s, answers, cutoff)
                any_stale |= st
                value = value / d if d not in (None, 0) else None
                if row is not None and value is not None:
                    rows.append(row)
            if value is not None and math.isfinite(value):
                raw[i, j] = value
            stale[i, j] = any_stale and value is None
            if rows:
                newest = max(rows, key=lambda r: (r.collected_at, r.seq))
                prov[i][j] = (newest.response_id, newest.collected_at.isoformat())

    missing = np.isnan(raw)
    exclude_cols = np.array([c.missing == "exclude" for c in profile.criteria], dtype=bool)
    keep = ~(missing[:, exclude_cols].any(axis=1)) if exclude_cols.any() else np.ones(n, dtype=bool)
    idx = np.flatnonzero(keep)
    x = raw[idx].copy()
    miss = missing[idx]
    benefit = np.array([c.direction == "benefit" for c in profile.criteria], dtype=bool)
    w = np.array([c.weight for c in profile.criteria])
    for j, c in enumerate(profile.criteria):
        col = x[:, j]
        observed = col[~miss[:, j]]
        if c.missing == "zero" or observed.size == 0:
            col[miss[:, j]] = 0.0
        else:  # worst observed value: it normalises to the bottom of the column
            col[miss[:, j]] = observed.min() if benefit[j] else observed.max()
    if len(idx):
        scores, norm, contrib, constant = METHODS[profile.method](x, benefit, w)
    else:
        scores, norm, contrib, constant = (
            np.zeros(0),
            np.zeros((0, m)),
            np.zeros((0, m)),
            np.zeros(m, dtype=bool),
        )

    order = sorted(range(len(idx)), key=lambda k: (-round(float(scores[k]), 12), snaps[idx[k]].id))

    def item(rank_no: int) -> dict[str, Any]:
        k = order[rank_no - 1]
        i = idx[k]
        s = snaps[i]
        crits = []
        for j, c in enumerate(profile.criteria):
            rid, cat = prov[i][j]
            crits.append({
                "id": c.id, "raw": None if missing[i, j] else _clean(raw[i, j]), "normalised": _clean(norm[k, j]),
                "weight": _clean(w[j]), "contribution": _clean(contrib[k, j]), "response_id": rid, "collected_at": cat,
                "stale": bool(stale[i, j]),
            })  # fmt: skip
        return {
            "rank": rank_no, "facility": {"id": s.id, "name": s.name, "province_code": s.province_code, "sector": s.sector},
            "score": _clean(scores[k]), "criteria": crits,
            "missing": [c.id for j, c in enumerate(profile.criteria) if missing[i, j]],
        }  # fmt: skip

    return {
        "profile": {"key": profile.key, "version": profile.version, "hash": profile.content_hash},
        "method": profile.method,
        "as_of": as_of.isoformat().replace("+00:00", "Z"),
        "filters": filters.as_dict(),
        "candidates": len(idx),
        "excluded": int(n - len(idx)),
        "constant_criteria": [c.id for j, c in enumerate(profile.criteria) if len(idx) and constant[j]],
        "items": LazyItems(len(order), item),
    }


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
) -> dict[str, float | None]:
    """The cost of each ranked facility from a numeric source, as of the ranking's instant."""
    ids = {it["facility"]["id"] for it in items}
    if cost.kind == "facility":
        snaps = {s.id: s for s in data.facilities_as_of(session, as_of, provinces) if s.id in ids}
        return {fid: snaps[fid].attrs.get(cost.name) for fid in ids}
    answers = _Answers(
        registry,
        {
            cost.questionnaire or "": data.latest_revisions(
                session, cost.questionnaire or "", as_of, provinces
            )
        },
    )
    crit = Criterion(id="cost", sources=(cost,), direction="cost", weight=1.0, missing="exclude")
    out: dict[str, float | None] = {}
    for fid in ids:
        row = answers.latest(cost, fid)
        out[fid] = _value(row.answers.get(cost.name), crit) if row else None
    return out
