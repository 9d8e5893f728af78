"""People's words for the columns and codes of downloads (`labels=vi|en`): questions and choices come from the
questionnaire files; the fixed columns are named here, facility kinds and sectors where the registry names them."""

from __future__ import annotations

from typing import Literal

from app.facilities.schemas import KIND_LABELS, SECTOR_LABELS

Lang = Literal["vi", "en"]

RESPONSE_BASE = {
    "response_id": {"vi": "Mã phiếu", "en": "Response ID"},
    "facility_id": {"vi": "Mã cơ sở", "en": "Facility ID"},
    "facility_name": {"vi": "Tên cơ sở", "en": "Facility name"},
    "province_code": {"vi": "Mã tỉnh", "en": "Province code"},
    "collected_at": {"vi": "Thời điểm thu thập", "en": "Collected at"},
    "received_at": {"vi": "Thời điểm nhận", "en": "Received at"},
    "revision": {"vi": "Lần sửa", "en": "Revision"},
    "channel": {"vi": "Nguồn phiếu", "en": "Channel"},
    "submitted_by": {"vi": "Người gửi", "en": "Submitted by"},
    "review_state": {"vi": "Trạng thái duyệt", "en": "Review state"},
    "location_source": {"vi": "Nguồn vị trí", "en": "Location source"},
    "accuracy_m": {"vi": "Sai số vị trí (m)", "en": "Location accuracy (m)"},
}

FACILITY = {
    "id": {"vi": "Mã cơ sở", "en": "Facility ID"},
    "name": {"vi": "Tên cơ sở", "en": "Name"},
    "tax_code": {"vi": "Mã số thuế", "en": "Tax code"},
    "kind": {"vi": "Loại hình", "en": "Kind"},
    "sector": {"vi": "Ngành", "en": "Sector"},
    "vsic_code": {"vi": "Mã ngành VSIC", "en": "VSIC code"},
    "province_code": {"vi": "Mã tỉnh", "en": "Province code"},
    "ward_code": {"vi": "Mã xã, phường", "en": "Ward code"},
    "address": {"vi": "Địa chỉ", "en": "Address"},
    "employees": {"vi": "Số lao động", "en": "Employees"},
    "annual_revenue_vnd": {"vi": "Doanh thu năm (đồng)", "en": "Annual revenue (VND)"},
    "established_year": {"vi": "Năm thành lập", "en": "Year established"},
    "prior_support_count": {"vi": "Số lần đã được hỗ trợ", "en": "Times supported before"},
    "last_support_year": {"vi": "Năm được hỗ trợ gần nhất", "en": "Last year supported"},
    "created_at": {"vi": "Thời điểm đăng ký", "en": "Registered at"},
    "updated_at": {"vi": "Thời điểm cập nhật", "en": "Updated at"},
}

# Facility kinds and sectors: the registry's own names (the forms and the workspace show the same).
KIND = KIND_LABELS
SECTOR = SECTOR_LABELS

BOOLEAN = {"vi": ("Có", "Không"), "en": ("Yes", "No")}

REVIEW_STATE = {
    "received": {"vi": "Mới nhận", "en": "Received"},
    "has_issues": {"vi": "Cần xem lại", "en": "Has issues"},
    "approved": {"vi": "Đã duyệt", "en": "Approved"},
    "rejected": {"vi": "Không chấp nhận", "en": "Rejected"},
    "edited": {"vi": "Đã sửa sau duyệt", "en": "Edited after review"},
}

CHANNEL = {
    "field": {"vi": "Cán bộ khảo sát", "en": "Field officer"},
    "portal": {"vi": "Cơ sở tự khai", "en": "Self-report (portal)"},
    "office": {"vi": "Văn phòng", "en": "Office"},
}

LOCATION_SOURCE = {
    "response": {"vi": "Vị trí khi thu thập phiếu", "en": "Where the response was collected"},
    "facility": {"vi": "Vị trí cơ sở", "en": "The facility's location"},
}


def text(label: dict[str, str], lang: Lang) -> str:
    """A label in `lang`; Vietnamese when the file gives no English (Vietnamese is required everywhere)."""
    return label.get(lang) or label["vi"]


def named(table: dict[str, dict[str, str]], code: str, lang: Lang) -> str:
    """A fixed column's or code's label; the code itself when the table does not know it."""
    label = table.get(code)
    return text(label, lang) if label else code
