"""The shipped questionnaires keep the team's content rules in every version offered to respondents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.questionnaires.definition import Definition, load_dir

ROOT = Path(__file__).resolve().parents[2] / "survey_schemas"
DEFS, PROBLEMS = load_dir(ROOT)
LATEST = {d.key: d for d in sorted(DEFS.values(), key=lambda d: d.version) if d.status == "published"}
# Abbreviations a respondent may not know; write them out (OCOP and ASEAN are named in full beside them).
# Document numbers (43/2017/NĐ-CP) are official identifiers, not abbreviations.
BARE = ("TMĐT", "CNNT", "HTX", "SHTT", "BVMT", "KHCN", "ATTP", "TCVN", "QCVN")


def offered() -> list[Definition]:
    return sorted(LATEST.values(), key=lambda d: d.key)


def test_every_questionnaire_has_a_published_version() -> None:
    assert PROBLEMS == []
    assert set(LATEST) == {
        "market-needs",
        "loans",
        "packaging",
        "websites",
        "pollution",
        "technology-demonstration",
        "project-results",
    }
    # the versions they replace are retired, still accepted, never changed
    for key, old in (("market-needs", 1), ("loans", 2), ("packaging", 1), ("websites", 1), ("pollution", 1)):
        assert DEFS[(key, old)].status == "retired"


@pytest.mark.parametrize("d", offered(), ids=lambda d: f"{d.key}-v{d.version}")
def test_content_rules(d: Definition) -> None:
    ids = {q.id for q in d.questions}
    # who answered: name, position and phone, personal data
    assert {"respondent_name", "respondent_position", "respondent_phone"} <= ids
    for q in d.questions:
        vi = q.label["vi"]
        assert q.personal == q.id.startswith("respondent_"), q.id
        if q.unit is not None:
            assert set(q.unit) == {"vi", "en"}, q.id  # units in both languages
        if q.type == "boolean":  # yes/no questions name their subject and ask as a question
            assert re.search(r"(không|chưa)\?$", vi), vi
            assert re.search(r"\b(cơ sở|sản phẩm|nhãn hàng hóa)\b", vi, re.IGNORECASE), vi
        for c in q.choices if q.type == "select_multiple" else ():
            if c.code == "none":
                assert c.exclusive, f"{q.id}: the 'none' choice must be exclusive"
        texts = [vi, *(q.hint or {}).values(), *(c.label["vi"] for c in q.choices)]
        for text in texts:
            assert "huyện" not in text.lower(), text  # two-level local government since 1 July 2025
            for abbr in BARE:
                assert abbr not in text, (q.id, abbr)
            if "OCOP" in text:
                assert "Mỗi xã một sản phẩm" in text or "One Commune One Product" in text, text
            if "ASEAN" in text:
                assert "Đông Nam Á" in text or "Southeast Asian" in text, text


def test_what_the_second_edition_asks() -> None:
    tech = LATEST["technology-demonstration"]
    for qid in ("main_equipment", "equipment_age_years", "mechanisation_level", "upgrade_cost_vnd", "jobs_added",
                "hosts_demonstration", "counterpart_funds_vnd", "training_skills", "trainees", "certifications",
                "ocop_rating", "rural_product_award"):  # fmt: skip
        assert tech.question(qid) is not None, qid
    award = tech.question("rural_product_award")
    assert award is not None and award.choice_codes == ("none", "provincial", "regional", "national")
    # photos where a photo is the evidence
    photos = {(d.key, q.id) for d in offered() for q in d.questions if q.type == "image"}
    assert photos == {("technology-demonstration", "equipment_photo"), ("packaging", "packaging_photo"),
                      ("pollution", "treatment_photo")}  # fmt: skip
    # counterpart funds are asked of everyone, not only of those wanting a loan
    loans = LATEST["loans"]
    funds = loans.question("investment_own_funds_vnd")  # v3's counterpart_funds_vnd, renamed in v4
    assert funds is not None and funds.required and funds.relevant is None
    # workforce by sex, rural and ethnic-minority workers
    market = LATEST["market-needs"]
    for qid in ("workers_total", "workers_female", "workers_rural", "workers_ethnic_minority"):
        assert market.question(qid) is not None
    # a permit and a registration are different procedures; brand identity is a packaging need
    pollution = LATEST["pollution"]
    procedure = pollution.question("environmental_procedure")
    assert procedure is not None and {"permit", "registration", "exempt"} <= set(procedure.choice_codes)
    needs = LATEST["packaging"].question("packaging_needs")
    assert needs is not None and "brand_identity" in needs.choice_codes


def test_what_the_third_edition_fixes() -> None:
    """Checks across answers, and the content fixes the issue listed (old ids gone where the meaning changed)."""
    market, loans, pollution = DEFS[("market-needs", 3)], DEFS[("loans", 4)], DEFS[("pollution", 3)]
    packaging, tech = DEFS[("packaging", 3)], DEFS[("technology-demonstration", 2)]
    assert {c.id for c in market.checks} == {"women_within_workforce", "rural_within_workforce",
                                             "ethnic_minority_within_workforce"}  # fmt: skip
    assert {c.id for c in loans.checks} == {"own_funds_within_investment", "loan_within_investment"}
    assert loans.question("counterpart_funds_vnd") is None and loans.question("investment_own_funds_vnd")
    pg = market.question("product_group")
    assert pg is not None and "mechanical" not in pg.choice_codes and "machinery_tools" in pg.choice_codes
    assert pollution.question("had_violation") is None and pollution.question("violation_year") is None
    years = pollution.question("violation_years_ago")
    assert years is not None and (years.min, years.max) == (0, 3)
    treatment = pollution.question("treatment_in_place")
    assert treatment is not None and treatment.relevant is not None and "none" not in treatment.relevant["in"]
    assert packaging.question("has_brand_identity") is None and packaging.question("label_compliant") is None
    label = packaging.question("label_compliance")
    assert label is not None and "unknown" in label.choice_codes and "bulk" not in label.relevant["in"]  # type: ignore[index]
    codes = [q.id for q in tech.questions]
    assert codes.index("mechanisation_level") < codes.index("main_equipment")
    assert tech.question("main_equipment").relevant == {  # type: ignore[union-attr]
        "question": "mechanisation_level", "in": ["semi_mechanised", "mechanised", "automated"]}  # fmt: skip
    for d in (market, loans, pollution, packaging, tech):
        texts = [str(d.raw)]
        assert not any("hoá" in t or "Hoá" in t for t in texts), d.key
        for q in d.questions:  # every "Khác (ghi rõ)" has its text follow-up
            if any(c.label["vi"].startswith("Khác (ghi rõ)") for c in q.choices):
                assert d.question(f"{q.id}_other") is not None, (d.key, q.id)
