"""How a person enters JSON-shaped answers into an ODK form, and what the engine's verdicts mean on the server."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from app.questionnaires.definition import Definition
from app.questionnaires.validator import AnswerValidator, compile_condition
from tests.factories import valid_answers

# Server error codes by the engine verdict a person sees in the form for the same answer.
CONSTRAINT_CODES = {"too_small", "too_large", "too_short", "too_long", "pattern", "exclusive_choice"}


def engine_answers(d: Definition, answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """JSON answers → (what the person enters per question, the files the upload questions pick)."""
    out: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for qid, v in answers.items():
        q = d.question(qid)
        if q is None or v is None:
            out[qid] = v
        elif q.type == "boolean":
            out[qid] = "yes" if v else "no"
        elif q.type in ("image", "file"):
            out[qid] = v
            kind = "image/jpeg" if q.type == "image" else "application/pdf"
            files[v] = {"type": kind, "base64": base64.b64encode(f"bytes of {v}".encode()).decode()}
        else:
            out[qid] = v
    return out, files


def completed(d: Definition, given: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """`given` (JSON answers) completed the way a person finishes the form, whatever the version asks:
    top to bottom, each question shown by the answers so far keeps its given answer, and a required one
    without an answer gets a valid answer drawn from the definition (tests.factories.valid_answers). Nothing
    is answered that the form would not show, and the result passes the validator (asserted), so a test
    names only the answers it is about and still holds when a new version asks more."""
    types = {q.id: q.type for q in d.questions}
    shown_all = dataclasses.replace(
        d, questions=tuple(dataclasses.replace(q, relevant=None) for q in d.questions)
    )
    pool = valid_answers(shown_all, seed, fill=1.0)
    out: dict[str, Any] = {}
    for q in d.questions:
        if q.relevant and not compile_condition(q.relevant, types)(out):
            assert q.id not in given, f"{d.key} v{d.version}: {q.id} is given but not shown"
            continue
        if q.id in given:
            out[q.id] = given[q.id]
        elif q.required:
            out[q.id] = pool[q.id]
    unknown = set(given) - set(out)
    assert not unknown, f"{d.key} v{d.version} has no questions {sorted(unknown)}"
    out = in_choice_order(d, out)
    errors = AnswerValidator(d).validate(out)
    assert errors == [], (d.key, d.version, errors)
    return out


def _features(d: Definition, answers: dict[str, Any]) -> set[tuple[str, str]]:
    """What an answer set exercises: each question answered, each exclusive choice ticked alone, a geopoint
    with and without altitude and accuracy."""
    out = set()
    for q in d.questions:
        v = answers.get(q.id)
        if v is None:
            continue
        out.add((q.id, "answered"))
        if q.type == "select_multiple":
            out |= {(q.id, f"alone:{c}") for c in q.exclusive_codes if v == [c]}
        if q.type == "geopoint":
            out.add((q.id, "with alt" if "alt" in v else "lat lon only"))
    return out


def covering_sets(d: Definition, partial: int = 2, seeds: int = 300) -> list[dict[str, Any]]:
    """Valid answer sets (in choice order) that between them answer every question of `d` (each image and
    file, each geopoint with and without altitude, each exclusive choice ticked alone), plus `partial` sets
    that leave optional questions empty. Drawn from the definition, so a new version is covered as it is."""
    wanted: set[tuple[str, str]] = set()
    for q in d.questions:
        wanted.add((q.id, "answered"))
        wanted |= {(q.id, f"alone:{c}") for c in q.exclusive_codes}
        if q.type == "geopoint":
            wanted |= {(q.id, "with alt"), (q.id, "lat lon only")}
    got: set[tuple[str, str]] = set()
    out = []
    for seed in range(seeds):
        answers = in_choice_order(d, valid_answers(d, seed, fill=1.0))
        new = _features(d, answers) - got
        if new:
            out.append(answers)
            got |= new
        if got >= wanted:
            break
    assert got >= wanted, f"{d.key} v{d.version}: no valid answer set exercises {sorted(wanted - got)}"
    return out + [in_choice_order(d, valid_answers(d, 1000 + seed, fill=0.5)) for seed in range(partial)]


def in_choice_order(d: Definition, answers: dict[str, Any]) -> dict[str, Any]:
    """A form lists ticked choices in the order it shows them: the same answers, select_multiple so ordered."""
    out = dict(answers)
    for q in d.questions:
        if q.type == "select_multiple" and isinstance(out.get(q.id), list):
            out[q.id] = [c for c in q.choice_codes if c in out[q.id]]
    return out


def server_verdict(errors: list[dict[str, str]]) -> set[tuple[str, str]]:
    """The validator's errors as (question, required | constraint | relevance | other). A failed check across
    answers is the XForm's constraint of the last question it names (its last error, in questionnaire order)."""
    out = set()
    last = {e["check"]: e for e in errors if e["code"] == "check_failed"}
    for e in errors:
        if e["code"] == "check_failed" and e is not last[e["check"]]:
            continue
        if e["code"] == "check_failed":
            out.add((e["path"].split(".", 1)[1], "constraint"))
            continue
        qid = e["path"].split(".", 1)[1].split(".")[0]
        code = e["code"]
        kind = ("required" if code == "required" else "constraint" if code in CONSTRAINT_CODES
                else "relevance" if code == "not_relevant" else f"other:{code}")  # fmt: skip
        out.add((qid, kind))
    return out


def engine_verdict(result: dict[str, Any]) -> set[tuple[str, str]]:
    """The engine's verdicts after a person's session: violations, and answers it never let them give."""
    out = {(v["name"], v["condition"]) for v in result["violations"]}
    out |= {(name, "relevance") for name in result["not_relevant_given"]}
    out |= {(r["name"], "rejected") for r in result["rejected"]}
    return out


def mistakes(d: Definition, base: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Answer sets a person could try to enter, each breaking one rule of one question of `base` (valid).

    Only what a form lets a person type: out-of-range numbers, too long or short text, text of the wrong
    form, an exclusive choice ticked with another, a required answer left out, and an answer to a question
    the form does not show (the engine never lets it be given; the server refuses it as not relevant).
    """
    types = {q.id: q.type for q in d.questions}
    out: list[tuple[str, dict[str, Any]]] = []
    for q in d.questions:
        shown = q.relevant is None or compile_condition(q.relevant, types)(base)
        if not shown:
            sample = {"integer": q.min if q.min is not None else 1, "decimal": 1.5, "boolean": True, "text": "x",
                      "date": "2026-01-02", "select_one": q.choice_codes[:1] and q.choice_codes[0],
                      "select_multiple": list(q.choice_codes[:1]), "geopoint": {"lat": 10.0, "lon": 106.0},
                      "image": "p.jpg", "file": "f.pdf"}[q.type]  # fmt: skip
            out.append((f"{q.id}: answered though not shown", {**base, q.id: sample}))
            continue
        if q.required and q.id in base:
            out.append((f"{q.id}: required, left out", {k: v for k, v in base.items() if k != q.id}))
        if q.type in ("integer", "decimal"):
            step = 1 if q.type == "integer" else 0.5
            if q.min is not None:
                out.append((f"{q.id}: below min", {**base, q.id: q.min - step}))
            if q.max is not None:
                out.append((f"{q.id}: above max", {**base, q.id: q.max + step}))
        if q.type == "text":
            if q.max_length is not None:
                out.append((f"{q.id}: too long", {**base, q.id: "a" * (q.max_length + 1)}))
            if q.min_length:
                out.append((f"{q.id}: too short", {**base, q.id: "a" * (q.min_length - 1) or "a"}))
            if q.pattern:
                out.append((f"{q.id}: wrong form", {**base, q.id: "không đúng"}))
        if q.type == "select_multiple" and q.exclusive_codes:
            other = next(c for c in q.choice_codes if c not in q.exclusive_codes)
            ticked = [c for c in q.choice_codes if c in (other, q.exclusive_codes[0])]
            out.append((f"{q.id}: exclusive ticked with another", {**base, q.id: ticked}))
    return out
