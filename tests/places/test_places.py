"""Provinces, wards, and every pre-2025 province name mapped to the province it merged into."""

from __future__ import annotations

import pytest

from app.places.service import LEGACY_PROVINCES, provinces, resolve_province
from tests.conftest import assert_problem

MERGED_INTO = {
    # Resolution 202/2025/QH15, written out independently of the code's table.
    "08": ["Tuyên Quang", "Hà Giang"], "15": ["Lào Cai", "Yên Bái"], "19": ["Thái Nguyên", "Bắc Kạn"],
    "25": ["Phú Thọ", "Vĩnh Phúc", "Hòa Bình"], "24": ["Bắc Ninh", "Bắc Giang"], "33": ["Hưng Yên", "Thái Bình"],
    "31": ["Hải Phòng", "Hải Dương"], "37": ["Ninh Bình", "Hà Nam", "Nam Định"], "44": ["Quảng Trị", "Quảng Bình"],
    "48": ["Đà Nẵng", "Quảng Nam"], "51": ["Quảng Ngãi", "Kon Tum"], "52": ["Gia Lai", "Bình Định"],
    "56": ["Khánh Hòa", "Ninh Thuận"], "68": ["Lâm Đồng", "Đắk Nông", "Bình Thuận"], "66": ["Đắk Lắk", "Phú Yên"],
    "79": ["Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu"], "75": ["Đồng Nai", "Bình Phước"],
    "80": ["Tây Ninh", "Long An"], "92": ["Cần Thơ", "Sóc Trăng", "Hậu Giang"],
    "86": ["Vĩnh Long", "Bến Tre", "Trà Vinh"], "82": ["Đồng Tháp", "Tiền Giang"], "96": ["Cà Mau", "Bạc Liêu"],
    "91": ["An Giang", "Kiên Giang"], "01": ["Hà Nội"], "46": ["Thừa Thiên Huế"], "12": ["Lai Châu"],
    "11": ["Điện Biên"], "14": ["Sơn La"], "20": ["Lạng Sơn"], "22": ["Quảng Ninh"], "38": ["Thanh Hóa"],
    "40": ["Nghệ An"], "42": ["Hà Tĩnh"], "04": ["Cao Bằng"],
}  # fmt: skip
CASES = [(old, code) for code, olds in MERGED_INTO.items() for old in olds]


def test_sixty_three_old_provinces() -> None:
    assert len(CASES) == 63 == len(LEGACY_PROVINCES)


def _strip(s: str) -> str:
    import unicodedata

    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


@pytest.mark.parametrize("old, code", CASES)
def test_legacy_name_maps_in_every_common_spelling(old: str, code: str) -> None:
    prefix = (
        "Thành phố"
        if code in ("01", "31", "48", "79", "92", "46")
        and old in ("Hà Nội", "Hải Phòng", "Đà Nẵng", "Hồ Chí Minh", "Cần Thơ")
        else "Tỉnh"
    )
    for spelling in (
        old,
        f"{prefix} {old}",
        old.upper(),
        _strip(old),
        f"{_strip(prefix)} {_strip(old)}".lower(),
    ):
        assert resolve_province(spelling) == code, spelling


def test_current_codes_and_names_and_aliases() -> None:
    assert resolve_province("68") == "68" and resolve_province("1") == "01"
    assert resolve_province("Thành phố Huế") == "46"
    assert resolve_province("TP. Hồ Chí Minh") == "79" and resolve_province("Bà Rịa–Vũng Tàu") == "79"
    assert resolve_province("Hoà Bình") == "25" and resolve_province("Thanh Hoá") == "38"
    assert resolve_province("Atlantis") is None and resolve_province("99") is None


def test_provinces_endpoint(client) -> None:
    r = client.get("/api/v1/provinces")
    assert r.status_code == 200
    body = r.json()
    assert len(body) == 34 and body[0] == {"code": "01", "name": "Thành phố Hà Nội"}
    assert all(len(p["code"]) == 2 for p in body)
    assert {p["code"] for p in body} == set(provinces())


def test_wards_endpoint(client) -> None:
    r = client.get("/api/v1/provinces/68/wards")
    assert r.status_code == 200
    wards = r.json()
    assert len(wards) > 50 and all(len(w["code"]) == 5 for w in wards)
    assert any("Đà Lạt" in w["name"] or "Lâm Viên" in w["name"] for w in wards)
    assert_problem(client.get("/api/v1/provinces/99/wards"), 404)
