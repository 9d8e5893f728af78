"""Our XForms in ODK's own engine: each loads with its media, fills as a person fills it, and the engine's
verdicts and submissions agree with the server's validator (the HTTP round trip is in test_collect.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from app.openrosa import submission
from app.openrosa.xform import build, xlsform
from app.questionnaires.definition import load_dir
from app.questionnaires.validator import AnswerValidator
from tests.clients.odk import engine
from tests.factories import valid_answers
from tests.openrosa.persons import engine_answers, engine_verdict, in_choice_order, mistakes, server_verdict

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED, _ = load_dir(ROOT / "survey_schemas")
TEST_ONLY, _ = load_dir(ROOT / "tests" / "questionnaires" / "schemas")
FORMS = {k: d for k, d in {**PUBLISHED, **TEST_ONLY}.items() if d.status != "draft"}
FID = "0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d20"
MEDIA = {
    "facilities.csv": f"name,label\n_new,+ Cơ sở mới\n{FID},Cơ sở chế biến cà phê Cầu Đất\n",
    "provinces.csv": "name,label\n68,Tỉnh Lâm Đồng\n",
    "wards.csv": "name,label,province\n24784,Phường Xuân Hương - Đà Lạt,68\n",
    # project-results picks its project here (the facility's projects; tests/factories.py's pattern example)
    "point_projects.csv": f"name,label,facility\n0912345678,0912345678 — Đề án thử,{FID}\n",
}
IDS = [f"{k}-v{v}" for k, v in FORMS]


def case(d: Any, answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    entered, files = engine_answers(d, answers)
    return {"form": build(d).xml.decode(), "media": MEDIA, "language": "vi",
            "answers": {"facility_id": FID, **entered}, "files": files, **extra}  # fmt: skip


def test_every_form_compiles_without_warnings_and_its_hash_is_stable() -> None:
    from pyxform.xls2xform import convert

    assert {k for k, _ in FORMS} >= {
        "market-needs",
        "loans",
        "packaging",
        "websites",
        "pollution",
        "site-visit",
    }
    again, _ = load_dir(ROOT / "survey_schemas")
    for k, d in FORMS.items():
        warnings: list[str] = []
        convert(xlsform(d), warnings=warnings, form_name="data")
        assert warnings == [], (k, warnings)
        if k in again:
            first = build(d)
            assert first is build(again[k])  # cached per version
            # the same definition compiles to the same bytes: the hash Collect compares does not drift
            assert (
                first.md5
                == hashlib.md5(convert(xlsform(again[k]), form_name="data").xform.encode()).hexdigest()
            )


def test_languages_labels_and_the_facility_list() -> None:
    d = FORMS[("site-visit", 1)]
    r = engine.run([case(d, {}), case(d, {}, language="en")])
    vi, en = r
    assert vi["languages"] == ["Tiếng Việt (vi)", "English (en)"]
    names = [q["name"] for q in vi["questions"]]
    assert names[:8] == [
        "facility_id",
        "name",
        "kind",
        "sector",
        "province_code",
        "ward_code",
        "tax_code",
        "respondent_name",
    ]
    assert [q["name"] for q in vi["questions"] if q["required"] and q["relevant"]] == [
        "facility_id", "respondent_name", "workshop_location", "has_workshop_photo", "support_received", "visit_date"
    ]  # fmt: skip
    # the new-facility group is shown only for "_new"
    assert not next(q for q in vi["questions"] if q["name"] == "name")["relevant"]


@pytest.mark.parametrize("ident", list(FORMS), ids=IDS)
def test_valid_answers_fill_and_come_back_as_the_same_json(ident: tuple[str, int]) -> None:
    d = FORMS[ident]
    sets = [in_choice_order(d, valid_answers(d, seed)) for seed in range(12)]
    results = engine.run([case(d, a) for a in sets])
    for answers, r in zip(sets, results, strict=True):
        assert r["status"] == "ready" and not r["violations"], (answers, r["violations"])
        assert not r["not_relevant_given"] and not r["rejected"] and not r["unknown_given"]
        body = submission.to_body(submission.read(r["xml"].encode()), d)
        assert body["answers"] == answers
        assert body["facility_id"] == FID and body["id"] == r["instance_id"].removeprefix("uuid:")
        assert sorted(a["name"] for a in r["attachments"]) == sorted(
            v for q in d.questions if q.type in ("image", "file") and (v := answers.get(q.id))
        )


@pytest.mark.parametrize("ident", list(FORMS), ids=IDS)
def test_the_engine_refuses_what_the_validator_refuses(ident: tuple[str, int]) -> None:
    """Required, constraint and relevance: one broken rule at a time, the same verdict on both sides."""
    d = FORMS[ident]
    validator = AnswerValidator(d)
    # A question picked from a media list (list_from) offers only the list's codes on the phone: a code off the
    # list cannot be entered there, so its text rules are the server's alone (tests/point_projects covers them).
    listed = {q.id for q in d.questions if q.list_from}
    tries = [
        (what, a)
        for seed in range(2)
        for what, a in mistakes(d, in_choice_order(d, valid_answers(d, seed, fill=1.0)))
        if what.split(":")[0] not in listed or "required" in what
    ]
    assert tries
    results = engine.run([case(d, a) for _, a in tries])
    kinds = set()
    for (what, answers), r in zip(tries, results, strict=True):
        server = server_verdict(validator.validate(answers))
        assert server, what
        assert engine_verdict(r) == server, (what, r["violations"], r["not_relevant_given"])
        kinds |= {k for _, k in server}
    assert {"required", "constraint"} <= kinds


def test_test_only_form_every_rule_kind_and_vietnamese_messages() -> None:
    d = FORMS[("site-visit", 1)]
    base = in_choice_order(d, valid_answers(d, 1, fill=1.0))
    base["has_workshop_photo"] = True
    base.setdefault("workshop_photo", "p.jpg")
    tries = {what: a for what, a in mistakes(d, base)}
    picked = ["support_received: exclusive ticked with another", "respondent_phone: wrong form",
              "visit_date: required, left out", "machine_count: above max"]  # fmt: skip
    results = engine.run([case(d, tries[w]) for w in picked])
    messages = {v["name"]: v["message"] for r in results for v in r["violations"]}
    assert messages["support_received"] == 'Lựa chọn "Chưa nhận hỗ trợ nào" chỉ được chọn một mình.'
    assert messages["respondent_phone"] == "Chưa đúng định dạng (10 chữ số, bắt đầu bằng 0)."
    assert messages["visit_date"] == "Câu hỏi này bắt buộc phải trả lời."
    assert messages["machine_count"] == "Giá trị từ 0 đến 500 chiếc."
