"""CSV import of facilities: per-row results in input order; a bad row never blocks the good ones."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.access.deps import Principal
from app.core.errors import AppError, Conflict, validation_errors
from app.facilities import service
from app.facilities.schemas import FacilityCreate, ImportRow
from app.places.service import resolve_province

COLUMNS = ["name", "kind", "sector", "province", "ward_code", "tax_code", "address", "employees",
           "annual_revenue_vnd", "established_year", "vsic_code"]  # fmt: skip
INT_COLUMNS = {"employees", "annual_revenue_vnd", "established_year"}


def decode(raw: bytes) -> str:
    """UTF-8 with or without the BOM spreadsheet software adds."""
    return raw.decode("utf-8-sig")


def _row_body(row: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    body: dict[str, Any] = {}
    for col in COLUMNS:
        value = (row.get(col) or "").strip()
        if not value:
            continue
        if col == "province":
            code = resolve_province(value)
            if code is None:
                errors.append({"path": "province", "code": "unknown_province",
                               "message": f"{value!r} is neither a current province (code or name) nor a pre-2025 province name."})  # fmt: skip
            else:
                body["province_code"] = code
        elif col in INT_COLUMNS:
            cleaned = (
                value.replace(" ", "").replace(",", "").replace(".", "")
                if col != "established_year"
                else value
            )
            if not cleaned.isdigit():
                errors.append(
                    {
                        "path": col,
                        "code": "not_a_number",
                        "message": f"{col} must be a whole number; got {value!r}.",
                    }
                )
            else:
                body[col] = int(cleaned)
        else:
            body[col] = value
    if "province_code" not in body and not any(e["path"] == "province" for e in errors):
        errors.append(
            {
                "path": "province",
                "code": "required",
                "message": "province is required (code, name or pre-2025 name).",
            }
        )
    return body, errors


def import_rows(
    *,
    session: Session,
    principal: Principal | None,
    rows: Iterable[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
) -> list[ImportRow]:
    """Create each row's facility in its own savepoint; duplicates (by tax code) point at the existing id."""
    results: list[ImportRow] = []
    for i, row in enumerate(rows, start=1):
        unknown = [k for k in row if k not in COLUMNS and k is not None]
        body, errors = _row_body(row)
        if unknown:
            errors.append(
                {
                    "path": unknown[0],
                    "code": "unknown_column",
                    "message": f"Unknown columns {unknown}; expected {COLUMNS}.",
                }
            )
        data = None
        try:
            data = FacilityCreate.model_validate(body)
        except ValidationError as exc:
            errors.extend(validation_errors(exc.errors()))
        if errors or data is None:
            results.append(
                ImportRow(
                    row=i,
                    status="invalid",
                    errors=[
                        {**e, "path": "province" if e["path"] == "province_code" else e["path"]}
                        for e in errors
                    ],
                )
            )
        else:
            try:
                with session.begin_nested():
                    f = service.create(session=session, principal=principal, data=data)
                results.append(ImportRow(row=i, status="created", id=f.id))
            except Conflict as exc:
                results.append(ImportRow(row=i, status="duplicate", id=exc.extra.get("facility_id")))
            except AppError as exc:
                errs = [
                    {**e, "path": "province" if e["path"] == "province_code" else e["path"]}
                    for e in exc.errors or []
                ]
                results.append(
                    ImportRow(
                        row=i,
                        status="invalid",
                        errors=errs or [{"path": "", "code": exc.slug, "message": exc.detail or exc.title}],
                    )
                )
        if progress:
            progress(i)
    return results


def read_csv(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as dicts; a file csv cannot read (NUL bytes, broken quoting) is one clear 422."""
    from app.core.errors import Invalid

    if "\x00" in text:
        raise Invalid("The file contains NUL characters; it is not a CSV text file.",
                      errors=[{"path": "file", "code": "nul_character", "message": "Save the sheet as CSV UTF-8."}])  # fmt: skip
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        return list(reader), header
    except csv.Error as exc:
        raise Invalid(
            "The file is not valid CSV.", errors=[{"path": "file", "code": "csv", "message": str(exc)}]
        ) from None
