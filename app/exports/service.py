"""Streamed exports, one place for every download: rows fetched in keyset pages and written as they come
(constant memory), CSV with BOM or XLSX, formula neutralisation."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select, type_coerce
from sqlalchemy.types import NullType

from app.access.principal import Principal
from app.access.scope import readable
from app.core.db import get_engine, session_scope
from app.core.pagination import Keyset, pages
from app.exports import labels as L
from app.exports.labels import Lang
from app.models import Facility, Response, ResponseRevision
from app.models.types import UTCDateTime
from app.questionnaires.definition import Definition
from app.responses import service

PAGE = 5000
BOM = "\ufeff"
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = [
    "response_id",
    "facility_id",
    "facility_name",
    "province_code",
    "collected_at",
    "received_at",
    "revision",
    "channel",
    "submitted_by",
]
FACILITY_COLUMNS = ["id", "name", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code", "address", "employees",
                    "annual_revenue_vnd", "established_year", "prior_support_count", "last_support_year", "created_at", "updated_at"]  # fmt: skip


def neutralise(value: Any) -> Any:
    """OWASP CSV-injection advice: text starting with = + - @ tab or CR is prefixed with a quote."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


GEOPOINT_PARTS = ("lat", "lon", "alt", "accuracy_m")
GEOPOINT_LABELS = {
    "vi": ("vĩ độ", "kinh độ", "độ cao (m)", "sai số vị trí (m)"),
    "en": ("latitude", "longitude", "altitude (m)", "accuracy (m)"),
}


def response_columns(d: Definition, labels: Lang | None = None, *, safe: bool = True) -> list[str]:
    """Column names: codes (`question/choice` for select_multiple, `question/lat`, `/lon`, `/alt`, `/accuracy_m`
    for a geopoint; an image/file question holds the attachment's file name), or with `labels` the fixed
    columns' and questions' labels (`question label: choice label`), neutralised like any cell when `safe`."""
    if labels is None:
        cols = list(BASE_COLUMNS)
        for q in d.questions:
            if q.type == "select_multiple":
                cols.extend(f"{q.id}/{c}" for c in q.choice_codes)
            elif q.type == "geopoint":
                cols.extend(f"{q.id}/{p}" for p in GEOPOINT_PARTS)
            else:
                cols.append(q.id)
        return cols
    cols = [L.named(L.RESPONSE_BASE, c, labels) for c in BASE_COLUMNS]
    for q in d.questions:
        label = L.text(q.label, labels)
        if q.type == "select_multiple":
            cols.extend(f"{label}: {L.text(c.label, labels)}" for c in q.choices)
        elif q.type == "geopoint":
            cols.extend(f"{label}: {part}" for part in GEOPOINT_LABELS[labels])
        else:
            cols.append(label)
    return [neutralise(c) for c in cols] if safe else cols


_PLAIN, _MULTI, _BOOL, _TEXT, _CHOICE, _GEO = range(6)


def _cells_plan(
    d: Definition, labels: Lang | None = None, *, safe: bool = True
) -> Callable[[dict[str, Any]], list[Any]]:
    """Compiled once per export: answers → the cells of one row, in definition order.

    Codes by default (booleans 1/0); with `labels`, select_one answers as their choice labels and booleans as
    Có/Không (Yes/No); select_multiple stays one 0/1 column per choice, a geopoint its four parts. `safe`: text
    cells (answers, file names and labels) are neutralised for spreadsheets; labels once here, not per cell."""
    kinds = {
        "select_multiple": _MULTI,
        "boolean": _BOOL,
        "text": _TEXT,
        "image": _TEXT,
        "file": _TEXT,
        "geopoint": _GEO,
    }
    if labels is not None:
        kinds["select_one"] = _CHOICE
    fix = neutralise if safe else _same
    plan: list[tuple[int, str, Any, list[None]]] = []
    for q in d.questions:
        kind = kinds.get(q.type, _PLAIN)
        extra: Any = q.choice_codes
        if kind == _CHOICE:
            extra = {c.code: fix(L.text(c.label, labels)) for c in q.choices}  # type: ignore[arg-type]
        elif kind == _BOOL and labels is not None:
            extra = tuple(fix(t) for t in L.BOOLEAN[labels])
        elif kind == _BOOL:
            extra = (1, 0)
        elif kind == _GEO:
            extra = GEOPOINT_PARTS
        plan.append((kind, q.id, extra, [None] * len(extra if kind in (_MULTI, _GEO) else ())))

    def cells(answers: dict[str, Any]) -> list[Any]:
        get = answers.get
        out: list[Any] = []
        for kind, qid, extra, blanks in plan:
            v = get(qid)
            if v is None:
                if blanks:
                    out.extend(blanks)
                else:
                    out.append(None)
            elif kind == _PLAIN:
                out.append(v)
            elif kind == _MULTI:
                out.extend([1 if c in v else 0 for c in extra])
            elif kind == _GEO:  # its parts, blank where the device gave none
                out.extend([v.get(p) for p in extra])
            elif kind == _BOOL:
                out.append(extra[0] if v else extra[1])
            elif kind == _CHOICE:
                out.append(extra.get(v, v))
            else:
                out.append(fix(v))
        return out

    return cells


def _iso_utc(to_datetime: Callable[[Any], datetime]) -> Callable[[Any], str]:
    """Stored timestamp → the ISO text of the aware UTC datetime (what `datetime.isoformat()` gives).

    SQLite stores SQLAlchemy's fixed-width text 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): it is rewritten as
    text, without building a datetime per cell; anything else goes through the column type.
    """

    def iso(v: Any) -> str:
        if type(v) is str and len(v) == 26 and v[10] == " ":
            return f"{v[:10]}T{v[11:19]}+00:00" if v.endswith(".000000") else f"{v[:10]}T{v[11:]}+00:00"
        return to_datetime(v).isoformat()

    return iso


def response_rows(
    principal: Principal, d: Definition, province_code: list[str] | None = None, labels: Lang | None = None
) -> Iterator[list[Any]]:
    """Latest revision of each response to this version, receive order, one short read transaction per page.

    Timestamps and answers are read as the driver returns them (no per-value type processing): answers are
    decoded once with json, timestamps rewritten by `_iso_utc`.
    """
    raw = NullType()
    cols = (Response.seq, Response.id, Response.facility_id, Facility.name, Response.province_code,
            type_coerce(ResponseRevision.collected_at, raw), type_coerce(Response.received_at, raw),
            ResponseRevision.revision, Response.channel, Response.submitted_by,
            type_coerce(ResponseRevision.answers, raw))  # fmt: skip
    base = service.list_statement(
        principal, questionnaire=d.key, version=d.version, province_code=province_code, columns=cols
    )
    base = base.join(Facility, Facility.id == Response.facility_id)  # type: ignore[arg-type]
    cells = _cells_plan(d, labels)
    channel_name = channel_namer(labels)
    iso: Callable[[Any], str] | None = None
    loads = json.loads
    for rows in pages(session_scope, base, service.RECEIVE_ORDER, size=PAGE, scalars=False, key=_first):
        if iso is None:
            iso = _iso_utc(_datetime_reader())
        for _seq, rid, fid, fname, prov, collected, received, revision, channel, by, answers in rows:
            yield [
                rid,
                fid,
                neutralise(fname),
                prov,
                iso(collected),
                iso(received),
                revision,
                channel_name(channel),
                neutralise(by),
                *cells(loads(answers) if type(answers) is str else answers),
            ]


def channel_namer(labels: Lang | None) -> Callable[[str], str]:
    """A response's channel as its code, or with `labels` as people name it."""
    if labels is None:
        return _same
    return lambda c: L.named(L.CHANNEL, c, labels)


def _first(row: Any) -> int:
    return int(row[0])


def _datetime_reader() -> Callable[[Any], datetime]:
    dialect = get_engine().dialect
    return UTCDateTime().dialect_impl(dialect).result_processor(dialect, None) or _same  # type: ignore[return-value]


def _same(v: Any) -> Any:
    return v


def facility_columns(labels: Lang | None = None, *, safe: bool = True) -> list[str]:
    if labels is None:
        return FACILITY_COLUMNS
    cols = [L.named(L.FACILITY, c, labels) for c in FACILITY_COLUMNS]
    return [neutralise(c) for c in cols] if safe else cols


def facility_statement(
    principal: Principal, province_code: list[str] | None = None, sector: list[str] | None = None
) -> Any:
    """The facilities the caller may read, filtered (without paging)."""
    stmt: Any = readable(select(Facility), principal, Facility.province_code)
    if province_code:
        stmt = stmt.where(Facility.province_code.in_(province_code))  # type: ignore[attr-defined]
    if sector:
        stmt = stmt.where(Facility.sector.in_(sector))  # type: ignore[attr-defined]
    return stmt


def facility_values(labels: Lang | None = None, *, safe: bool = True) -> Callable[[Facility], list[Any]]:
    """A facility → its cells in FACILITY_COLUMNS order (kind and sector as labels with `labels`)."""
    fix = neutralise if safe else _same
    named = {"kind": L.KIND, "sector": L.SECTOR} if labels is not None else {}

    def values(f: Facility) -> list[Any]:
        out = []
        for c in FACILITY_COLUMNS:
            v = getattr(f, c)
            if c in named:
                v = L.named(named[c], v, labels)  # type: ignore[arg-type]
            out.append(v.isoformat() if hasattr(v, "isoformat") else fix(v))
        return out

    return values


def facility_rows(
    principal: Principal,
    province_code: list[str] | None = None,
    sector: list[str] | None = None,
    labels: Lang | None = None,
) -> Iterator[list[Any]]:
    values = facility_values(labels)
    stmt = facility_statement(principal, province_code, sector)
    for rows in pages(session_scope, stmt, Keyset(Facility.seq), size=PAGE):
        for f in rows:
            yield values(f)


def csv_stream(header: Sequence[str], rows: Iterator[list[Any]], batch: int = 500) -> Iterator[bytes]:
    """UTF-8 with BOM, RFC 4180 quoting (CRLF line ends), yielded in chunks of `batch` rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % batch == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _xlsx_text(v: str) -> str:
    """XML 1.0, hence a workbook, cannot hold control characters (U+0000-U+001F but tab, LF, CR): a stored text
    holding one (any device can send \\u0007) is written with U+FFFD in its place instead of breaking the file."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", v)


def xlsx_stream(header: Sequence[str], rows: Iterator[list[Any]], title: str) -> Iterator[bytes]:
    """openpyxl write-only workbook spooled to a temporary file, then streamed."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append([_xlsx_text(h) for h in header])
    for row in rows:
        ws.append([_xlsx_text(v) if type(v) is str else v for v in row])
    with tempfile.TemporaryFile() as fh:
        wb.save(fh)
        fh.seek(0)
        while chunk := fh.read(1 << 16):
            yield chunk


def stream(
    fmt: str, header: Sequence[str], rows: Iterator[list[Any]], title: str
) -> tuple[Iterator[bytes], str]:
    if fmt == "xlsx":
        return xlsx_stream(
            header, rows, title
        ), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return csv_stream(header, rows), "text/csv; charset=utf-8"
