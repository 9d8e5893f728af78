"""Every rule of the answer validator, each with a failing and a passing case."""

from __future__ import annotations

import pytest

from app.questionnaires.definition import parse
from app.questionnaires.validator import AnswerValidator

DOC = {
    "key": "test",
    "version": 1,
    "status": "published",
    "title": {"vi": "T"},
    "questions": [
        {"id": "flag", "type": "boolean", "label": {"vi": "Cờ", "en": "Flag"}, "required": True},
        {"id": "n", "type": "integer", "label": {"vi": "N", "en": "Count"}, "min": 0, "max": 100, "unit": "VND"},
        {"id": "x", "type": "decimal", "label": {"vi": "X", "en": "Share"}, "min": 0, "max": 1.5},
        {"id": "s", "type": "text", "label": {"vi": "S", "en": "Code"}, "min_length": 2, "max_length": 5, "pattern": "^[A-Z]+$"},
        {"id": "d", "type": "date", "label": {"vi": "D", "en": "Day"}},
        {"id": "one", "type": "select_one", "label": {"vi": "1", "en": "One"},
         "choices": [{"code": "a", "label": {"vi": "A"}}, {"code": "b", "label": {"vi": "B"}}]},
        {"id": "many", "type": "select_multiple", "label": {"vi": "M", "en": "Many"},
         "choices": [{"code": "a", "label": {"vi": "A"}}, {"code": "b", "label": {"vi": "B"}}]},
        {"id": "amount", "type": "integer", "label": {"vi": "Tiền", "en": "Amount"}, "required": True,
         "relevant": {"question": "flag", "equals": True}},
        {"id": "big", "type": "boolean", "label": {"vi": "Lớn", "en": "Big"},
         "relevant": {"all": [{"question": "amount", "gte": 50}, {"question": "many", "in": ["b"]}]}},
    ],
}  # fmt: skip
DEFN, _ = parse(DOC, "t.yaml")
assert DEFN is not None
V = AnswerValidator(DEFN)
BASE = {"flag": False}


def codes(answers: dict) -> dict[str, str]:
    return {e["path"]: e["code"] for e in V.validate(answers)}


@pytest.mark.parametrize(
    "answers, path, code",
    [
        ({"flag": 1}, "answers.flag", "type"),
        ({**BASE, "n": True}, "answers.n", "type"),
        ({**BASE, "n": "12"}, "answers.n", "type"),
        ({**BASE, "n": 1.5}, "answers.n", "type"),
        ({**BASE, "n": -1}, "answers.n", "too_small"),
        ({**BASE, "n": 101}, "answers.n", "too_large"),
        ({**BASE, "x": "0.5"}, "answers.x", "type"),
        ({**BASE, "x": float("nan")}, "answers.x", "not_finite"),
        ({**BASE, "x": float("inf")}, "answers.x", "not_finite"),
        ({**BASE, "x": 2}, "answers.x", "too_large"),
        ({**BASE, "s": 12}, "answers.s", "type"),
        ({**BASE, "s": "A"}, "answers.s", "too_short"),
        ({**BASE, "s": "ABCDEF"}, "answers.s", "too_long"),
        ({**BASE, "s": "ab"}, "answers.s", "pattern"),
        ({**BASE, "d": "2026-02-30"}, "answers.d", "invalid_date"),
        ({**BASE, "d": "20260201"}, "answers.d", "invalid_date"),
        ({**BASE, "one": "c"}, "answers.one", "not_a_choice"),
        ({**BASE, "many": "a"}, "answers.many", "type"),
        ({**BASE, "many": ["a", "z"]}, "answers.many", "not_a_choice"),
        ({**BASE, "many": ["a", "a"]}, "answers.many", "duplicate_choice"),
        ({**BASE, "zzz": 1}, "answers.zzz", "unknown_question"),
        ({}, "answers.flag", "required"),
        ({"flag": True}, "answers.amount", "required"),
        ({"flag": False, "amount": 5}, "answers.amount", "not_relevant"),
        ({"flag": True, "amount": None}, "answers.amount", "null"),
        ({"flag": True, "amount": 60, "many": ["a"], "big": True}, "answers.big", "not_relevant"),
    ],
)
def test_rule_fails(answers: dict, path: str, code: str) -> None:
    assert codes(answers).get(path) == code, V.validate(answers)


@pytest.mark.parametrize(
    "answers",
    [
        {"flag": False},
        {**BASE, "n": 0, "x": 1.5, "s": "AB", "d": "2024-02-29", "one": "a", "many": ["a", "b"]},
        {**BASE, "n": 100.0, "x": 0},
        {**BASE, "many": []},
        {"flag": False, "amount": None},
        {"flag": True, "amount": 60, "many": ["b"], "big": True},
        {"flag": True, "amount": 10, "many": ["b"]},
    ],
)
def test_rule_passes(answers: dict) -> None:
    assert V.validate(answers) == []


def test_every_error_is_returned_with_a_plain_message() -> None:
    errors = V.validate({"flag": "yes", "n": -5, "s": "a", "zzz": 0})
    assert {e["path"] for e in errors} == {"answers.flag", "answers.n", "answers.s", "answers.zzz"}
    n = next(e for e in errors if e["path"] == "answers.n")
    assert n["message"] == "Count: must be at least 0 VND; got -5."


NEW = {
    "key": "new-types",
    "version": 1,
    "status": "published",
    "title": {"vi": "T"},
    "questions": [
        {"id": "where", "type": "geopoint", "label": {"vi": "Vị trí", "en": "Location"}},
        {"id": "photo", "type": "image", "label": {"vi": "Ảnh", "en": "Photo"}},
        {"id": "doc", "type": "file", "label": {"vi": "Tệp", "en": "Document"}},
        {"id": "help", "type": "select_multiple", "label": {"vi": "Hỗ trợ", "en": "Support"}, "required": True,
         "choices": [{"code": "a", "label": {"vi": "A"}}, {"code": "b", "label": {"vi": "B"}},
                     {"code": "none", "label": {"vi": "Không"}, "exclusive": True},
                     {"code": "unknown", "label": {"vi": "Không biết"}, "exclusive": True}]},
        {"id": "n", "type": "integer", "label": {"vi": "Số máy", "en": "Machines"}, "max": 5,
         "unit": {"vi": "chiếc", "en": "machines"}},
    ],
}  # fmt: skip
NEW_DEFN, _ = parse(NEW, "n.yaml")
assert NEW_DEFN is not None
NV = AnswerValidator(NEW_DEFN)
OK = {"help": ["a"]}


@pytest.mark.parametrize(
    "answers, code",
    [
        ({**OK, "where": [10, 106]}, "type"),
        ({**OK, "where": "10.1 106.2 0 5"}, "type"),
        ({**OK, "where": {"lat": 10}}, "required"),
        ({**OK, "where": {"lat": 91, "lon": 106}}, "out_of_range"),
        ({**OK, "where": {"lat": 10, "lon": -180.5}}, "out_of_range"),
        ({**OK, "where": {"lat": 10, "lon": 106, "accuracy_m": -1}}, "out_of_range"),
        ({**OK, "where": {"lat": 10, "lon": 106, "alt": float("inf")}}, "not_finite"),
        ({**OK, "where": {"lat": True, "lon": 106}}, "type"),
        ({**OK, "where": {"lat": "10", "lon": 106}}, "type"),
        ({**OK, "where": {"lat": 10, "lon": 106, "elevation": 3}}, "unknown_key"),
        ({**OK, "photo": ""}, "invalid_file_name"),
        ({**OK, "photo": "a" * 256}, "invalid_file_name"),
        ({**OK, "photo": "../etc/passwd"}, "invalid_file_name"),
        ({**OK, "photo": "a\\b.jpg"}, "invalid_file_name"),
        ({**OK, "photo": "a.jpg\n"}, "invalid_file_name"),
        ({**OK, "photo": "a\x85.jpg"}, "invalid_file_name"),
        ({**OK, "doc": 12}, "type"),
        ({"help": ["a", "none"]}, "exclusive_choice"),
        ({"help": ["none", "unknown"]}, "exclusive_choice"),
    ],
)
def test_new_type_rule_fails(answers: dict, code: str) -> None:
    got = {e["path"]: e["code"] for e in NV.validate(answers)}
    assert code in got.values(), NV.validate(answers)
    assert len(got) == 1, got


@pytest.mark.parametrize(
    "answers",
    [
        {**OK, "where": {"lat": -90, "lon": 180}},
        {**OK, "where": {"lat": 10.762622, "lon": 106.660172, "alt": -3.5, "accuracy_m": 0}},
        {**OK, "photo": "1700000000000.jpg", "doc": "Giấy phép kinh doanh (bản sao).pdf"},
        {**OK, "photo": "a" * 255},
        {"help": ["none"]},
        {"help": ["unknown"]},
        {"help": ["b", "a"]},
    ],
)
def test_new_type_rule_passes(answers: dict) -> None:
    assert NV.validate(answers) == []


def test_messages_of_new_rules() -> None:
    by_path = {
        e["path"]: e["message"]
        for e in NV.validate({"help": ["a", "none"], "n": 9, "where": {"lat": 99, "lon": 1}})
    }
    assert by_path["answers.help"] == "Support: 'none' excludes every other choice; select it alone."
    assert by_path["answers.n"] == "Machines: must be at most 5 machines; got 9."
    assert by_path["answers.where"] == "Location: lat must be between -90 and 90; got 99."
