"""Answer validation: one compiled validator per questionnaire version, returning every error.

Semantics shared with the JSON Schema export (tests/questionnaires/test_agreement.py proves they agree):
- numbers are JSON numbers: `true` is not an integer, "12" is not a number, 12.0 is the integer 12;
- a question that is not relevant must be absent or null; a relevant one must not be null;
- relevance on an absent or null answer is false; numeric comparisons need a number.

Checks across answers (the definition's `checks:`) run after every answer is checked on its own: a check
is evaluated only when each question it names is answered (present, not null, not "" or []) and fits on its own; one that
fails gives one `check_failed` error per question it names, with the check's id and its message in the
request's language (app/core/language.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from app.core import language
from app.core.errors import field_error
from app.questionnaires import expressions
from app.questionnaires.definition import Definition, Question

DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# A file name as a device names an attachment: no path separators, no control characters (Unicode Cc).
FILE_NAME_MAX = 255
FILE_NAME_BAD = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")
GEOPOINT_KEYS = ("lat", "lon", "alt", "accuracy_m")

Error = dict[str, str]
# What a check reads as "not answered" (as the XForm does: an empty text or an empty selection is blank)
_BLANK: tuple[Any, ...] = (None, "", [])
# Errors that leave an answer readable by a check (the value has its question's type)
_READABLE = frozenset({"too_small", "too_large", "too_short", "too_long", "pattern", "exclusive_choice"})


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def finite(v: int | float) -> bool:
    """Python ints are exact and always finite (math.isfinite overflows on very large ones)."""
    return isinstance(v, int) or math.isfinite(v)


def same(a: Any, b: Any) -> bool:
    """JSON equality: booleans never equal numbers, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if is_number(a) and is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def compile_condition(cond: dict[str, Any], types: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    if "all" in cond:
        parts = [compile_condition(c, types) for c in cond["all"]]
        return lambda ans: all(p(ans) for p in parts)
    if "any" in cond:
        parts = [compile_condition(c, types) for c in cond["any"]]
        return lambda ans: any(p(ans) for p in parts)
    qid = cond["question"]
    multi = types[qid] == "select_multiple"
    if "equals" in cond or "in" in cond:
        wanted = [cond["equals"]] if "equals" in cond else list(cond["in"])
        if all(isinstance(w, str) for w in wanted):  # the common case, without the generic JSON equality
            texts = frozenset(wanted)
            if multi:
                return lambda ans: (
                    isinstance(ans.get(qid), list) and any(type(v) is str and v in texts for v in ans[qid])
                )
            return lambda ans: type(ans.get(qid)) is str and ans[qid] in texts
        # Booleans are singletons: `is` never equates 1 and True, as JSON equality requires.
        if not multi and all(isinstance(w, bool) for w in wanted):
            if len(wanted) == 1:
                flag = wanted[0]
                return lambda ans: ans.get(qid) is flag
            flags = tuple(wanted)
            return lambda ans: any(ans.get(qid) is w for w in flags)

        def _match(value: Any) -> bool:
            return any(same(value, w) for w in wanted)

        if multi:
            return lambda ans: isinstance(ans.get(qid), list) and any(_match(v) for v in ans[qid])
        return lambda ans: qid in ans and ans[qid] is not None and _match(ans[qid])
    op = next(k for k in ("gt", "gte", "lt", "lte") if k in cond)
    bound = cond[op]
    cmp: Callable[[Any], bool] = {
        "gt": lambda v: v > bound,
        "gte": lambda v: v >= bound,
        "lt": lambda v: v < bound,
        "lte": lambda v: v <= bound,
    }[op]
    return lambda ans: is_number(ans.get(qid)) and finite(ans[qid]) and cmp(ans[qid])


def _fmt(n: float | int) -> str:
    return f"{n:,}".replace(",", " ") if isinstance(n, int) or float(n).is_integer() else str(n)


def compile_question(q: Question) -> Callable[[Any], list[tuple[str, str]]]:
    """A function from one (non-null) answer to its (code, message) problems."""
    label = q.label.get("en") or q.label["vi"]
    unit = f" {q.unit_text('en')}" if q.unit else ""
    codes = set(q.choice_codes)
    exclusive = set(q.exclusive_codes)
    pattern = re.compile(q.pattern) if q.pattern else None

    def bounds(v: float | int) -> list[tuple[str, str]]:
        out = []
        if q.min is not None and v < q.min:
            out.append(("too_small", f"{label}: must be at least {_fmt(q.min)}{unit}; got {_fmt(v)}."))
        if q.max is not None and v > q.max:
            out.append(("too_large", f"{label}: must be at most {_fmt(q.max)}{unit}; got {_fmt(v)}."))
        return out

    def check(v: Any) -> list[tuple[str, str]]:
        t = q.type
        if t == "integer":
            if not is_number(v):
                return [("type", f"{label}: must be a whole number, not {_describe(v)}.")]
            if not finite(v):
                return [("not_finite", f"{label}: must be a finite number.")]
            if isinstance(v, float) and not v.is_integer():
                return [("type", f"{label}: must be a whole number; got {v}.")]
            return bounds(v)
        if t == "decimal":
            if not is_number(v):
                return [("type", f"{label}: must be a number, not {_describe(v)}.")]
            if not finite(v):
                return [
                    ("not_finite", f"{label}: must be a finite number (NaN and Infinity are not allowed).")
                ]
            return bounds(v)
        if t == "boolean":
            return (
                []
                if isinstance(v, bool)
                else [("type", f"{label}: must be true or false, not {_describe(v)}.")]
            )
        if t == "text":
            if not isinstance(v, str):
                return [("type", f"{label}: must be text, not {_describe(v)}.")]
            out = []
            if q.min_length is not None and len(v) < q.min_length:
                out.append(("too_short", f"{label}: must have at least {q.min_length} characters."))
            if q.max_length is not None and len(v) > q.max_length:
                out.append(
                    ("too_long", f"{label}: must have at most {q.max_length} characters; got {len(v)}.")
                )
            if pattern is not None and not pattern.search(v):
                out.append(("pattern", f"{label}: does not have the expected form ({q.pattern})."))
            return out
        if t == "date":
            if not isinstance(v, str):
                return [("type", f"{label}: must be a date written YYYY-MM-DD, not {_describe(v)}.")]
            try:
                if not DATE_RE.match(v):
                    raise ValueError
                date.fromisoformat(v)
            except ValueError:
                return [("invalid_date", f"{label}: must be a real date written YYYY-MM-DD; got {v!r}.")]
            return []
        if t == "geopoint":
            return _geopoint(label, v)
        if t in ("image", "file"):
            if not isinstance(v, str):
                return [("type", f"{label}: must be the attachment's file name, not {_describe(v)}.")]
            if not 1 <= len(v) <= FILE_NAME_MAX:
                return [
                    (
                        "invalid_file_name",
                        f"{label}: a file name has 1 to {FILE_NAME_MAX} characters; got {len(v)}.",
                    )
                ]
            if FILE_NAME_BAD.search(v):
                return [
                    (
                        "invalid_file_name",
                        f"{label}: a file name has no '/', '\\' or control characters; got {v[:40]!r}.",
                    )
                ]
            return []
        if t == "select_one":
            if not isinstance(v, str) or v not in codes:
                return [
                    (
                        "not_a_choice",
                        f"{label}: {v!r} is not one of the choices ({', '.join(q.choice_codes)}).",
                    )
                ]
            return []
        # select_multiple
        if not isinstance(v, list):
            return [("type", f"{label}: must be a list of choice codes, not {_describe(v)}.")]
        out = []
        bad = [x for x in v if not isinstance(x, str) or x not in codes]
        if bad:
            out.append(
                ("not_a_choice", f"{label}: {bad!r} not among the choices ({', '.join(q.choice_codes)}).")
            )
        hashable = [x for x in v if isinstance(x, str)]
        if len(set(hashable)) != len(hashable) or not bad and _has_duplicates(v):
            out.append(("duplicate_choice", f"{label}: each choice may be selected once."))
        if q.required and not v:
            out.append(("required", f"{label}: is required: select at least one choice."))
        alone = [x for x in dict.fromkeys(hashable) if x in exclusive]
        if alone and len(set(hashable)) > 1:
            out.append(
                ("exclusive_choice", f"{label}: {alone[0]!r} excludes every other choice; select it alone.")
            )
        return out

    return check


def _geopoint(label: str, v: Any) -> list[tuple[str, str]]:
    if not isinstance(v, dict):
        return [("type", f"{label}: must be a location {{lat, lon, alt?, accuracy_m?}}, not {_describe(v)}.")]
    out = []
    extra = [k for k in v if k not in GEOPOINT_KEYS]
    if extra:
        out.append(
            ("unknown_key", f"{label}: a location has lat, lon, alt and accuracy_m only; not {extra!r}.")
        )
    for k, lo, hi in (("lat", -90, 90), ("lon", -180, 180), ("alt", None, None), ("accuracy_m", 0, None)):
        if k not in v:
            if k in ("lat", "lon"):
                out.append(("required", f"{label}: a location needs {k}."))
            continue
        x = v[k]
        if not is_number(x):
            out.append(("type", f"{label}: {k} must be a number, not {_describe(x)}."))
        elif not finite(x):
            out.append(("not_finite", f"{label}: {k} must be a finite number."))
        elif (lo is not None and x < lo) or (hi is not None and x > hi):
            span = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            out.append(("out_of_range", f"{label}: {k} must be {span}; got {x}."))
    return out


def _has_duplicates(v: list[Any]) -> bool:
    return any(same(a, b) for i, a in enumerate(v) for b in v[i + 1 :])


def _describe(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, str):
        return f"the text {v[:40]!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return f"the number {v}"


class AnswerValidator:
    """Validates an `answers` object against one questionnaire version."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        types = {q.id: q.type for q in definition.questions}
        self._known = set(types)
        self._steps = [
            (
                q,
                compile_question(q),
                compile_condition(q.relevant, types) if q.relevant else None,
            )
            for q in definition.questions
        ]
        self._checks = [(c, expressions.compile_rule(c.tree, types)) for c in definition.checks]

    def validate(self, answers: dict[str, Any], prefix: str = "answers") -> list[Error]:
        errors: list[Error] = []
        for qid in answers:
            if qid not in self._known:
                errors.append(field_error(f"{prefix}.{qid}", "unknown_question",
                                          f"{qid!r} is not a question of {self.definition.key} v{self.definition.version}."))  # fmt: skip
        for q, check, relevant in self._steps:
            path = f"{prefix}.{q.id}"
            label = q.label.get("en") or q.label["vi"]
            value = answers.get(q.id)
            applies = relevant is None or relevant(answers)
            if not applies:
                if value is not None:
                    errors.append(
                        field_error(
                            path,
                            "not_relevant",
                            f"{label}: does not apply given the other answers; leave it out.",
                        )
                    )
                continue
            if q.id in answers and value is None:
                errors.append(
                    field_error(
                        path, "null", f"{label}: applies here; give an answer or leave it out, not null."
                    )
                )
                continue
            if value is None:
                if q.required:
                    errors.append(field_error(path, "required", f"{label}: is required."))
                continue
            errors.extend(field_error(path, code, msg) for code, msg in check(value))
        if self._checks:
            errors.extend(self._cross_checks(answers, prefix, errors))
        return errors

    def _cross_checks(self, answers: dict[str, Any], prefix: str, errors: list[Error]) -> list[Error]:
        # An answer of the wrong kind cannot be read by a rule; one merely out of its bounds still is (as in
        # Collect, which evaluates every constraint on the values entered).
        broken = {e["path"] for e in errors if e["code"] not in _READABLE}
        out: list[Error] = []
        lang: str | None = None
        for c, rule in self._checks:
            if any(answers.get(q) in _BLANK or f"{prefix}.{q}" in broken for q in c.names):
                continue  # not evaluated: an answer it names is missing, empty or not of its question's kind
            if rule(answers):
                continue
            lang = lang or language.requested()
            out.extend(
                {**field_error(f"{prefix}.{q}", "check_failed", c.text(lang)), "check": c.id} for q in c.names
            )
        return out
