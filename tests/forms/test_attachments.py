"""A form link's token uploads the photo or file its own response names — and nothing else: not to a response
it did not submit (another link's, a field officer's, one of another province), not under a name no answer
gives, not of a type the question refuses; it still reads nothing. Through HTTP, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import assert_problem
from tests.factories import facility_body

JPEG = b"\xff\xd8\xff\xe0" + b"kc-photo" * 64
KEY = "technology-demonstration"


def demo_answers(photo: str | None = "may-ep-vien.jpg") -> dict[str, Any]:
    answers: dict[str, Any] = {
        "respondent_name": "Nguyễn Văn An",
        "respondent_position": "Chủ cơ sở",
        "respondent_phone": "0912345678",
        "main_equipment": "Máy ép viên 2 tấn/giờ",
        "equipment_age_years": 6,
        "mechanisation_level": "semi_mechanised",
        "needs_upgrade": False,
        "hosts_demonstration": False,
        "needs_training": False,
        "certifications": ["none"],
        "ocop_rating": "none",
        "rural_product_award": "none",
    }
    if photo is not None:
        answers["equipment_photo"] = photo
    return answers


def submit(client: TestClient, headers: dict[str, str], *, tax_code: str, province: str = "68",
           photo: str | None = "may-ep-vien.jpg", facility_id: str | None = None) -> str:  # fmt: skip
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "questionnaire": KEY, "version": 1,
                            "collected_at": "2026-11-20T08:30:00+07:00", "answers": demo_answers(photo)}  # fmt: skip
    if facility_id:
        body["facility_id"] = facility_id
    else:
        body["facility"] = facility_body(province_code=province, tax_code=tax_code)
    r = client.post("/api/v1/responses", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put(client: TestClient, headers: dict[str, str], rid: str, name: str, data: bytes = JPEG,
        content_type: str = "image/jpeg") -> Any:  # fmt: skip
    return client.put(f"/api/v1/responses/{rid}/attachments/{name}", content=data,
                      headers={**headers, "Content-Type": content_type})  # fmt: skip


def test_a_link_uploads_the_photo_its_own_response_names(client, admin, make_link) -> None:
    link = make_link(questionnaires=[KEY])
    rid = submit(client, link["headers"], tax_code="5800123456")
    first = put(client, link["headers"], rid, "may-ep-vien.jpg")
    assert first.status_code == 201, first.text
    assert (first.json()["name"], first.json()["size"]) == ("may-ep-vien.jpg", len(JPEG))
    assert put(client, link["headers"], rid, "may-ep-vien.jpg").status_code == 200  # a retry: the same bytes
    assert_problem(put(client, link["headers"], rid, "may-ep-vien.jpg", JPEG + b"x"), 409, "name")
    listed = client.get(f"/api/v1/responses/{rid}/attachments", headers=admin).json()
    assert [a["name"] for a in listed["items"]] == ["may-ep-vien.jpg"] and listed["missing"] == []
    assert client.get(f"/api/v1/responses/{rid}/attachments/may-ep-vien.jpg", headers=admin).content == JPEG
    events = client.get("/api/v1/audit", params={"action": "attachment.added"}, headers=admin).json()["items"]
    assert [(e["key_name"], e["province_code"]) for e in events] == [(f"form-link:{link['id']}", "68")]


def test_a_link_uploads_nothing_its_answers_do_not_name(client, make_link) -> None:
    link = make_link(questionnaires=[KEY])
    rid = submit(client, link["headers"], tax_code="5800123456")
    body = assert_problem(put(client, link["headers"], rid, "other.jpg"), 422, "name")
    assert body["errors"][0]["code"] == "not_an_answer"
    assert_problem(put(client, link["headers"], rid, "may-ep-vien.jpg", b"%PDF-1.7", "application/pdf"), 415)
    no_photo = submit(client, link["headers"], tax_code="5800123457", photo=None)
    assert_problem(put(client, link["headers"], no_photo, "may-ep-vien.jpg"), 422, "name")


def test_a_link_uploads_to_no_response_it_did_not_submit(client, admin, make_key, make_link) -> None:
    link = make_link(questionnaires=[KEY])
    other_link = make_link(questionnaires=[KEY])
    officer = make_key("field_officer", provinces=["68"])
    hanoi_link = make_link(questionnaires=[KEY], province_code="01")
    theirs = submit(client, other_link["headers"], tax_code="5800123456")
    officers = submit(client, officer, tax_code="5800123457")
    hanoi = submit(client, hanoi_link["headers"], tax_code="0101234567", province="01")
    facility = client.get(f"/api/v1/responses/{officers}", headers=admin).json()["facility_id"]
    # the link's own response about the officer's facility is its own; the officer's response stays the officer's
    mine = submit(client, link["headers"], tax_code="", facility_id=facility)
    for rid in (theirs, officers, hanoi, str(uuid.uuid4())):
        # as if it did not exist: the same answer as for an unknown id, nothing about the response
        body = assert_problem(put(client, link["headers"], rid, "may-ep-vien.jpg"), 404)
        assert body["detail"] == f"There is no response {rid} that this form link submitted.", body
    assert put(client, link["headers"], mine, "may-ep-vien.jpg").status_code == 201
    assert put(client, officer, officers, "may-ep-vien.jpg").status_code == 201  # the officer's own: allowed
    files = {rid: client.get(f"/api/v1/responses/{rid}/attachments", headers=admin).json()["items"]
             for rid in (theirs, officers, hanoi)}  # fmt: skip
    assert {rid: len(items) for rid, items in files.items()} == {theirs: 0, officers: 1, hanoi: 0}


def test_a_link_reads_no_attachment_even_its_own(client, make_link) -> None:
    link = make_link(questionnaires=[KEY])
    rid = submit(client, link["headers"], tax_code="5800123456")
    assert put(client, link["headers"], rid, "may-ep-vien.jpg").status_code == 201
    assert_problem(client.get(f"/api/v1/responses/{rid}/attachments", headers=link["headers"]), 403)
    assert_problem(
        client.get(f"/api/v1/responses/{rid}/attachments/may-ep-vien.jpg", headers=link["headers"]), 403
    )


def test_a_revoked_link_uploads_nothing(client, admin, make_link) -> None:
    link = make_link(questionnaires=[KEY])
    rid = submit(client, link["headers"], tax_code="5800123456")
    assert client.post(f"/api/v1/form-links/{link['id']}/revoke", headers=admin).status_code == 200
    assert_problem(put(client, link["headers"], rid, "may-ep-vien.jpg"), 401)
    assert client.get(f"/api/v1/responses/{rid}/attachments", headers=admin).json()["items"] == []


def test_a_full_link_still_uploads_the_photo_of_its_last_response(client, make_link) -> None:
    """The cap counts responses: the response that filled the link still gets its photo."""
    link = make_link(questionnaires=[KEY], max_submissions=1)
    rid = submit(client, link["headers"], tax_code="5800123456")
    assert put(client, link["headers"], rid, "may-ep-vien.jpg").status_code == 201
