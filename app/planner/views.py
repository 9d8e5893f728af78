"""What the pages show, shaped from what the services return (no queries here, no rules of the domain).

Form values in, service arguments out (profile choice, money, local times); service results in, rows for the
templates out (stacked contribution bars, answers with their labels, the per-province chart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.places.service import fold
from app.planner import i18n
from app.prioritisation.profiles import Criterion, Profile, Profiles
from app.prioritisation.summary import ProvinceCounts
from app.questionnaires.definition import Definition, Question
from app.questionnaires.registry import Registry


def by_name(name: str) -> str:
    """Sort key of a province name as a Vietnamese reader expects it (accents folded, "Thành phố" ignored)."""
    return fold(name.removeprefix("Thành phố "))


# -- form values --------------------------------------------------------------------------------------------


def profile_choices(profiles: Profiles, lang: str) -> list[dict[str, Any]]:
    """Every usable profile version (published first, newest first), as options of a select."""
    usable = [p for p in profiles.items.values() if p.status != "draft"]
    usable.sort(key=lambda p: (p.status != "published", p.key, -p.version))
    return [{"value": f"{p.key}:{p.version}", "title": _titled(i18n.text_of(lang, p.raw.get("title")) or p.key, p.version, lang),
             "key": p.key, "version": p.version, "status": p.status} for p in usable]  # fmt: skip


EDITION_RE = re.compile(r"phiên bản|edition|version", re.IGNORECASE)


def _titled(title: str, version: int, lang: str) -> str:
    """A profile's title naming its version once: "… (phiên bản 2)" as the title says it, else with the version
    added."""
    if EDITION_RE.search(title):
        return title
    return f"{title} ({i18n.tr(lang, 'version %(num)s', num=version)})"


def chosen_profile(profiles: Profiles, value: str | None) -> Profile | None:
    """The profile named `key:version` (the newest published one when nothing is named); None when unknown."""
    if value:
        key, _, version = value.rpartition(":")
        if not version.isdigit():
            return None
        p = profiles.items.get((key, int(version)))
        return p if p is not None and p.status != "draft" else None
    published = sorted(
        (p for p in profiles.items.values() if p.status == "published"), key=lambda p: (p.key, -p.version)
    )
    return published[0] if published else None


MONEY_RE = re.compile(r"^\d{1,3}([.,\s]\d{3})+$|^\d+$")


def parse_money(text: str | None) -> int | None:
    """'20.000.000.000', '20,000,000,000', '20 000 000 000' or '20000000000' → 20000000000 (None: empty)."""
    text = (text or "").strip().replace("\u00a0", " ").removesuffix("₫").removesuffix("đ").strip()
    if not text:
        return None
    if not MONEY_RE.match(text):
        raise ValueError(text)
    return int(re.sub(r"[.,\s]", "", text))


def parse_count(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


def parse_share(text: str | None) -> float | None:
    """'0,5', '0.5' or '1' → a number from 0 to 1 (None: empty)."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    if not re.fullmatch(r"(0(\.\d+)?|1(\.0+)?|\.\d+)", text):
        raise ValueError(text)
    return float(text)


def parse_local(text: str | None) -> datetime | None:
    """An <input type="datetime-local"> value, read as Vietnam's time (None: empty); an instant with an offset
    (the pages' own links carry the exact as_of of a ranking) is taken as it is."""
    text = (text or "").strip()
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=i18n.TZ)


def cost_sources(registry: Registry, lang: str) -> list[dict[str, str]]:
    """Numeric answers and facility fields a budget can count as each candidate's cost."""
    out: list[dict[str, str]] = []
    for key in registry.keys:
        versions = [d for d in registry.versions(key) if d.status != "draft"]
        if not versions:
            continue
        seen: set[str] = set()
        title = i18n.text_of(lang, versions[-1].title)
        for d in reversed(versions):
            for q in d.questions:
                if q.type in ("integer", "decimal") and q.id not in seen:
                    seen.add(q.id)
                    out.append(
                        {"value": f"{key}.{q.id}", "label": f"{title} — {i18n.text_of(lang, q.label)}"}
                    )
    out.append({"value": "facility.annual_revenue_vnd", "label": i18n.tr(lang, "Facility — annual revenue")})
    return out


def cost_label(registry: Registry, selection: dict[str, Any] | None, lang: str) -> str:
    """What a ranking counted as each candidate's cost, in words (the profile's support cost when the request
    named no cost source: the selection then records the rule it applied as `support_cost`)."""
    selection = selection or {}
    source = selection.get("cost_source")
    if not source or selection.get("support_cost") is not None:
        return i18n.tr(lang, "the profile's support cost")
    return next((c["label"] for c in cost_sources(registry, lang) if c["value"] == source), source)


# -- priorities ---------------------------------------------------------------------------------------------


@dataclass
class Segment:
    index: int
    label: str
    contribution: float
    x: float
    width: float


@dataclass
class PriorityRow:
    item: dict[str, Any]
    segments: list[Segment]
    missing: list[str]
    stale: list[str]
    details: list[dict[str, Any]] = field(default_factory=list)


BAR_SCALE = 1000.0  # the SVG's width in user units: a score of 1.0 fills it
COLOURS = 16  # distinct criterion colours in the stylesheet (.c0 … .c15): one per criterion up to 16


def _display(profile: Profile, c: Criterion, registry: Registry | None, lang: str) -> dict[str, Any]:
    """How a criterion's value reads: a choice's label (one mapped select answer), yes/no (one yes/no answer),
    a percentage (a share: `per`, or the mean of yes/no answers), money (VND amounts) or a number with its unit."""
    if c.per is not None or c.combine == "mean":
        return {"kind": "share"}
    questions = []
    for src in c.sources:
        if src.kind != "answer" or registry is None:
            return {"kind": "number", "unit": ""}
        carriers = registry.questions_by_id(src.questionnaire or "").get(src.name, [])
        questions += [q for d in carriers if (q := d.question(src.name)) is not None]
    if not questions:
        return {"kind": "number", "unit": ""}
    types = {q.type for q in questions}
    if len(c.sources) == 1 and types == {"boolean"}:
        return {"kind": "boolean"}
    if len(c.sources) == 1 and types == {"select_one"} and c.map:
        labels: dict[float, str] = {}
        for q in questions:
            for ch in q.choices:
                if ch.code in c.map:
                    labels.setdefault(c.map[ch.code], i18n.text_of(lang, ch.label))
        return {"kind": "choice", "labels": labels}
    units = {i18n.text_of(lang, q.unit) if q.unit else "" for q in questions}
    if len(units) == 1 and next(iter(units)).upper() in ("VND", "₫", "ĐỒNG"):
        return {"kind": "money"}
    return {"kind": "number", "unit": next(iter(units)) if len(units) == 1 else ""}


def value_text(display: dict[str, Any], raw: Any, lang: str) -> str:
    """A criterion's raw value as a person reads it (see `_display`); "—" when there is none."""
    if raw is None:
        return "—"
    kind = display["kind"]
    if kind == "boolean":
        return i18n.tr(lang, "Yes") if raw else i18n.tr(lang, "No")
    if kind == "choice" and float(raw) in display["labels"]:
        return str(display["labels"][float(raw)])
    if kind == "share":
        return i18n.percent(lang, raw)
    if kind == "money":
        return i18n.money(lang, raw)
    return f"{i18n.number(lang, raw)} {display.get('unit', '')}".strip()


def criteria_legend(profile: Profile, lang: str, registry: Registry | None = None) -> list[dict[str, Any]]:
    """The profile's criteria in order: colour index (one colour each), label and rationale in `lang`, how its
    value reads, and whether the value is a field of the facility's record (not an answer)."""
    return [{"index": i, "id": c.id, "label": i18n.criterion_label(lang, c.label, c.id), "rationale": c.rationale_in(lang),
             "display": _display(profile, c, registry, lang), "not_applicable": c.not_applicable,
             "record": all(s.kind == "facility" for s in c.sources)} for i, c in enumerate(profile.criteria)]  # fmt: skip


def priority_rows(
    items: list[dict[str, Any]], legend: list[dict[str, Any]], lang: str = i18n.DEFAULT_LANG
) -> list[PriorityRow]:
    """Each ranked item with its stacked bar (one segment per criterion's contribution), its flags and its
    explanation (each criterion's value in words, its state, weight and the weight it was given)."""
    labels = {c["id"]: c["label"] for c in legend}
    index = {c["id"]: c["index"] for c in legend}
    by_id = {c["id"]: c for c in legend}
    record = {c["id"] for c in legend if c["record"]}
    rows = []
    for it in items:
        x = 0.0
        segments = []
        for c in it["criteria"]:
            width = max(0.0, float(c["contribution"])) * BAR_SCALE
            if width > 0:
                segments.append(
                    Segment(
                        index[c["id"]] % COLOURS,
                        labels[c["id"]],
                        c["contribution"],
                        round(x, 2),
                        round(width, 2),
                    )
                )
            x += width
        details = []
        for c in it["criteria"]:
            state = c.get("state") or (
                "stale" if c.get("stale") else "missing" if c.get("raw") is None else "value"
            )
            details.append({**c, "label": labels[c["id"]], "record": c["id"] in record, "state": state,
                            "index": index[c["id"]] % COLOURS, "rationale": by_id[c["id"]]["rationale"],
                            "weight_used": c.get("weight_used", c.get("effective_weight", c["weight"])),
                            "value_text": value_text(by_id[c["id"]]["display"], c.get("raw"), lang)})  # fmt: skip
        rows.append(PriorityRow(
            item=it, segments=segments,
            missing=[labels.get(m, m) for m in it["missing"]],
            stale=[labels[c["id"]] for c in it["criteria"] if c.get("stale")],
            details=details,
        ))  # fmt: skip
    return rows


# -- answers ------------------------------------------------------------------------------------------------


def _choice_label(q: Question, code: Any, lang: str) -> str:
    for ch in q.choices:
        if ch.code == code:
            return i18n.text_of(lang, ch.label)
    return str(code)


def answer_text(q: Question | None, value: Any, lang: str) -> str:
    """An answer as a person reads it: Có/Không, choice labels, formatted numbers and money."""
    if value is None:
        return "—"
    if q is None:
        return str(value)
    unit = i18n.text_of(lang, q.unit) if q.unit else ""
    if q.type == "boolean":
        return i18n.tr(lang, "Yes") if value else i18n.tr(lang, "No")
    if q.type == "select_one":
        return _choice_label(q, value, lang)
    if q.type == "select_multiple" and isinstance(value, list):
        return "; ".join(_choice_label(q, v, lang) for v in value) or "—"
    if q.type in ("integer", "decimal") and isinstance(value, int | float) and not isinstance(value, bool):
        if unit.upper() in ("VND", "₫", "ĐỒNG"):
            return i18n.money(lang, value)
        return f"{i18n.number(lang, value)} {unit}".strip()
    if q.type == "date":
        try:
            return i18n.day(lang, datetime.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if q.type == "geopoint" and isinstance(value, dict):
        acc = (
            f" (± {i18n.number(lang, value['accuracy_m'])} m)" if value.get("accuracy_m") is not None else ""
        )
        # five decimals (about a metre), as the facility's and the response's own locations are shown
        return f"{i18n.number(lang, value.get('lat'), 5)}, {i18n.number(lang, value.get('lon'), 5)}{acc}"
    return str(value)


@dataclass
class AnswerRow:
    id: str
    label: str
    text: str
    changed: bool
    attachment: str | None = None  # an image/file answer names its attachment
    is_image: bool = False
    point: tuple[float, float] | None = None  # a geopoint answer: (lat, lon), for the map link
    file: AttachedFile | None = None  # the stored file the answer names (None: not received yet)

    @property
    def map_url(self) -> str | None:
        return map_url(*self.point) if self.point else None


@dataclass(frozen=True)
class AttachedFile:
    """A stored attachment as the page links it: through the workspace's own route (the session, its scope)."""

    url: str
    content_type: str
    size: int
    inline: bool  # a photo the page shows as an image (JPEG, PNG, WebP, GIF); anything else is a download


# Photos a browser shows in an <img> (the attachments API serves the same types inline).
INLINE_IMAGES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def map_url(lat: Any, lon: Any) -> str:
    """The point on OpenStreetMap (a marker at a street-level zoom)."""
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def has_point(value: Any) -> bool:
    return _point(value) is not None


def _point(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("lat"), value.get("lon")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        return None
    return float(lat), float(lon)  # type: ignore[arg-type]


def answer_rows(
    d: Definition | None, answers: dict[str, Any], lang: str, previous: dict[str, Any] | None = None
) -> list[AnswerRow]:
    """The answers in the definition's order (unknown ids after), marking what changed since `previous`."""
    rows = []
    questions = list(d.questions) if d else []
    known = {q.id for q in questions}
    for q in questions:
        if q.id not in answers:
            continue
        value = answers[q.id]
        is_file = q.type in ("image", "file") and isinstance(value, str)
        rows.append(AnswerRow(q.id, i18n.text_of(lang, q.label), answer_text(q, value, lang),
                              previous is not None and previous.get(q.id) != value,
                              attachment=value if is_file else None, is_image=q.type == "image",
                              point=_point(value) if q.type == "geopoint" else None))  # fmt: skip
    for k in sorted(set(answers) - known):
        rows.append(
            AnswerRow(
                k,
                k,
                answer_text(None, answers[k], lang),
                previous is not None and previous.get(k) != answers[k],
            )
        )
    if previous is not None:
        for k in sorted(set(previous) - set(answers)):
            gone = d.question(k) if d else None
            rows.append(AnswerRow(k, i18n.text_of(lang, gone.label) if gone else k, "—", True))
    return rows


def with_files(rows: list[AnswerRow], response_id: str, stored: dict[str, Any]) -> list[AnswerRow]:
    """Each image/file answer linked to its stored file (`stored`: name → the attachment's row), if it came."""
    for row in rows:
        found = stored.get(row.attachment) if row.attachment else None
        if found is not None:
            row.file = AttachedFile(
                url=f"/planner/responses/{quote(response_id, safe='')}/attachments/{quote(found.name, safe='')}",
                content_type=found.content_type,
                size=found.size,
                inline=row.is_image and found.content_type in INLINE_IMAGES,
            )
    return rows


def state_counts(found: list[Any]) -> dict[str, int]:
    """How many of these responses are in each review state."""
    out: dict[str, int] = {}
    for r in found:
        out[r.review_state] = out.get(r.review_state, 0) + 1
    return out


# -- a frozen ranking -----------------------------------------------------------------------------------------


def province_chart(counts: list[ProvinceCounts], lang: str, province_names: dict[str, str]) -> dict[str, Any]:
    """The per-province chart's data (Chart.js reads it from a data attribute; no inline script)."""
    return {
        "labels": [province_names.get(c.province_code, c.province_code) for c in counts],
        "datasets": [
            {"label": i18n.tr(lang, "Candidates"), "data": [c.candidates for c in counts]},
            {"label": i18n.tr(lang, "Selected"), "data": [c.selected for c in counts]},
            {
                "label": i18n.tr(lang, "Previously supported"),
                "data": [c.previously_supported for c in counts],
            },
        ],
    }


def support_kinds(profiles: Profiles, lang: str) -> list[dict[str, str]]:
    """Every kind of support the profiles' support_cost rules name (their ids), with its name in `lang`."""
    ids = dict.fromkeys(
        r.id for p in profiles.items.values() if p.support_cost for r in p.support_cost.rules if r.id
    )
    return [{"value": k, "label": i18n.tr(lang, i18n.SUPPORT_KINDS[k]) if k in i18n.SUPPORT_KINDS else k.replace("_", " ")}
            for k in ids]  # fmt: skip


def passed_over_reason(reason: str, lang: str) -> str:
    """Why a candidate was passed over, in words."""
    name, _, rule = reason.partition(":")
    if name == "not_eligible":
        return i18n.tr(lang, i18n.ELIGIBILITY_RULES[rule]) if rule in i18n.ELIGIBILITY_RULES else reason
    return i18n.tr(lang, i18n.PASSED_OVER[reason]) if reason in i18n.PASSED_OVER else reason


def binding_texts(constraints: list[str], lang: str, province_names: dict[str, str]) -> list[str]:
    """The binding constraints ('budget', 'per_province.max:68', 'per_sector.max:handicrafts') in words, one line
    per kind of constraint."""
    by_kind: dict[str, list[str]] = {}
    for c in constraints:
        name, _, arg = c.partition(":")
        by_kind.setdefault(name, []).append(arg)
    out = []
    if "budget" in by_kind:
        out.append(i18n.tr(lang, "The budget: no other candidate's cost fits in what is left."))
    for name, message in (
        ("per_province.max", i18n.N_("The maximum per province, reached in: %(places)s.")),
        (
            "per_province.min",
            i18n.N_("The minimum per province: only the minimum was selected in: %(places)s."),
        ),
    ):
        if name in by_kind:
            places = sorted((province_names.get(a, a) for a in by_kind[name]), key=by_name)
            out.append(i18n.tr(lang, message, places=", ".join(places)))
    if "per_sector.max" in by_kind:
        sectors = [
            i18n.text_of(lang, i18n.SECTORS[a]) if a in i18n.SECTORS else a for a in by_kind["per_sector.max"]
        ]
        out.append(
            i18n.tr(lang, "The maximum per sector, reached in: %(sectors)s.", sectors=", ".join(sectors))
        )
    if "per_sector.min" in by_kind:
        sectors = [
            i18n.text_of(lang, i18n.SECTORS[a]) if a in i18n.SECTORS else a for a in by_kind["per_sector.min"]
        ]
        out.append(i18n.tr(lang, "The minimum per sector: only the minimum was selected in: %(sectors)s.",
                           sectors=", ".join(sectors)))  # fmt: skip
    for name, message in (("per_kind.max", i18n.N_("The maximum of a kind of support, reached for: %(kinds)s.")),
                          ("per_kind.min", i18n.N_("The minimum of a kind of support, just met for: %(kinds)s."))):  # fmt: skip
        if name in by_kind:
            kinds = [
                i18n.tr(lang, i18n.SUPPORT_KINDS[a]) if a in i18n.SUPPORT_KINDS else a for a in by_kind[name]
            ]
            out.append(i18n.tr(lang, message, kinds=", ".join(kinds)))
    if "max_projects" in by_kind:
        out.append(i18n.tr(lang, "The maximum number of projects."))
    if "min_provinces" in by_kind:
        out.append(i18n.tr(lang, "The minimum number of provinces, just met."))
    known = {"budget", "per_province.max", "per_province.min", "per_sector.max", "per_sector.min", "per_kind.max",
             "per_kind.min", "max_projects", "min_provinces"}  # fmt: skip
    out += [c for c in constraints if c.partition(":")[0] not in known]
    return out


def error_text(error: dict[str, str], lang: str) -> str:
    """A field error of the API, in the reader's language when its field and code, or its code, are known (else
    the API's own words)."""
    code, path = error.get("code", ""), error.get("path", "")
    if (path, code) in i18n.FIELD_ERRORS:
        return i18n.tr(lang, i18n.FIELD_ERRORS[(path, code)])
    return i18n.tr(lang, i18n.ERROR_CODES[code]) if code in i18n.ERROR_CODES else error.get("message", "")
