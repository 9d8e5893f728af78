"""The hosted page and its assets over HTTP: what the page carries, its security headers, its caching; the
UI schema route. (What a person sees and does is in test_browser.py.)"""

from __future__ import annotations

import gzip
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.core.config import get_settings
from app.core.db import session_scope
from app.forms import page
from app.models import FormLink
from app.places.service import provinces
from tests.schemas_app import app_with_test_forms

CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors https://portal.example.gov.vn"
)


def config_of(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="kc-embed-config">(.*?)</script>', html, re.S)
    assert m, html[:500]
    return json.loads(m.group(1))  # type: ignore[no-any-return]


def test_the_page_carries_the_links_questionnaires_province_and_wards(client, make_link) -> None:
    link = make_link()
    r = client.get(f"/embed/{link['token']}")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
    assert "x-frame-options" not in r.headers  # frame-ancestors decides (X-Frame-Options cannot list origins)
    cfg = config_of(r.text)
    assert (cfg["lang"], cfg["state"], cfg["token"], cfg["api_base"]) == (
        "vi",
        "active",
        link["token"],
        "/api/v1",
    )
    assert cfg["province"] == {"code": "68", "name": provinces()["68"]}
    # The newest published version of each (the second edition: loans v3, market-needs v2), never a retired one.
    assert [(q["key"], q["version"]) for q in cfg["questionnaires"]] == [
        ("loans", 4),
        ("market-needs", 3),
    ]  # the latest published
    assert cfg["max_attachment_bytes"] == get_settings().max_attachment_bytes
    for q in cfg["questionnaires"]:
        base = f"/api/v1/questionnaires/{q['key']}/versions/{q['version']}"
        assert q["schema"] == client.get(f"{base}/json-schema").json()
        assert q["ui_schema"] == client.get(f"{base}/ui-schema").json()
    wards = client.get("/api/v1/provinces/68/wards").json()
    assert cfg["wards"] == [{"code": w["code"], "name": w["name"]} for w in wards]
    en = config_of(client.get(f"/embed/{link['token']}", params={"lang": "en"}).text)
    assert en["lang"] == "en" and en["questionnaires"][0]["title"] == "Loan needs and counterpart funds"
    assert en["questionnaires"][0]["schema"]["properties"]["needs_loan"]["title"].startswith("Does the")


def test_the_page_is_compressed_when_asked(client, make_link) -> None:
    link = make_link()
    raw = client.get(f"/embed/{link['token']}", headers={"Accept-Encoding": "identity"})
    packed = client.get(f"/embed/{link['token']}", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in raw.headers and packed.headers["content-encoding"] == "gzip"
    assert packed.text == raw.text and int(packed.headers["content-length"]) < len(raw.content) / 3


def test_the_assets_are_named_by_their_content_and_cached_for_a_year(client, make_link) -> None:
    link = make_link()
    html = client.get(f"/embed/{link['token']}").text
    names = re.findall(r'(?:src|href)="/static/forms/([^"]+)"', html)
    assert sorted(names) == sorted(page.manifest().values())
    for name in names:
        assert re.fullmatch(r"embed-[A-Z0-9]{8}\.(js|css)", name)
        on_disk = (page.STATIC_DIR / name).read_bytes()
        plain = client.get(f"/static/forms/{name}", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.content == on_disk
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["content-type"].startswith(
            "text/javascript" if name.endswith(".js") else "text/css"
        )
        gz = client.get(f"/static/forms/{name}", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip" and gz.content == on_disk
        br = client.get(f"/static/forms/{name}", headers={"Accept-Encoding": "br, gzip"})
        assert br.headers["content-encoding"] == "br" and "accept-encoding" in br.headers["vary"].lower()
        assert len(br.content) < len(gzip.compress(on_disk))
        assert (
            client.get(f"/static/forms/{name}", headers={"Accept-Encoding": "br;q=0"}).headers.get(
                "content-encoding"
            )
            is None
        )
    licences = client.get(f"/static/forms/{page.LICENSES}")
    assert licences.status_code == 200 and "@rjsf/core" in licences.text and "preact" in licences.text
    for bad in ("manifest.json", "..%2F..%2Fpage.py", "embed-XXXXXXXX.js", "page.py"):
        assert client.get(f"/static/forms/{bad}").status_code == 404


def test_unknown_revoked_expired_and_full_links_answer_a_page_that_says_so(client, admin, make_link) -> None:
    r = client.get("/embed/kf_not-a-link")
    assert r.status_code == 404 and r.headers["content-security-policy"] == CSP
    assert config_of(r.text) == {"lang": "vi", "state": "unknown", "token": "", "api_base": "/api/v1",
                                 "lang_urls": {"vi": "?lang=vi", "en": "?lang=en"}}  # fmt: skip
    revoked, expired, full = make_link(), make_link(), make_link(max_submissions=1)
    client.post(f"/api/v1/form-links/{revoked['id']}/revoke", headers=admin)
    with session_scope(write=True) as s:
        s.execute(
            update(FormLink)
            .where(FormLink.id == expired["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )  # type: ignore[arg-type]
        s.execute(update(FormLink).where(FormLink.id == full["id"]).values(submission_count=1))  # type: ignore[arg-type]
    for link, state in ((revoked, "revoked"), (expired, "expired"), (full, "exhausted")):
        r = client.get(f"/embed/{link['token']}")
        assert r.status_code == 410, state
        cfg = config_of(r.text)
        assert cfg["state"] == state and "questionnaires" not in cfg and "wards" not in cfg


def test_the_token_never_reaches_the_access_log(client, make_link, caplog) -> None:
    link = make_link()
    with caplog.at_level(logging.INFO, logger="khuyencong.access"):
        assert client.get(f"/embed/{link['token']}").status_code == 200
    paths = [getattr(r, "path", None) for r in caplog.records if r.name == "khuyencong.access"]
    assert paths == ["/embed/{token}"]
    assert link["token"] not in caplog.text


def test_page_text_cannot_end_the_script_element() -> None:
    hostile = "</script><script>alert(1)</script>\u2028&"
    html = page.render({"lang": "vi", "state": "active", "token": "", "api_base": "/api/v1",
                        "questionnaires": [{"title": hostile}]})  # fmt: skip
    assert "<script>alert" not in html and html.count("</script>") == 2
    assert config_of(html)["questionnaires"][0]["title"] == hostile


def test_the_ui_schema_says_how_to_render_each_question(client) -> None:
    r = client.get("/api/v1/questionnaires/loans/versions/3/ui-schema")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (
        client.get(
            "/api/v1/questionnaires/loans/versions/3/ui-schema", headers={"If-None-Match": r.headers["etag"]}
        ).status_code
        == 304
    )
    ui = r.json()
    assert ui["ui:order"][:3] == ["respondent_name", "respondent_position", "respondent_phone"]
    assert ui["ui:order"][5:8] == ["needs_loan", "loan_amount_vnd", "loan_purpose"]
    assert ui["needs_loan"] == {
        "ui:widget": "radio",
        "ui:enumNames": ["Có", "Không"],
        "ui:options": {"inline": True},
    }
    assert ui["loan_purpose"] == {"ui:widget": "checkboxes"}
    # an exclusive "none" choice is named, so a renderer can untick the others when it is ticked
    assert ui["borrowing_sources"] == {"ui:widget": "checkboxes", "ui:options": {"exclusive": ["none"]}}
    assert ui["collateral_type"] == {"ui:widget": "radio"}
    assert ui["loan_amount_vnd"] == {"ui:options": {"unit": "đồng"}}
    assert ui["investment_plan"] == {"ui:widget": "textarea", "ui:options": {"rows": 4}}
    assert "ui:widget" not in ui["respondent_phone"]  # text of a set form (a pattern) stays on one line
    assert ui["ui:submitButtonOptions"] == {"submitText": "Gửi"}
    # a retired version is still described (responses to it are accepted), though no longer cached for a year
    old = client.get("/api/v1/questionnaires/loans/versions/2/ui-schema")
    assert old.status_code == 200 and old.json()["loan_amount_vnd"] == {"ui:options": {"unit": "VND"}}
    market = client.get(
        "/api/v1/questionnaires/market-needs/versions/2/ui-schema", params={"lang": "en"}
    ).json()
    assert market["main_products"]["ui:options"]["hint"] == "Up to 3 products, separated by commas"
    assert market["needs_trade_promotion"]["ui:enumNames"] == ["Yes", "No"]
    assert market["workers_total"]["ui:options"]["unit"] == "people"
    # a photo: its answer is the file's name; the file goes to the attachments route
    photo = client.get("/api/v1/questionnaires/technology-demonstration/versions/1/ui-schema").json()
    assert photo["equipment_photo"] == {"ui:options": {
        "attachment": "image", "accept": "image/jpeg,image/png",
        "hint": "Chụp toàn cảnh thiết bị, thấy rõ nhãn máy (tên hãng, năm sản xuất) nếu có"}}  # fmt: skip
    assert client.get("/api/v1/questionnaires/loans/versions/9/ui-schema").status_code == 404
    assert (
        client.get("/api/v1/questionnaires/loans/versions/3/ui-schema", params={"lang": "fr"}).status_code
        == 422
    )


def test_the_ui_schema_of_a_location_and_a_file() -> None:
    """The test-only questionnaire has every type: a location is the page's `geopoint` field (a renderer
    without it shows the object's titled number inputs); a file question accepts what the question accepts."""
    with TestClient(app_with_test_forms()) as c:
        vi = c.get("/api/v1/questionnaires/site-visit/versions/1/ui-schema").json()
        en = c.get("/api/v1/questionnaires/site-visit/versions/1/ui-schema", params={"lang": "en"}).json()
    assert vi["workshop_location"] == {
        "ui:field": "geopoint",
        "ui:order": ["lat", "lon", "accuracy_m", "alt"],
        "lat": {"ui:title": "Vĩ độ"},
        "lon": {"ui:title": "Kinh độ"},
        "accuracy_m": {"ui:title": "Độ chính xác (m)"},
        "alt": {"ui:title": "Độ cao (m)"},
        "ui:options": {"hint": "Đứng trước cổng xưởng khi lấy vị trí"},
    }
    assert en["workshop_location"]["lat"] == {"ui:title": "Latitude"}
    assert vi["workshop_photo"] == {"ui:options": {"attachment": "image", "accept": "image/jpeg,image/png"}}
    assert vi["business_licence"] == {
        "ui:options": {"attachment": "file", "accept": "application/pdf,image/*"}
    }
    assert vi["support_received"]["ui:options"] == {"exclusive": ["none"]}
