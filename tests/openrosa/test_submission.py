"""Instance XML → JSON values, one type at a time (the rest of the path is tested through HTTP)."""

from __future__ import annotations

import pytest

from app.openrosa.submission import SubmissionError, read, to_body, value
from app.questionnaires.definition import Question

Q = {t: Question(id="q", type=t, label={"vi": "Q"}) for t in
     ("integer", "decimal", "boolean", "select_one", "select_multiple", "geopoint", "image", "text", "date")}  # fmt: skip


@pytest.mark.parametrize(
    "qtype, text, expected",
    [
        ("integer", "12", 12),
        ("integer", "50000000000.0", 50_000_000_000),
        ("integer", "9007199254740993.0", 9_007_199_254_740_993),  # beyond float precision, still exact
        ("integer", "1.5", 1.5),  # the validator refuses it, naming the rule
        ("integer", "abc", "abc"),
        ("decimal", "120.5", 120.5),
        ("decimal", "120", 120),
        ("decimal", "NaN", "NaN"),
        ("boolean", "yes", True),
        ("boolean", "no", False),
        ("boolean", "maybe", "maybe"),
        ("select_one", " a ", "a"),
        ("select_multiple", "a  b c", ["a", "b", "c"]),
        ("geopoint", "11.9 108.4 1500.0 4.5", {"lat": 11.9, "lon": 108.4, "alt": 1500.0, "accuracy_m": 4.5}),
        ("geopoint", "11.9 108.4", {"lat": 11.9, "lon": 108.4}),
        ("geopoint", "11.9", "11.9"),
        ("geopoint", "a b", "a b"),
        ("image", "1700000000000.jpg", "1700000000000.jpg"),
        ("text", "  giữ nguyên  ", "  giữ nguyên  "),
        ("date", "2026-11-20", "2026-11-20"),
    ],
)
def test_values(qtype: str, text: str, expected: object) -> None:
    got = value(Q[qtype], text)
    assert got == expected and type(got) is type(expected)


def test_namespaces_empty_elements_and_meta() -> None:
    xml = (b'<data xmlns="http://www.w3.org/2002/xforms" xmlns:orx="http://openrosa.org/xforms" id="loans" version="2">'
           b"<facility_id>0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d20</facility_id><needs_loan>no</needs_loan>"
           b"<loan_amount_vnd/><end>2026-11-20T08:30:00.000+07:00</end>"
           b"<orx:meta><orx:instanceID>uuid:0B6C1F0E-8D1A-4E3B-9A43-2F1F7A9C1D21</orx:instanceID></orx:meta></data>")  # fmt: skip
    inst = read(xml)
    assert (inst.form_id, inst.version, inst.instance_id, inst.deprecated_id) == (
        "loans", 2, "0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d21", None)  # fmt: skip
    from pathlib import Path

    from app.questionnaires.definition import load_dir

    defs, _ = load_dir(Path(__file__).resolve().parents[2] / "survey_schemas")
    body = to_body(inst, defs[("loans", 2)])
    assert body == {"id": "0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d21", "questionnaire": "loans", "version": 2,
                    "answers": {"needs_loan": False}, "facility_id": "0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d20",
                    "collected_at": "2026-11-20T08:30:00.000+07:00"}  # fmt: skip


@pytest.mark.parametrize(
    "xml, says",
    [
        (b"<data", "không phải XML hợp lệ"),
        (b'<!DOCTYPE d [<!ENTITY e "x">]><data id="a" version="1">&e;</data>', "không phải XML hợp lệ"),
        (
            b"<data id='loans'><meta><instanceID>uuid:0b6c1f0e-8d1a-4e3b-9a43-2f1f7a9c1d20</instanceID></meta></data>",
            "phiên bản",
        ),
        (b"<data id='loans' version='2'/>", "meta/instanceID"),
        (
            b"<data id='loans' version='2'><meta><instanceID>0b6c</instanceID></meta></data>",
            "meta/instanceID",
        ),
    ],
)
def test_what_is_not_a_submission(xml: bytes, says: str) -> None:
    with pytest.raises(SubmissionError) as exc:
        read(xml)
    assert says in exc.value.vi
