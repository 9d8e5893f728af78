"""The loader reports every problem of a definition, each with its file and path."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.questionnaires.definition import load_dir, parse

GOOD = {
    "key": "demo",
    "version": 1,
    "status": "published",
    "title": {"vi": "Thử", "en": "Demo"},
    "questions": [
        {"id": "a", "type": "boolean", "label": {"vi": "A"}},
        {
            "id": "b",
            "type": "integer",
            "label": {"vi": "B"},
            "min": 0,
            "max": 10,
            "relevant": {"question": "a", "equals": True},
        },
        {
            "id": "c",
            "type": "select_one",
            "label": {"vi": "C"},
            "choices": [{"code": "x", "label": {"vi": "X"}}],
        },
    ],
}


def problems_of(doc: dict) -> dict[str, str]:
    d, problems = parse(doc, "f.yaml")
    assert (d is None) == bool(problems)
    assert all(p.file == "f.yaml" for p in problems)
    return {p.path: p.message for p in problems}


def with_question(i: int, **changes: object) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(GOOD))
    doc["questions"][i].update(changes)
    return doc


def test_good_definition_parses() -> None:
    d, problems = parse(GOOD, "f.yaml")
    assert problems == [] and d is not None
    assert [q.id for q in d.questions] == ["a", "b", "c"]


def test_every_problem_is_reported_at_once() -> None:
    doc = yaml.safe_load(yaml.safe_dump(GOOD))
    doc["questions"][0]["type"] = "number"  # unknown type
    doc["questions"][1]["min"] = 20  # min > max
    doc["questions"][2]["label"] = {"en": "C only"}  # missing Vietnamese
    doc["questions"].append({"id": "a", "type": "text", "label": {"vi": "dup"}})  # duplicate id
    got = problems_of(doc)
    assert "unknown type 'number'" in got["questions.0.type"]
    assert "min (20) is greater than max (10)" in got["questions.1"]
    assert "Vietnamese label is missing" in got["questions.2.label.vi"]
    assert "used twice" in got["questions.3.id"]


def test_relevant_naming_a_later_question() -> None:
    doc = with_question(0, relevant={"question": "c", "equals": "x"})
    assert "later question" in problems_of(doc)["questions.0.relevant.question"]


def test_relevant_naming_an_unknown_question() -> None:
    doc = with_question(1, relevant={"question": "zzz", "equals": True})
    assert "unknown question" in problems_of(doc)["questions.1.relevant.question"]


def test_relevant_value_must_fit_the_question() -> None:
    doc = with_question(1, relevant={"question": "a", "equals": "yes"})
    assert "true or false" in problems_of(doc)["questions.1.relevant.equals"]
    doc = with_question(2, relevant={"question": "b", "gt": "5"})
    assert "must be a number" in problems_of(doc)["questions.2.relevant.gt"]


def test_choice_codes_must_be_unique() -> None:
    doc = with_question(2, choices=[{"code": "x", "label": {"vi": "X"}}, {"code": "x", "label": {"vi": "Y"}}])
    assert "used twice" in problems_of(doc)["questions.2.choices.1.code"]


def test_select_without_choices_and_choices_on_other_types() -> None:
    doc = with_question(2, choices=[])
    assert "non-empty list of choices" in problems_of(doc)["questions.2.choices"]
    doc = with_question(0, choices=[{"code": "x", "label": {"vi": "X"}}])
    assert "only select" in problems_of(doc)["questions.0.choices"]


def test_bad_pattern_unknown_property_and_bounds_on_text() -> None:
    doc = with_question(0, type="text", pattern="([", colour="red", min=1)
    got = problems_of(doc)
    assert "not a valid regular expression" in got["questions.0.pattern"]
    assert "unknown property" in got["questions.0.colour"]
    assert "only integer and decimal" in got["questions.0.min"]


def test_top_level_problems() -> None:
    got = problems_of({"key": "Bad Key", "version": 0, "status": "live", "questions": []})
    assert set(got) == {"key", "version", "status", "title", "questions"}
    assert (
        "lower-case" in got["key"]
        and "≥ 1" in got["version"]
        and "draft, published, retired" in got["status"]
    )
    assert "Vietnamese" in got["title"] and "non-empty list" in got["questions"]


def test_load_dir_names_the_file_and_checks_name_against_content(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    doc = dict(GOOD, version=2)
    (tmp_path / "demo" / "v1.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    (tmp_path / "demo" / "v3.yaml").write_text("key: [unclosed", encoding="utf-8")
    defs, problems = load_dir(tmp_path)
    assert defs == {}
    by_file = {p.file.split("/")[-1]: p.message for p in problems}
    assert "declares demo v2" in by_file["v1.yaml"]
    assert "not valid YAML" in by_file["v3.yaml"]


def test_shipped_definitions_are_sound() -> None:
    defs, problems = load_dir(Path(__file__).resolve().parents[2] / "survey_schemas")
    assert problems == []
    keys = {k for k, _ in defs}
    assert keys == {
        "market-needs",
        "loans",
        "packaging",
        "websites",
        "pollution",
        "technology-demonstration",
        "project-results",
    }
    for d in defs.values():
        assert 8 <= len(d.questions) <= 40, d.key
        assert all(q.label.get("vi") and q.label.get("en") for q in d.questions)
    v1, v2 = defs[("loans", 1)], defs[("loans", 2)]
    ids1, ids2 = {q.id for q in v1.questions}, {q.id for q in v2.questions}
    assert ids2 - ids1 and ids1 - ids2  # v2 adds and retires questions


TEST_ONLY = Path(__file__).resolve().parent / "schemas"


def test_test_only_questionnaire_has_every_new_feature() -> None:
    defs, problems = load_dir(TEST_ONLY)
    assert problems == []
    d = defs[("site-visit", 1)]
    types = {q.type for q in d.questions}
    assert {"geopoint", "image", "file", "select_multiple"} <= types
    support = d.question("support_received")
    assert support is not None and support.exclusive_codes == ("none",)
    machines, area = d.question("machine_count"), d.question("floor_area_m2")
    assert machines is not None and machines.unit == {"vi": "chiếc", "en": "machines"}
    assert area is not None and area.unit == {"vi": "m²"} and area.unit_text("en") == "m²"
    photo = d.question("workshop_photo")
    assert photo is not None and photo.accept == ("image/jpeg", "image/png")
    assert [q.id for q in d.questions if q.personal] == ["respondent_name", "respondent_phone"]


def test_new_question_properties_are_checked() -> None:
    doc = yaml.safe_load(yaml.safe_dump(GOOD))
    doc["questions"] += [
        {"id": "where", "type": "geopoint", "label": {"vi": "Vị trí"}, "min": 0},
        {"id": "photo", "type": "image", "label": {"vi": "Ảnh"}, "accept": ["application/pdf", "Image/JPEG", "image/*"]},
        {"id": "doc", "type": "file", "label": {"vi": "Tệp"}, "accept": []},
        {"id": "n", "type": "integer", "label": {"vi": "N"}, "accept": ["image/png"], "unit": {"en": "pcs"}, "personal": "yes"},
        {"id": "m", "type": "select_multiple", "label": {"vi": "M"}, "unit": "",
         "choices": [{"code": "a", "label": {"vi": "A"}}, {"code": "none", "label": {"vi": "Không"}, "exclusive": "yes"}]},
        {"id": "one", "type": "select_one", "label": {"vi": "1"},
         "choices": [{"code": "a", "label": {"vi": "A"}, "exclusive": True}, {"code": "b", "label": {"vi": "B"}, "colour": 1}]},
        {"id": "after", "type": "text", "label": {"vi": "Sau"}, "relevant": {"question": "photo", "equals": "x.jpg"}},
        {"id": "after2", "type": "text", "label": {"vi": "Sau"}, "relevant": {"question": "where", "equals": "x"}},
    ]  # fmt: skip
    got = problems_of(doc)
    assert "only integer and decimal" in got["questions.3.min"]
    assert "image/... types only" in got["questions.4.accept.0"]
    assert "lower-case media type" in got["questions.4.accept.1"]
    assert "questions.4.accept.2" not in got  # image/* is fine
    assert "non-empty list of media types" in got["questions.5.accept"]
    assert "only image and file" in got["questions.6.accept"]
    assert "Vietnamese" in got["questions.6.unit.vi"]
    assert "true or false" in got["questions.6.personal"]
    assert "must be text" in got["questions.7.unit"]
    assert "true or false" in got["questions.7.choices.1.exclusive"]
    assert "select_multiple choices only" in got["questions.8.choices.0.exclusive"]
    assert "code, label and exclusive" in got["questions.8.choices.1.colour"]
    assert "image question; relevance cannot depend" in got["questions.9.relevant.question"]
    assert "geopoint question" in got["questions.10.relevant.question"]


def test_plain_and_bilingual_units_both_parse() -> None:
    d, problems = parse(with_question(1, unit={"vi": "cái", "en": "pieces"}), "f.yaml")
    assert problems == [] and d is not None
    b = d.question("b")
    assert b is not None and b.unit_text("vi") == "cái" and b.unit_text("en") == "pieces"
    d, _ = parse(with_question(1, unit="VND"), "f.yaml")
    assert d is not None and d.questions[1].unit == {"vi": "VND"}


def test_ids_the_odk_form_uses_itself_are_reserved() -> None:
    for i, qid in enumerate(["facility_id", "new_facility", "meta", "start", "end", "province_code"]):
        doc = with_question(0, id=qid)
        assert "reserved for the ODK form" in problems_of(doc)["questions.0.id"], (i, qid)
