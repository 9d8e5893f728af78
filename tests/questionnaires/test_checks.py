"""Checks across answers: the rule language (parser, types, evaluation), the file format's errors, the validator's
`check_failed` errors, and the XForm constraint agreeing with the Python evaluator in ODK's engine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import language
from app.openrosa.xform import build
from app.questionnaires import expressions
from app.questionnaires.definition import Definition, load_dir, parse
from app.questionnaires.validator import AnswerValidator

ROOT = Path(__file__).resolve().parents[2] / "survey_schemas"
DEFS, _ = load_dir(ROOT)

TYPES = {"a": "integer", "b": "integer", "x": "decimal", "t": "text", "s": "select_one", "m": "select_multiple",
         "y": "boolean", "g": "geopoint"}  # fmt: skip
CHOICES = {"s": ("p", "q"), "m": ("p", "q", "r")}


def rule(text: str) -> Any:
    tree = expressions.parse(text)
    expressions.typecheck(tree, TYPES, CHOICES)
    return expressions.compile_rule(tree, TYPES)


@pytest.mark.parametrize(
    "text, answers, expected",
    [
        ("${a} <= ${b}", {"a": 3, "b": 5}, True),
        ("${a} <= ${b}", {"a": 12, "b": 5}, False),
        ("${a} + ${b} * 2 <= 10", {"a": 2, "b": 4}, True),  # * before +
        ("(${a} + ${b}) * 2 <= 10", {"a": 2, "b": 4}, False),
        ("${a} div ${b} = 2.5", {"a": 5, "b": 2}, True),
        ("${a} div ${b} > 1000", {"a": 5, "b": 0}, True),  # +Infinity, as in XPath
        ("${a} div ${b} = ${a} div ${b}", {"a": 0, "b": 0}, False),  # NaN equals nothing
        ("${a} div ${b} != 1", {"a": 0, "b": 0}, False),  # ... and differs from nothing
        ("-${a} < 0", {"a": 1}, True),
        ("${a} - 1 - 1 = 1", {"a": 3}, True),  # left-associative
        ("${t} = 'Cà phê'", {"t": "Cà phê"}, True),
        ("${s} != 'p'", {"s": "q"}, True),
        ("selected(${s}, 'p')", {"s": "p"}, True),
        ("selected(${m}, 'q') and count-selected(${m}) = 2", {"m": ["p", "q"]}, True),
        ("not(selected(${m}, 'r'))", {"m": ["r"]}, False),
        ("${y} = 'yes' or ${a} > 3", {"y": False, "a": 1}, False),
        ("${y} = 'no' and ${a} > 0 or ${a} = 0", {"y": True, "a": 0}, True),  # and before or
        ("${x} <= 1.5", {"x": 1.25}, True),
    ],
)
def test_the_rule_language(text: str, answers: dict[str, Any], expected: bool) -> None:
    assert rule(text)(answers) is expected


@pytest.mark.parametrize(
    "text, says",
    [
        ("${a} <=", "not a valid rule"),
        ("${a} << ${b}", "not a valid rule"),
        ("${A} < 1", "not a valid rule"),
        ("now() > 1", "not a valid rule"),
        ("${zzz} < 1", "${zzz} is not a question"),
        ("${a} + 1", "must be a test"),
        ("${t} < 3", "'<' compares numbers"),
        ("${a} = 'x'", "two numbers or two texts"),
        ("${m} = 'p'", "use selected("),
        ("${g} = 'p'", "is a geopoint question"),
        ("selected(${s}, 'z')", "'z' is not a choice code of ${s}"),
        ("selected(${a}, 'p')", "selected() reads a question with choices"),
        ("count-selected(${s}) > 1", "count-selected() reads a question with several choices"),
        ("${y} = 'true'", "compare it with 'yes' or 'no'"),
        ("${s} = 'z'", "'z' is not a choice code of ${s}"),
        ("${a} < 1 and 3", "joins tests"),
        ("not(${a})", "not(...) takes a test"),
        ("(${a} < 1) = (${b} < 1)", "two numbers or two texts"),
    ],
)
def test_rules_that_do_not_fit_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(expressions.RuleError) as exc:
        expressions.typecheck(expressions.parse(text), TYPES, CHOICES)
    assert says in str(exc.value)


def questionnaire(checks: Any, **extra: Any) -> dict[str, Any]:
    return {
        "key": "check-test", "version": 1, "status": "published", "title": {"vi": "Thử", "en": "Test"},
        "questions": [
            {"id": "workers_total", "type": "integer", "label": {"vi": "Tổng số lao động", "en": "Workers"}, "min": 0, "max": 1000},
            {"id": "workers_female", "type": "integer", "label": {"vi": "Lao động nữ", "en": "Women"}, "min": 0, "max": 1000},
            {"id": "sources", "type": "select_multiple", "label": {"vi": "Nguồn", "en": "Sources"},
             "choices": [{"code": "dust", "label": {"vi": "Bụi"}}, {"code": "none", "label": {"vi": "Không"}, "exclusive": True}]},
            {"id": "severity", "type": "select_one", "label": {"vi": "Mức độ", "en": "Severity"},
             "choices": [{"code": "low", "label": {"vi": "Thấp"}}, {"code": "high", "label": {"vi": "Cao"}}]},
        ],
        "checks": checks, **extra,
    }  # fmt: skip


WOMEN = {"id": "women_within_workforce", "rule": "${workers_female} <= ${workers_total}",
         "message": {"vi": "Số lao động nữ không lớn hơn tổng số lao động.", "en": "Women cannot exceed all workers."}}  # fmt: skip


def test_a_sound_check_loads_with_the_questions_it_names_in_questionnaire_order() -> None:
    flipped = {**WOMEN, "rule": "${workers_total} >= ${workers_female}"}
    d, problems = parse(questionnaire([flipped]), "t.yaml")
    assert problems == [] and d is not None
    (c,) = d.checks
    assert c.names == ("workers_total", "workers_female") and c.target == "workers_female"
    assert d.check("women_within_workforce") is c and c.text("en") == "Women cannot exceed all workers."


@pytest.mark.parametrize(
    "checks, path, says",
    [
        (
            [{**WOMEN, "rule": "${workers_male} <= ${workers_total}"}],
            "checks.0.rule",
            "${workers_male} is not a question",
        ),
        ([{**WOMEN, "rule": "${workers_female} <="}], "checks.0.rule", "not a valid rule"),
        ([{**WOMEN, "rule": "1 < 2"}], "checks.0.rule", "names at least one question"),
        ([{**WOMEN, "message": {"vi": "Chỉ tiếng Việt"}}], "checks.0.message.en", "both languages"),
        ([{**WOMEN, "id": "Women"}], "checks.0.id", "snake_case"),
        ([{**WOMEN, "id": "workers_total"}], "checks.0.id", "is a question id"),
        ([WOMEN, WOMEN], "checks.1.id", "used twice"),
        ([{**WOMEN, "when": "always"}], "checks.0.when", "unknown property"),
        ({"id": "x"}, "checks", "non-empty list"),
    ],
)
def test_a_broken_check_is_a_schema_problem_naming_where(checks: Any, path: str, says: str) -> None:
    d, problems = parse(questionnaire(checks), "t.yaml")
    assert d is None
    assert any(p.path == path and says in p.message for p in problems), problems


def test_schemas_check_names_a_broken_rule(tmp_path: Path) -> None:
    from tests.questionnaires.test_immutability import cli

    root = tmp_path / "survey_schemas" / "check-test"
    root.mkdir(parents=True)
    broken = questionnaire([{**WOMEN, "rule": "${workers_femal} <= ${workers_total}"}], status="draft")
    (root / "v1.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    r = cli(root.parent)
    assert r.returncode == 1
    assert "check-test/v1.yaml: checks.0.rule: ${workers_femal} is not a question" in r.stderr, r.stderr
    (root / "v1.yaml").write_text(
        yaml.safe_dump(questionnaire([WOMEN], status="draft"), allow_unicode=True), encoding="utf-8"
    )
    ok = cli(root.parent)
    assert ok.returncode == 0 and "ok  check-test v1 (draft, 4 questions, 1 checks)" in ok.stdout, ok.stderr


def _d(checks: list[dict[str, Any]]) -> Definition:
    d, problems = parse(questionnaire(checks), "t.yaml")
    assert d is not None, problems
    return d


def test_validator_one_error_per_named_question_in_the_requested_language() -> None:
    v = AnswerValidator(_d([WOMEN]))
    assert v.validate({"workers_total": 5, "workers_female": 5}) == []
    bad = {"workers_total": 5, "workers_female": 12}
    assert v.validate(bad) == [
        {"path": "answers.workers_total", "code": "check_failed", "check": "women_within_workforce",
         "message": "Số lao động nữ không lớn hơn tổng số lao động."},
        {"path": "answers.workers_female", "code": "check_failed", "check": "women_within_workforce",
         "message": "Số lao động nữ không lớn hơn tổng số lao động."},
    ]  # fmt: skip
    token = language._asked.set((b"", b"en-GB,en;q=0.9,vi;q=0.5"))
    try:
        assert {e["message"] for e in v.validate(bad, "items.3.answers")} == {
            "Women cannot exceed all workers."
        }
        assert {e["path"] for e in v.validate(bad, "items.3.answers")} == {
            "items.3.answers.workers_total",
            "items.3.answers.workers_female",
        }
    finally:
        language._asked.reset(token)


def test_a_check_is_not_evaluated_without_every_answer_it_names() -> None:
    v = AnswerValidator(_d([WOMEN]))
    assert v.validate({"workers_female": 12}) == []  # no total: nothing to compare with
    assert v.validate({"workers_female": 12, "workers_total": None}) == [
        {"path": "answers.workers_total", "code": "null", "message": "Workers: applies here; give an answer or leave it out, not null."}
    ]  # fmt: skip
    # an answer of the wrong kind is not read; one out of its bounds still is (as Collect reads it)
    assert [e["code"] for e in v.validate({"workers_female": 12, "workers_total": "5"})] == ["type"]
    assert [e["code"] for e in v.validate({"workers_female": 12, "workers_total": -1})] == [
        "too_small", "check_failed", "check_failed"]  # fmt: skip


def test_choices_in_a_check() -> None:
    c = {"id": "severity_needs_a_source", "rule": "not(selected(${sources}, 'none')) or ${severity} = 'low'",
         "message": {"vi": "Không có nguồn thì mức độ chỉ là Thấp.", "en": "No source: severity is Low."}}  # fmt: skip
    v = AnswerValidator(_d([c]))
    assert v.validate({"sources": ["none"], "severity": "low"}) == []
    assert v.validate({"sources": ["dust"], "severity": "high"}) == []
    assert [e["path"] for e in v.validate({"sources": ["none"], "severity": "high"})] == [
        "answers.sources", "answers.severity"]  # fmt: skip
    assert v.validate({"sources": [], "severity": "high"}) == []  # an empty selection is not answered


@pytest.mark.parametrize(
    "query, accept, expected",
    [(b"", b"", "vi"), (b"", b"en-US,en;q=0.9", "en"), (b"", b"en;q=0.4, vi;q=0.8", "vi"), (b"lang=en", b"vi", "en"),
     (b"lang=fr", b"en", "en"), (b"", b"fr, *;q=0.5", "vi"), (b"", b"en;q=0", "vi"), (b"", b"en;q=zz", "vi")],
)  # fmt: skip
def test_the_requested_language(query: bytes, accept: bytes, expected: str) -> None:
    assert language.choose(query, accept) == expected


# The Python evaluator and the XForm constraint agree, in ODK's own engine -----------------------------------

AGREE = questionnaire(
    [WOMEN, {"id": "dusty_is_high", "rule": "selected(${sources}, 'dust') or ${severity} != 'high' or ${workers_total} div 2 > 10",
             "message": {"vi": "Mức độ cao cần nguồn bụi hoặc hơn 20 lao động.", "en": "High needs dust or over 20 workers."}}]
)  # fmt: skip


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.fixed_dictionaries(
            {"workers_total": st.integers(0, 40), "workers_female": st.integers(0, 40),
             "sources": st.sampled_from([["dust"], ["none"]]), "severity": st.sampled_from(["low", "high"])}
        ),
        min_size=6, max_size=6,
    )
)  # fmt: skip
def test_python_and_the_odk_engine_agree_on_each_check(cases: list[dict[str, Any]]) -> None:
    from tests.clients.odk import engine
    from tests.openrosa.test_xform import FID, MEDIA

    d = _d(AGREE["checks"])
    v = AnswerValidator(d)
    form = build(d).xml.decode()
    results = engine.run(
        [
            {"form": form, "media": MEDIA, "language": "vi", "answers": {"facility_id": FID, **a}}
            for a in cases
        ]
    )
    for answers, r in zip(cases, results, strict=True):
        server = {
            e["path"].removeprefix("answers.") for e in v.validate(answers) if e["code"] == "check_failed"
        }
        failing = {
            c.target
            for c in d.checks
            if not expressions.compile_rule(c.tree, {q.id: q.type for q in d.questions})(answers)
        }
        engine_says = {x["name"] for x in r["violations"]}
        assert engine_says == failing, (answers, r["violations"])
        assert server == {n for c in d.checks if c.target in failing for n in c.names}
        for x in r["violations"]:  # the check's own message, as Collect shows it
            msgs = {c.text("vi") for c in d.checks if c.target == x["name"]}
            assert any(m in x["message"] for m in msgs), x


def test_the_engine_refuses_the_bad_value_and_keeps_the_good_one() -> None:
    """market-needs v3 as shipped: 12 women among 5 workers is refused at the women's question, in Vietnamese."""
    from tests.clients.odk import engine
    from tests.openrosa.persons import completed, in_choice_order
    from tests.openrosa.test_xform import case

    d = DEFS[("market-needs", 3)]
    good = completed(
        d, {"workers_total": 5, "workers_female": 5, "workers_rural": 5, "workers_ethnic_minority": 0}
    )
    bad = {**good, "workers_female": 12}
    r_good, r_bad = engine.run([case(d, in_choice_order(d, good)), case(d, in_choice_order(d, bad))])
    assert r_good["status"] == "ready" and not r_good["violations"]
    assert [x["name"] for x in r_bad["violations"]] == ["workers_female"]
    assert (
        "Số lao động nữ không được lớn hơn tổng số lao động thường xuyên."
        in r_bad["violations"][0]["message"]
    )


def test_nan_and_infinity_follow_xpath() -> None:
    assert math.isinf(expressions._div(1.0, 0.0)) and math.isnan(expressions._div(0.0, 0.0))
    assert expressions._div(-1.0, 0.0) == -math.inf
