"""The facility page shows what the second-edition questionnaires collect beyond numbers: photos (shown as images,
fetched through the workspace's own route with the session's key and scope), other files as downloads, files
not received yet said so, and places (geopoint answers, where a response was collected) with a map link."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.planner.conftest import NAMES, PDF, PNG, World, tech_answers


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    """The app with the test-only questionnaire too (site-visit: a geopoint, an image and a file question)."""
    from tests.schemas_app import app_with_test_forms

    return app_with_test_forms()


@pytest.fixture
def files(world: World) -> dict[str, str]:
    """For A (Lâm Đồng): a technology-demonstration response with its equipment photo uploaded, and a site visit
    with a workshop location, a business licence (PDF, uploaded) and a workshop photo not uploaded yet."""
    fo, c = world.keys["field_officer"], world.client
    out: dict[str, str] = {}
    tech = {"id": str(uuid.uuid4()), "questionnaire": "technology-demonstration", "version": 1,
            "facility_id": world.ids["A"], "answers": tech_answers("may-rang.png"),
            "collected_at": "2026-11-22T10:00:00+07:00", "location": {"lat": 11.9412, "lon": 108.4431, "accuracy_m": 8}}  # fmt: skip
    r = c.post("/api/v1/responses", json=tech, headers=fo)
    assert r.status_code == 201, r.text
    put = c.put(f"/api/v1/responses/{tech['id']}/attachments/may-rang.png", content=PNG,
                headers={**fo, "Content-Type": "image/png"})  # fmt: skip
    assert put.status_code == 201, put.text
    out["tech"] = tech["id"]
    visit = {"id": str(uuid.uuid4()), "questionnaire": "site-visit", "version": 1, "facility_id": world.ids["A"],
             "answers": {"respondent_name": "Trần Thị Bình", "workshop_location": {"lat": 11.95123, "lon": 108.45678, "accuracy_m": 5},
                         "has_workshop_photo": True, "workshop_photo": "nha-xuong.jpg", "business_licence": "giay-phep.pdf",
                         "support_received": ["none"], "visit_date": "2026-11-23"},
             "collected_at": "2026-11-23T09:00:00+07:00"}  # fmt: skip
    r = c.post("/api/v1/responses", json=visit, headers=fo)
    assert r.status_code == 201, r.text
    put = c.put(f"/api/v1/responses/{visit['id']}/attachments/giay-phep.pdf", content=PDF,
                headers={**fo, "Content-Type": "application/pdf"})  # fmt: skip
    assert put.status_code == 201, put.text
    out["visit"] = visit["id"]
    return out


def _article(page: str, response_id: str) -> str:
    start = page.index(f'<article id="response-{response_id}"')
    return page[start : page.index("</article>", start)]


def test_photos_files_and_places_on_the_facility_page(world: World, files: dict[str, str]) -> None:
    c, _ = world.browser("planner")
    page = c.get(f"/planner/facilities/{world.ids['A']}")
    assert page.status_code == 200
    tech = _article(page.text, files["tech"])
    photo_url = f"/planner/responses/{files['tech']}/attachments/may-rang.png"
    # The equipment photo is shown as an image, named by its question, through the workspace's route.
    img = re.search(r'<img src="([^"]+)" alt="([^"]+)"', tech)
    assert img and img.group(1) == photo_url and img.group(2) == "Ảnh máy móc, thiết bị chính đang vận hành"
    # Where the response was collected: coordinates and a map link.
    assert "11,94120, 108,44310 (± 8 m)" in html.unescape(tech)
    assert (
        'href="https://www.openstreetmap.org/?mlat=11.9412&amp;mlon=108.4431#map=17/11.9412/108.4431"' in tech
    )
    visit = html.unescape(_article(page.text, files["visit"]))
    # A geopoint answer: its coordinates (Vietnamese decimals), accuracy and a map link.
    assert "11,95123, 108,45678 (± 5 m)" in visit
    assert "https://www.openstreetmap.org/?mlat=11.95123&mlon=108.45678#map=17/11.95123/108.45678" in visit
    # A file: a download link through the workspace; a photo that has not arrived: said so, no broken image.
    licence_url = f"/planner/responses/{files['visit']}/attachments/giay-phep.pdf"
    assert f'<a href="{licence_url}" download' in visit and "application/pdf" in visit
    assert "nha-xuong.jpg" in visit and "tệp chưa được gửi đến máy chủ" in visit
    assert "<img" not in visit
    en = html.unescape(c.get(f"/planner/facilities/{world.ids['A']}?lang=en").text)
    assert (
        "the file has not been received yet" in en and "open on a map" in en and "11.95123, 108.45678" in en
    )

    # The photo itself: the bytes, shown inline, never run as a page, never cached.
    r = c.get(photo_url)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("inline")
    assert (
        "sandbox" in r.headers["content-security-policy"] and r.headers["x-content-type-options"] == "nosniff"
    )
    assert "no-store" in r.headers["cache-control"]
    pdf = c.get(licence_url)
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-disposition"] == "attachment; filename*=UTF-8''giay-phep.pdf"
    # Named but not received, or not named at all: 404.
    assert c.get(f"/planner/responses/{files['visit']}/attachments/nha-xuong.jpg").status_code == 404
    assert c.get(f"/planner/responses/{files['tech']}/attachments/other.png").status_code == 404
    # A nationwide planner and an admin see it too.
    for role in ("planner_all", "admin"):
        other, _ = world.browser(role)
        assert other.get(photo_url).content == PNG, role


def test_a_planner_of_another_province_cannot_fetch_the_photo(world: World, files: dict[str, str]) -> None:
    photo_url = f"/planner/responses/{files['tech']}/attachments/may-rang.png"
    licence_url = f"/planner/responses/{files['visit']}/attachments/giay-phep.pdf"
    c01, _ = world.browser("planner_01")  # Hà Nội: A is in Lâm Đồng
    for url in (photo_url, licence_url):
        r = c01.get(url)
        assert r.status_code == 404 and PNG not in r.content and PDF not in r.content, url
        assert "Không tìm thấy" in r.text and NAMES["A"] not in r.text
    assert c01.get(f"/planner/facilities/{world.ids['A']}").status_code == 404
    # Without a session (an API key is not a session): to the sign-in page, nothing served.
    anon = TestClient(world.app, raise_server_exceptions=False)
    for headers in (None, world.keys["planner"]):
        r = anon.get(photo_url, headers=headers, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/planner/sign-in"), headers
        assert PNG not in r.content
    # The field officer who uploaded it uses the API, not the workspace.
    assert (
        world.client.get(
            f"/api/v1/responses/{files['tech']}/attachments/may-rang.png", headers=world.keys["field_officer"]
        ).content
        == PNG
    )
