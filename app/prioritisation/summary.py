"""What a frozen ranking says about provinces: candidates, selected and previously supported, per province.

Read from the stored ranking's rows (candidates, selection) and from the facilities as they were at the ranking's
`as_of` (prior support), so the figures are the same every time the ranking is shown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import object_session
from sqlmodel import Session

from app.models import Ranking
from app.prioritisation import data, rankings


@dataclass(frozen=True)
class ProvinceCounts:
    province_code: str
    candidates: int
    selected: int
    previously_supported: int  # candidates that had received support before (prior_support_count > 0)


def province_counts(*, session: Session, ranking: Ranking) -> list[ProvinceCounts]:
    """Per province of the ranking's candidates, most candidates first (then by code)."""
    candidates, selected = rankings.province_tallies(session, ranking)
    supported: Counter[str] = Counter()
    if candidates:
        ids = rankings.facility_ids(session, ranking)
        for snap in data.facilities_as_of(session, ranking.as_of, sorted(candidates)):
            if snap.id in ids and (snap.attrs.get("prior_support_count") or 0) > 0:
                supported[snap.province_code] += 1
    return [
        ProvinceCounts(p, candidates[p], selected.get(p, 0), supported.get(p, 0))
        for p in sorted(candidates, key=lambda p: (-candidates[p], p))
    ]


def selected_items(ranking: Ranking, session: Session | None = None) -> list[dict[str, Any]]:
    """The selected facilities in rank order, each with its ranked item's facility summary and its cost
    (read from the ranking's rows, in the ranking's own session unless one is given)."""
    session = session or object_session(ranking)  # type: ignore[assignment]
    assert session is not None, "a ranking read through rankings.get"
    return list(rankings.iter_selected(session, ranking))
