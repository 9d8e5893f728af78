"""What a frozen ranking says about provinces: candidates, selected and previously supported, per province.

Read from the stored result (candidates, selection) and from the facilities as they were at the ranking's
`as_of` (prior support), so the figures are the same every time the ranking is shown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.models import Ranking
from app.prioritisation import data


@dataclass(frozen=True)
class ProvinceCounts:
    province_code: str
    candidates: int
    selected: int
    previously_supported: int  # candidates that had received support before (prior_support_count > 0)


def province_counts(*, session: Session, ranking: Ranking) -> list[ProvinceCounts]:
    """Per province of the ranking's candidates, most candidates first (then by code)."""
    items: list[dict[str, Any]] = ranking.result.get("items") or []
    candidates = Counter(it["facility"]["province_code"] for it in items)
    selection = ranking.result.get("selection") or {}
    selected = Counter(s["province_code"] for s in selection.get("selected", []))
    ids = {it["facility"]["id"] for it in items}
    supported: Counter[str] = Counter()
    if ids:
        for snap in data.facilities_as_of(session, ranking.as_of, sorted(candidates)):
            if snap.id in ids and (snap.attrs.get("prior_support_count") or 0) > 0:
                supported[snap.province_code] += 1
    return [
        ProvinceCounts(p, candidates[p], selected.get(p, 0), supported.get(p, 0))
        for p in sorted(candidates, key=lambda p: (-candidates[p], p))
    ]


def selected_items(ranking: Ranking) -> list[dict[str, Any]]:
    """The selected facilities in rank order, each with its ranked item's facility summary and its cost."""
    selection = ranking.result.get("selection") or {}
    by_id = {it["facility"]["id"]: it for it in ranking.result.get("items") or []}
    out = []
    for s in selection.get("selected", []):
        item = by_id.get(s["facility_id"], {})
        out.append({**s, "facility": item.get("facility", {"id": s["facility_id"], "name": s["facility_id"],
                                                            "province_code": s["province_code"], "sector": None})})  # fmt: skip
    return out
