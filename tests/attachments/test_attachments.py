"""Attachments through the JSON API and through OpenRosa: names from answers, roles and scope as for the
response, never replaced, durable on local disk or in an S3-compatible server process."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from typing import Any

import pytest

from app.attachments.store import S3Store, make_store
from app.core.config import get_settings
from tests.conftest import assert_problem
from tests.factories import facility_body

PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF photo of a workshop" * 400
LICENCE = b"%PDF-1.7 business registration"


def visit(client: Any, make_key: Any, **answers: Any) -> tuple[dict[str, str], str]:
    """A field officer of Lâm Đồng and one site-visit response naming a photo (and whatever else is given)."""
    fo = make_key("field_officer", provinces=["68"], name="fo")
    fid = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
    rid = str(uuid.uuid4())
    body = {"id": rid, "questionnaire": "site-visit", "version": 1, "facility_id": fid, "collected_at": "2026-11-20T08:30:00+07:00",
            "answers": {"respondent_name": "Nguyễn Thị Lan", "workshop_location": {"lat": 11.94, "lon": 108.44, "accuracy_m": 6},
                        "has_workshop_photo": True, "workshop_photo": "xuong.jpg", "support_received": ["none"],
                        "visit_date": "2026-11-20", **answers}}  # fmt: skip
    r = client.post("/api/v1/responses", json=body, headers=fo)
    assert r.status_code == 201, r.text
    return fo, rid


def put(
    client: Any, headers: dict[str, str], rid: str, name: str, data: bytes, content_type: str = "image/jpeg"
) -> Any:
    return client.put(f"/api/v1/responses/{rid}/attachments/{name}", content=data,
                      headers={**headers, "Content-Type": content_type})  # fmt: skip


def test_upload_list_download(client, make_key) -> None:
    fo, rid = visit(client, make_key, business_licence="Giấy phép (bản sao).pdf")
    listing = client.get(f"/api/v1/responses/{rid}/attachments", headers=fo).json()
    assert listing == {"items": [], "missing": [{"question": "workshop_photo", "name": "xuong.jpg"},
                                                {"question": "business_licence", "name": "Giấy phép (bản sao).pdf"}]}  # fmt: skip
    r = put(client, fo, rid, "xuong.jpg", PHOTO)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(PHOTO).hexdigest() and r.json()["size"] == len(PHOTO)
    assert put(client, fo, rid, "xuong.jpg", PHOTO).status_code == 200  # the same bytes again
    assert_problem(put(client, fo, rid, "xuong.jpg", PHOTO + b"!"), 409, "name")  # never replaced
    r = put(client, fo, rid, "Giấy phép (bản sao).pdf", LICENCE, "application/pdf")
    assert r.status_code == 201, r.text
    listing = client.get(f"/api/v1/responses/{rid}/attachments", headers=fo).json()
    assert [a["name"] for a in listing["items"]] == ["xuong.jpg", "Giấy phép (bản sao).pdf"] and listing[
        "missing"
    ] == []
    planner = make_key("planner", provinces=["68"], name="planner")
    got = client.get(f"/api/v1/responses/{rid}/attachments/xuong.jpg", headers=planner)
    assert got.status_code == 200 and got.content == PHOTO and got.headers["content-type"] == "image/jpeg"
    assert (
        got.headers["x-content-type-options"] == "nosniff"
        and got.headers["etag"] == f'"{hashlib.sha256(PHOTO).hexdigest()}"'
    )
    pdf = client.get(f"/api/v1/responses/{rid}/attachments/Giấy phép (bản sao).pdf", headers=fo)
    assert pdf.content == LICENCE and pdf.headers["content-disposition"].startswith("attachment;")
    # the bytes are on disk under their hash
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert (get_settings().attachments_dir / digest[:2] / digest[2:4] / digest).read_bytes() == PHOTO


def test_names_and_media_types_come_from_the_answers(client, make_key) -> None:
    fo, rid = visit(client, make_key, business_licence="gpkd.pdf")
    assert_problem(put(client, fo, rid, "khac.jpg", PHOTO), 422, "name")
    r = put(client, fo, rid, "xuong.jpg", b"GIF89a", "image/gif")  # the question accepts jpeg and png only
    assert_problem(r, 415, "content_type")
    assert put(client, fo, rid, "gpkd.pdf", PHOTO, "image/jpeg").status_code == 201  # image/* accepted there
    # a revision that names another photo: both names take files (the latest answers decide what is missing)
    rev = {"base_revision": 1, "collected_at": "2026-11-21T08:00:00+07:00", "answers": {
        "respondent_name": "Nguyễn Thị Lan", "workshop_location": {"lat": 11.94, "lon": 108.44}, "has_workshop_photo": True,
        "workshop_photo": "xuong-2.jpg", "support_received": ["training"], "visit_date": "2026-11-21"}}  # fmt: skip
    assert client.put(f"/api/v1/responses/{rid}", json=rev, headers=fo).status_code == 201
    listing = client.get(f"/api/v1/responses/{rid}/attachments", headers=fo).json()
    assert listing["missing"] == [{"question": "workshop_photo", "name": "xuong-2.jpg"}]
    assert put(client, fo, rid, "xuong.jpg", PHOTO).status_code == 201
    assert put(client, fo, rid, "xuong-2.jpg", PHOTO).status_code == 201


def test_roles_and_scope_as_for_the_response(client, make_key) -> None:
    fo, rid = visit(client, make_key)
    url = f"/api/v1/responses/{rid}/attachments"
    assert_problem(client.put(f"{url}/xuong.jpg", content=PHOTO), 401)
    assert_problem(client.get(url), 401)
    planner = make_key("planner", provinces=["68"], name="planner")
    assert_problem(put(client, planner, rid, "xuong.jpg", PHOTO), 403)
    portal = make_key("portal", provinces=["68"], name="portal")
    assert_problem(put(client, portal, rid, "xuong.jpg", PHOTO), 403)
    assert_problem(client.get(url, headers=portal), 403)
    other_fo = make_key("field_officer", provinces=["68"], name="fo-2")  # not its response
    assert_problem(put(client, other_fo, rid, "xuong.jpg", PHOTO), 404)
    assert_problem(client.get(url, headers=other_fo), 404)
    hanoi = make_key("planner", provinces=["01"], name="planner-hn")
    assert_problem(client.get(url, headers=hanoi), 404)
    assert_problem(client.get(f"{url}/xuong.jpg", headers=planner), 404)  # not uploaded yet
    assert put(client, fo, rid, "xuong.jpg", PHOTO).status_code == 201
    assert_problem(client.get(f"{url}/xuong.jpg", headers=hanoi), 404)
    admin = make_key("admin", name="admin")
    assert client.get(f"{url}/xuong.jpg", headers=admin).status_code == 200
    audit = client.get("/api/v1/audit", headers=admin).json()["items"]
    assert any(e["action"] == "attachment.added" and e["resource_id"] == rid for e in audit)


def test_body_ceiling(client, make_key) -> None:
    fo, rid = visit(client, make_key)
    too_big = b"\xff" * (get_settings().max_attachment_bytes + 1)
    assert_problem(put(client, fo, rid, "xuong.jpg", too_big), 413)


def test_s3_compatible_store_through_the_api(client, make_key, s3_endpoint, s3_client, monkeypatch) -> None:
    """Configured for an S3-compatible bucket, uploads land there and downloads come from there."""
    bucket = f"kc-{uuid.uuid4().hex[:10]}"
    s3_client.create_bucket(Bucket=bucket)
    settings = get_settings().model_copy(update={"attachments_s3_bucket": bucket, "attachments_s3_endpoint_url": s3_endpoint,
                                                 "attachments_s3_region": "us-east-1"})  # fmt: skip
    store = make_store(settings)
    assert isinstance(store, S3Store)
    import app.attachments.router as attachments_router
    import app.openrosa.router as openrosa_router

    monkeypatch.setattr(attachments_router, "get_store", lambda: store)
    monkeypatch.setattr(openrosa_router, "get_store", lambda: store)
    fo, rid = visit(client, make_key)
    assert put(client, fo, rid, "xuong.jpg", PHOTO).status_code == 201
    digest = hashlib.sha256(PHOTO).hexdigest()
    obj = s3_client.get_object(Bucket=bucket, Key=f"attachments/{digest}")
    assert obj["Body"].read() == PHOTO
    got = client.get(f"/api/v1/responses/{rid}/attachments/xuong.jpg", headers=fo)
    assert got.status_code == 200 and got.content == PHOTO
    local = get_settings().attachments_dir / digest[:2] / digest[2:4] / digest
    assert not local.exists() or local.read_bytes() == PHOTO  # (an earlier test may have stored it locally)


# --- OpenRosa: files over several posts, exports -------------------------------------------------------------


def test_openrosa_files_over_several_posts_and_the_export(client, make_key) -> None:
    """Collect splits a big submission: each post repeats the XML and brings some files; the response is
    stored once, each post adds its files, and the listing says what still waits."""
    from tests.openrosa.collect import fill, message, post
    from tests.openrosa.test_collect import Phone, facility

    fid = facility(client, make_key)
    phone = Phone(client, make_key)
    answers = {"facility_id": fid, "respondent_name": "Trần Văn Bình", "workshop_location": {"lat": 11.9404, "lon": 108.4583, "alt": 1500.0, "accuracy_m": 4.5},
               "has_workshop_photo": "yes", "workshop_photo": "1700000000001.jpg", "business_licence": "gpkd.pdf",
               "support_received": ["training", "equipment"], "support_year": 2024, "visit_date": "2026-11-20"}  # fmt: skip
    files = {"1700000000001.jpg": {"type": "image/jpeg", "base64": __import__("base64").b64encode(PHOTO).decode()},
             "gpkd.pdf": {"type": "application/pdf", "base64": __import__("base64").b64encode(LICENCE).decode()}}  # fmt: skip
    xml_form, media = phone.form("site-visit")
    filled = fill(xml_form, media, answers, files)
    assert filled["status"] == "ready", filled["violations"]
    photo, licence = sorted(filled["attachments"], key=lambda a: a["name"])
    r = post(client, phone.auth, filled["xml"], [photo])
    assert r.status_code == 201 and message(r) == "Đã nhận bản ghi; đã nhận 1 tệp; còn chờ 1 tệp."
    rid = filled["instance_id"].removeprefix("uuid:")
    listing = client.get(f"/api/v1/responses/{rid}/attachments", headers=phone.bearer).json()
    assert [a["name"] for a in listing["items"]] == ["1700000000001.jpg"]
    assert listing["missing"] == [{"question": "business_licence", "name": "gpkd.pdf"}]
    r = post(client, phone.auth, filled["xml"], [licence])
    assert r.status_code == 201 and message(r) == "Bản ghi này đã được nhận trước đó; đã nhận 1 tệp."
    r = post(
        client, phone.auth, filled["xml"], [photo, licence]
    )  # a full retry: nothing new, nothing refused
    assert r.status_code == 201 and message(r) == "Bản ghi này đã được nhận trước đó."
    listing = client.get(f"/api/v1/responses/{rid}/attachments", headers=phone.bearer).json()
    assert (
        sorted(a["name"] for a in listing["items"]) == ["1700000000001.jpg", "gpkd.pdf"]
        and listing["missing"] == []
    )
    assert (
        client.get(f"/api/v1/responses/{rid}/attachments/gpkd.pdf", headers=phone.bearer).content == LICENCE
    )
    # a file the answers do not name, or other bytes under a stored name: refused, and said why
    stray = dict(photo, name="khac.jpg")
    r = post(client, phone.auth, filled["xml"], [stray])
    assert r.status_code == 400, message(r)
    changed = dict(photo, base64=__import__("base64").b64encode(PHOTO + b"!").decode())
    r = post(client, phone.auth, filled["xml"], [changed])
    assert r.status_code == 409
    # the export: location columns and attachment names
    planner = make_key("planner", provinces=["68"], name="planner")
    csv_text = client.get("/api/v1/exports/responses.csv", params={"questionnaire": "site-visit", "version": 1},
                          headers=planner).content.decode("utf-8-sig")  # fmt: skip
    row = next(csv.DictReader(io.StringIO(csv_text)))
    assert (row["workshop_location/lat"], row["workshop_location/lon"], row["workshop_location/alt"],
            row["workshop_location/accuracy_m"]) == ("11.9404", "108.4583", "1500.0", "4.5")  # fmt: skip
    assert row["workshop_photo"] == "1700000000001.jpg" and row["business_licence"] == "gpkd.pdf"
    assert row["support_received/training"] == "1" and row["support_received/none"] == "0"


@pytest.mark.parametrize("name", ["a/b.jpg", "..", "tab%09name.jpg", "a%2Fb.jpg"])
def test_odd_names_never_reach_the_store(client, make_key, name: str) -> None:
    fo, rid = visit(client, make_key)
    r = client.put(f"/api/v1/responses/{rid}/attachments/{name}", content=PHOTO,
                   headers={**fo, "Content-Type": "image/jpeg"})  # fmt: skip
    assert r.status_code in (404, 405, 422), r.text
