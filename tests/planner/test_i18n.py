"""Vietnamese first: every message of the workspace has its Vietnamese text, and numbers, money and times are
written the way a Vietnamese reader writes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.core.config import ROOT
from app.planner import i18n, views

CFG = ROOT / "app" / "planner" / "babel.cfg"
PO = ROOT / "app" / "planner" / "locale" / "vi" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "tr": (2,)}


def _used() -> set[str | tuple[str, ...]]:
    with CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {
        msg for _, _, msg, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    }


def test_every_message_has_its_vietnamese_text_and_none_is_left_over() -> None:
    with PO.open("rb") as f:
        catalogue = {m.id: m for m in read_po(f, locale="vi") if m.id}
    used = _used()
    assert len(used) > 200
    missing = [
        m
        for m in used
        if m not in catalogue
        or not all(catalogue[m].string if isinstance(m, tuple) else [catalogue[m].string])
    ]
    assert not missing, f"translate these in {PO.relative_to(ROOT)}: {missing}"
    fuzzy = [m.id for m in catalogue.values() if m.fuzzy]
    assert not fuzzy, fuzzy
    unused = [m for m in catalogue if m not in used]
    assert not unused, f"no longer used, remove from {PO.relative_to(ROOT)}: {unused}"
    # Placeholders survive translation.
    for mid, m in catalogue.items():
        for one, other in zip(
            mid if isinstance(mid, tuple) else [mid],
            m.string if isinstance(m.string, tuple) else [m.string],
            strict=False,
        ):
            names = sorted(set(re.findall(r"%\((\w+)\)s", one)))
            assert names == sorted(set(re.findall(r"%\((\w+)\)s", other))), (mid, other)


@pytest.mark.parametrize(
    "lang, value, money, number",
    [
        ("vi", 1234567, "1.234.567\u00a0₫", "1.234.567"),
        ("en", 1234567, "₫1,234,567", "1,234,567"),
        ("vi", 0, "0\u00a0₫", "0"),
    ],  # a no-break space keeps ₫ with its number
)
def test_money_and_numbers(lang: str, value: int, money: str, number: str) -> None:
    assert i18n.money(lang, value) == money
    assert i18n.number(lang, value) == number
    assert i18n.money(lang, None) == "—"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_numbers_agree_with_babels_cldr_formatting(lang: str) -> None:
    from babel.numbers import format_currency, format_decimal

    loc = i18n.LOCALES[lang]
    for v in (0, 7, 999, 1000, 1234567, 20_000_000_000, -5_000):
        assert i18n.number(lang, v) == format_decimal(v, locale=loc)
        assert i18n.money(lang, v) == format_currency(v, "VND", locale=loc)
    for v in (0.5, 0.8125, 12.25, 1234.5678, 0.0004):
        assert i18n.number(lang, v) == format_decimal(v, locale=loc), v
        assert i18n.number(lang, v, 4) == format_decimal(v, format="#,##0.0000", locale=loc), v


def test_scores_and_times() -> None:
    assert i18n.number("vi", 0.81234, 4) == "0,8123" and i18n.number("en", 0.81234, 4) == "0.8123"
    at = datetime(2026, 11, 27, 17, 5, tzinfo=UTC)  # 00:05 on the 28th in Vietnam
    assert i18n.when("vi", at) == "00:05 28/11/2026"
    assert i18n.when("en", "2026-11-27T17:05:00Z") == "28 Nov 2026, 00:05"
    assert i18n.day("vi", at) == "28/11/2026"
    assert i18n.local_input(at) == "2026-11-28T00:05"
    assert views.parse_local("2026-11-28T00:05") == at
    assert views.parse_local("2026-11-27T17:05:00+00:00") == at  # the pages' own links carry an exact instant


@pytest.mark.parametrize(
    "text, value",
    [("20.000.000.000", 20_000_000_000), ("20,000,000,000", 20_000_000_000), ("20 000 000 000", 20_000_000_000),
     ("20000000000", 20_000_000_000), ("1.500.000 ₫", 1_500_000), (" 7 ", 7), ("", None)],
)  # fmt: skip
def test_money_as_typed(text: str, value: int | None) -> None:
    assert views.parse_money(text) == value


@pytest.mark.parametrize("text", ["hai tỷ", "1.5", "1.2345.000", "-5", "1e9", "20.000,5"])
def test_money_typed_wrong(text: str) -> None:
    with pytest.raises(ValueError):
        views.parse_money(text)
