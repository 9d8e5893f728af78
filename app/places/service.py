"""Provinces and wards in force since 1 July 2025 (vietnam-provinces), and pre-2025 names mapped to them."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from vietnam_provinces import Province, Ward

# Resolution 202/2025/QH15: each of the 63 pre-2025 provinces and the current province (GSO code) it
# became part of. The 11 provinces that were not merged keep their own name and code.
LEGACY_PROVINCES: dict[str, str] = {
    "Hà Nội": "01", "Hà Giang": "08", "Cao Bằng": "04", "Bắc Kạn": "19", "Tuyên Quang": "08",
    "Lào Cai": "15", "Điện Biên": "11", "Lai Châu": "12", "Sơn La": "14", "Yên Bái": "15",
    "Hòa Bình": "25", "Thái Nguyên": "19", "Lạng Sơn": "20", "Quảng Ninh": "22", "Bắc Giang": "24",
    "Phú Thọ": "25", "Vĩnh Phúc": "25", "Bắc Ninh": "24", "Hải Dương": "31", "Hải Phòng": "31",
    "Hưng Yên": "33", "Thái Bình": "33", "Hà Nam": "37", "Nam Định": "37", "Ninh Bình": "37",
    "Thanh Hóa": "38", "Nghệ An": "40", "Hà Tĩnh": "42", "Quảng Bình": "44", "Quảng Trị": "44",
    "Thừa Thiên Huế": "46", "Đà Nẵng": "48", "Quảng Nam": "48", "Quảng Ngãi": "51", "Bình Định": "52",
    "Phú Yên": "66", "Khánh Hòa": "56", "Ninh Thuận": "56", "Bình Thuận": "68", "Kon Tum": "51",
    "Gia Lai": "52", "Đắk Lắk": "66", "Đắk Nông": "68", "Lâm Đồng": "68", "Bình Phước": "75",
    "Tây Ninh": "80", "Bình Dương": "79", "Đồng Nai": "75", "Bà Rịa - Vũng Tàu": "79", "Hồ Chí Minh": "79",
    "Long An": "80", "Tiền Giang": "82", "Bến Tre": "86", "Trà Vinh": "86", "Vĩnh Long": "86",
    "Đồng Tháp": "82", "An Giang": "91", "Kiên Giang": "91", "Cần Thơ": "92", "Hậu Giang": "92",
    "Sóc Trăng": "92", "Bạc Liêu": "96", "Cà Mau": "96",
}  # fmt: skip

# Common written forms that normalisation alone does not reach.
ALIASES: dict[str, str] = {
    "tphcm": "79", "hcm": "79", "sai gon": "79", "ho chi minh city": "79", "brvt": "79",
    "ba ria vung tau": "79", "hue": "46", "thua thien hue": "46", "dak lak": "66", "dac lac": "66",
    "dak nong": "68", "dac nong": "68", "hn": "01", "hanoi": "01", "danang": "48", "haiphong": "31",
    "cantho": "92", "kon tum": "51", "kontum": "51",
}  # fmt: skip

_PREFIX = re.compile(r"^(tinh|thanh pho|tp\.?|t\.p\.?)\s+")


def normalise_name(name: str) -> str:
    """Lower case, no diacritics, no 'Tỉnh'/'Thành phố' prefix, single spaces: how names are compared."""
    text = name.strip().replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()
    text = re.sub(r"[\-–—_,]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = _PREFIX.sub("", text)
    return _PREFIX.sub("", text).strip()


def fold(text: str) -> str:
    """Accent- and case-insensitive form of free text, for search ("ca phe" finds "Cà phê")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    return re.sub(r"\s+", " ", "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()).strip()


@lru_cache
def provinces() -> dict[str, str]:
    """Current province code → official name, in code order."""
    items = sorted(Province.iter_all(), key=lambda p: p.code.value)
    return {f"{p.code.value:02d}": p.name for p in items}


@lru_cache
def _wards_by_province() -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {code: {} for code in provinces()}
    for w in Ward.iter_all():
        pcode = f"{w.province_code.value:02d}"
        out.setdefault(pcode, {})[f"{w.code.value:05d}"] = {
            "name": w.name,
            "division_type": w.division_type.value,
        }
    return {p: dict(sorted(ws.items())) for p, ws in out.items()}


def wards(province_code: str) -> dict[str, dict[str, str]] | None:
    return _wards_by_province().get(province_code)


def ward_province(ward_code: str) -> str | None:
    for pcode, ws in _wards_by_province().items():
        if ward_code in ws:
            return pcode
    return None


@lru_cache
def _name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for old, code in LEGACY_PROVINCES.items():
        index[normalise_name(old)] = code
    for code, name in provinces().items():
        index[normalise_name(name)] = code
    index.update(ALIASES)
    return index


def resolve_province(value: str) -> str | None:
    """A current code, a current name, or a pre-2025 name (any common spelling) → the current code."""
    value = (value or "").strip()
    if value.isdigit() and len(value) <= 2 and f"{int(value):02d}" in provinces():
        return f"{int(value):02d}"
    key = normalise_name(value)
    return _name_index().get(key) or _name_index().get(key.replace(" ", ""))
