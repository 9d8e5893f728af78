"""Definition → XLSForm-shaped rows → XForm, compiled by pyxform (the reference XLSForm compiler).

Nothing here writes XForm XML: it builds the `survey`, `choices` and `settings` sheets an author would
type into a spreadsheet, and pyxform turns them into the XForm. The rules are the validator's, written in
XPath: relevance, required, min/max/length/pattern and exclusive choices as constraints with Vietnamese
(and English) messages, booleans as a yes/no choice. Each check across answers is one more constraint of
the last question it names (in questionnaire order), with its message; like the server, it holds
whenever one of the other questions it names is unanswered or not relevant. The same definition always gives the same bytes, so
the form's hash is stable; one XForm per version is cached.

The instance a device submits (root `data`, `id` = questionnaire key, `version` = version number):
- `facility_id`: a facility picked from `facilities.csv` (the key's provinces, see media.py), or `_new`;
- `new_facility/{name, kind, sector, province_code, ward_code, tax_code}`: a facility registered inline,
  relevant only when `facility_id` is `_new`;
- one element per question of the definition, by its id, in order;
- `start`, `end` (device timestamps; `end` is the response's `collected_at`) and `meta/instanceID`.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyxform.xls2xform import convert

from app.facilities.schemas import KIND_LABELS, SECTOR_LABELS, TAX_RE
from app.questionnaires import expressions
from app.questionnaires.definition import RESERVED_IDS, Check, Definition, Question

LANGS = {"vi": "Tiếng Việt (vi)", "en": "English (en)"}
ROOT = "data"
NEW = "_new"  # facilities.csv's first row: "register a new facility"
NEW_GROUP = "new_facility"
FACILITY_FIELDS = ("name", "kind", "sector", "province_code", "ward_code", "tax_code")
assert NEW_GROUP in RESERVED_IDS and "facility_id" in RESERVED_IDS
INT32 = (-(2**31), 2**31 - 1)  # XForms `int` (and Collect's integer widget) hold 32-bit values
YES, NO = "yes", "no"


@dataclass(frozen=True)
class XForm:
    form_id: str
    version: str
    title: str
    xml: bytes

    @property
    def md5(self) -> str:
        return hashlib.md5(self.xml, usedforsecurity=False).hexdigest()


def _lit(value: Any) -> str:
    """An XPath 1.0 literal: numbers in plain decimal notation, text quoted (XPath has no escapes)."""
    if isinstance(value, bool):
        return f"'{YES if value else NO}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    text = str(value)
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


def _path(qid: str) -> str:
    return f"/{ROOT}/{qid}"


def _num(n: float | int) -> str:
    """10000000 → '10 000 000' (the Vietnamese grouping the validator's messages use)."""
    return f"{n:,}".replace(",", " ") if isinstance(n, int) or float(n).is_integer() else str(n)


def _tr(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


class _Compiler:
    """One definition's questions as XLSForm rows; conditions become XPath over absolute paths."""

    def __init__(self, d: Definition) -> None:
        self.d = d
        self.questions = {q.id: q for q in d.questions}

    def relevant(self, q: Question) -> str | None:
        return self.condition(q.relevant) if q.relevant else None

    def condition(self, cond: dict[str, Any]) -> str:
        if "all" in cond:
            return "(" + " and ".join(self.condition(c) for c in cond["all"]) + ")"
        if "any" in cond:
            return "(" + " or ".join(self.condition(c) for c in cond["any"]) + ")"
        target = self.questions[cond["question"]]
        ref = _path(target.id)
        if "equals" in cond or "in" in cond:
            wanted = [cond["equals"]] if "equals" in cond else list(cond["in"])
            if target.type == "select_multiple":
                parts = [f"selected({ref}, {_lit(w)})" for w in wanted]
            elif target.type in ("integer", "decimal"):
                parts = [f"({ref} != '' and {ref} = {_lit(w)})" for w in wanted]
            else:
                parts = [f"{ref} = {_lit(w)}" for w in wanted]
            test = parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"
        else:
            op = next(k for k in ("gt", "gte", "lt", "lte") if k in cond)
            sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            test = f"({ref} != '' and {ref} {sign} {_lit(cond[op])})"
        # The server reads a non-relevant answer as absent, so a condition on it is false; Collect keeps a
        # value typed before its question became non-relevant, so the condition says so explicitly.
        outer = self.relevant(target)
        return f"({outer} and {test})" if outer else test

    def check(self, c: Check) -> str:
        """A check as XPath: true unless every other question it names is answered (and relevant)."""
        rule = expressions.to_xpath(c.tree, _path)
        present = []
        for qid in c.names:
            if qid == c.target:
                continue  # Collect evaluates a constraint only on an answered question
            outer = self.relevant(self.questions[qid])
            filled = f"{_path(qid)} != ''"
            present.append(f"({outer} and {filled})" if outer else filled)
        if not present:
            return rule
        return f"not({' and '.join(present)}) or {rule}"

    def constraint(self, q: Question) -> tuple[str | None, dict[str, str] | None]:
        """The question's rules as one XPath constraint, and one message per language naming each rule."""
        parts: list[str] = []
        vi: list[str] = []
        en: list[str] = []
        unit_vi = f" {q.unit_text('vi')}" if q.unit else ""
        unit_en = f" {q.unit_text('en')}" if q.unit else ""
        if q.type in ("integer", "decimal"):
            if q.type == "integer" and _xform_type(q) == "decimal":
                parts.append(". = int(.)")
                vi.append("Nhập số nguyên.")
                en.append("Enter a whole number.")
            if q.min is not None and q.max is not None:
                parts.append(f". >= {_lit(q.min)} and . <= {_lit(q.max)}")
                vi.append(f"Giá trị từ {_num(q.min)} đến {_num(q.max)}{unit_vi}.")
                en.append(f"The value is between {_num(q.min)} and {_num(q.max)}{unit_en}.")
            elif q.min is not None:
                parts.append(f". >= {_lit(q.min)}")
                vi.append(f"Giá trị ít nhất {_num(q.min)}{unit_vi}.")
                en.append(f"The value is at least {_num(q.min)}{unit_en}.")
            elif q.max is not None:
                parts.append(f". <= {_lit(q.max)}")
                vi.append(f"Giá trị nhiều nhất {_num(q.max)}{unit_vi}.")
                en.append(f"The value is at most {_num(q.max)}{unit_en}.")
        if q.type == "text":
            if q.min_length is not None and q.max_length is not None:
                parts.append(f"string-length(.) >= {q.min_length} and string-length(.) <= {q.max_length}")
                vi.append(f"Từ {q.min_length} đến {q.max_length} ký tự.")
                en.append(f"Between {q.min_length} and {q.max_length} characters.")
            elif q.min_length is not None:
                parts.append(f"string-length(.) >= {q.min_length}")
                vi.append(f"Ít nhất {q.min_length} ký tự.")
                en.append(f"At least {q.min_length} characters.")
            elif q.max_length is not None:
                parts.append(f"string-length(.) <= {q.max_length}")
                vi.append(f"Nhiều nhất {q.max_length} ký tự.")
                en.append(f"At most {q.max_length} characters.")
            if q.pattern:
                parts.append(f"regex(., {_lit(q.pattern)})")
                hint = q.hint or {}
                vi.append("Chưa đúng định dạng" + (f" ({hint['vi']})." if hint.get("vi") else "."))
                en.append("Not in the expected form" + (f" ({hint['en']})." if hint.get("en") else "."))
        if q.type == "select_multiple" and q.exclusive_codes:
            ticked = " or ".join(f"selected(., {_lit(c)})" for c in q.exclusive_codes)
            parts.append(f"not(({ticked}) and count-selected(.) > 1)")
            # straight quotes: pyxform turns typographic ones into them anyway
            names_vi = ", ".join(f'"{c.label["vi"]}"' for c in q.choices if c.exclusive)
            names_en = ", ".join(f'"{c.label.get("en") or c.label["vi"]}"' for c in q.choices if c.exclusive)
            vi.append(f"Lựa chọn {names_vi} chỉ được chọn một mình.")
            en.append(f"The choice {names_en} is ticked alone or not at all.")
        for c in self.d.checks:
            if c.target == q.id:
                parts.append(self.check(c))
                vi.append(c.text("vi"))
                en.append(c.text("en"))
        if not parts:
            return None, None
        expr = " and ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
        return expr, _tr(" ".join(vi), " ".join(en))


def _xform_type(q: Question) -> str:
    if q.type == "integer":
        lo = q.min if q.min is not None else None
        hi = q.max if q.max is not None else None
        fits = lo is not None and hi is not None and INT32[0] <= lo and hi <= INT32[1]
        return "integer" if fits else "decimal"  # VND amounts exceed 32 bits: decimal + whole-number rule
    return {"boolean": f"select_one {YES}{NO}", "select_one": f"select_one {q.id}",
            "select_multiple": f"select_multiple {q.id}"}.get(q.type, q.type)  # fmt: skip


def _label_cols(name: str, texts: dict[str, str] | None) -> dict[str, str]:
    if not texts:
        return {}
    return {f"{name}::{LANGS[lang]}": texts.get(lang) or texts["vi"] for lang in LANGS}


REQUIRED_MSG = _tr("Câu hỏi này bắt buộc phải trả lời.", "This question is required.")


def _facility_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    fac = f"/{ROOT}/facility_id"
    survey = [
        {"type": "select_one_from_file facilities.csv", "name": "facility_id", "required": "yes",
         "appearance": "minimal autocomplete",
         **_label_cols("label", _tr("Cơ sở công nghiệp nông thôn", "Rural industrial establishment")),
         **_label_cols("hint", _tr("Gõ để tìm theo tên hoặc mã số thuế; chọn \"Cơ sở mới\" nếu chưa có trong danh sách.",
                                   "Type to search by name or tax code; pick \"New establishment\" if it is not listed.")),
         **_label_cols("required_message", REQUIRED_MSG)},
        {"type": "begin_group", "name": NEW_GROUP, "relevant": f"{fac} = '{NEW}'",
         **_label_cols("label", _tr("Đăng ký cơ sở mới", "Register a new establishment"))},
        {"type": "text", "name": "name", "required": "yes", "constraint": "string-length(.) <= 300",
         **_label_cols("label", _tr("Tên cơ sở", "Name of the establishment")),
         **_label_cols("constraint_message", _tr("Tên dài nhất 300 ký tự.", "At most 300 characters.")),
         **_label_cols("required_message", REQUIRED_MSG)},
        {"type": "select_one kind", "name": "kind", "required": "yes",
         **_label_cols("label", _tr("Loại hình", "Kind")), **_label_cols("required_message", REQUIRED_MSG)},
        {"type": "select_one sector", "name": "sector", "required": "yes",
         **_label_cols("label", _tr("Ngành nghề", "Sector")), **_label_cols("required_message", REQUIRED_MSG)},
        {"type": "select_one_from_file provinces.csv", "name": "province_code", "required": "yes",
         **_label_cols("label", _tr("Tỉnh, thành phố", "Province")), **_label_cols("required_message", REQUIRED_MSG)},
        {"type": "select_one_from_file wards.csv", "name": "ward_code", "appearance": "minimal autocomplete",
         "choice_filter": f"province = /{ROOT}/{NEW_GROUP}/province_code",
         **_label_cols("label", _tr("Xã, phường, đặc khu", "Commune or ward"))},
        {"type": "text", "name": "tax_code", "constraint": f"regex(., {_lit(TAX_RE.pattern.replace(chr(92) + 'd', '[0-9]'))})",
         **_label_cols("label", _tr("Mã số thuế (nếu có)", "Tax code (if any)")),
         **_label_cols("hint", _tr("10 chữ số, hoặc 13 với mã chi nhánh", "10 digits, or 13 with a branch")),
         **_label_cols("constraint_message", _tr("Mã số thuế gồm 10 chữ số, hoặc 13 (10 + mã chi nhánh, ví dụ 0101234567-001).",
                                                 "A tax code has 10 digits, or 13 (10 + branch, e.g. 0101234567-001)."))},
        {"type": "end_group"},
    ]  # fmt: skip
    choices = [{"list_name": "kind", "name": k, **_label_cols("label", v)} for k, v in KIND_LABELS.items()]
    choices += [
        {"list_name": "sector", "name": k, **_label_cols("label", v)} for k, v in SECTOR_LABELS.items()
    ]
    return survey, choices


def xlsform(d: Definition) -> dict[str, Any]:
    """The XLSForm sheets (survey, choices, settings) for one questionnaire version."""
    survey, choices = _facility_rows()
    choices += [
        {"list_name": f"{YES}{NO}", "name": YES, **_label_cols("label", _tr("Có", "Yes"))},
        {"list_name": f"{YES}{NO}", "name": NO, **_label_cols("label", _tr("Không", "No"))},
    ]
    comp = _Compiler(d)
    for q in d.questions:
        label = dict(q.label)
        if q.unit:
            label = {lang: f"{label.get(lang) or label['vi']} ({q.unit_text(lang)})" for lang in LANGS}
        row: dict[str, str] = {"type": _xform_type(q), "name": q.id, **_label_cols("label", label)}
        if q.list_from:  # picked from the key's media list, filtered by the facility picked above
            row.update({"type": f"select_one_from_file {q.list_from}.csv", "appearance": "minimal",
                        "choice_filter": f"facility = /{ROOT}/facility_id"})  # fmt: skip
        row.update(_label_cols("hint", q.hint))
        if q.required:
            row["required"] = "yes"
            row.update(_label_cols("required_message", REQUIRED_MSG))
        relevant = comp.relevant(q)
        if relevant:
            row["relevant"] = relevant
        expr, msg = comp.constraint(q)
        if expr:
            row["constraint"] = expr
            row.update(_label_cols("constraint_message", msg))
        if q.type == "file" and q.accept:
            row["body::accept"] = ",".join(q.accept)
        if q.type == "image":
            row["parameters"] = "max-pixels=2048"  # Collect scales photos down before sending
        survey.append(row)
        choices += [{"list_name": q.id, "name": c.code, **_label_cols("label", c.label)} for c in q.choices]
    survey += [{"type": "start", "name": "start"}, {"type": "end", "name": "end"}]
    fac = f"/{ROOT}/facility_id"
    settings = {
        "form_id": d.key,
        "version": str(d.version),
        "form_title": d.title["vi"],
        "default_language": LANGS["vi"],
        "instance_name": f"if({fac} = '{NEW}', /{ROOT}/{NEW_GROUP}/name, jr:choice-name({fac}, '{fac}'))",
    }
    return {"survey": survey, "choices": choices, "settings": [settings], "fallback_form_name": ROOT}


_cache: dict[tuple[str, int, str], XForm] = {}
_lock = threading.Lock()


def build(d: Definition) -> XForm:
    """The XForm of one questionnaire version, compiled once per process (its bytes never change)."""
    key = (d.key, d.version, d.content_hash)
    form = _cache.get(key)
    if form is None:
        with _lock:
            form = _cache.get(key)
            if form is None:
                result = convert(xlsform(d), pretty_print=False, form_name=ROOT)
                form = _cache[key] = XForm(d.key, str(d.version), d.title["vi"], result.xform.encode())
    return form
