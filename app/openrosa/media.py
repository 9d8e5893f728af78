"""The form media a key downloads with every form: the facilities, provinces and wards of its scope, and the
point projects supporting its facilities (for result reports), as CSV.

The XForm is the same for everyone; these files are what makes it fit one key. `facilities.csv` starts with
the `_new` row (register a new facility inline), then every facility in the key's provinces by name, each
labelled so that a person can tell two similar names apart (ward, province, tax code). Collect searches the
labels as the person types. Files are rebuilt only when the facilities in scope change (see `media_files`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.openrosa.xform import NEW
from app.places import service as places

NEW_LABEL = "+ Cơ sở mới, chưa có trong danh sách (New establishment)"
FILES = ("facilities.csv", "provinces.csv", "wards.csv", "point_projects.csv")


@dataclass(frozen=True)
class MediaFile:
    name: str
    content: bytes

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _ward_name(province_code: str, ward_code: str | None) -> str | None:
    if not ward_code:
        return None
    ward = (places.wards(province_code) or {}).get(ward_code)
    return ward["name"] if ward else None


def facilities_csv(rows: Iterable[tuple[str, str, str | None, str, str | None]]) -> bytes:
    """rows: (id, name, tax_code, province_code, ward_code), in the order to list them."""
    names = places.provinces()

    def label(name: str, tax: str | None, prov: str, ward: str | None) -> str:
        where = ", ".join(p for p in (_ward_name(prov, ward), names.get(prov, prov)) if p)
        return f"{name} – {where}" + (f" (MST {tax})" if tax else "")

    out = [(NEW, NEW_LABEL)]
    out += [(fid, label(name, tax, prov, ward)) for fid, name, tax, prov, ward in rows]
    return _csv(("name", "label"), out)


def provinces_csv(codes: Iterable[str]) -> bytes:
    names = places.provinces()
    return _csv(("name", "label"), [(c, names[c]) for c in sorted(codes) if c in names])


def wards_csv(codes: Iterable[str]) -> bytes:
    rows = []
    for prov in sorted(codes):
        for code, ward in (places.wards(prov) or {}).items():
            rows.append((code, ward["name"], prov))
    return _csv(("name", "label", "province"), rows)


class MediaCache:
    """Built media per (scope, state of the facilities in it); a few entries, least recently used dropped."""

    def __init__(self, size: int = 16) -> None:
        self._items: OrderedDict[tuple[object, ...], dict[str, MediaFile]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> dict[str, MediaFile] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], files: dict[str, MediaFile]) -> None:
        with self._lock:
            self._items[key] = files
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def projects_csv(rows: Iterable[tuple[str, str, str]]) -> bytes:
    """rows: (project code, label, facility id): each supported facility of the key with each project supporting
    it (a form filters the list by the facility picked: `facility`)."""
    return _csv(("name", "label", "facility"), rows)


def build(
    provinces: Iterable[str],
    facilities: Iterable[tuple[str, str, str | None, str, str | None]],
    projects: Iterable[tuple[str, str, str]] = (),
) -> dict[str, MediaFile]:
    codes = list(provinces)
    return {
        "facilities.csv": MediaFile("facilities.csv", facilities_csv(facilities)),
        "provinces.csv": MediaFile("provinces.csv", provinces_csv(codes)),
        "wards.csv": MediaFile("wards.csv", wards_csv(codes)),
        "point_projects.csv": MediaFile("point_projects.csv", projects_csv(projects)),
    }
