"""Reading a frozen ranking through its pages (GET /rankings/{id}/items and /selection), as clients do."""

from __future__ import annotations

from typing import Any


def walk(
    client: Any, path: str, headers: dict[str, str], first_cursor: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a paged collection, following next_cursor from `first_cursor` (None: the start)."""
    out: list[dict[str, Any]] = []
    cursor = first_cursor
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=q, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out


def all_items(
    client: Any, doc: dict[str, Any], headers: dict[str, str], limit: int = 100
) -> list[dict[str, Any]]:
    """The document's first page followed by the rest of its items."""
    rest = (
        walk(client, f"/api/v1/rankings/{doc['id']}/items", headers, doc["items_next_cursor"], limit=limit)
        if doc["items_next_cursor"]
        else []
    )
    return [*doc["items"], *rest]


def full_selection(client: Any, doc: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """The document's selection summary with its `selected` and `not_selectable` lists read from the pages."""
    sel = dict(doc["selection"])
    path = f"/api/v1/rankings/{doc['id']}/selection"
    sel["selected"] = walk(client, path, headers, limit=1000)
    sel["not_selectable"] = [
        s["facility_id"] for s in walk(client, path, headers, part="not_selectable", limit=1000)
    ]
    assert len(sel["selected"]) == sel["selected_count"]
    assert len(sel["not_selectable"]) == sel["not_selectable_count"]
    return sel
