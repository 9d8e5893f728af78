"""Exports: BOM, columns, select_multiple expansion, quoting, formula neutralisation, xlsx, scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

URL = "/api/v1/exports/responses.csv"


def setup(client, make_key):  # type: ignore[no-untyped-def]
    fo = make_key("field_officer", provinces=["68", "01"], name="fo")
    fid = client.post(
        "/api/v1/facilities", json=facility_body(name='=HYPERLINK("http://x")'), headers=fo
    ).json()["id"]
    hn = client.post(
        "/api/v1/facilities", json=facility_body(name='Xưởng, "Hà Nội"', province_code="01"), headers=fo
    ).json()["id"]
    a = response_body(fid, answers={"needs_loan": True, "loan_amount_vnd": 500_000_000, "loan_purpose": ["machinery", "workshop"],
                                    "has_collateral": False, "wants_interest_subsidy": True, "investment_plan": "+mua máy rang, sấy\nmới"})  # fmt: skip
    b = response_body(hn, answers={"needs_loan": False})
    for body in (a, b):
        assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
    client.put(f"/api/v1/responses/{b['id']}", json={"base_revision": 1, "answers": {"needs_loan": False, "outstanding_loans_vnd": 7},
                                                     "collected_at": "2026-11-21T10:00:00+07:00"}, headers=fo)  # fmt: skip
    return a, b


def rows_of(resp) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert resp.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_responses_csv(client, make_key) -> None:
    a, b = setup(client, make_key)
    planner = make_key("planner", name="planner")
    r = client.get(URL, params={"questionnaire": "loans", "version": 2}, headers=planner)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    header = r.content.decode("utf-8-sig").split("\r\n", 1)[0].split(",")
    assert header[:7] == [
        "response_id",
        "facility_id",
        "facility_name",
        "province_code",
        "collected_at",
        "received_at",
        "revision",
    ]
    assert (
        header[7] == "needs_loan"
        and "loan_purpose/machinery" in header
        and "loan_purpose/pollution_treatment" in header
    )
    rows = rows_of(r)
    assert [x["response_id"] for x in rows] == [a["id"], b["id"]]
    first, second = rows
    assert first["facility_name"] == '\'=HYPERLINK("http://x")'
    assert first["investment_plan"] == "'+mua máy rang, sấy\nmới"
    assert (
        first["loan_purpose/machinery"] == "1"
        and first["loan_purpose/workshop"] == "1"
        and first["loan_purpose/technology"] == "0"
    )
    assert first["needs_loan"] == "1" and first["loan_amount_vnd"] == "500000000"
    assert (
        second["facility_name"] == 'Xưởng, "Hà Nội"'
        and second["revision"] == "2"
        and second["outstanding_loans_vnd"] == "7"
    )
    assert second["loan_purpose/machinery"] == ""  # not asked, not "0"
    # Times in UTC, ISO 8601 with offset, as datetime.isoformat() writes them (fraction only when there is one).
    assert (
        first["collected_at"] == "2026-11-20T01:30:00+00:00"
        and second["collected_at"] == "2026-11-21T03:00:00+00:00"
    )
    stored = client.get(f"/api/v1/responses/{a['id']}", headers=planner).json()["received_at"]
    assert datetime.fromisoformat(first["received_at"]) == datetime.fromisoformat(
        stored.replace("Z", "+00:00")
    )
    assert first["received_at"].endswith("+00:00")


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)))
def test_stored_time_rewritten_as_isoformat(naive: datetime) -> None:
    """The export's text fast path agrees with the column type's own reading of SQLite's stored text."""
    from sqlalchemy.dialects import sqlite

    from app.models.types import UTCDateTime
    from app.responses.export import _iso_utc

    dialect = sqlite.dialect()
    impl = UTCDateTime().dialect_impl(dialect)
    stored = impl.bind_processor(dialect)(naive.replace(tzinfo=UTC))
    to_datetime = impl.result_processor(dialect, None)
    assert isinstance(stored, str) and len(stored) == 26  # the form the fast path rewrites
    assert (
        _iso_utc(to_datetime)(stored)
        == to_datetime(stored).isoformat()
        == naive.replace(tzinfo=UTC).isoformat()
    )


def test_scope_and_errors(client, make_key) -> None:
    setup(client, make_key)
    ld = make_key("planner", provinces=["68"], name="ld")
    rows = rows_of(client.get(URL, params={"questionnaire": "loans", "version": 2}, headers=ld))
    assert [x["province_code"] for x in rows] == ["68"]
    assert_problem(client.get(URL, params={"questionnaire": "loans", "version": 9}, headers=ld), 404)
    assert_problem(client.get(URL, params={"questionnaire": "loans"}, headers=ld), 422, "query.version")


def test_xlsx(client, make_key) -> None:
    a, _ = setup(client, make_key)
    planner = make_key("planner", name="planner")
    r = client.get(URL, params={"questionnaire": "loans", "version": 2, "format": "xlsx"}, headers=planner)
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    ws = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "response_id" and rows[1][0] == a["id"] and len(rows) == 3
    assert rows[1][2] == '\'=HYPERLINK("http://x")'


def test_facilities_csv(client, make_key) -> None:
    setup(client, make_key)
    planner = make_key("planner", name="planner")
    rows = rows_of(client.get("/api/v1/exports/facilities.csv", headers=planner))
    assert len(rows) == 2 and rows[0]["name"].startswith("'=") and rows[1]["province_code"] == "01"
    only = rows_of(
        client.get("/api/v1/exports/facilities.csv", params={"province_code": "01"}, headers=planner)
    )
    assert len(only) == 1


def test_location_and_attachment_columns() -> None:
    """geopoint → question/lat, /lon, /alt, /accuracy_m; image/file → the file name (neutralised like text)."""
    from pathlib import Path

    from app.questionnaires.definition import load_dir
    from app.responses.export import _cells_plan, response_columns

    defs, _ = load_dir(Path(__file__).resolve().parents[1] / "questionnaires" / "schemas")
    d = defs[("site-visit", 1)]
    cols = response_columns(d)[7:]
    cells = _cells_plan(d)
    row = dict(zip(cols, cells({"workshop_location": {"lat": 11.9, "lon": 108.4, "accuracy_m": 4.5},
                                "workshop_photo": "=cmd.jpg", "support_received": ["none"]}), strict=True))  # fmt: skip
    assert [c for c in cols if c.startswith("workshop_location/")] == [
        "workshop_location/lat", "workshop_location/lon", "workshop_location/alt", "workshop_location/accuracy_m"
    ]  # fmt: skip
    assert (row["workshop_location/lat"], row["workshop_location/lon"]) == (11.9, 108.4)
    assert row["workshop_location/alt"] is None and row["workshop_location/accuracy_m"] == 4.5
    assert row["workshop_photo"] == "'=cmd.jpg" and row["business_licence"] is None
    assert row["support_received/none"] == 1 and row["support_received/training"] == 0
    empty = dict(zip(cols, cells({}), strict=True))
    assert empty["workshop_location/lat"] is None and empty["support_received/none"] is None
