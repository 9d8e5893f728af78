"""ODK Collect's conversation with the server, each form filled by ODK's own engine (tests/clients/odk).

- the protocol: formList → form → manifest → media → HEAD → POST → retry → edit, with the headers and status
  codes Collect relies on;
- every served form (the five published questionnaires and the test-only one with image/geopoint/exclusive)
  loads in the engine with its media, is filled, and the engine's submission is stored exactly as the same
  answers posted as JSON;
- the engine's verdicts on invalid answers (required, constraint, relevance) are the server's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from app.openrosa import messages as or_messages
from app.openrosa.protocol import NS_LIST
from app.questionnaires.definition import load_dir
from app.questionnaires.validator import AnswerValidator
from tests.conftest import assert_problem
from tests.factories import facility_body, support, valid_answers
from tests.openrosa.collect import OR, basic, download, fill, form_list, message, officer, post
from tests.openrosa.persons import (
    completed,
    covering_sets,
    engine_answers,
    engine_verdict,
    in_choice_order,
    mistakes,
    server_verdict,
)
from tests.schemas_app import ROOT, TEST_ONLY

PUBLISHED, _ = load_dir(ROOT / "survey_schemas")
EXTRA, _ = load_dir(TEST_ONLY)
SERVED = {k: d for k, d in {**PUBLISHED, **EXTRA}.items() if d.status == "published"}
# every version a device may hold and submit: the published ones and the retired ones (kept on phones)
ACCEPTED = {k: d for k, d in {**PUBLISHED, **EXTRA}.items() if d.status != "draft"}
LATEST = {}
for (key, _version), d in sorted(SERVED.items()):
    LATEST[key] = d  # the newest published version of each questionnaire is what Collect is offered


class Phone:
    """One officer's Collect, set up with a key's name and secret and https://host/openrosa."""

    def __init__(self, client: Any, make_key: Any, name: str = "lamdong-tablet-1", provinces: list[str] | None = None) -> None:  # fmt: skip
        self.client = client
        self.auth = officer(make_key, name=name, provinces=provinces)
        self.bearer = {
            "Authorization": "Bearer "
            + base64.b64decode(self.auth["Authorization"][6:]).decode().split(":", 1)[1]
        }
        self.forms = form_list(client, self.auth)
        self._downloaded: dict[str, tuple[bytes, dict[str, str]]] = {}

    def form(self, key: str) -> tuple[bytes, dict[str, str]]:
        if key not in self._downloaded:
            self._downloaded[key] = download(self.client, self.auth, self.forms[key])
        return self._downloaded[key]

    def fill(
        self, key: str, answers: dict[str, Any], files: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        xml, media = self.form(key)
        return fill(xml, media, answers, files, **extra)

    def form_version(self, key: str, version: int) -> tuple[bytes, dict[str, str]]:
        """A version by its URL, as a phone that kept it (a retired one is in no form list): its ETag is the
        md5 download() checks, and for the listed version it is the form list's hash."""
        url = f"http://testserver/openrosa/forms/{key}/{version}"
        r = self.client.get(url, headers=self.auth)
        assert r.status_code == 200 and re.fullmatch(r'"md5:[0-9a-f]{32}"', r.headers["etag"]), r.text
        item = {"downloadUrl": url, "manifestUrl": url + "/manifest", "hash": r.headers["etag"].strip('"')}
        if key in self.forms and self.forms[key]["version"] == str(version):
            assert self.forms[key]["hash"] == item["hash"] and self.forms[key]["downloadUrl"] == url
        return download(self.client, self.auth, item)

    def enter(self, key: str, head: dict[str, Any], answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """JSON answers entered into the newest version of `key` as a person enters them (yes/no, the files the
        upload questions pick), after `head` (the facility question, or the new-facility group)."""
        entered, files = engine_answers(LATEST[key], answers)
        return self.fill(key, {**head, **entered}, files, **extra)

    def send(self, filled: dict[str, Any], attachments: list[dict[str, Any]] | None = None) -> Any:
        return post(
            self.client,
            self.auth,
            filled["xml"],
            filled["attachments"] if attachments is None else attachments,
        )


def facility(client: Any, make_key: Any, **over: Any) -> str:
    registrar = make_key("field_officer", provinces=None, name=f"registrar-{uuid.uuid4().hex[:6]}")
    r = client.post("/api/v1/facilities", json=facility_body(**over), headers=registrar)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def stored(client: Any, headers: dict[str, str], rid: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/responses/{rid}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """What must be the same whichever route a response came by (not its id or the time it arrived)."""
    return {k: v for k, v in body.items() if k not in ("id", "received_at", "revised_at")}


# --- the protocol ------------------------------------------------------------------------------------------


def test_collect_sequence_form_list_form_manifest_media_head_post_retry_edit(client, make_key) -> None:
    # Collect first asks without credentials, and expects a Basic challenge.
    r = client.get("/openrosa/formList", headers=OR)
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="khuyencong"'
    assert r.headers["x-openrosa-version"] == "1.0" and "Cần đăng nhập" in message(r)
    fid = facility(client, make_key)
    elsewhere = facility(client, make_key, name="Xưởng dệt Hà Đông", province_code="01")
    phone = Phone(client, make_key)
    wrong = basic("lamdong-tablet-1", "kc_wrong")
    r = client.get("/openrosa/formList", headers=wrong)
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Basic realm="khuyencong"'

    # formList: the newest published version of each questionnaire, with the md5 of the served XForm
    assert set(phone.forms) == set(LATEST)
    for key, item in phone.forms.items():
        assert item["version"] == str(LATEST[key].version)
        assert re.fullmatch(r"md5:[0-9a-f]{32}", item["hash"])
        assert item["downloadUrl"].startswith("http://testserver/openrosa/forms/")
        assert item["manifestUrl"] == item["downloadUrl"] + "/manifest"
    one = client.get("/openrosa/formList", params={"formID": "loans"}, headers=phone.auth)
    assert [x.findtext(f"{{{NS_LIST}}}formID") for x in ET.fromstring(one.content)] == ["loans"]

    # form, manifest and media (hashes checked by download()); the key's provinces only
    xml_form, media = phone.form("loans")
    assert media["facilities.csv"].startswith("name,label\n_new,")
    assert fid in media["facilities.csv"] and elsewhere not in media["facilities.csv"]
    assert media["provinces.csv"] == "name,label\n68,Lâm Đồng\n"
    assert set(media) == {"facilities.csv", "provinces.csv", "wards.csv", "point_projects.csv"}

    # HEAD before posting: 204 and the largest post Collect may send
    head = client.head("/openrosa/submission", headers=phone.auth)
    assert head.status_code == 204 and int(head.headers["x-openrosa-accept-content-length"]) >= 10_000_000
    assert head.headers["x-openrosa-version"] == "1.0"
    assert client.head("/openrosa/submission", headers=OR).status_code == 401

    # POST: 201 and an OpenRosaResponse Collect shows. The loan questions this test is about, and whatever
    # else the published version asks (completed from its definition).
    loans = LATEST["loans"]
    answers = completed(loans, {"needs_loan": True, "loan_amount_vnd": 500_000_000, "loan_purpose": ["machinery"],
                                "has_collateral": False, "wants_interest_subsidy": True})  # fmt: skip
    first = phone.enter("loans", {"facility_id": fid}, answers)
    assert first["status"] == "ready" and not first["rejected"], (first["violations"], first["rejected"])
    r = phone.send(first)
    assert r.status_code == 201 and r.headers["x-openrosa-version"] == "1.0"
    assert message(r) == "Đã nhận bản ghi."
    rid = first["instance_id"].removeprefix("uuid:")
    body = stored(client, phone.bearer, rid)
    assert body["revision"] == 1 and body["facility_id"] == fid and body["province_code"] == "68"
    assert body["answers"] == answers and body["version"] == loans.version

    # retry (Collect did not see the answer): 201, no duplicate
    again = phone.send(first)
    assert again.status_code == 201 and message(again) == "Bản ghi này đã được nhận trước đó."
    listed = client.get("/api/v1/responses", headers=phone.bearer).json()["items"]
    assert [x["id"] for x in listed] == [rid]

    # other content under the same instanceID: 409, nothing overwritten
    other = first["xml"].replace("<loan_amount_vnd>500000000.0<", "<loan_amount_vnd>600000000.0<")
    assert other != first["xml"]
    conflict = post(client, phone.auth, other)
    assert conflict.status_code == 409 and message(conflict).startswith("Xung đột")
    assert stored(client, phone.bearer, rid)["answers"]["loan_amount_vnd"] == 500_000_000

    # edit the sent form in Collect: a new instanceID, deprecatedID naming the old one → revision 2
    edit = phone.enter("loans", {}, {"loan_amount_vnd": 700_000_000}, edit={"xml": first["xml"]})
    assert edit["status"] == "ready" and not edit["rejected"], (edit["violations"], edit["rejected"])
    assert f"<deprecatedID>{first['instance_id']}</deprecatedID>" in edit["xml"]
    assert edit["instance_id"] != first["instance_id"]
    r = phone.send(edit)
    assert r.status_code == 201 and message(r) == "Đã nhận bản sửa lần 1."
    body = stored(client, phone.bearer, rid)
    assert body["revision"] == 2 and body["answers"] == {**answers, "loan_amount_vnd": 700_000_000}
    # the edit again: 201, no third revision
    r = phone.send(edit)
    assert r.status_code == 201 and stored(client, phone.bearer, rid)["revision"] == 2
    # an edit of the edit finds the response through the first edit's instanceID; answering "yes" shows the
    # collateral questions, which the person answers (and whatever else that version then asks)
    third = completed(loans, {**answers, "loan_amount_vnd": 700_000_000, "has_collateral": True,
                              "collateral_type": "buildings"})  # fmt: skip
    edit2 = phone.enter("loans", {}, {k: v for k, v in third.items() if body["answers"].get(k) != v},
                        edit={"xml": edit["xml"]})  # fmt: skip
    assert edit2["status"] == "ready" and not edit2["rejected"], (edit2["violations"], edit2["rejected"])
    r = phone.send(edit2)
    assert r.status_code == 201 and message(r) == "Đã nhận bản sửa lần 2."
    body = stored(client, phone.bearer, rid)
    assert body["revision"] == 3 and body["answers"] == third and third["collateral_type"] == "buildings"
    revs = client.get(f"/api/v1/responses/{rid}/revisions", headers=phone.bearer).json()["items"]
    assert [x["answers"]["loan_amount_vnd"] for x in revs] == [500_000_000, 700_000_000, 700_000_000]
    # Bearer is accepted too (the contract), and the listing still holds one response
    assert client.get("/openrosa/formList", headers={**phone.bearer, **OR}).status_code == 200
    assert len(client.get("/api/v1/responses", headers=phone.bearer).json()["items"]) == 1


def test_only_field_officers_in_scope(client, make_key) -> None:
    fid = facility(client, make_key)
    for role in ("planner", "portal"):
        bearer = make_key(role, provinces=["68"], name=f"{role}-x")
        r = client.get("/openrosa/formList", headers=basic(f"{role}-x", bearer["Authorization"][7:]))
        assert r.status_code == 403 and message(r).startswith("Khóa này không được phép")
    # an officer of another province: its list has no facility of 68, and naming one is refused
    hanoi = Phone(client, make_key, name="hanoi-1", provinces=["01"])
    xml_form, media = hanoi.form("loans")
    assert fid not in media["facilities.csv"]
    lamdong = Phone(client, make_key)
    answers = completed(LATEST["loans"], {"needs_loan": False})
    filled = lamdong.enter("loans", {"facility_id": fid}, answers)
    assert filled["status"] == "ready", filled["violations"]
    r = post(client, hanoi.auth, filled["xml"])
    assert r.status_code == 400 and message(r) == (
        "Bản ghi chưa được nhận. • Cơ sở đã chọn không có trong danh sách của khóa này; hãy tải lại biểu mẫu để "
        'cập nhật danh sách cơ sở, hoặc chọn "Cơ sở mới".'
    ), message(r)
    # someone else's response cannot be edited: the edit is kept as a response of its own
    assert lamdong.send(filled).status_code == 201
    edit = lamdong.enter("loans", {}, {"needs_loan": False}, edit={"xml": filled["xml"]})
    assert edit["status"] == "ready", edit["violations"]
    other_officer = Phone(client, make_key, name="lamdong-tablet-2")
    r = post(client, other_officer.auth, edit["xml"])
    assert r.status_code == 201 and message(r) == "Đã nhận bản ghi."
    own = stored(client, other_officer.bearer, edit["instance_id"].removeprefix("uuid:"))
    assert own["revision"] == 1 and own["answers"] == answers
    assert stored(client, lamdong.bearer, filled["instance_id"].removeprefix("uuid:"))["revision"] == 1


def test_broken_posts_get_vietnamese_messages(client, make_key) -> None:
    phone = Phone(client, make_key)
    r = client.post(
        "/openrosa/submission", files={"other": ("x.txt", b"x", "text/plain")}, headers=phone.auth
    )
    assert r.status_code == 400 and "xml_submission_file" in message(r)
    r = client.post(
        "/openrosa/submission", content=b"xml", headers={**phone.auth, "Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 400 and message(r).startswith("Bản ghi chưa được nhận.")
    r = post(client, phone.auth, b"<data id='loans' version='2'><meta>")
    assert r.status_code == 400 and "không phải XML hợp lệ" in message(r)
    r = post(client, phone.auth, b"<!DOCTYPE x [<!ENTITY a 'b'>]><data id='loans' version='2'/>")
    assert r.status_code == 400
    r = post(
        client,
        phone.auth,
        "<data id='loans' version='2'><meta><instanceID>uuid:not-a-uuid</instanceID></meta></data>",
    )
    assert r.status_code == 400 and "meta/instanceID" in message(r)
    xml = f"<data id='loans' version='9'><meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    r = post(client, phone.auth, xml)
    assert r.status_code == 400 and r.headers["x-openrosa-version"] == "1.0"
    assert (
        client.get("/openrosa/forms/loans/1", headers=phone.auth).status_code == 200
    )  # retired: devices keep it
    r = client.get("/openrosa/forms/loans/7", headers=phone.auth)
    assert r.status_code == 404 and message(r).startswith("Không tìm thấy")
    r = client.get("/openrosa/nowhere", headers=phone.auth)
    assert r.status_code == 404 and r.headers["x-openrosa-version"] == "1.0"
    big = b"0" * (16 * 1_048_576 + 1)
    r = client.post(
        "/openrosa/submission",
        content=big,
        headers={**phone.auth, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and message(r).startswith("Bản gửi quá lớn")


# --- every form through the engine equals JSON ---------------------------------------------------------------


def _attachments(client: Any, headers: dict[str, str], rid: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/responses/{rid}/attachments", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    return {"missing": body["missing"],
            "items": sorted((a["name"], a["content_type"], a["size"], a["sha256"]) for a in body["items"])}  # fmt: skip


# project-results answers must name a project that supports the facility, one response per stage: the engine fills
# it in tests/point_projects/test_results_collect.py, against a project set up for it.
ENGINE_FILLED = sorted(k for k in ACCEPTED if k[0] != "project-results")


@pytest.mark.parametrize("ident", ENGINE_FILLED, ids=[f"{k}-v{v}" for k, v in ENGINE_FILLED])
def test_every_form_version_filled_by_the_engine_is_stored_as_the_same_json(
    client, make_key, ident: tuple[str, int]
) -> None:
    """Each version a phone may hold (published, and retired ones it kept), downloaded with its media, filled by
    the engine with answer sets that between them answer every question (photos and files picked, geopoints
    with and without altitude, each exclusive choice alone), posted multipart as Collect posts: the stored
    response and its files equal the same answers posted as JSON with the same files PUT."""
    key, version = ident
    d = ACCEPTED[ident]
    fid = facility(client, make_key)
    phone = Phone(client, make_key)
    xml_form, media = phone.form_version(key, version)
    uploads = 0
    for answers in covering_sets(d):
        entered, files = engine_answers(d, answers)
        filled = fill(xml_form, media, {"facility_id": fid, **entered}, files)
        assert filled["status"] == "ready" and not filled["violations"], filled["violations"]
        assert not filled["rejected"] and not filled["not_relevant_given"] and not filled["unknown_given"]
        # the engine's multipart carries each picked file under the name the answer gives, bytes unchanged
        assert {a["name"]: a["base64"] for a in filled["attachments"]} == {
            n: f["base64"] for n, f in files.items()
        }
        r = phone.send(filled)
        assert r.status_code == 201, message(r)
        said = "Đã nhận bản ghi" + (f"; đã nhận {len(files)} tệp" if files else "") + "."
        assert message(r) == said
        via_odk = stored(client, phone.bearer, filled["instance_id"].removeprefix("uuid:"))
        assert via_odk["answers"] == answers and (via_odk["questionnaire"], via_odk["version"]) == ident
        json_body = {"id": str(uuid.uuid4()), "questionnaire": key, "version": version, "facility_id": fid,
                     "answers": answers, "collected_at": via_odk["collected_at"]}  # fmt: skip
        r = client.post("/api/v1/responses", json=json_body, headers=phone.bearer)
        assert r.status_code == 201, r.text
        for name, f in files.items():
            r = client.put(f"/api/v1/responses/{json_body['id']}/attachments/{name}", content=base64.b64decode(f["base64"]),
                           headers={**phone.bearer, "Content-Type": f["type"]})  # fmt: skip
            assert r.status_code == 201, r.text
        via_json = stored(client, phone.bearer, json_body["id"])
        assert comparable(via_odk) == comparable(via_json)
        odk_files = _attachments(client, phone.bearer, via_odk["id"])
        assert odk_files == _attachments(client, phone.bearer, json_body["id"])
        names = sorted(v for q in d.questions if q.type in ("image", "file") and (v := answers.get(q.id)))
        assert [a[0] for a in odk_files["items"]] == names and odk_files["missing"] == []
        uploads += len(names)
    assert uploads >= sum(q.type in ("image", "file") for q in d.questions)


def test_a_new_facility_registered_inline_in_the_form(client, make_key) -> None:
    phone = Phone(client, make_key)
    ward = next(line.split(",")[0] for line in phone.form("loans")[1]["wards.csv"].splitlines()[1:])
    new = {"facility_id": "_new", "name": "HTX chè Cầu Đất", "kind": "cooperative", "sector": "agro_food_processing",
           "province_code": "68", "ward_code": ward, "tax_code": "5800123456"}  # fmt: skip
    loans = LATEST["loans"]
    answers = completed(loans, {"needs_loan": False})
    filled = phone.enter("loans", new, answers)
    assert filled["status"] == "ready", filled["violations"]
    assert phone.send(filled).status_code == 201
    assert phone.send(filled).status_code == 201  # a retry registers nothing twice
    body = stored(client, phone.bearer, filled["instance_id"].removeprefix("uuid:"))
    assert body["answers"] == answers and body["version"] == loans.version
    f = client.get(f"/api/v1/facilities/{body['facility_id']}", headers=phone.bearer).json()
    assert (f["name"], f["kind"], f["sector"], f["province_code"], f["ward_code"], f["tax_code"]) == (
        "HTX chè Cầu Đất", "cooperative", "agro_food_processing", "68", ward, "5800123456")  # fmt: skip
    assert len(client.get("/api/v1/facilities", headers=phone.bearer).json()["items"]) == 1
    # the same as JSON: an inline facility with a known tax code resolves to that facility
    json_body = {"id": str(uuid.uuid4()), "questionnaire": "loans", "version": loans.version, "answers": answers,
                 "facility": {k: new[k] for k in ("name", "kind", "sector", "province_code", "ward_code", "tax_code")},
                 "collected_at": body["collected_at"]}  # fmt: skip
    assert client.post("/api/v1/responses", json=json_body, headers=phone.bearer).status_code == 201
    assert comparable(stored(client, phone.bearer, json_body["id"])) == comparable(body)
    # the refreshed media lists it, and an edit of the instance keeps it
    phone._downloaded.clear()
    assert body["facility_id"] in phone.form("loans")[1]["facilities.csv"]
    wants = completed(loans, {**answers, "needs_loan": True, "loan_amount_vnd": 20_000_000, "loan_purpose": ["workshop"],
                              "has_collateral": False, "wants_interest_subsidy": False})  # fmt: skip
    edit = phone.enter(
        "loans", {}, {k: v for k, v in wants.items() if answers.get(k) != v}, edit={"xml": filled["xml"]}
    )
    assert edit["status"] == "ready", edit["violations"]
    r = phone.send(edit)
    assert r.status_code == 201, message(r)
    revised = stored(client, phone.bearer, body["id"])
    assert (
        revised["revision"] == 2
        and revised["answers"] == wants
        and revised["facility_id"] == body["facility_id"]
    )


PHOTO_FORMS = sorted(k for (k, _), d in PUBLISHED.items() if k in LATEST and LATEST[k] is d
                     and any(q.type == "image" for q in d.questions))  # fmt: skip


@pytest.mark.parametrize("key", PHOTO_FORMS)
def test_a_photo_form_edited_in_collect(client, make_key, key: str) -> None:
    """The second edition's photo questions through an edit: the photo sent with the form stays; a retaken
    photo arrives with the edit (the next revision names it); a retry of the edit adds nothing."""
    d = LATEST[key]
    fid = facility(client, make_key)
    phone = Phone(client, make_key)
    photo_q = next(q for q in d.questions if q.type == "image")
    answers = next(a for a in covering_sets(d) if a.get(photo_q.id))
    first = phone.enter(key, {"facility_id": fid}, answers)
    assert first["status"] == "ready" and [a["name"] for a in first["attachments"]] == [answers[photo_q.id]]
    r = phone.send(first)
    assert r.status_code == 201 and message(r) == "Đã nhận bản ghi; đã nhận 1 tệp.", message(r)
    rid = first["instance_id"].removeprefix("uuid:")
    kept = _attachments(client, phone.bearer, rid)
    sent = {a["name"]: {"type": a["type"], "base64": a["base64"]} for a in first["attachments"]}
    retaken = f"{photo_q.id}-retaken.jpg"
    photo = b"\xff\xd8 the retaken photo"
    picked = {retaken: {"type": "image/jpeg", "base64": base64.b64encode(photo).decode()}}
    edit = phone.fill(key, {photo_q.id: retaken}, picked, edit={"xml": first["xml"], "attachments": sent})
    assert edit["status"] == "ready" and [a["name"] for a in edit["attachments"]] == [retaken], edit
    r = phone.send(edit)
    assert r.status_code == 201 and message(r) == "Đã nhận bản sửa lần 1; đã nhận 1 tệp.", message(r)
    body = stored(client, phone.bearer, rid)
    assert body["revision"] == 2 and body["answers"] == {**answers, photo_q.id: retaken}
    now = _attachments(client, phone.bearer, rid)
    again = (retaken, "image/jpeg", len(photo), hashlib.sha256(photo).hexdigest())
    assert now["missing"] == [] and now["items"] == sorted([*kept["items"], again])
    r = phone.send(edit)
    assert r.status_code == 201 and message(r) == "Bản ghi này đã được nhận trước đó.", message(r)
    assert (
        stored(client, phone.bearer, rid)["revision"] == 2 and _attachments(client, phone.bearer, rid) == now
    )


NO_PHOTO_FORMS = sorted(k for k, d in LATEST.items() if k in {k for k, _ in PUBLISHED}
                        and not any(q.type in ("image", "file") for q in d.questions))  # fmt: skip


@pytest.mark.parametrize("key", [*PHOTO_FORMS, NO_PHOTO_FORMS[0]])
def test_a_second_officer_resending_stored_content_gets_a_receipt_and_learns_nothing(
    client, make_key, key
) -> None:
    """Another officer of the province posting the very bytes (and photos) Collect sent for a colleague's
    response, first edition and edit: 201 with the receipt message, whatever the form, and nothing stored,
    added or told (no revision, no files, nothing waiting); only other content under the same instanceID is 409."""
    d = LATEST[key]
    fid = facility(client, make_key)
    mine, theirs = Phone(client, make_key), Phone(client, make_key, name="lamdong-tablet-2")
    photo_q = next((q for q in d.questions if q.type == "image"), None)
    answers = next(a for a in covering_sets(d) if photo_q is None or a.get(photo_q.id))
    first = mine.enter(key, {"facility_id": fid}, answers)
    assert first["status"] == "ready"
    r = mine.send(first)
    assert r.status_code == 201, message(r)
    rid = first["instance_id"].removeprefix("uuid:")
    kept = _attachments(client, mine.bearer, rid)
    r = theirs.send(first)  # the same multipart body, from the other phone
    assert r.status_code == 201 and message(r) == "Bản ghi này đã được nhận trước đó.", message(r)
    other = [{"name": a["name"], "type": a["type"], "base64": base64.b64encode(b"\xff\xd8 other").decode()}
             for a in first["attachments"]]  # fmt: skip
    r = theirs.send(first, other)  # a resend is never a way to add or replace a colleague's files
    assert r.status_code == 201 and message(r) == "Bản ghi này đã được nhận trước đó.", message(r)
    assert _attachments(client, mine.bearer, rid) == kept
    assert (
        client.get(f"/api/v1/responses/{rid}", headers=theirs.bearer).status_code == 404
    )  # still not theirs
    if photo_q is not None:  # the edit, resent by the other phone: a receipt, never a response of its own
        retaken = f"{photo_q.id}-retaken.jpg"
        picked = {retaken: {"type": "image/jpeg", "base64": base64.b64encode(b"\xff\xd8 retaken").decode()}}
        sent = {a["name"]: {"type": a["type"], "base64": a["base64"]} for a in first["attachments"]}
        edit = mine.fill(key, {photo_q.id: retaken}, picked, edit={"xml": first["xml"], "attachments": sent})
        assert mine.send(edit).status_code == 201
        now = _attachments(client, mine.bearer, rid)
        r = theirs.send(edit)
        assert r.status_code == 201 and message(r) == "Bản ghi này đã được nhận trước đó.", message(r)
        edit_id = edit["instance_id"].removeprefix("uuid:")
        assert (
            client.get(f"/api/v1/responses/{edit_id}", headers=make_key("admin", name="adm")).status_code
            == 404
        )
        assert (
            stored(client, mine.bearer, rid)["revision"] == 2
            and _attachments(client, mine.bearer, rid) == now
        )
        changed = edit["xml"].replace(
            f"<{photo_q.id}>{retaken}</{photo_q.id}>", f"<{photo_q.id}>x.jpg</{photo_q.id}>"
        )
        assert changed != edit["xml"]
        r = post(client, theirs.auth, changed)
        assert r.status_code == 409, message(r)
    listed = client.get("/api/v1/responses", headers=make_key("admin", name="adm2")).json()["items"]
    assert [x["id"] for x in listed] == [rid]  # one response, whoever resent it


# --- the engine's verdicts are the server's ---------------------------------------------------------------


def _with_element(xml: str, name: str, text: str) -> str:
    """The instance with one more answer element: what a client the form does not govern could send."""
    return xml.replace("<start>", f"<{name}>{text}</{name}><start>", 1)


@pytest.mark.parametrize("key", sorted(LATEST))
def test_invalid_answers_engine_and_server_agree(client, make_key, key: str) -> None:
    d = LATEST[key]
    fid = facility(client, make_key)
    if any(
        q.list_from for q in d.questions
    ):  # project-results: a project supporting the facility, in the media
        support(client, make_key("admin", name=f"admin-{uuid.uuid4().hex[:6]}"), [fid], ["68"])
    phone = Phone(client, make_key)
    validator = AnswerValidator(d)
    # A question picked from a media list (list_from) offers only the list's codes on the phone: its text rules
    # are the server's alone (tests/point_projects), so only leaving it out is tried here.
    listed = {q.id for q in d.questions if q.list_from}
    tries = [(what, a) for what, a in mistakes(d, in_choice_order(d, valid_answers(d, 3, fill=1.0)))
             if what.split(":")[0] not in listed or "required" in what]  # fmt: skip
    assert tries
    for what, answers in tries:
        entered, files = engine_answers(d, answers)
        filled = phone.fill(key, {"facility_id": fid, **entered}, files)
        engine = engine_verdict(filled)
        server = server_verdict(validator.validate(answers))
        assert engine == server, (what, engine, server)
        # The JSON route refuses the same answers at the same questions ...
        r = client.post("/api/v1/responses", headers=phone.bearer, json={
            "id": str(uuid.uuid4()), "questionnaire": key, "version": d.version, "facility_id": fid, "answers": answers,
            "collected_at": "2026-11-20T08:30:00+07:00"})  # fmt: skip
        body = assert_problem(r, 422)
        assert {(e["path"].split(".")[1], e["code"]) for e in body["errors"]} == {
            (p.split(".")[1], c) for p, c in ((e["path"], e["code"]) for e in validator.validate(answers))
        }
        # ... and so does OpenRosa, naming the questions by their Vietnamese labels. An answer the engine never
        # let the person give (not relevant) is put into the XML, as a client the form does not govern could.
        xml = filled["xml"]
        for name, kind in engine:
            if kind == "relevance":
                xml = _with_element(xml, name, _xml_text(d, name, answers[name]))
        r = post(client, phone.auth, xml, filled["attachments"])
        assert r.status_code == 400, (what, message(r))
        said = message(r)
        wrong = {
            e["path"].split(".")[1] for e in validator.validate(answers)
        }  # a check names each of its questions
        assert said.startswith(f"Bản ghi chưa được nhận: {len(wrong)} câu trả lời chưa hợp lệ."), said
        for name, _ in server:
            q = d.question(name)
            assert q is not None and q.label["vi"] in said, (what, said)
    assert client.get("/api/v1/responses", headers=phone.bearer).json()["items"] == []


def _xml_text(d: Any, qid: str, value: Any) -> str:
    q = d.question(qid)
    if q.type == "boolean":
        return "yes" if value else "no"
    if q.type == "select_multiple":
        return " ".join(value)
    if q.type == "geopoint":
        return f"{value['lat']} {value['lon']}"
    return str(value)


def test_validation_messages_in_vietnamese() -> None:
    """The message Collect shows names each question by its Vietnamese label and says what is wrong."""
    from app.core.errors import InvalidAnswers

    d = EXTRA[("site-visit", 1)]
    errors = AnswerValidator(d).validate({"support_received": ["none", "training"], "machine_count": 900})
    text = or_messages.for_error(InvalidAnswers("x", errors=errors), d)
    assert text == (
        "Bản ghi chưa được nhận: 6 câu trả lời chưa hợp lệ. • Họ tên người trả lời: bắt buộc phải trả lời. "
        "• Vị trí nhà xưởng: bắt buộc phải trả lời. • Có chụp được ảnh nhà xưởng?: bắt buộc phải trả lời. "
        "• Hỗ trợ đã nhận trong 5 năm qua: lựa chọn loại trừ phải được chọn một mình. "
        "• Số máy móc đang sử dụng: phải nhiều nhất 500 chiếc. • Ngày khảo sát: bắt buộc phải trả lời."
    ), text


def test_a_real_server_behind_a_tls_proxy(client, make_key) -> None:
    """Over real HTTP, as Collect reaches the server through an HTTPS reverse proxy (`khuyencong serve` with
    TRUSTED_PROXIES naming it): the form list's URLs are the public https ones, every reply has the OpenRosa
    header and a Date, and a HEAD without credentials is a Basic challenge."""
    import httpx

    from tests.live import serve

    auth = officer(make_key)
    proxied = {
        **auth,
        "Host": "khuyencong.example.gov.vn",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.7",
    }
    with serve(env={"TRUSTED_PROXIES": "127.0.0.1"}) as base:
        r = httpx.get(f"{base}/openrosa/formList", headers=proxied)
        assert r.status_code == 200 and r.headers["x-openrosa-version"] == "1.0" and r.headers["date"]
        urls = [x.findtext(f"{{{NS_LIST}}}downloadUrl") for x in ET.fromstring(r.content)]
        assert urls and all(
            u.startswith("https://khuyencong.example.gov.vn/openrosa/forms/") for u in urls
        ), urls
        h = httpx.head(f"{base}/openrosa/submission", headers=OR)
        assert h.status_code == 401 and h.headers["www-authenticate"] == 'Basic realm="khuyencong"'
        assert h.headers["x-openrosa-version"] == "1.0"


def test_an_edit_naming_another_establishment_is_refused_in_words_that_say_so(client, make_key) -> None:
    """An edit keeps its response's establishment (the rule of responses.instances): Collect is told so in
    Vietnamese (not that the establishment is unknown), and the stored response keeps its revision."""
    fid = facility(client, make_key)
    other = facility(client, make_key, name="Cơ sở chế biến cà phê Cầu Đất")
    phone = Phone(client, make_key)
    answers = completed(LATEST["loans"], {"needs_loan": False})
    first = phone.enter("loans", {"facility_id": fid}, answers)
    assert phone.send(first).status_code == 201
    edit = phone.enter("loans", {"facility_id": other}, {}, edit={"xml": first["xml"]})
    assert edit["status"] == "ready", edit["violations"]
    r = phone.send(edit)
    assert r.status_code == 400
    assert message(r) == (
        "Bản ghi chưa được nhận. • Bản sửa phải giữ cơ sở của bản ghi đã gửi; để khảo sát cơ sở khác, hãy tạo "
        "bản ghi mới."
    )
    rid = first["instance_id"].removeprefix("uuid:")
    body = stored(client, phone.bearer, rid)
    assert body["revision"] == 1 and body["facility_id"] == fid
