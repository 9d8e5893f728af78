"""Facility registry through HTTP: create, validation, duplicates, scope, search, history, import."""

from __future__ import annotations

import io

from sqlalchemy import text

from app.core.db import session_scope
from tests.conftest import assert_problem
from tests.factories import facility_body

URL = "/api/v1/facilities"


def test_create_get_and_prior_support(client, make_key) -> None:
    fo = make_key("field_officer", provinces=["68"])
    body = facility_body(
        tax_code="0101234567-001",
        ward_code=None,
        prior_support=[
            {"year": 2021, "programme": "khuyến công quốc gia", "amount_vnd": 300_000_000},
            {"year": 2023, "programme": "khuyến công địa phương"},
        ],
    )
    r = client.post(URL, json=body, headers=fo)
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["tax_code"] == "0101234567001" and f["prior_support_count"] == 2 and f["revision"] == 1
    assert client.get(f"{URL}/{f['id']}", headers=fo).json()["name"] == "Cơ sở chế biến cà phê Cầu Đất"


def test_validation_errors_name_each_field(client, make_key) -> None:
    fo = make_key("field_officer")
    bad = facility_body(tax_code="12345", employees=-1, annual_revenue_vnd="lots", established_year=2999, kind="farm",
                        location={"lat": 95, "lon": 105}, color="red")  # fmt: skip
    body = assert_problem(client.post(URL, json=bad, headers=fo), 422, "tax_code", "employees", "annual_revenue_vnd",
                          "established_year", "kind", "location.lat", "color")  # fmt: skip
    assert any("10 digits" in e["message"] for e in body["errors"])
    assert_problem(client.post(URL, json=facility_body(province_code="99"), headers=fo), 422, "province_code")
    # Ward 00070 (Hoàn Kiếm) is in Hà Nội, not Lâm Đồng.
    body = assert_problem(
        client.post(URL, json=facility_body(ward_code="00070"), headers=fo), 422, "ward_code"
    )
    assert "province 01" in body["errors"][0]["message"]
    assert (
        client.post(URL, json=facility_body(province_code="01", ward_code="00070"), headers=fo).status_code
        == 201
    )
    assert_problem(client.post(URL, json=facility_body(employees=True), headers=fo), 422, "employees")


def test_duplicate_tax_code_is_409_with_existing_id(client, make_key) -> None:
    fo = make_key("field_officer")
    first = client.post(URL, json=facility_body(tax_code="0312345678"), headers=fo).json()
    body = assert_problem(
        client.post(URL, json=facility_body(tax_code="0312345678", name="Other"), headers=fo), 409
    )
    assert body["facility_id"] == first["id"]


def test_scope_write_403_read_404_list_filtered(client, make_key) -> None:
    hn = make_key("field_officer", provinces=["01"], name="hn")
    ld = make_key("field_officer", provinces=["68"], name="ld")
    assert_problem(client.post(URL, json=facility_body(province_code="68"), headers=hn), 403, "province_code")
    f = client.post(URL, json=facility_body(), headers=ld).json()
    assert_problem(client.get(f"{URL}/{f['id']}", headers=hn), 404)
    assert_problem(client.patch(f"{URL}/{f['id']}", json={"employees": 1}, headers=hn), 404)
    assert_problem(client.patch(f"{URL}/{f['id']}", json={"province_code": "01"}, headers=ld), 403)
    assert client.get(URL, headers=hn).json()["items"] == []
    assert [x["id"] for x in client.get(URL, headers=ld).json()["items"]] == [f["id"]]


def test_patch_keeps_history(client, make_key) -> None:
    fo = make_key("field_officer")
    f = client.post(URL, json=facility_body(), headers=fo).json()
    r = client.patch(
        f"{URL}/{f['id']}",
        json={"employees": 30, "prior_support": [{"year": 2024, "programme": "KC"}]},
        headers=fo,
    )
    assert (
        r.status_code == 200
        and r.json()["revision"] == 2
        and r.json()["employees"] == 30
        and r.json()["prior_support_count"] == 1
    )
    assert r.json()["name"] == f["name"]  # untouched fields stay
    assert_problem(client.patch(f"{URL}/{f['id']}", json={"name": None}, headers=fo), 422, "name")
    with session_scope() as s:
        revs = s.execute(
            text("SELECT revision, data FROM facility_revision WHERE facility_id=:f ORDER BY revision"),
            {"f": f["id"]},
        ).all()
    assert [r[0] for r in revs] == [1, 2]
    import json

    first = revs[0][1] if isinstance(revs[0][1], dict) else json.loads(revs[0][1])
    assert first["employees"] == 12


def test_list_filters_search_and_keyset_pagination(client, make_key) -> None:
    fo = make_key("field_officer")
    names = [
        "Hợp tác xã Cà phê Cầu Đất",
        "Xưởng cơ khí Tân Phú",
        "Cơ sở dệt thổ cẩm",
        "Cà phê Nguyên Chất",
        "Làng nghề mây tre",
    ]
    for i, n in enumerate(names):
        sector = "agro_food_processing" if "phê" in n else "handicrafts"
        client.post(
            URL,
            json=facility_body(name=n, sector=sector, province_code="68" if i % 2 == 0 else "37"),
            headers=fo,
        )
    found = client.get(URL, params={"q": "ca phe"}, headers=fo).json()["items"]
    assert {f["name"] for f in found} == {"Hợp tác xã Cà phê Cầu Đất", "Cà phê Nguyên Chất"}
    assert [f["name"] for f in client.get(URL, params={"q": "CẦU ĐẤT"}, headers=fo).json()["items"]] == [
        "Hợp tác xã Cà phê Cầu Đất"
    ]
    assert len(client.get(URL, params={"province_code": "37"}, headers=fo).json()["items"]) == 2
    assert (
        len(
            client.get(URL, params=[("sector", "handicrafts"), ("province_code", "68")], headers=fo).json()[
                "items"
            ]
        )
        == 2
    )
    seen, cursor = [], None
    while True:
        page = client.get(
            URL, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=fo
        ).json()
        seen += [f["name"] for f in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == names
    assert_problem(client.get(URL, params={"limit": 1001}, headers=fo), 422, "query.limit")
    assert_problem(client.get(URL, params={"cursor": "garbage!"}, headers=fo), 422, "query.cursor")


CSV = (
    "name,kind,sector,province,ward_code,tax_code,address,employees,annual_revenue_vnd,established_year,vsic_code\n"
    "HTX Dệt Nam Định,cooperative,textiles_garments,Nam Định,,0600000001,Xã Hải Hậu,45,12000000000,2005,1311\n"
    "Cơ sở chè Yên Bái,household_business,agro_food_processing,Tỉnh Yên Bái,,,,8,,2015,\n"
    "Bad row,farm,agro_food_processing,Atlantis,,123,,-3,,2999,\n"
    "Trùng mã số thuế,enterprise,other,01,,0600000001,,,,,\n"
    'Cơ khí Hà Nam,enterprise,mechanical_engineering,ha nam,,0700000002,,120,"5,000,000,000",1999,2592\n'
    "=cmd|' /C calc'!A0,enterprise,other,79,,,,,,,\n"
)


def test_import_csv_with_bom_legacy_names_bad_rows_and_duplicates(client, make_key) -> None:
    fo = make_key("field_officer")
    data = ("\ufeff" + CSV).encode("utf-8")
    r = client.post(f"{URL}/import", files={"file": ("co-so.csv", io.BytesIO(data), "text/csv")}, headers=fo)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["created", "created", "invalid", "duplicate", "created", "created"]
    assert [x["row"] for x in res] == [1, 2, 3, 4, 5, 6]
    assert res[3]["id"] == res[0]["id"]
    bad_paths = {e["path"] for e in res[2]["errors"]}
    assert {"province", "employees", "established_year"} <= bad_paths or {
        "province",
        "employees",
    } <= bad_paths
    got = {f["name"]: f for f in client.get(URL, params={"limit": 100}, headers=fo).json()["items"]}
    assert got["HTX Dệt Nam Định"]["province_code"] == "37"
    assert got["Cơ sở chè Yên Bái"]["province_code"] == "15"
    assert (
        got["Cơ khí Hà Nam"]["province_code"] == "37"
        and got["Cơ khí Hà Nam"]["annual_revenue_vnd"] == 5_000_000_000
    )


def test_import_scope_and_bad_files(client, make_key) -> None:
    hn = make_key("portal", provinces=["01"])
    r = client.post(f"{URL}/import", files={"file": ("f.csv", CSV.encode())}, headers=hn)
    statuses = [x["status"] for x in r.json()["results"]]
    assert statuses == [
        "invalid",
        "invalid",
        "invalid",
        "created",
        "invalid",
        "invalid",
    ]  # only row 4 is in Hà Nội
    assert any(e["code"] == "out_of_scope" for e in r.json()["results"][0]["errors"])
    assert_problem(
        client.post(f"{URL}/import", files={"file": ("f.csv", b"\xff\xfe\x00bad")}, headers=hn), 422, "file"
    )
    assert_problem(
        client.post(f"{URL}/import", files={"file": ("f.csv", b"nom,type\nx,y\n")}, headers=hn), 422, "file"
    )
    assert_problem(client.post(f"{URL}/import", headers=hn), 422, "file")
