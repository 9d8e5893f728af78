"""Request and response bodies of the facility registry."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator


class Kind(StrEnum):
    enterprise = "enterprise"
    cooperative = "cooperative"
    cooperative_group = "cooperative_group"
    household_business = "household_business"


class Sector(StrEnum):
    textiles_garments = "textiles_garments"
    mechanical_engineering = "mechanical_engineering"
    agro_food_processing = "agro_food_processing"
    handicrafts = "handicrafts"
    building_materials = "building_materials"
    other = "other"


KIND_LABELS: dict[str, dict[str, str]] = {
    "enterprise": {"vi": "Doanh nghiệp", "en": "Enterprise"},
    "cooperative": {"vi": "Hợp tác xã", "en": "Cooperative"},
    "cooperative_group": {"vi": "Tổ hợp tác", "en": "Cooperative group"},
    "household_business": {"vi": "Hộ kinh doanh", "en": "Household business"},
}
SECTOR_LABELS: dict[str, dict[str, str]] = {
    "textiles_garments": {"vi": "Dệt may", "en": "Textiles and garments"},
    "mechanical_engineering": {"vi": "Cơ khí", "en": "Mechanical engineering"},
    "agro_food_processing": {"vi": "Chế biến nông, lâm, thủy sản, thực phẩm", "en": "Agro-food processing"},
    "handicrafts": {"vi": "Thủ công mỹ nghệ", "en": "Handicrafts"},
    "building_materials": {"vi": "Vật liệu xây dựng", "en": "Building materials"},
    "other": {"vi": "Ngành khác", "en": "Other"},
}
assert set(KIND_LABELS) == set(Kind) and set(SECTOR_LABELS) == set(Sector)

Finite = Annotated[float, Field(allow_inf_nan=False, strict=True)]
TAX_RE = re.compile(
    r"^[0-9]{10}(-?[0-9]{3})?$"
)  # ASCII digits only: full-width ０１… must not slip past uniqueness
Money = Annotated[StrictInt, Field(ge=0, le=10**15, description="integer VND")]


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: Annotated[Finite, Field(ge=-90, le=90)]
    lon: Annotated[Finite, Field(ge=-180, le=180)]


class PriorSupport(BaseModel):
    """Support already received from a programme (industrial extension or other)."""

    model_config = ConfigDict(extra="forbid")
    year: Annotated[StrictInt, Field(ge=1990, le=2100)]
    programme: Annotated[
        StrictStr, Field(min_length=1, max_length=200, description="e.g. 'khuyến công quốc gia'")
    ]
    amount_vnd: Money | None = None


class PriorSupportRead(PriorSupport):
    """A support entry as stored: typed by hand (legacy records: no point project), or recorded by the service
    from a point project that is implementing or completed (read-only: a PATCH of prior_support keeps them)."""

    point_project_id: str | None = None
    point_project_code: str | None = None


def tax_digits(value: str) -> str:
    """A tax code as stored: its digits, without the spaces and the branch hyphen people write."""
    return value.strip().replace(" ", "").replace("-", "")


def _tax(value: str | None) -> str | None:
    if value is None:
        return None
    if not TAX_RE.match(value.strip().replace(" ", "")):
        raise ValueError("a Vietnamese tax code has 10 digits, or 13 (10 + branch, e.g. 0101234567-001)")
    return tax_digits(value)


def _year(value: int | None) -> int | None:
    if value is not None and value > date.today().year:
        raise ValueError(f"the year of establishment cannot be in the future (after {date.today().year})")
    return value


class _FacilityFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tax_code: Annotated[StrictStr | None, Field(description="10 or 13 digits")] = None
    vsic_code: Annotated[StrictStr | None, Field(pattern=r"^[0-9]{1,5}$", description="VSIC 2018 code")] = (
        None
    )
    ward_code: Annotated[
        StrictStr | None, Field(pattern=r"^[0-9]{5}$", description="five-digit GSO ward code")
    ] = None
    address: Annotated[StrictStr | None, Field(max_length=500)] = None
    employees: Annotated[StrictInt | None, Field(ge=0, le=1_000_000)] = None
    annual_revenue_vnd: Money | None = None
    established_year: Annotated[StrictInt | None, Field(ge=1800)] = None
    location: Location | None = None

    _v_tax = field_validator("tax_code")(classmethod(lambda cls, v: _tax(v)))
    _v_year = field_validator("established_year")(classmethod(lambda cls, v: _year(v)))


class FacilityCreate(_FacilityFields):
    """A new rural industrial establishment."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=300)]
    kind: Kind
    sector: Sector
    province_code: Annotated[
        StrictStr, Field(pattern=r"^[0-9]{2}$", description="current two-digit province code")
    ]
    prior_support: list[PriorSupport] = Field(default_factory=list, max_length=200)


class FacilityUpdate(_FacilityFields):
    """Fields to change; omitted fields stay as they are (PATCH)."""

    name: Annotated[StrictStr | None, Field(min_length=1, max_length=300)] = None
    kind: Kind | None = None
    sector: Sector | None = None
    province_code: Annotated[StrictStr | None, Field(pattern=r"^[0-9]{2}$")] = None
    prior_support: list[PriorSupport] | None = Field(default=None, max_length=200)


class FacilityRead(BaseModel):
    id: str
    name: str
    tax_code: str | None
    kind: str
    sector: str
    vsic_code: str | None
    province_code: str
    ward_code: str | None
    address: str | None
    employees: int | None
    annual_revenue_vnd: int | None
    established_year: int | None
    prior_support: list[PriorSupportRead]
    prior_support_count: int
    location: Location | None
    revision: int
    created_at: datetime
    updated_at: datetime


class ImportRow(BaseModel):
    row: int = Field(description="1-based data row number (the header is row 0)")
    status: str = Field(description="created | duplicate | invalid")
    id: str | None = None
    errors: list[dict[str, str]] | None = None


class ImportResult(BaseModel):
    results: list[ImportRow]
