"""Exports: BOM, columns, select_multiple expansion, quoting, formula neutralisation, xlsx, scope, labels, GeoJSON."""

from __future__ import annotations

import csv
import io
import itertools
import json
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
    assert header[:9] == [
        "response_id",
        "facility_id",
        "facility_name",
        "province_code",
        "collected_at",
        "received_at",
        "revision",
        "channel",
        "submitted_by",
    ]
    assert (
        header[9] == "needs_loan"
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
    # Where each came from: a field officer's key (channel field), named by the key.
    assert [(x["channel"], x["submitted_by"]) for x in rows] == [("field", "fo"), ("field", "fo")]
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

    from app.exports.service import _iso_utc
    from app.models.types import UTCDateTime

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


# -- labels ------------------------------------------------------------------------------------------------


def test_responses_csv_with_vietnamese_and_english_labels(client, make_key) -> None:
    a, b = setup(client, make_key)
    planner = make_key("planner", name="planner")
    client.put(f"/api/v1/responses/{a['id']}", headers=make_key("field_officer", provinces=["68"], name="fo68"),
               json={"base_revision": 1, "answers": {"needs_loan": True, "loan_amount_vnd": 1, "loan_purpose": ["machinery"]},
                     "collected_at": "2026-11-21T10:00:00+07:00"})  # refused (another officer's): nothing changes  # fmt: skip
    vi = client.get(URL, params={"questionnaire": "loans", "version": 2, "labels": "vi"}, headers=planner)
    assert vi.status_code == 200 and vi.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(vi.content.decode("utf-8-sig"))))
    assert header[:9] == [
        "Mã phiếu",
        "Mã cơ sở",
        "Tên cơ sở",
        "Mã tỉnh",
        "Thời điểm thu thập",
        "Thời điểm nhận",
        "Lần sửa",
        "Nguồn phiếu",
        "Người gửi",
    ]
    assert header[9] == "Cơ sở có nhu cầu vay vốn trong 2 năm tới?"
    assert (
        "Mục đích vay: Mua máy móc, thiết bị" in header and "Mục đích vay: Xử lý ô nhiễm môi trường" in header
    )
    rows = rows_of(vi)
    first = rows[0]
    assert first["Mã phiếu"] == a["id"] and first["Tên cơ sở"] == '\'=HYPERLINK("http://x")'
    assert (
        first["Cơ sở có nhu cầu vay vốn trong 2 năm tới?"] == "Có" and first["Có tài sản bảo đảm?"] == "Không"
    )
    assert (
        first["Mục đích vay: Mua máy móc, thiết bị"] == "1"
        and first["Mục đích vay: Chuyển giao, ứng dụng công nghệ"] == "0"
    )
    assert first["Số tiền cần vay"] == "500000000" and first["Lần sửa"] == "1"
    assert first["Nguồn phiếu"] == "Cán bộ khảo sát" and first["Người gửi"] == "fo"
    assert rows[1]["Cơ sở có nhu cầu vay vốn trong 2 năm tới?"] == "Không"
    en = rows_of(
        client.get(URL, params={"questionnaire": "loans", "version": 2, "labels": "en"}, headers=planner)
    )
    assert en[0]["Does the establishment need a loan in the next 2 years?"] == "Yes"
    assert en[0]["Purpose of the loan: Build or extend the workshop"] == "1"
    # Codes stay the default; the same rows in the same order whatever the labels.
    codes = rows_of(client.get(URL, params={"questionnaire": "loans", "version": 2}, headers=planner))
    assert (
        [r["response_id"] for r in codes] == [r["Mã phiếu"] for r in rows] == [r["Response ID"] for r in en]
    )
    assert_problem(client.get(URL, params={"questionnaire": "loans", "version": 2, "labels": "fr"}, headers=planner),
                   422, "query.labels")  # fmt: skip


def test_select_one_as_choice_label_and_xlsx_with_labels(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
    body = response_body(fid, answers={"needs_loan": True, "loan_amount_vnd": 20_000_000, "loan_purpose": ["workshop"],
                                       "has_collateral": True, "collateral_type": "land_use_rights", "wants_interest_subsidy": False})  # fmt: skip
    assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
    planner = make_key("planner", name="planner")
    params = {"questionnaire": "loans", "version": 2, "labels": "vi", "format": "xlsx"}
    r = client.get(URL, params=params, headers=planner)
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    header, row = list(
        load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True)
    )
    got = dict(itertools.zip_longest(header, row))  # a row read back ends at its last non-empty cell
    assert got["Loại tài sản bảo đảm chính"] == "Quyền sử dụng đất"
    assert got["Có nhu cầu được hỗ trợ lãi suất vay (khuyến công)?"] == "Không"
    assert got["Mục đích vay: Xây dựng, mở rộng nhà xưởng"] == 1
    codes = client.get(URL, params={"questionnaire": "loans", "version": 2}, headers=planner)
    assert rows_of(codes)[0]["collateral_type"] == "land_use_rights"


def test_labels_are_neutralised_like_any_cell(app) -> None:
    """A label starting with = + - @ tab or CR (a questionnaire file is data) is quoted, header and values."""
    import dataclasses

    from app.exports.service import _cells_plan, response_columns

    d = app.state.registry.get("loans", 2)
    qs = []
    for q in d.questions:
        if q.id == "collateral_type":
            choices = tuple(dataclasses.replace(c, label={"vi": "@SUM(A1)", "en": "-2"}) for c in q.choices)
            q = dataclasses.replace(q, label={"vi": "=cmd|' /C calc'!A0", "en": "+1+1"}, choices=choices)
        elif q.id == "loan_purpose":
            q = dataclasses.replace(q, label={"vi": "-vay", "en": "\rloan"})
        qs.append(q)
    bad = dataclasses.replace(d, questions=tuple(qs))
    cases = [("vi", "'=cmd|' /C calc'!A0", "'@SUM(A1)", "'-vay: Mua máy móc, thiết bị"),
             ("en", "'+1+1", "'-2", "'\rloan: Machinery and equipment")]  # fmt: skip
    answers = {"collateral_type": "buildings"}
    for lang, head, value, multi in cases:
        cols = response_columns(bad, lang)
        assert head in cols and multi in cols
        assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cols)
        cells = dict(zip(cols[9:], _cells_plan(bad, lang)(answers), strict=True))
        assert cells[head] == value
        # Unsafe (GeoJSON): exact values.
        raw = dict(
            zip(
                response_columns(bad, lang, safe=False)[9:],
                _cells_plan(bad, lang, safe=False)(answers),
                strict=True,
            )
        )
        assert raw[head.removeprefix("'")] == value.removeprefix("'")


def test_facilities_csv_with_labels(client, make_key) -> None:
    setup(client, make_key)
    planner = make_key("planner", name="planner")
    rows = rows_of(client.get("/api/v1/exports/facilities.csv", params={"labels": "vi"}, headers=planner))
    assert rows[0]["Tên cơ sở"].startswith("'=") and rows[0]["Loại hình"] == "Hộ kinh doanh"
    # The registry's sector names, as the forms and the workspace show them.
    assert rows[0]["Ngành"] == "Chế biến nông, lâm, thủy sản, thực phẩm" and rows[1]["Mã tỉnh"] == "01"
    en = rows_of(client.get("/api/v1/exports/facilities.csv", params={"labels": "en"}, headers=planner))
    assert en[0]["Kind"] == "Household business" and en[0]["Sector"] == "Agro-food processing"


# -- GeoJSON -----------------------------------------------------------------------------------------------

GEO = "/api/v1/exports/responses.geojson"


def geo(resp) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/geo+json")
    assert "attachment" in resp.headers["content-disposition"]
    doc = json.loads(resp.content)
    assert doc["type"] == "FeatureCollection"
    for f in doc["features"]:
        assert (
            f["type"] == "Feature" and f["geometry"]["type"] == "Point" and isinstance(f["properties"], dict)
        )
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    return doc  # type: ignore[no-any-return]


def geo_world(client, make_key):  # type: ignore[no-untyped-def]
    """P (68, at 11.9/108.4) answered where collected; Q (68, at 12.0/108.5) answered without a device location;
    R (68, no location) answered without one; H (01, Hà Nội) answered where collected."""
    fo = make_key("field_officer", provinces=["68", "01"], name="fo")
    fac = {}
    for name, prov, loc in (("P", "68", {"lat": 11.9, "lon": 108.4}), ("Q", "68", {"lat": 12.0, "lon": 108.5}),
                            ("R", "68", None), ("H", "01", {"lat": 21.03, "lon": 105.85})):  # fmt: skip
        body = facility_body(name=name, province_code=prov, **({"location": loc} if loc else {}))
        fac[name] = client.post("/api/v1/facilities", json=body, headers=fo).json()["id"]
    resp = {}
    for name, loc in (("P", {"lat": 11.94, "lon": 108.44, "accuracy_m": 8}), ("Q", None), ("R", None),
                      ("H", {"lat": 21.0, "lon": 105.8})):  # fmt: skip
        body = response_body(fac[name], location=loc)
        assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
        resp[name] = body["id"]
    return fac, resp


def test_responses_geojson_points_where_collected_else_at_the_facility(client, make_key) -> None:
    fac, resp = geo_world(client, make_key)
    planner = make_key("planner", provinces=["68"], name="planner-68")
    client.post(f"/api/v1/responses/{resp['P']}/review", json={"state": "approved"}, headers=planner)
    doc = geo(client.get(GEO, params={"questionnaire": "loans", "version": 2}, headers=planner))
    assert doc["name"] == "loans-v2" and doc["exported"] == 2 and doc["without_location"] == 1
    by = {f["id"]: f for f in doc["features"]}
    assert list(by) == [resp["P"], resp["Q"]]  # receive order; R has no location anywhere; H is out of scope
    p, q = by[resp["P"]], by[resp["Q"]]
    assert p["geometry"]["coordinates"] == [108.44, 11.94]
    assert p["properties"]["location_source"] == "response" and p["properties"]["accuracy_m"] == 8
    assert q["geometry"]["coordinates"] == [108.5, 12.0] and q["properties"]["location_source"] == "facility"
    assert q["properties"]["accuracy_m"] is None
    props = p["properties"]
    assert (
        props["response_id"] == resp["P"]
        and props["facility_id"] == fac["P"]
        and props["province_code"] == "68"
    )
    assert props["review_state"] == "approved" and q["properties"]["review_state"] == "received"
    assert (
        props["needs_loan"] == 1
        and props["loan_purpose/machinery"] == 1
        and props["loan_amount_vnd"] == 500_000_000
    )
    assert props["collected_at"] == "2026-11-20T01:30:00+00:00" and props["revision"] == 1
    assert props["channel"] == "field" and props["submitted_by"] == "fo"
    vi = geo(
        client.get(GEO, params={"questionnaire": "loans", "version": 2, "labels": "vi"}, headers=planner)
    )
    vp = vi["features"][0]["properties"]
    assert vp["Mã phiếu"] == resp["P"] and vp["Trạng thái duyệt"] == "Đã duyệt"
    assert (
        vp["Nguồn vị trí"] == "Vị trí khi thu thập phiếu"
        and vp["Cơ sở có nhu cầu vay vốn trong 2 năm tới?"] == "Có"
    )
    everyone = geo(
        client.get(
            GEO, params={"questionnaire": "loans", "version": 2}, headers=make_key("admin", name="adm")
        )
    )
    assert everyone["exported"] == 3 and everyone["without_location"] == 1
    only_hn = geo(
        client.get(
            GEO, params={"questionnaire": "loans", "version": 2, "province_code": "01"}, headers=planner
        )
    )
    assert only_hn["features"] == [] and only_hn["exported"] == 0 and only_hn["without_location"] == 0
    assert_problem(client.get(GEO, params={"questionnaire": "loans", "version": 9}, headers=planner), 404)
    assert_problem(client.get(GEO, params={"questionnaire": "loans"}, headers=planner), 422, "query.version")
    assert_problem(
        client.get(
            GEO, params={"questionnaire": "loans", "version": 2}, headers=make_key("field_officer", name="f2")
        ),
        403,
    )
    assert_problem(client.get(GEO, params={"questionnaire": "loans", "version": 2}), 401)


def test_facilities_geojson(client, make_key) -> None:
    fac, _ = geo_world(client, make_key)
    planner = make_key("planner", provinces=["68"], name="planner-68")
    doc = geo(client.get("/api/v1/exports/facilities.geojson", headers=planner))
    assert [f["id"] for f in doc["features"]] == [fac["P"], fac["Q"]]
    assert doc["exported"] == 2 and doc["without_location"] == 1  # R; H is out of scope, not counted
    p = doc["features"][0]
    assert p["geometry"]["coordinates"] == [108.4, 11.9]
    assert p["properties"]["name"] == "P" and p["properties"]["kind"] == "household_business"
    assert p["properties"]["employees"] == 12 and p["properties"]["province_code"] == "68"
    vi = geo(
        client.get(
            "/api/v1/exports/facilities.geojson",
            params={"labels": "vi", "sector": "agro_food_processing"},
            headers=planner,
        )
    )
    assert vi["features"][0]["properties"]["Loại hình"] == "Hộ kinh doanh" and vi["exported"] == 2
    none = geo(
        client.get("/api/v1/exports/facilities.geojson", params={"sector": "handicrafts"}, headers=planner)
    )
    assert none == {
        "type": "FeatureCollection",
        "name": "facilities",
        "features": [],
        "exported": 0,
        "without_location": 0,
    }
    assert_problem(
        client.get("/api/v1/exports/facilities.geojson", headers=make_key("portal", name="portal")), 403
    )


def test_geojson_streams_page_by_page(client, make_key, monkeypatch) -> None:
    """Small pages and batches: every feature once, in order, whatever the page and batch boundaries."""
    from app.exports import geojson
    from app.exports import service as tables

    monkeypatch.setattr(tables, "PAGE", 2)
    monkeypatch.setattr(geojson, "BATCH", 3)
    fo = make_key("field_officer", provinces=["68"], name="fo")
    ids = []
    for i in range(7):
        loc = {"location": {"lat": 11.0 + i / 10, "lon": 108.0}} if i % 3 else {}
        ids.append(
            client.post("/api/v1/facilities", json=facility_body(name=f"F{i}", **loc), headers=fo).json()[
                "id"
            ]
        )
    r = client.get("/api/v1/exports/facilities.geojson", headers=make_key("planner", name="p"))
    doc = geo(r)
    assert [f["id"] for f in doc["features"]] == [ids[i] for i in range(7) if i % 3]
    assert doc["exported"] == 4 and doc["without_location"] == 3


def test_location_and_attachment_columns() -> None:
    """geopoint → question/lat, /lon, /alt, /accuracy_m; image/file → the file name (neutralised like text)."""
    from pathlib import Path

    from app.exports.service import _cells_plan, response_columns
    from app.questionnaires.definition import load_dir

    defs, _ = load_dir(Path(__file__).resolve().parents[1] / "questionnaires" / "schemas")
    d = defs[("site-visit", 1)]
    cols = response_columns(d)[9:]
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
    labelled = response_columns(d, "vi")[9:]
    assert any(c.endswith(": vĩ độ") for c in labelled) and len(labelled) == len(cols)
