"""The results report as an XLSX workbook (openpyxl): the review's table first, then the breakdowns."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from app.point_projects.schemas import ACTIVITY_LABELS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

LABELS: dict[str, dict[str, str]] = {
    "projects": {"vi": "Số đề án khuyến công điểm", "en": "Point projects"},
    "facilities_supported": {"vi": "Số cơ sở được hỗ trợ", "en": "Establishments supported"},
    "demonstration_models": {"vi": "Số mô hình trình diễn kỹ thuật", "en": "Technical demonstration models"},
    "funds_programme": {"vi": "Kinh phí khuyến công (đồng)", "en": "Programme funds (VND)"},
    "funds_counterpart": {"vi": "Vốn đối ứng (đồng)", "en": "Counterpart funds (VND)"},
    "funds_total": {"vi": "Tổng kinh phí (đồng)", "en": "Total funds (VND)"},
    "jobs_created": {"vi": "Số việc làm mới", "en": "New jobs"},
    "jobs_created_women": {"vi": "Trong đó lao động nữ", "en": "Of which women"},
    "workers_trained": {"vi": "Số người được đào tạo", "en": "People trained"},
    "demonstration_visitors": {"vi": "Lượt người tham quan mô hình", "en": "Model visitors"},
    "provinces_covered_count": {"vi": "Số tỉnh, thành phố có cơ sở được hỗ trợ", "en": "Provinces reached"},
    "provinces_total": {"vi": "Tổng số tỉnh, thành phố", "en": "Provinces in all"},
}
COLUMNS = ("projects", "facilities_supported", "demonstration_models", "funds_programme", "funds_counterpart",
           "funds_total", "jobs_created", "jobs_created_women", "workers_trained", "demonstration_visitors",
           "provinces_covered_count")  # fmt: skip


def _value(row: dict[str, Any], col: str) -> Any:
    if col.startswith("funds_"):
        return row["funds_vnd"][col.removeprefix("funds_")]
    return row.get(col)


def _safe(v: Any) -> Any:
    """Text that a spreadsheet would read as a formula is written as text (a leading apostrophe)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def build(report: dict[str, Any], lang: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp" if lang == "vi" else "Summary"
    ws.append(["Kết quả đề án khuyến công điểm" if lang == "vi" else "Results of point projects"])
    ws.append(["Tính đến" if lang == "vi" else "As of", report["as_of"]])
    for col in (*COLUMNS, "provinces_total"):
        ws.append([LABELS[col][lang], _value(report, col)])
    for kind, n in report["activities_by_kind"].items():
        ws.append([ACTIVITY_LABELS[kind][lang], n])
    ws.append(["Tỉnh, thành phố có cơ sở được hỗ trợ" if lang == "vi" else "Provinces reached",
               ", ".join(report["provinces_covered"])])  # fmt: skip
    for name, key, first in (("Theo đề án", "by_project", "code"), ("Theo tỉnh", "by_province", "province_code"),
                             ("Theo ngành", "by_sector", "sector"), ("Theo năm", "by_year", "year")):  # fmt: skip
        sheet = wb.create_sheet(name if lang == "vi" else key.replace("_", " ").capitalize())
        sheet.append([first, *(LABELS[c][lang] for c in COLUMNS)])
        for row in report[key]:
            sheet.append([_safe(row[first]), *(_value(row, c) for c in COLUMNS)])
    rep = wb.create_sheet("Báo cáo kết quả" if lang == "vi" else "Reporting")
    rep.append(["stage", "expected", "received"])
    for stage, v in report["reporting"].items():
        rep.append([stage, v["expected"], v["received"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
