"""The exported JSON Schema accepts exactly what the server's validator accepts (property test)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.questionnaires.definition import Definition, Question, load_dir
from app.questionnaires.jsonschema_export import export
from app.questionnaires.validator import AnswerValidator

DEFS, _ = load_dir(Path(__file__).resolve().parents[2] / "survey_schemas")
# The test-only questionnaire with geopoint, image, file, an exclusive choice and a {vi, en} unit.
TEST_ONLY, _problems = load_dir(Path(__file__).resolve().parent / "schemas")
assert not _problems and TEST_ONLY, _problems
DEFS = {**DEFS, **TEST_ONLY}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def junk() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(max_size=5),
        st.lists(st.text(max_size=3), max_size=3),
    )


def plausible(q: Question) -> st.SearchStrategy[Any]:
    """Values near the edge of validity, so both sides of each rule get exercised."""
    lo = q.min if q.min is not None else -1000
    hi = q.max if q.max is not None else 10**12
    if q.type == "integer":
        return st.one_of(st.integers(int(lo) - 2, int(lo) + 2), st.integers(int(hi) - 2, int(hi) + 2),
                         st.integers(int(lo), int(hi)), st.sampled_from([1.0, 2.5, True]))  # fmt: skip
    if q.type == "decimal":
        return st.one_of(
            st.floats(lo - 1, hi + 1, allow_nan=False), st.integers(int(lo) - 1, int(hi) + 1), st.just("1")
        )
    if q.type == "boolean":
        return st.one_of(st.booleans(), st.sampled_from([0, 1, "true"]))
    if q.type == "date":
        return st.one_of(st.dates().map(str), st.sampled_from(["2026-02-30", "2026-1-1", "20260101", ""]))
    if q.type == "text":
        alphabet = string.ascii_letters + string.digits + ":/. ăđ"
        prefixed = st.text(alphabet, max_size=20).map(lambda s: "https://" + s)
        return st.one_of(
            st.text(alphabet, max_size=30), prefixed, st.text(alphabet, min_size=990, max_size=1010)
        )
    if q.type == "geopoint":
        coord = st.one_of(
            st.floats(-200, 200, allow_nan=False), st.integers(-181, 181), st.just(True), st.just("1")
        )
        keys = st.sampled_from(["lat", "lon", "alt", "accuracy_m", "lat", "lon", "elevation"])
        return st.one_of(
            st.dictionaries(keys, coord, max_size=5),
            st.fixed_dictionaries({"lat": st.floats(-91, 91), "lon": st.floats(-181, 181)},
                                  optional={"alt": st.floats(-100, 9000), "accuracy_m": st.floats(-2, 100)}),
            st.dictionaries(st.sampled_from(["alt", "accuracy_m", "elevation", "Lat"]), st.floats(-1, 10), max_size=2)
            .map(lambda extra: {"lat": 10.5, "lon": 106.1, **extra}),
            st.just([10.0, 106.0]),
            st.just("10.0 106.0 0 5"),
        )  # fmt: skip
    if q.type in ("image", "file"):
        alphabet = string.ascii_letters + string.digits + "._- ảđ/\\\n\t\x00\x7f\x85"
        return st.one_of(
            st.text(alphabet, max_size=12),
            st.text(string.ascii_letters, min_size=250, max_size=260),
            st.just("photo.jpg\n"),
            st.just("../photo.jpg"),
        )
    codes = list(q.choice_codes)
    if q.type == "select_one":
        return st.one_of(st.sampled_from(codes), st.just("nope"), st.just([codes[0]]))
    exclusive = list(q.exclusive_codes)
    return st.one_of(
        st.lists(st.sampled_from(codes), max_size=len(codes) + 1),
        *(
            [st.lists(st.sampled_from(codes), min_size=1, max_size=2).map(lambda xs: [*xs, exclusive[0]])]
            if exclusive
            else []
        ),  # fmt: skip
        st.lists(st.sampled_from([*codes, "nope"]), max_size=3),
        st.sampled_from(codes),
    )


@st.composite
def answers_for(draw: st.DrawFn, d: Definition) -> dict[str, Any]:
    from tests.factories import valid_answers

    if draw(st.booleans()):
        # A valid answer set with at most one answer changed: exercises the accepting side and the edges.
        out = valid_answers(d, draw(st.integers(0, 10_000)))
        if draw(st.booleans()):
            q = draw(st.sampled_from(d.questions))
            choice = draw(st.sampled_from(["plausible", "junk", "drop"]))
            if choice == "drop":
                out.pop(q.id, None)
            else:
                out[q.id] = draw(plausible(q) if choice == "plausible" else junk())
        return out
    out = {}
    for q in d.questions:
        mode = draw(st.sampled_from(["absent", "plausible", "plausible", "plausible", "junk", "null"]))
        if mode == "plausible":
            out[q.id] = draw(plausible(q))
        elif mode == "junk":
            out[q.id] = draw(junk())
        elif mode == "null":
            out[q.id] = None
    if draw(st.integers(0, 20)) == 0:
        out["not_a_question"] = 1
    return out


@pytest.mark.parametrize("ident", sorted(DEFS), ids=lambda k: f"{k[0]}-v{k[1]}")
def test_schema_is_valid_against_the_metaschema(ident: tuple[str, int]) -> None:
    for lang in ("vi", "en"):
        jsonschema.Draft202012Validator.check_schema(export(DEFS[ident], lang))


@pytest.mark.parametrize("ident", sorted(DEFS), ids=lambda k: f"{k[0]}-v{k[1]}")
def test_schema_and_validator_agree(ident: tuple[str, int]) -> None:
    d = DEFS[ident]
    validator = AnswerValidator(d)
    schema = jsonschema.Draft202012Validator(export(d, "vi"), format_checker=FORMATS)
    seen = {"accepted": 0, "rejected": 0}

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(answers_for(d))
    def check(answers: dict[str, Any]) -> None:
        # Checks across answers are the server's alone (a JSON Schema cannot compare two answers); each answer
        # on its own, the two agree.
        server_ok = not [e for e in validator.validate(answers) if e["code"] != "check_failed"]
        schema_ok = schema.is_valid(answers)
        assert server_ok == schema_ok, (
            answers,
            validator.validate(answers),
            [e.message for e in schema.iter_errors(answers)],
        )
        seen["accepted" if server_ok else "rejected"] += 1

    check()
    assert seen["rejected"] > 0 and seen["accepted"] > 0, seen


@pytest.mark.parametrize("ident", sorted(DEFS), ids=lambda k: f"{k[0]}-v{k[1]}")
def test_minimal_valid_answers_accepted_by_both(ident: tuple[str, int]) -> None:
    """A hand-built valid answer set for every definition (guards the property test against only-rejections)."""
    from tests.factories import valid_answers

    d = DEFS[ident]
    for seed in range(20):
        ans = valid_answers(d, seed)
        assert AnswerValidator(d).validate(ans) == []
        assert jsonschema.Draft202012Validator(export(d, "en"), format_checker=FORMATS).is_valid(ans)


QUESTIONS = [(ident, q.id) for ident in sorted(DEFS) for q in DEFS[ident].questions]


@pytest.mark.parametrize(
    "ident, qid", QUESTIONS, ids=lambda x: f"{x[0]}-v{x[1]}" if isinstance(x, tuple) else x
)
def test_one_answer_changed_in_a_valid_set(ident: tuple[str, int], qid: str) -> None:
    """Per question: a complete valid answer set with only this answer replaced, so each rule of each type
    (an exclusive choice, a geopoint's ranges, a file name's characters ...) decides the verdict alone."""
    from tests.factories import valid_answers

    d = DEFS[ident]
    q = d.question(qid)
    assert q is not None
    validator = AnswerValidator(d)
    schema = jsonschema.Draft202012Validator(export(d, "en"), format_checker=FORMATS)
    bases = [a for a in (valid_answers(d, seed, fill=1.0) for seed in range(40)) if qid in a]
    assert bases, f"no generated answer set makes {qid} relevant"
    seen = {"accepted": 0, "rejected": 0}

    @settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(bases), st.one_of(plausible(q), plausible(q), junk()))
    def check(base: dict[str, Any], value: Any) -> None:
        answers = {**base, qid: value}
        server_ok = not [e for e in validator.validate(answers) if e["code"] != "check_failed"]  # as above
        assert server_ok == schema.is_valid(answers), (answers, validator.validate(answers))
        seen["accepted" if server_ok else "rejected"] += 1

    check()
    assert seen["rejected"] > 0, seen
