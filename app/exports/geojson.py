"""GeoJSON downloads for mapping tools (RFC 7946): a FeatureCollection streamed feature by feature.

Points are [longitude, latitude] in WGS 84, as devices record them. Facilities are placed at their registered
location. A response is placed where it was collected (its latest revision's `location`) and, when it carries
none, at its facility's location; `properties.location_source` says which (`response` | `facility`).
Features without any location are left out and counted: the collection ends with the foreign members
`exported` (features written) and `without_location` (left out), after the last feature.
Values are exact (JSON, not a spreadsheet: no formula neutralisation); `labels=vi|en` names properties and
choices as in the CSV.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import type_coerce
from sqlalchemy.types import NullType

from app.access.principal import Principal
from app.core.db import session_scope
from app.core.pagination import Keyset, pages
from app.exports import labels as L
from app.exports import service as tables
from app.exports.labels import Lang
from app.models import Facility, Response, ResponseRevision
from app.questionnaires.definition import Definition
from app.responses import service as responses
from app.review.states import derive

MEDIA_TYPE = "application/geo+json"
BATCH = 500
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _point(location: Any) -> dict[str, Any] | None:
    if isinstance(location, str):
        location = json.loads(location)
    if not isinstance(location, dict) or location.get("lat") is None or location.get("lon") is None:
        return None
    return {"type": "Point", "coordinates": [location["lon"], location["lat"]]}


# After the CSV's fixed columns and before the answers: the review state now, where the point comes from, and
# the device's accuracy when it is the response's own location.
EXTRA_PROPERTIES = ("review_state", "location_source", "accuracy_m")


def _namer(table: dict[str, dict[str, str]], labels: Lang | None) -> Callable[[str], str]:
    if labels is None:
        return str
    return lambda code: L.named(table, code, labels)


def collection(name: str, features: Iterator[dict[str, Any] | None]) -> Iterator[bytes]:
    """A FeatureCollection, written as features come (None: one left out for want of a location)."""
    head = f'{{"type":"FeatureCollection","name":{_dumps(name)},"features":['
    buf: list[str] = [head]
    written = left_out = 0
    for f in features:
        if f is None:
            left_out += 1
            continue
        buf.append(("\n" if written == 0 else ",\n") + _dumps(f))
        written += 1
        if len(buf) >= BATCH:
            yield "".join(buf).encode()
            buf.clear()
    buf.append(f'\n],"exported":{written},"without_location":{left_out}}}\n')
    yield "".join(buf).encode()


def facility_features(
    principal: Principal,
    province_code: list[str] | None = None,
    sector: list[str] | None = None,
    labels: Lang | None = None,
) -> Iterator[dict[str, Any] | None]:
    """Every facility the caller may read, at its registered location."""
    keys = tables.facility_columns(labels, safe=False)
    values = tables.facility_values(labels, safe=False)
    stmt = tables.facility_statement(principal, province_code, sector)
    for rows in pages(session_scope, stmt, Keyset(Facility.seq), size=tables.PAGE):
        for f in rows:
            point = _point(f.location)
            yield None if point is None else {"type": "Feature", "id": f.id, "geometry": point,
                                              "properties": dict(zip(keys, values(f), strict=True))}  # fmt: skip


def response_features(
    principal: Principal, d: Definition, province_code: list[str] | None = None, labels: Lang | None = None
) -> Iterator[dict[str, Any] | None]:
    """The latest revision of each response to this version, where it was collected (else at its facility)."""
    raw = NullType()
    cols = (Response.seq, Response.id, Response.facility_id, Facility.name, Response.province_code,
            type_coerce(ResponseRevision.collected_at, raw), type_coerce(Response.received_at, raw),
            ResponseRevision.revision, Response.channel, Response.submitted_by, type_coerce(ResponseRevision.answers, raw),
            type_coerce(ResponseRevision.location, raw).label("here"), type_coerce(Facility.location, raw).label("there"),
            Response.review_state, Response.review_revision, Response.current_revision)  # fmt: skip
    stmt = responses.list_statement(
        principal, questionnaire=d.key, version=d.version, province_code=province_code, columns=cols
    )
    stmt = stmt.join(Facility, Facility.id == Response.facility_id)  # type: ignore[arg-type]
    base = tables.response_columns(d, labels, safe=False)
    n_base = len(tables.BASE_COLUMNS)
    extra = [L.named(L.RESPONSE_BASE, c, labels) if labels else c for c in EXTRA_PROPERTIES]
    keys = [*base[:n_base], *extra, *base[n_base:]]
    state_name = _namer(L.REVIEW_STATE, labels)
    source_name = _namer(L.LOCATION_SOURCE, labels)
    cells = tables._cells_plan(d, labels, safe=False)
    channel_name = tables.channel_namer(labels)
    iso: Callable[[Any], str] | None = None
    loads = json.loads
    for rows in pages(
        session_scope, stmt, responses.RECEIVE_ORDER, size=tables.PAGE, scalars=False, key=tables._first
    ):
        if iso is None:
            iso = tables._iso_utc(tables._datetime_reader())
        for (_seq, rid, fid, fname, prov, collected, received, revision, channel, by, answers, here, there, r_state, r_rev,
             current) in rows:  # fmt: skip
            here = loads(here) if type(here) is str else here
            point, source, accuracy = _point(here), "response", (here or {}).get("accuracy_m")
            if point is None:
                point, source, accuracy = _point(there), "facility", None
            if point is None:
                yield None
                continue
            values = [rid, fid, fname, prov, iso(collected), iso(received), revision, channel_name(channel), by, state_name(derive(r_state, r_rev, current)),
                      source_name(source), accuracy, *cells(loads(answers) if type(answers) is str else answers)]  # fmt: skip
            yield {
                "type": "Feature",
                "id": rid,
                "geometry": point,
                "properties": dict(zip(keys, values, strict=True)),
            }
