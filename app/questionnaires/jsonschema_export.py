"""JSON Schema (draft 2020-12) of a version's `answers` object, accepting exactly what the validator accepts."""

from __future__ import annotations

from typing import Any

from app.questionnaires.definition import Definition, Question
from app.questionnaires.validator import DATE_RE, FILE_NAME_BAD, FILE_NAME_MAX

DIALECT = "https://json-schema.org/draft/2020-12/schema"


GEOPOINT: dict[str, Any] = {
    "type": "object",
    "required": ["lat", "lon"],
    "properties": {
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "alt": {"type": "number"},
        "accuracy_m": {"type": "number", "minimum": 0},
    },
    "additionalProperties": False,
}


def _text(labels: dict[str, str] | None, lang: str) -> str | None:
    if not labels:
        return None
    return labels.get(lang) or labels.get("vi") or next(iter(labels.values()))


def _condition(cond: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    if "all" in cond:
        return {"allOf": [_condition(c, types) for c in cond["all"]]}
    if "any" in cond:
        return {"anyOf": [_condition(c, types) for c in cond["any"]]}
    qid = cond["question"]
    multi = types[qid] == "select_multiple"
    if "equals" in cond or "in" in cond:
        match = {"const": cond["equals"]} if "equals" in cond else {"enum": list(cond["in"])}
        prop = {"type": "array", "contains": match} if multi else match
    else:
        op = next(k for k in ("gt", "gte", "lt", "lte") if k in cond)
        keyword = {"gt": "exclusiveMinimum", "gte": "minimum", "lt": "exclusiveMaximum", "lte": "maximum"}[op]
        prop = {"type": "number", keyword: cond[op]}
    return {"required": [qid], "properties": {qid: prop}}


def question_schema(q: Question, lang: str) -> dict[str, Any]:
    s: dict[str, Any] = {"title": _text(q.label, lang)}
    desc = _text(q.hint, lang)
    unit = q.unit_text(lang)
    if unit:
        desc = f"{desc} ({unit})" if desc else unit
    if desc:
        s["description"] = desc
    if q.type in ("integer", "boolean"):
        s["type"] = q.type
    elif q.type == "decimal":
        s["type"] = "number"
    elif q.type == "text":
        s["type"] = "string"
        if q.min_length is not None:
            s["minLength"] = q.min_length
        if q.max_length is not None:
            s["maxLength"] = q.max_length
        if q.pattern:
            s["pattern"] = q.pattern
    elif q.type == "date":
        s.update(type="string", format="date", pattern=DATE_RE.pattern)
    elif q.type == "geopoint":
        s.update(GEOPOINT)
    elif q.type in ("image", "file"):
        # "contains none of the refused characters", unanchored: an anchored `^[^...]*$` would let a trailing
        # newline through in Python's regex dialect ($ matches before it), and the validator refuses it.
        s.update(
            type="string", minLength=1, maxLength=FILE_NAME_MAX, **{"not": {"pattern": FILE_NAME_BAD.pattern}}
        )
    elif q.type == "select_one":
        s["type"] = "string"
        s["oneOf"] = [{"const": c.code, "title": _text(c.label, lang)} for c in q.choices]
    else:
        s.update(type="array", uniqueItems=True)
        s["items"] = {
            "type": "string",
            "oneOf": [{"const": c.code, "title": _text(c.label, lang)} for c in q.choices],
        }
        if q.required:
            s["minItems"] = 1
        if q.exclusive_codes:
            # an exclusive choice is ticked alone: a list containing one holds nothing else
            s["if"] = {"contains": {"enum": list(q.exclusive_codes)}}
            s["then"] = {"maxItems": 1}
    if q.type in ("integer", "decimal"):
        if q.min is not None:
            s["minimum"] = q.min
        if q.max is not None:
            s["maximum"] = q.max
    return s


def export(defn: Definition, lang: str = "vi") -> dict[str, Any]:
    """Conditional questions are declared by title at the top and typed inside if/then/else, as form renderers expect."""
    types = {q.id: q.type for q in defn.questions}
    props: dict[str, Any] = {}
    required: list[str] = []
    conditionals: list[dict[str, Any]] = []
    for q in defn.questions:
        full = question_schema(q, lang)
        if q.relevant is None:
            props[q.id] = full
            if q.required:
                required.append(q.id)
            continue
        props[q.id] = {"title": full["title"]}
        then: dict[str, Any] = {"properties": {q.id: full}}
        if q.required:
            then["required"] = [q.id]
        conditionals.append(
            {
                "if": _condition(q.relevant, types),
                "then": then,
                "else": {"properties": {q.id: {"type": "null"}}},
            }
        )
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"urn:khuyencong:questionnaire:{defn.key}:v{defn.version}:{lang}",
        "title": _text(defn.title, lang),
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if conditionals:
        schema["allOf"] = conditionals
    return schema
