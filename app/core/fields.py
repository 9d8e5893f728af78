"""Field types shared by request bodies and query parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _convertible(value: datetime) -> datetime:
    """An aware datetime that can be stored: its UTC instant must exist (year 1 to 9999)."""
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(
            "is outside the range of instants this service stores (years 0001-9999 in UTC)"
        ) from None
    return value


# RFC 3339 with an offset; the offset is kept (collected_at is shown as the device wrote it).
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_convertible)]
