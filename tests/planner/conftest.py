"""A small world for the planner workspace: establishments in Lâm Đồng (68) and Hà Nội (01), their answers,
and keys of every role; helpers that sign a client in through the sign-in form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import facility_body, response_body

POLL = {"pollution_sources": ["dust"], "treatment_in_place": ["none"], "environmental_permit": "no",
        "had_violation": False, "needs_treatment_investment": False}  # fmt: skip


def loan(amount: int) -> dict[str, Any]:
    return {"needs_loan": True, "loan_amount_vnd": amount, "loan_purpose": ["machinery"], "has_collateral": False,
            "wants_interest_subsidy": True}  # fmt: skip


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split(" ", 1)[1]


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(client: TestClient, secret: str, next: str = "/planner/") -> str:
    """Sign in through the form; returns the session's CSRF token (from the page's meta tag)."""
    page = client.get("/planner/sign-in")
    assert page.status_code == 200, page.text
    r = client.post("/planner/sign-in", data={"key": secret, "csrf_token": form_token(page.text), "next": next},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    home = client.get("/planner/")
    assert home.status_code == 200, home.text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text)
    assert found
    return found.group(1)


@dataclass
class World:
    """A (68, agro-food, loan 500M, revised once, prior support 0), B (68, handicrafts, loan 300M, 1 prior support),
    C (68, textiles, no answers), D (01 Hà Nội, handicrafts, loan 200M)."""

    app: Any
    client: TestClient
    keys: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)
    responses: dict[str, str] = field(default_factory=dict)

    def browser(self, role: str) -> tuple[TestClient, str]:
        """A fresh client (its own cookies) signed in with this key; returns (client, csrf token)."""
        c = TestClient(self.app, raise_server_exceptions=False)
        return c, sign_in(c, secret_of(self.keys[role]))


def profile_labels(client: TestClient, version: int, lang: str = "vi") -> dict[str, str]:
    """point-project's criteria labels, as the profile document served by the API says them."""
    doc = client.get(f"/api/v1/scoring-profiles/point-project/versions/{version}").json()
    return {c["id"]: c["label"][lang] for c in doc["criteria"]}


def latest_profile_version(client: TestClient) -> int:
    """The newest published version of point-project (the one the pages start with)."""
    listed = client.get("/api/v1/scoring-profiles").json()
    return max(p["version"] for p in listed if p["key"] == "point-project" and p["status"] == "published")


def questionnaire_label(client: TestClient, key: str, question: str, lang: str = "vi") -> str:
    """'Questionnaire title — question label' of the newest published version carrying the question (how the
    selection form names a numeric answer counted as a cost)."""
    listed = {q["key"]: q for q in client.get("/api/v1/questionnaires").json()}
    latest = listed[key]["latest_version"]
    doc = client.get(f"/api/v1/questionnaires/{key}/versions/{latest}").json()
    title = doc["title"][lang]
    for version in range(latest, 0, -1):
        d = client.get(f"/api/v1/questionnaires/{key}/versions/{version}").json()
        for q in d["questions"]:
            if q["id"] == question:
                return f"{title} — {q['label'][lang]}"
    raise AssertionError(f"no version of {key} has {question}")


# A 1×1 PNG and a tiny PDF: real formats, so a browser could show or open them.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2264b070000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def tech_answers(photo: str) -> dict[str, Any]:
    """technology-demonstration v1 (second edition): no upgrade, no demonstration, no training planned."""
    return {
        "respondent_name": "Nguyễn Văn An", "respondent_position": "Chủ cơ sở", "respondent_phone": "0912345678",
        "main_equipment": "Máy rang cà phê 30 kg/mẻ", "mechanisation_level": "semi_mechanised", "equipment_age_years": 12,
        "equipment_photo": photo, "needs_upgrade": False, "hosts_demonstration": False, "needs_training": False,
        "certifications": ["vietgap"], "ocop_rating": "3", "rural_product_award": "none",
    }  # fmt: skip


NAMES = {"A": "Cơ sở cà phê Cầu Đất", "B": "Xưởng mây tre Bảo Lộc", "C": "Hộ dệt thổ cẩm Lạc Dương",
         "D": "Xưởng gốm Bát Tràng"}  # fmt: skip


@pytest.fixture
def world(app, client, make_key) -> World:  # type: ignore[no-untyped-def]
    keys = {
        "planner": make_key("planner", provinces=["68"], name="planner-68"),
        "planner_01": make_key("planner", provinces=["01"], name="planner-01"),
        "planner_all": make_key("planner", name="planner-all"),
        "admin": make_key("admin", name="admin"),
        "field_officer": make_key("field_officer", provinces=["68", "01"], name="fo"),
        "portal": make_key("portal", provinces=["68"], name="portal-68"),
    }
    w = World(app, client, keys)
    fo = keys["field_officer"]
    for tag, prov, support, sector in (("A", "68", 0, "agro_food_processing"), ("B", "68", 1, "handicrafts"),
                                       ("C", "68", 0, "textiles_garments"), ("D", "01", 0, "handicrafts")):  # fmt: skip
        body = facility_body(name=NAMES[tag], province_code=prov, annual_revenue_vnd=2_500_000_000, sector=sector,
                             prior_support=[{"year": 2021, "programme": "Khuyến công quốc gia"}] * support)  # fmt: skip
        if tag in "AD":
            body["location"] = {"lat": 11.95, "lon": 108.45} if tag == "A" else {"lat": 20.98, "lon": 105.91}
        r = client.post("/api/v1/facilities", json=body, headers=fo)
        assert r.status_code == 201, r.text
        w.ids[tag] = r.json()["id"]
    for tag, amount in (("A", 400_000_000), ("B", 300_000_000), ("D", 200_000_000)):
        body = response_body(w.ids[tag], answers=loan(amount))
        assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
        w.responses[tag] = body["id"]
    # A's loan answer revised: 400M → 500M (the page shows both revisions and what changed).
    r = client.put(f"/api/v1/responses/{w.responses['A']}", headers=fo,
                   json={"base_revision": 1, "answers": loan(500_000_000), "collected_at": "2026-11-21T09:00:00+07:00"})  # fmt: skip
    assert r.status_code in (200, 201), r.text
    body = response_body(
        w.ids["A"], questionnaire="pollution", version=1, answers={**POLL, "severity": "high"}
    )
    assert client.post("/api/v1/responses", json=body, headers=fo).status_code == 201
    w.responses["A-pollution"] = body["id"]
    return w
