"""For every route the app registers: its declared rule matches the contract, and it behaves so.

A new route fails this test until it declares an access rule (public or require(...)) and gets a case here.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute

from app.forms import page
from app.main import create_app
from tests.factories import facility_body, response_body

ALL = {"admin", "planner", "field_officer", "portal"}
PUBLIC = "public"
PLANNER_PAGE = ("session", frozenset({"admin", "planner"}))  # planner workspace pages: a signed-in session

# (method, path) -> roles allowed by the contract (admin always included), or "public".
EXPECTED: dict[tuple[str, str], Any] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/provinces"): PUBLIC,
    ("GET", "/api/v1/provinces/{code}/wards"): PUBLIC,
    ("GET", "/api/v1/questionnaires"): PUBLIC,
    ("GET", "/api/v1/questionnaires/{key}/versions/{version}"): PUBLIC,
    ("GET", "/api/v1/questionnaires/{key}/versions/{version}/json-schema"): PUBLIC,
    ("GET", "/api/v1/questionnaires/{key}/versions/{version}/ui-schema"): PUBLIC,
    ("GET", "/api/v1/scoring-profiles"): PUBLIC,
    ("GET", "/api/v1/scoring-profiles/{key}/versions/{version}"): PUBLIC,
    ("POST", "/api/v1/keys"): {"admin"},
    ("GET", "/api/v1/keys"): {"admin"},
    ("POST", "/api/v1/keys/{name}/revoke"): {"admin"},
    ("GET", "/api/v1/audit"): {"admin"},
    ("POST", "/api/v1/form-links"): {"admin"},
    ("GET", "/api/v1/form-links"): {"admin"},
    ("POST", "/api/v1/form-links/{link_id}/revoke"): {"admin"},
    ("POST", "/api/v1/webhooks"): {"admin"},
    ("GET", "/api/v1/webhooks"): {"admin"},
    ("DELETE", "/api/v1/webhooks/{hook_id}"): {"admin"},
    ("POST", "/api/v1/webhooks/{hook_id}/rotate-secret"): {"admin"},
    ("GET", "/api/v1/webhooks/{hook_id}/deliveries"): {"admin"},
    ("GET", "/embed/{token}"): PUBLIC,
    ("GET", "/static/forms/{asset}"): PUBLIC,
    ("POST", "/api/v1/facilities"): {"admin", "field_officer", "portal"},
    ("GET", "/api/v1/facilities"): ALL,
    ("POST", "/api/v1/facilities/import"): {"admin", "field_officer", "portal"},
    ("GET", "/api/v1/facilities/{facility_id}"): ALL,
    ("PATCH", "/api/v1/facilities/{facility_id}"): {"admin", "field_officer"},
    ("POST", "/api/v1/responses"): {"admin", "field_officer", "portal", "form_link"},
    ("POST", "/api/v1/responses/batch"): {"admin", "field_officer", "portal", "form_link"},
    ("GET", "/api/v1/responses"): {"admin", "planner", "field_officer"},
    ("GET", "/api/v1/responses/{response_id}"): {"admin", "planner", "field_officer"},
    ("PUT", "/api/v1/responses/{response_id}"): {"admin", "field_officer"},
    ("GET", "/api/v1/responses/{response_id}/revisions"): {"admin", "planner", "field_officer"},
    ("POST", "/api/v1/responses/{response_id}/review"): {"admin", "planner"},
    ("GET", "/api/v1/responses/{response_id}/reviews"): {"admin", "planner", "field_officer"},
    ("GET", "/api/v1/responses/{response_id}/comments"): {"admin", "planner", "field_officer"},
    ("POST", "/api/v1/responses/{response_id}/comments"): {"admin", "planner", "field_officer"},
    ("GET", "/api/v1/exports/responses.csv"): {"admin", "planner"},
    ("GET", "/api/v1/exports/facilities.csv"): {"admin", "planner"},
    ("GET", "/api/v1/exports/responses.geojson"): {"admin", "planner"},
    ("GET", "/api/v1/exports/facilities.geojson"): {"admin", "planner"},
    ("GET", "/api/v1/priorities"): {"admin", "planner"},
    ("POST", "/api/v1/rankings"): {"admin", "planner"},
    ("GET", "/api/v1/rankings"): {"admin", "planner"},
    ("GET", "/api/v1/rankings/{ranking_id}"): {"admin", "planner"},
    ("GET", "/api/v1/rankings/{ranking_id}/items"): {"admin", "planner"},
    ("GET", "/api/v1/rankings/{ranking_id}/selection"): {"admin", "planner"},
    ("GET", "/api/v1/rankings/{ranking_id}/export.csv"): {"admin", "planner"},
    ("POST", "/api/v1/rankings/{ranking_id}/point-project"): {"admin", "planner"},
    ("POST", "/api/v1/point-projects"): {"admin", "planner"},
    ("GET", "/api/v1/point-projects"): {"admin", "planner"},
    ("GET", "/api/v1/point-projects/{project_id}"): {"admin", "planner"},
    ("PATCH", "/api/v1/point-projects/{project_id}"): {"admin", "planner"},
    ("GET", "/api/v1/point-projects/{project_id}/revisions"): {"admin", "planner"},
    ("POST", "/api/v1/point-projects/{project_id}/state"): {"admin", "planner"},
    ("GET", "/api/v1/results"): {"admin", "planner"},
    ("GET", "/api/v1/results/facilities"): {"admin", "planner"},
    ("GET", "/api/v1/results.xlsx"): {"admin", "planner"},
    ("GET", "/api/v1/follow-ups"): {"admin", "planner", "field_officer"},
    ("PUT", "/api/v1/responses/{response_id}/attachments/{name}"): {"admin", "field_officer", "form_link"},
    ("GET", "/api/v1/responses/{response_id}/attachments"): {"admin", "planner", "field_officer"},
    ("GET", "/api/v1/responses/{response_id}/attachments/{name}"): {"admin", "planner", "field_officer"},
    ("GET", "/openrosa/formList"): {"admin", "field_officer"},
    ("GET", "/openrosa/forms/{key}/{version}"): {"admin", "field_officer"},
    ("GET", "/openrosa/forms/{key}/{version}/manifest"): {"admin", "field_officer"},
    ("GET", "/openrosa/forms/{key}/{version}/media/{filename}"): {"admin", "field_officer"},
    ("HEAD", "/openrosa/submission"): {"admin", "field_officer"},
    ("POST", "/openrosa/submission"): {"admin", "field_officer"},
    ("POST", "/v1/sessions"): PUBLIC,
    ("DELETE", "/v1/sessions/{token}"): {"admin", "planner"},
    ("GET", "/v1/users/current"): {"admin", "planner"},
    ("GET", "/v1/projects"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/forms"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/forms/{key}"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/forms/{key}.svc"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/forms/{key}.svc/"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/forms/{key}.svc/$metadata"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/forms/{key}.svc/Submissions"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/datasets"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/datasets/{name}.svc"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/datasets/{name}.svc/"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/datasets/{name}.svc/$metadata"): {"admin", "planner"},
    ("GET", "/v1/projects/{project_id}/datasets/{name}.svc/Entities"): {"admin", "planner"},
    ("GET", "/planner/sign-in"): PUBLIC,
    ("POST", "/planner/sign-in"): PUBLIC,
    ("GET", "/planner/static/{name}"): PUBLIC,
    ("POST", "/planner/sign-out"): PLANNER_PAGE,
    ("GET", "/planner/"): PLANNER_PAGE,
    ("GET", "/planner/priorities"): PLANNER_PAGE,
    ("GET", "/planner/facilities"): PLANNER_PAGE,
    ("GET", "/planner/facilities/{facility_id}"): PLANNER_PAGE,
    ("POST", "/planner/responses/{response_id}/review"): PLANNER_PAGE,
    ("POST", "/planner/responses/{response_id}/comments"): PLANNER_PAGE,
    ("GET", "/planner/responses/{response_id}/attachments/{name}"): PLANNER_PAGE,
    ("GET", "/planner/review"): PLANNER_PAGE,
    ("GET", "/planner/selection"): PLANNER_PAGE,
    ("POST", "/planner/selection"): PLANNER_PAGE,
    ("GET", "/planner/rankings"): PLANNER_PAGE,
    ("GET", "/planner/rankings/{ranking_id}"): PLANNER_PAGE,
    ("GET", "/planner/downloads"): PLANNER_PAGE,
    ("GET", "/planner/results"): PLANNER_PAGE,
    ("GET", "/planner/downloads/facilities"): PLANNER_PAGE,
    ("GET", "/planner/downloads/responses"): PLANNER_PAGE,
    ("GET", "/planner/downloads/rankings/{ranking_id}"): PLANNER_PAGE,
}
# Authorised, then an answer other than 2xx from what the World holds: its response (loans) names no file.
AUTHORISED_THEN = {
    ("GET", "/api/v1/point-projects/{project_id}"): 404,  # no such project (a random id)
    ("PATCH", "/api/v1/point-projects/{project_id}"): 404,
    ("GET", "/api/v1/point-projects/{project_id}/revisions"): 404,
    ("POST", "/api/v1/point-projects/{project_id}/state"): 404,
    ("PUT", "/api/v1/responses/{response_id}/attachments/{name}"): 422,
    ("GET", "/api/v1/responses/{response_id}/attachments/{name}"): 404,
    ("DELETE", "/v1/sessions/{token}"): 404,  # the World's token is a form link's, not the caller's session
}
# A form link's token passes the route's rule, then the scope's: it uploads only to the responses it submitted
# itself, and the World's response is the field officer's (tests/forms/test_attachments.py has the rest).
FORM_LINK_THEN = {("PUT", "/api/v1/responses/{response_id}/attachments/{name}"): 404}


def declared_rule(route: APIRoute) -> Any:
    found = []

    def walk(dep: Any) -> None:
        rule = getattr(dep.call, "access_roles", None)
        if rule is not None:
            via = getattr(dep.call, "access_via", None)
            found.append((via, frozenset(rule)) if via else rule)
        for sub in dep.dependencies:
            walk(sub)

    walk(route.dependant)
    return found


def walk_routes(routes: list[Any]) -> list[APIRoute]:
    """APIRoutes of the app, including those of included routers (FastAPI ≥ 0.16x keeps them nested)."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(walk_routes(r.original_router.routes))
        elif hasattr(r, "routes"):
            out.extend(walk_routes(r.routes))
    return out


def app_routes() -> list[tuple[str, str, APIRoute]]:
    return [(m, r.path, r) for r in walk_routes(create_app().routes) for m in sorted(r.methods)]


ROUTES = app_routes()


def test_every_route_declares_exactly_the_contract_rule() -> None:
    seen = set()
    for method, path, route in ROUTES:
        rules = declared_rule(route)
        assert rules, f"{method} {path} declares no access rule"
        assert len({frozenset(r) if r != PUBLIC and not isinstance(r, tuple) else r for r in rules}) == 1, (
            f"{method} {path} declares several rules"
        )
        assert (method, path) in EXPECTED, f"{method} {path} is not in the access matrix; add it"
        want = EXPECTED[(method, path)]
        got = rules[0]
        if isinstance(want, tuple):
            assert got == want, (method, path, got, want)
        else:
            assert (got == PUBLIC) if want == PUBLIC else (set(got) == set(want)), (method, path, got, want)
        seen.add((method, path))
    # Every expected route exists (a route removed from the app must be removed here too).
    assert set(EXPECTED) == seen, set(EXPECTED) ^ seen


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_write_route_gets_a_write_session_by_construction() -> None:
    """A write route takes WriteSessionDep (the route class wraps it in its write transaction) or
    StagedWriteSessionDep (slow work first, then a short `writing()`); a read route takes neither."""
    for method, path, route in ROUTES:
        kinds = getattr(route, "session_kinds", None)
        assert kinds is not None, f"{method} {path} is not built by core.routing.ApiRoute"
        if method in WRITE_METHODS:
            assert kinds & {"write", "staged"}, f"{method} {path} writes without a write session"
        else:
            assert not kinds & {"write", "staged"}, f"{method} {path} reads but takes a write session"


class World:
    """A facility in province 68 with one response submitted by the field officer 'fo'."""

    def __init__(self, client, make_key) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.keys = {role: make_key(role, provinces=None if role in ("admin",) else ["68"], name=role if role != "field_officer" else "fo")
                     for role in ALL}  # fmt: skip
        make_key("planner", name="spare")  # the key revoked by the revoke route
        fo = self.keys["field_officer"]
        self.facility = client.post("/api/v1/facilities", json=facility_body(), headers=fo).json()["id"]
        self.response = response_body(self.facility)
        assert client.post("/api/v1/responses", json=self.response, headers=fo).status_code == 201
        links = [client.post("/api/v1/form-links", headers=self.keys["admin"], json={
            "name": n, "questionnaires": ["loans"], "province_code": "68"}).json() for n in ("portal", "spare")]  # fmt: skip
        self.link, self.spare_link = links
        self.link_headers = {"Authorization": f"Bearer {self.link['token']}"}
        self.hook = client.post("/api/v1/webhooks", headers=self.keys["admin"], json={
            "url": "https://93.184.215.14/hook", "events": ["result.created"]}).json()["id"]  # fmt: skip

    def request(self, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        fid, rid = self.facility, self.response["id"]
        url = (path.replace("{code}", "68").replace("{key}", "loans").replace("{version}", "2").replace("{facility_id}", fid)
               .replace("{response_id}", rid).replace("{name}", "spare").replace("{ranking_id}", str(uuid.uuid4()))
               .replace("{link_id}", self.spare_link["id"]).replace("{hook_id}", self.hook).replace("{token}", self.link["token"])
               .replace("{asset}", page.manifest()["embed.js"]).replace("{filename}", "facilities.csv"))  # fmt: skip
        if path.startswith("/v1/"):
            url = url.replace("{project_id}", "1").replace("datasets/spare", "datasets/facilities")
        if path.startswith("/api/v1/point-projects/"):  # no such project: a random id
            url = url.replace("{project_id}", str(uuid.uuid4()))
        if path.startswith("/api/v1/scoring-profiles/"):
            url = url.replace("loans", "point-project").replace("/2", "/1")
        kwargs: dict[str, Any] = {"headers": headers}
        params: dict[str, Any] = {}
        if method == "POST" and path == "/api/v1/keys":
            kwargs["json"] = {"name": f"k-{uuid.uuid4().hex[:6]}", "role": "planner"}
        elif method == "POST" and path == "/v1/sessions":
            secret = self.keys["planner"]["Authorization"].split()[1]
            kwargs["json"] = {"email": "planner", "password": secret}
        elif method == "POST" and path == "/api/v1/webhooks":
            kwargs["json"] = {"url": "https://93.184.215.14/hooks/x", "events": ["response.created"]}
        elif method == "POST" and path == "/api/v1/form-links":
            kwargs["json"] = {"name": "Cổng", "questionnaires": ["loans"], "province_code": "68"}
        elif method == "POST" and path == "/api/v1/facilities":
            kwargs["json"] = facility_body(name=f"Cơ sở {uuid.uuid4().hex[:4]}")
        elif path == "/api/v1/facilities/import":
            kwargs["files"] = {
                "file": (
                    "f.csv",
                    "name,kind,sector,province\nXưởng mộc,household_business,handicrafts,Lâm Đồng\n".encode(),
                )
            }
        elif method == "POST" and path == "/api/v1/point-projects":
            kwargs["json"] = {"code": f"DA-{uuid.uuid4().hex[:6]}", "title": {"vi": "Đề án"}, "sector": "other",
                              "provinces": ["68"], "start_year": 2027, "end_year": 2027, "implementing_unit": "TTKC",
                              "activities": [{"kind": "advanced_machinery", "facility_id": fid, "programme_vnd": 1}]}  # fmt: skip
        elif path == "/api/v1/rankings/{ranking_id}/point-project":
            kwargs["json"] = {"code": "DA-1", "title": {"vi": "Đề án"}, "start_year": 2027, "end_year": 2027,
                              "implementing_unit": "TTKC"}  # fmt: skip
        elif path == "/api/v1/point-projects/{project_id}/state":
            kwargs["json"] = {"state": "approved"}
        elif method == "PATCH" and path.startswith("/api/v1/point-projects/"):
            kwargs["json"] = {"end_year": 2028}
        elif method == "PATCH":
            kwargs["json"] = {"employees": 15}
        elif method == "POST" and path == "/api/v1/responses":
            kwargs["json"] = response_body(fid)
        elif path == "/api/v1/responses/batch":
            kwargs["json"] = {"items": [response_body(fid)]}
        elif path == "/api/v1/responses/{response_id}/attachments/{name}":
            kwargs["content"] = b"\xff\xd8\xff photo"
            kwargs["headers"] = {**headers, "Content-Type": "image/jpeg"}
        elif path == "/openrosa/submission" and method == "POST":
            xml = (f"<data id='loans' version='2'><facility_id>{fid}</facility_id><needs_loan>no</needs_loan>"
                   f"<end>2026-11-20T08:30:00+07:00</end><meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>")  # fmt: skip
            kwargs["files"] = {"xml_submission_file": ("submission.xml", xml.encode(), "text/xml")}
        elif method == "PUT":
            kwargs["json"] = {
                "base_revision": 1,
                "answers": {"needs_loan": False},
                "collected_at": "2026-11-21T09:00:00+07:00",
            }
        elif path.endswith("/review"):
            kwargs["json"] = {"state": "has_issues", "comment": "Số tiền vay có đúng không?"}
        elif method == "POST" and path.endswith("/comments"):
            kwargs["json"] = {"comment": "Đã kiểm tra lại với cơ sở."}
        elif path in ("/api/v1/exports/responses.csv", "/api/v1/exports/responses.geojson"):
            params = {"questionnaire": "loans", "version": 2}
        elif path == "/api/v1/priorities":
            params = {"profile": "point-project", "profile_version": 1}
        elif method == "POST" and path == "/api/v1/rankings":
            kwargs["json"] = {"profile": "point-project", "profile_version": 1}
        if params:
            kwargs["params"] = params
        return self.client.request(method, url, **kwargs)


API_ROUTES = [(m, p) for m, p, _ in ROUTES if not isinstance(EXPECTED.get((m, p)), tuple)]


@pytest.mark.parametrize("method, path", API_ROUTES, ids=[f"{m} {p}" for m, p in API_ROUTES])
def test_route_access(client, make_key, method: str, path: str) -> None:
    want = EXPECTED[(method, path)]
    world = World(client, make_key)
    if path.startswith("/planner/"):  # the workspace's public routes: the sign-in form and built assets
        r = planner_public_request(client, world, method, path)
        assert r.status_code < 400, (r.status_code, r.text)
        return
    if want == PUBLIC:
        r = world.request(method, path, {})
        assert r.status_code < 400, (r.status_code, r.text)
        return
    r = world.request(method, path, {})
    # OpenRosa speaks XML to Collect, errors included (app/openrosa); everything else problem+json
    kind = "text/xml" if path.startswith("/openrosa/") else "application/problem+json"
    assert r.status_code == 401 and r.headers["content-type"].startswith(kind)
    r = world.request(method, path, {"Authorization": "Bearer kc_not-a-real-key"})
    assert r.status_code == 401
    r = world.request(method, path, {"Authorization": "Bearer kf_not-a-real-form-link"})
    assert r.status_code == 401
    # A form link's token: allowed only where the contract says so (submitting), 403 everywhere else.
    r = world.request(method, path, world.link_headers)
    if "form_link" in want and (method, path) in FORM_LINK_THEN:
        assert r.status_code == FORM_LINK_THEN[(method, path)], ("form_link", r.status_code, r.text)
    elif "form_link" in want:
        assert r.status_code < 400, (r.status_code, r.text)
    else:
        assert r.status_code == 403, ("form_link", r.status_code, r.text)
    for role in sorted(ALL):
        r = world.request(method, path, world.keys[role])
        if role in want:
            expected_ok = (
                404 if "{ranking_id}" in path else AUTHORISED_THEN.get((method, path))
            )  # a random ranking id: authorised, then not found
            if expected_ok:
                assert r.status_code == expected_ok, (role, r.text)
            else:
                assert r.status_code < 400, (role, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)


# -- planner workspace pages: a signed-in session instead of an Authorization header ------------------------------


def planner_public_request(client, world: World, method: str, path: str):  # type: ignore[no-untyped-def]
    from app.planner.web import manifest

    if path == "/planner/static/{name}":
        return client.get(f"/planner/static/{manifest()['planner.js']}")
    form = client.get("/planner/sign-in")
    if method == "GET":
        return form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    secret = world.keys["planner"]["Authorization"].split()[1]
    return client.post("/planner/sign-in", data={"key": secret, "csrf_token": token}, follow_redirects=False)


def page_session(key_name: str) -> tuple[str, str]:
    """A session row for any key, made directly: the sign-in form admits only planners and admins, so this is
    how a page's own role check is reached by the other roles. Returns (cookie token, CSRF token)."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.access.principal import hash_secret
    from app.core.db import session_scope
    from app.models import ApiKey, PlannerSession
    from app.models.types import utcnow

    token, csrf = f"t-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    with session_scope(write=True) as s:
        key_id = s.execute(select(ApiKey.id).where(ApiKey.name == key_name)).scalar_one()  # type: ignore[arg-type]
        s.add(PlannerSession(token_hash=hash_secret(token), key_id=key_id, csrf_token=csrf,
                             expires_at=utcnow() + timedelta(hours=1)))  # fmt: skip
    return token, csrf


PAGE_ROUTES = [(m, p) for m, p, _ in ROUTES if isinstance(EXPECTED.get((m, p)), tuple)]


@pytest.mark.parametrize("method, path", PAGE_ROUTES, ids=[f"{m} {p}" for m, p in PAGE_ROUTES])
def test_page_access(app, client, make_key, method: str, path: str) -> None:
    """Anonymous → the sign-in page (an API key is not a session); another role → 403; another province → 404 for
    a thing by id (lists are filtered: tests/planner); planners and admins in scope → the page."""
    from fastapi.testclient import TestClient

    world = World(client, make_key)
    make_key("planner", provinces=["01"], name="planner-01")
    ranking = client.post("/api/v1/rankings", headers=world.keys["planner"], json={
        "profile": "point-project", "profile_version": 1, "budget_vnd": 10**9, "cost_source": "loans.loan_amount_vnd"}).json()["id"]  # fmt: skip
    url = (path.replace("{facility_id}", world.facility).replace("{response_id}", world.response["id"])
           .replace("{ranking_id}", ranking).replace("{name}", "spare"))  # fmt: skip
    params = {"questionnaire": "loans", "version": 2} if path == "/planner/downloads/responses" else None

    def call(cookie: str | None, csrf: str = "", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        c = TestClient(app, raise_server_exceptions=False, cookies={"kc_planner": cookie} if cookie else None)
        if method == "GET":
            return c.get(url, params=params, headers=headers, follow_redirects=False)
        data = {"csrf_token": csrf, "state": "has_issues", "comment": "Kiểm tra lại", "profile": "point-project:1",
                "budget_vnd": "1.000.000.000", "cost_source": "loans.loan_amount_vnd"}  # fmt: skip
        return c.post(url, data=data, headers=headers, follow_redirects=False)

    for headers in (None, world.keys["planner"]):
        r = call(None, headers=headers)
        assert r.status_code == 303 and r.headers["location"].startswith("/planner/sign-in"), (
            headers,
            r.status_code,
        )
    assert call("t-unknown").status_code == 303
    for role, name in (("field_officer", "fo"), ("portal", "portal")):
        assert role not in EXPECTED[(method, path)][1]
        r = call(*page_session(name))
        assert r.status_code == 403, (role, r.status_code, r.text[:300])
    if "{" in path:
        r = call(*page_session("planner-01"))
        assert r.status_code == 404, r.status_code
    for name in ("planner", "admin"):
        r = call(*page_session(name))
        if "{name}" in path:  # authorised, then not found: the world's response names no file (tests/planner)
            assert r.status_code == 404, (name, r.status_code, r.text[:500])
            continue
        assert r.status_code < 400, (name, r.status_code, r.text[:500])
