"""CSV import of facilities: per-row results in input order; a bad row never blocks the good ones.

Everything slow happens before the write lock: decoding, parsing, validating every row (fields, places,
scope) and looking up known tax codes. The write transaction then inserts the good rows in bulk, so the
lock is held for the inserts alone. A file holds at most MAX_ROWS rows, and a refused row gets at most
MAX_ERRORS_PER_ROW errors of at most 120 characters (under ~0.5 KB a row), so the answer stays proportionate.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.access import scope
from app.access.principal import Principal
from app.core import uow
from app.core.db import writing
from app.core.errors import AppError, Conflict, Invalid, field_error, validation_errors
from app.facilities import service
from app.facilities.schemas import FacilityCreate, ImportRow
from app.models import AuditEvent, Facility, FacilityRevision
from app.models.types import utcnow
from app.places.service import resolve_province

COLUMNS = ["name", "kind", "sector", "province", "ward_code", "tax_code", "address", "employees",
           "annual_revenue_vnd", "established_year", "vsic_code"]  # fmt: skip
INT_COLUMNS = {"employees", "annual_revenue_vnd", "established_year"}
MAX_ROWS = 20_000
MAX_ERRORS_PER_ROW = 3
MAX_CELL = 1_000  # characters kept of a cell; longer ones are refused by the field rules anyway


def decode(raw: bytes) -> str:
    """UTF-8 with or without the BOM spreadsheet software adds."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid.at("file", "encoding", f"Byte {exc.start} is not UTF-8; save the sheet as CSV UTF-8.",
                         detail="The file is not UTF-8 text; save the CSV as UTF-8.") from None  # fmt: skip


def read_csv(text: str, max_rows: int | None = MAX_ROWS) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as dicts; a file csv cannot read (NUL bytes, broken quoting, too many rows) is one clear 422."""
    if "\x00" in text:
        raise Invalid.at("file", "nul_character", "Save the sheet as CSV UTF-8.",
                         detail="The file contains NUL characters; it is not a CSV text file.")  # fmt: skip
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows: list[dict[str, Any]] = []
        for row in reader:
            if max_rows is not None and len(rows) == max_rows:
                raise Invalid.at(
                    "file",
                    "too_many_rows",
                    f"A file may hold at most {max_rows:,} rows; split it and import each part.",
                )
            rows.append(row)
    except csv.Error as exc:
        raise Invalid.at("file", "csv", str(exc), detail="The file is not valid CSV.") from None
    missing = [c for c in ("name", "kind", "sector", "province") if c not in header]
    if missing:
        raise Invalid.at("file", "missing_columns", f"Expected columns: {', '.join(COLUMNS)}.",
                         detail=f"The CSV header lacks columns {missing}.")  # fmt: skip
    return rows, header


def _row_body(row: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    body: dict[str, Any] = {}
    for column in COLUMNS:
        value = str(row.get(column) or "").strip()[:MAX_CELL]
        if not value:
            continue
        if column == "province":
            code = resolve_province(value)
            if code is None:
                errors.append(field_error("province", "unknown_province",
                                          f"{value[:60]!r} is neither a current province (code or name) nor a pre-2025 province name."))  # fmt: skip
            else:
                body["province_code"] = code
        elif column in INT_COLUMNS:
            cleaned = (
                value.replace(" ", "").replace(",", "").replace(".", "")
                if column != "established_year"
                else value
            )
            if not (cleaned.isascii() and cleaned.isdigit()):
                errors.append(
                    field_error(
                        column, "not_a_number", f"{column} must be a whole number; got {value[:40]!r}."
                    )
                )
            else:
                body[column] = int(cleaned)
        else:
            body[column] = value
    if "province_code" not in body and not any(e["path"] == "province" for e in errors):
        errors.append(
            field_error("province", "required", "province is required (code, name or pre-2025 name).")
        )
    return body, errors


def _as_csv_path(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Field errors named by the CSV's columns, at most MAX_ERRORS_PER_ROW, messages kept short."""
    out = []
    for e in errors[:MAX_ERRORS_PER_ROW]:
        path = e["path"]
        out.append(
            field_error("province" if path == "province_code" else path, e["code"], e["message"][:200])
        )
    return out


def check_rows(
    principal: Principal | None, rows: Iterable[dict[str, Any]]
) -> list[FacilityCreate | ImportRow]:
    """Per row, the facility to create or the row's refusal: fields, places and scope (no database)."""
    out: list[FacilityCreate | ImportRow] = []
    for i, row in enumerate(rows, start=1):
        body, errors = _row_body(row)
        unknown = [k for k in row if k not in COLUMNS and k is not None]
        if unknown:
            errors.append(
                field_error(
                    str(unknown[0])[:60], "unknown_column", f"Unknown columns; expected {', '.join(COLUMNS)}."
                )
            )
        if None in row:
            errors.append(
                field_error("", "extra_cells", "The row has more cells than the header has columns.")
            )
        data = None
        try:
            data = FacilityCreate.model_validate(body)
        except ValidationError as exc:
            errors.extend(validation_errors(exc.errors()))
        if data is not None and not errors:
            try:
                service.check_new(principal, data)
            except AppError as exc:
                errors.extend(exc.errors or [field_error("", exc.slug, exc.detail or exc.title)])
        out.append(
            ImportRow(row=i, status="invalid", errors=_as_csv_path(errors))
            if errors or data is None
            else data
        )
    return out


def import_rows(
    *, session: Session, principal: Principal | None, rows: list[dict[str, Any]]
) -> list[ImportRow]:
    """Check every row, then create the good ones in one short write transaction; duplicates (by tax code,
    in the registry or earlier in the file) point at the existing id when the caller may read it."""
    checked = check_rows(principal, rows)
    taxes = sorted({c.tax_code for c in checked if isinstance(c, FacilityCreate) and c.tax_code})
    known: dict[str, Any] = {}
    for i in range(0, len(taxes), 500):
        stmt = select(Facility.id, Facility.tax_code, Facility.province_code).where(
            col(Facility.tax_code).in_(taxes[i : i + 500])
        )
        known.update({r.tax_code: r for r in session.execute(stmt)})
    results: list[ImportRow | None] = [None] * len(checked)
    new: list[tuple[int, FacilityCreate]] = []
    first: dict[str, int] = {}  # tax code -> index of the row of this file that registers it
    for k, c in enumerate(checked):
        if isinstance(c, ImportRow):
            results[k] = c
        elif c.tax_code and c.tax_code in known:
            results[k] = _duplicate(k, known[c.tax_code], principal)
        elif c.tax_code and c.tax_code in first:
            results[k] = ImportRow(row=k + 1, status="duplicate")  # its id is known once the first is created
        else:
            if c.tax_code:
                first[c.tax_code] = k
            new.append((k, c))
    if new:
        try:
            with writing(session):
                ids = _insert(session, principal, [c for _, c in new])
        except (
            IntegrityError
        ):  # a tax code registered by someone else meanwhile: row by row, each in a savepoint
            with writing(session):
                ids = [_create_one(session, principal, c) for _, c in new]
        for (k, _), fid in zip(new, ids, strict=True):
            results[k] = (
                ImportRow(row=k + 1, status="created", id=fid)
                if isinstance(fid, str)
                else fid.model_copy(update={"row": k + 1})
            )
    for k, c in enumerate(checked):  # later rows repeating a tax code of this file
        r = results[k]
        if (
            isinstance(c, FacilityCreate)
            and r is not None
            and r.status == "duplicate"
            and r.id is None
            and c.tax_code in first
        ):
            results[k] = ImportRow(row=k + 1, status="duplicate", id=results[first[c.tax_code]].id)  # type: ignore[union-attr]
    return [r for r in results if r is not None]


def _duplicate(k: int, existing: Any, principal: Principal | None) -> ImportRow:
    if principal is None or scope.may_read(principal, existing.province_code):
        return ImportRow(row=k + 1, status="duplicate", id=existing.id)
    return ImportRow(row=k + 1, status="duplicate", errors=[field_error("tax_code", "duplicate",
                     "This tax code is registered to an establishment outside your provinces.")])  # fmt: skip


def _create_one(session: Session, principal: Principal | None, data: FacilityCreate) -> str | ImportRow:
    try:
        with session.begin_nested():
            return service.create(session=session, principal=principal, data=data).id
    except Conflict as exc:
        return ImportRow(
            row=0,
            status="duplicate",
            id=exc.extra.get("facility_id"),
            errors=None if exc.extra.get("facility_id") else exc.errors,
        )


def _insert(
    session: Session, principal: Principal | None, items: list[FacilityCreate]
) -> list[str | ImportRow]:
    """Bulk insert of checked facilities with their first revision and audit rows."""
    now = utcnow()
    by = principal.name if principal else "cli"
    facilities: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for data in items:
        f = Facility(
            id=str(uuid.uuid4()),
            created_at=now,
            updated_at=now,
            created_by=by,
            **data.model_dump(mode="json"),
        )
        service.derive(f)
        row = {c: getattr(f, c) for c in service.STORED_FIELDS}
        facilities.append(row)
        revisions.append(
            {
                "facility_id": f.id,
                "revision": 1,
                "data": service.snapshot(f),
                "changed_at": now,
                "changed_by": by,
            }
        )
        events.append({"key_name": by, "role": principal.role if principal else "cli", "action": "facility.created",
                       "resource_type": "facility", "resource_id": f.id, "client_ip": principal.client_ip if principal else None,
                       "request_id": principal.request_id if principal else None, "detail": {"import": True},
                       "province_code": f.province_code, "at": now})  # fmt: skip
    session.execute(insert(Facility), facilities)
    session.execute(insert(FacilityRevision), revisions)
    session.execute(insert(AuditEvent), events)
    uow.emit(session, uow.FacilitiesChanged(count=len(facilities)))  # new candidates for present rankings
    return [r["id"] for r in facilities]
