"""Languages of the workspace: Vietnamese first, English available.

Messages are gettext catalogues (`locale/<lang>/LC_MESSAGES/messages.po`, read with Babel at start-up, no
compile step); message ids are English, so English needs no catalogue. Numbers, money and dates are formatted
by Babel with the CLDR rules of the language (1.234.567 ₫ in Vietnamese), times shown in Vietnam's time zone.
To refresh the catalogue after changing a template: see docs/planner-workspace.md ("Translations").
"""

from __future__ import annotations

import gettext as _gettext
import io
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_decimal_symbol, get_group_symbol

from app.facilities.schemas import KIND_LABELS, SECTOR_LABELS

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
LOCALES = {"vi": "vi_VN", "en": "en_GB"}
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark a message for extraction; translated where it is shown."""
    return message


@lru_cache
def catalogue(lang: str) -> _gettext.NullTranslations:
    """The language's translations (English: the message ids themselves)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as f:
        cat = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def tr(lang: str, message: str, **values: Any) -> str:
    """`message` in `lang`, with `%(name)s` placeholders filled."""
    text = catalogue(lang if lang in LANGS else DEFAULT_LANG).gettext(message)
    return text % values if values else text


# -- numbers, money, dates ---------------------------------------------------------------------------------


@lru_cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[lang])


@lru_cache
def _symbols(lang: str) -> dict[int, str]:
    """The language's decimal and grouping symbols (CLDR, through Babel), as a str.translate table."""
    return {ord("."): get_decimal_symbol(_locale(lang)), ord(","): get_group_symbol(_locale(lang))}


@lru_cache
def _money_template(lang: str) -> str:
    """Where the number and the ₫ sign go in the language (CLDR's currency pattern: `1.234.567 ₫`, `₫1,234,567`)."""
    sample = format_currency(1234567, "VND", locale=_locale(lang))
    return sample.replace(number(lang, 1234567), "{}")


def number(lang: str, value: Any, digits: int | None = None) -> str:
    """A number with the language's symbols: `1.234.567` and `0,8123` (vi), `1,234,567` and `0.8123` (en).

    Python formats, CLDR's symbols are swapped in (Babel's own formatter costs ~100 µs a number, and a page of
    priorities holds thousands); without `digits`, at most three decimals as CLDR's default pattern."""
    if value is None:
        return "—"
    if digits is not None:
        text = f"{value:,.{digits}f}"
    elif isinstance(value, int) or float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text.translate(_symbols(lang))


def money(lang: str, value: Any) -> str:
    """Integer VND: `1.234.567 ₫` (vi, with a no-break space), `₫1,234,567` (en)."""
    if value is None:
        return "—"
    amount = round(value)
    text = _money_template(lang).format(number(lang, abs(amount)))
    return f"-{text}" if amount < 0 else text


def percent(lang: str, value: Any) -> str:
    return "—" if value is None else number(lang, value * 100, 1) + "%"


def _aware(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value  # type: ignore[no-any-return]


DATETIME_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}
DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}


def when(lang: str, value: Any) -> str:
    """A date and time in Vietnam's time zone."""
    at = _aware(value)
    return (
        "—" if at is None else format_datetime(at, DATETIME_PATTERNS[lang], tzinfo=TZ, locale=LOCALES[lang])
    )


def day(lang: str, value: Any) -> str:
    at = _aware(value)
    return (
        "—"
        if at is None
        else format_date(at.astimezone(TZ).date(), DATE_PATTERNS[lang], locale=LOCALES[lang])
    )


def local_input(value: Any) -> str:
    """An instant as the value of an <input type="datetime-local"> (Vietnam's time)."""
    at = _aware(value)
    return "" if at is None else at.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


# -- labels of codes ----------------------------------------------------------------------------------------

# Sectors and kinds read as the registration form (hosted page, ODK Collect) names them: one set of names.
SECTORS: dict[str, dict[str, str]] = SECTOR_LABELS
KINDS: dict[str, dict[str, str]] = KIND_LABELS
REVIEW_STATES = {
    "received": N_("Received"),
    "has_issues": N_("Has issues"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "edited": N_("Edited after review"),
}
REVIEW_FILTERS = {
    "not_rejected": N_("All but rejected answers"),
    "approved": N_("Approved answers only"),
    "any": N_("Every answer"),
}
# Budgeted selections: strategies, kinds of support (the support_cost rules' ids), why a candidate was passed over.
STRATEGIES = {
    "max_total_score": N_("Greatest total score (exact optimum)"),
    "rank_order": N_("Down the ranking from rank 1"),
}
SUPPORT_KINDS = {
    "demonstration_model": N_("Demonstration model"),
    "production_line": N_("Production line"),
    "advanced_machinery": N_("Advanced machinery"),
    "cleaner_production": N_("Cleaner production"),
}
PASSED_OVER = {
    "no_cost": N_("No cost: the support cost cannot be computed"),
    "province_bound": N_("Its province's bound"),
    "sector_bound": N_("Its sector's bound"),
    "kind_bound": N_("The bound of its kind of support"),
    "max_projects": N_("The maximum number of projects"),
    "over_budget": N_("Its cost exceeds the budget left after the better-ranked selected"),
    "optimum_prefers_others": N_("The optimum funds others with a greater total score"),
}
ELIGIBILITY_RULES = {
    "min_score": N_("Not eligible: score below the minimum"),
    "max_rank": N_("Not eligible: ranked below the maximum rank"),
    "min_cost_vnd": N_("Not eligible: cost below the minimum"),
    "max_cost_vnd": N_("Not eligible: cost above the maximum"),
    "kinds": N_("Not eligible: kind of support not chosen"),
    "approved_only": N_("Not eligible: cost not from an approved answer"),
}
ROLES = {"planner": N_("planner"), "admin": N_("admin")}
METHODS = {"weighted_sum": N_("weighted sum of the normalised criteria"),
           "topsis": N_("TOPSIS (closeness to the ideal establishment)")}  # fmt: skip
# What a person reads when the API refuses a form, by the error's code (the API's own message otherwise).
ERROR_CODES = {
    "required": N_("This field is required."),
    "invalid_source": N_("This is not a numeric answer or facility field."),
    "min_above_max": N_("The minimum per province is above the maximum."),
    "infeasible": N_("No selection meets every constraint within this budget."),
    "in_future": N_("Choose a time in the past: a ranking only uses data already received."),
    "not_a_number": N_("Write a whole number of đồng, e.g. 20.000.000.000."),
    "unknown_key": N_("This key is unknown or has been revoked."),
    "role_not_allowed": N_(
        "The workspace is for planners and admins. Ask your administrator for a planner key."
    ),
}

# The same, for a code whose meaning depends on the field.
FIELD_ERRORS = {
    ("cost_source", "required"): N_("This profile has no support cost: choose a cost source."),
}


def criterion_label(lang: str, label: dict[str, str] | None, cid: str) -> str:
    """A criterion's name in `lang` as its profile gives it (`label: {vi, en}`), else its id made readable
    ("jobs_created" → "Jobs created") — never the raw id."""
    if label and label.get(lang):
        return str(label[lang])
    if label and label.get(DEFAULT_LANG):
        return str(label[DEFAULT_LANG])
    words = cid.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else cid


def text_of(lang: str, value: Any) -> str:
    """A `{vi, en}` text of a definition in `lang` (Vietnamese when the language is missing)."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("vi") or next(iter(value.values()), ""))
    return "" if value is None else str(value)
