"""The /v1 feeds through HTTP: sessions, the project and its forms, OData documents, Submissions and Entities.

pyodk against a live server is in test_pyodk.py.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import assert_problem
from tests.factories import facility_body, response_body

SVC = "/v1/projects/1/forms/loans.svc"
ROWS = f"{SVC}/Submissions"
ENTITIES = "/v1/projects/1/datasets/facilities.svc/Entities"


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


def basic(name: str, headers: dict[str, str]) -> dict[str, str]:
    raw = f"{name}:{secret_of(headers)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
def world(client, make_key) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Facilities in Lâm Đồng (68) and Hà Nội (01), three loans responses (two versions) and one of another form."""
    fo68 = make_key("field_officer", provinces=["68"], name="fo-68")
    fo01 = make_key("field_officer", provinces=["01"], name="fo-01")
    f68 = client.post("/api/v1/facilities", json=facility_body(), headers=fo68).json()["id"]
    f01 = client.post("/api/v1/facilities", json=facility_body(name="Xưởng may Hà Đông", province_code="01"),
                      headers=fo01).json()["id"]  # fmt: skip
    ids = []
    for fid, key in ((f68, fo68), (f68, fo68), (f01, fo01)):
        body = response_body(fid)
        r = client.post("/api/v1/responses", json=body, headers=key)
        assert r.status_code == 201, r.text
        ids.append(body["id"])
    v1 = response_body(f68, version=1, answers={"needs_loan": False})
    r = client.post("/api/v1/responses", json=v1, headers=fo68)
    assert r.status_code == 201, r.text
    ids.append(v1["id"])
    return {"f68": f68, "f01": f01, "ids": ids, "fo68": fo68,
            "planner": make_key("planner", name="planner-all"),
            "planner68": make_key("planner", provinces=["68"], name="planner-68"),
            "admin": make_key("admin", name="admin")}  # fmt: skip


# -- sessions -----------------------------------------------------------------------------------------------------


def test_session_sign_in_use_and_sign_out(client, world) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/v1/sessions", json={"email": "planner-68", "password": secret_of(world["planner68"])})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "createdAt", "expiresAt"} and body["expiresAt"] > body["createdAt"]
    bearer = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/v1/users/current", headers=bearer)
    assert (
        me.status_code == 200
        and me.json()["email"] == "planner-68"
        and me.json()["displayName"] == "planner-68"
    )
    # the token is for /v1 only
    assert client.get("/api/v1/responses", headers=bearer).status_code == 401
    # someone else's session cannot be ended (404), the caller's own can
    assert client.delete(f"/v1/sessions/{body['token']}", headers=world["planner"]).status_code == 404
    r = client.delete(f"/v1/sessions/{body['token']}", headers=bearer)
    assert r.status_code == 200 and r.json() == {"success": True}
    r = client.get("/v1/users/current", headers=bearer)
    assert_problem(r, 401)
    assert r.json()["code"] == 401.2


def test_sign_in_refusals(client, world) -> None:  # type: ignore[no-untyped-def]
    wrong = client.post("/v1/sessions", json={"email": "planner-68", "password": "kc_wrong"})
    assert_problem(wrong, 401)
    assert wrong.json()["code"] == 401.2 and wrong.json()["message"]
    # the right secret under another key's name is as unknown as a wrong secret
    other = client.post(
        "/v1/sessions", json={"email": "planner-all", "password": secret_of(world["planner68"])}
    )
    assert other.status_code == 401
    fo = client.post("/v1/sessions", json={"email": "fo-68", "password": secret_of(world["fo68"])})
    assert_problem(fo, 403)
    assert fo.json()["code"] == 403.1
    assert_problem(client.post("/v1/sessions", json={"email": "planner-68"}), 422, "password")
    assert_problem(
        client.post("/v1/sessions", json={"email": "x", "password": "y", "extra": 1}), 422, "extra"
    )


def test_credentials_on_v1(client, world) -> None:  # type: ignore[no-untyped-def]
    assert_problem(client.get("/v1/projects"), 401)
    assert client.get("/v1/projects", headers={"Authorization": "Bearer kc_nope"}).status_code == 401
    assert client.get("/v1/projects", headers={"Authorization": "Bearer kcs_nope"}).status_code == 401
    assert client.get("/v1/projects", headers=world["planner"]).status_code == 200
    assert client.get("/v1/projects", headers=basic("planner-all", world["planner"])).status_code == 200
    assert client.get("/v1/projects", headers=basic("planner-68", world["planner"])).status_code == 401
    r = client.get("/v1/projects", headers=world["fo68"])
    assert_problem(r, 403)


# -- project and forms --------------------------------------------------------------------------------------------


def test_project_and_forms(client, world) -> None:  # type: ignore[no-untyped-def]
    projects = client.get("/v1/projects", headers=world["planner"]).json()
    assert [p["id"] for p in projects] == [1] and projects[0]["name"]
    assert client.get("/v1/projects/1", headers=world["planner"]).json()["id"] == 1
    assert_problem(client.get("/v1/projects/2", headers=world["planner"]), 404)
    forms = client.get("/v1/projects/1/forms", headers=world["planner"]).json()
    keys = {f["xmlFormId"] for f in forms}
    assert {"loans", "market-needs", "packaging", "pollution", "websites"} <= keys
    loans = next(f for f in forms if f["xmlFormId"] == "loans")
    latest = {q["key"]: q["latest_version"] for q in client.get("/api/v1/questionnaires").json()}
    assert loans["version"] == str(latest["loans"]) and loans["state"] == "open" and loans["projectId"] == 1
    assert set(loans) >= {"name", "hash", "enketoId", "keyId", "createdAt", "updatedAt", "publishedAt"}
    assert client.get("/v1/projects/1/forms/loans", headers=world["planner"]).json() == loans
    assert_problem(client.get("/v1/projects/1/forms/nope", headers=world["planner"]), 404)


# -- OData documents ------------------------------------------------------------------------------------------------


def test_service_document_and_metadata(client, world) -> None:  # type: ignore[no-untyped-def]
    r = client.get(SVC, headers=world["planner"])
    assert r.status_code == 200 and r.headers["odata-version"] == "4.0"
    assert r.json()["value"] == [{"name": "Submissions", "kind": "EntitySet", "url": "Submissions"}]
    assert r.json()["@odata.context"].endswith(f"{SVC}/$metadata")
    assert client.get(f"{SVC}/", headers=world["planner"]).json() == r.json(), (
        "the service root with its slash"
    )
    r = client.get(f"{SVC}/$metadata", headers=world["planner"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    root = ET.fromstring(r.content)
    entity = root.find(".//edm:EntityType[@Name='Submissions']", ns)
    assert entity is not None
    props = {p.get("Name"): p.get("Type") for p in entity.findall("edm:Property", ns)}
    assert props["__id"] == "Edm.String" and props["__system"] == "org.opendatakit.submission.metadata"
    assert props["loan_amount_vnd"] == "Edm.Int64" and props["needs_loan"] == "Edm.Boolean"
    # every version in one table: a question only v1 asked is there as well as v3's
    from app.main import create_app  # noqa: F401  (the registry is the app's)

    registry = client.app.state.registry
    every = {q.id for d in registry.versions("loans") if d.status != "draft" for q in d.questions}
    assert every <= set(props)
    assert_problem(client.get(f"{SVC}/$metadata?$top=1", headers=world["planner"]), 400, "query.$top")
    assert_problem(client.get("/v1/projects/1/forms/nope.svc/$metadata", headers=world["planner"]), 404)


# -- Submissions ----------------------------------------------------------------------------------------------------


def test_rows_every_version_scope_and_system(client, world) -> None:  # type: ignore[no-untyped-def]
    r = client.get(ROWS, headers=world["planner"], params={"$count": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["@odata.count"] == 4 and len(body["value"]) == 4 and "@odata.nextLink" not in body
    assert body["@odata.context"].endswith(f"{SVC}/$metadata#Submissions")
    assert [row["__id"] for row in body["value"]] == world["ids"]
    row = body["value"][0]
    assert row["loan_amount_vnd"] == 500_000_000 and row["loan_purpose"] == "machinery"
    system = row["__system"]
    assert system["submitterId"] == "fo-68" and system["submitterName"] == "fo-68"
    assert system["reviewState"] is None and system["formVersion"] == "2" and system["edits"] == 0
    assert system["channel"] == "field" and system["submissionDate"].endswith("Z")
    assert {row["__system"]["formVersion"] for row in body["value"]} == {"1", "2"}
    # a province-scoped planner sees only its provinces; the count says so too
    r = client.get(ROWS, headers=world["planner68"], params={"$count": "True"})
    assert r.json()["@odata.count"] == 3 and {v["province_code"] for v in r.json()["value"]} == {"68"}
    assert world["ids"][2] not in {v["__id"] for v in r.json()["value"]}
    # a key of no province reads nothing; a field officer and a portal key may not read at all
    none = {"Authorization": "Bearer " + "x"}
    assert client.get(ROWS, headers=none).status_code == 401
    assert client.get(ROWS, headers=world["fo68"]).status_code == 403


def test_paging_with_nextlink(client, world) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    url: str | None = f"{ROWS}?$top=1&$count=true"
    while url:
        r = client.get(url, headers=world["planner"])
        assert r.status_code == 200, r.text
        assert r.json()["@odata.count"] == 4
        seen += [v["__id"] for v in r.json()["value"]]
        url = r.json().get("@odata.nextLink")
        assert url is None or "$skiptoken=" in url and "$top=1" in url
    assert seen == world["ids"]
    # $skip and $top as Central reads them
    r = client.get(ROWS, headers=world["planner"], params={"$skip": "1", "$top": "2"})
    assert [v["__id"] for v in r.json()["value"]] == world["ids"][1:3] and "@odata.nextLink" in r.json()
    assert client.get(ROWS, headers=world["planner"], params={"$top": "0"}).json()["value"] == []
    bad = client.get(ROWS, headers=world["planner"], params={"$skiptoken": "garbage"})
    assert_problem(bad, 400, "query.$skiptoken")
    assert bad.json()["code"] == 400.35


def test_filters(client, world) -> None:  # type: ignore[no-untyped-def]
    h = world["planner"]
    client.post(f"/api/v1/responses/{world['ids'][1]}/review", headers=h, json={"state": "approved"})

    def ids(flt: str) -> list[str]:
        r = client.get(ROWS, headers=h, params={"$filter": flt})
        assert r.status_code == 200, (flt, r.text)
        return [v["__id"] for v in r.json()["value"]]

    a, b, c, d = world["ids"]
    assert ids("__system/reviewState eq 'approved'") == [b]
    assert ids("__system/reviewState eq null") == [a, c, d]
    assert ids("__system/reviewState ne 'approved'") == [a, c, d]
    assert ids("province_code eq '01'") == [c]
    assert ids(
        "(province_code eq '01' or __system/reviewState eq 'approved') and not (province_code eq '68')"
    ) == [c]
    assert ids(
        "__system/submissionDate gt 2000-01-01T00:00:00Z and __system/submissionDate lt 2999-01-01"
    ) == [a, b, c, d]
    assert ids("__system/submissionDate lt 2000-01-01T00:00:00+07:00") == []
    assert ids("'68' eq province_code") == [a, b, d]
    assert ids("__system/submitterId eq 'fo-01'") == [c]
    r = client.get(ROWS, headers=h, params={"$filter": "province_code eq '01'", "$count": "true"})
    assert r.json()["@odata.count"] == 1
    # a scoped planner cannot widen its scope by filtering
    r = client.get(ROWS, headers=world["planner68"], params={"$filter": "province_code eq '01'"})
    assert r.json()["value"] == []


@pytest.mark.parametrize(
    "params, path, code",
    [
        ({"$orderby": "__id"}, "query.$orderby", 400.4),
        ({"$search": "x"}, "query.$search", 400.4),
        ({"foo": "bar"}, "query.foo", 400.4),
        ({"$top": "-1"}, "query.$top", 400.8),
        ({"$count": "yes"}, "query.$count", 400.8),
        ({"$format": "xml"}, "query.$format", 400.8),
        ({"$expand": "meta"}, "query.$expand", 400.8),
        ({"$filter": "year(__system/submissionDate) eq 2026"}, "query.$filter", 400.18),
        ({"$filter": "loan_amount_vnd gt 5"}, "query.$filter", 400.18),
        ({"$filter": "__system/updatedAt gt 2026-01-01"}, "query.$filter", 400.18),
        ({"$filter": "__system/reviewState gt 'approved'"}, "query.$filter", 400.18),
        ({"$filter": "__system/reviewState eq 'ok'"}, "query.$filter", 400.18),
        ({"$filter": "__system/submissionDate gt 'yesterday'"}, "query.$filter", 400.18),
        ({"$filter": "province_code eq 68"}, "query.$filter", 400.18),
        ({"$filter": "(province_code eq '68'"}, "query.$filter", 400.18),
        ({"$filter": "province_code eq '68' and"}, "query.$filter", 400.18),
        ({"$filter": "province_code has '68'"}, "query.$filter", 400.18),
        ({"$select": "__id,nope"}, "query.$select", 400.23),
        ({"$select": "__system/nope"}, "query.$select", 400.23),
    ],
)
def test_unsupported_is_400_naming_it(client, world, params, path, code) -> None:  # type: ignore[no-untyped-def]
    r = client.get(ROWS, headers=world["planner"], params=params)
    body = assert_problem(r, 400, path)
    assert body["code"] == code and body["message"] == body["detail"]
    name = next(iter(params))
    assert name in body["detail"] or name == "$filter" or name == "$select"


def test_select_and_wkt(client, world) -> None:  # type: ignore[no-untyped-def]
    r = client.get(
        ROWS,
        headers=world["planner"],
        params={"$select": "__id,loan_amount_vnd,__system/reviewState", "$top": "1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["value"] == [
        {"__id": world["ids"][0], "loan_amount_vnd": 500_000_000, "__system": {"reviewState": None}}
    ]


# -- the facility registry ------------------------------------------------------------------------------------------


def test_entities(client, world) -> None:  # type: ignore[no-untyped-def]
    listed = client.get("/v1/projects/1/datasets", headers=world["planner"]).json()
    assert [(d["name"], d["projectId"], d["approvalRequired"]) for d in listed] == [("facilities", 1, False)]
    assert_problem(client.get("/v1/projects/2/datasets", headers=world["planner"]), 404)
    r = client.get("/v1/projects/1/datasets/facilities.svc", headers=world["planner"])
    assert r.json()["value"] == [{"name": "Entities", "kind": "EntitySet", "url": "Entities"}]
    meta = client.get("/v1/projects/1/datasets/facilities.svc/$metadata", headers=world["planner"])
    assert meta.status_code == 200 and b'Name="Entities"' in meta.content
    r = client.get(ENTITIES, headers=world["planner"], params={"$count": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["@odata.count"] == 2
    first = r.json()["value"][0]
    assert first["__id"] == world["f68"] and first["label"] == "Cơ sở chế biến cà phê Cầu Đất"
    assert first["employees"] == 12 and first["__system"]["version"] == 1
    r = client.get(ENTITIES, headers=world["planner68"])
    assert [e["__id"] for e in r.json()["value"]] == [world["f68"]]
    r = client.get(ENTITIES, headers=world["planner"], params={"$filter": "province_code eq '01'"})
    assert [e["__id"] for e in r.json()["value"]] == [world["f01"]]
    r = client.get(ENTITIES, headers=world["planner"], params={"$top": "1"})
    nxt = r.json()["@odata.nextLink"]
    assert [e["__id"] for e in client.get(nxt, headers=world["planner"]).json()["value"]] == [world["f01"]]
    assert_problem(client.get("/v1/projects/1/datasets/nope.svc/Entities", headers=world["planner"]), 404)
    assert_problem(
        client.get(ENTITIES, headers=world["planner"], params={"$orderby": "label"}), 400, "query.$orderby"
    )
    assert client.get(ENTITIES, headers=world["fo68"]).status_code == 403


def test_random_response_id_is_bare(client, world) -> None:  # type: ignore[no-untyped-def]
    r = client.get(ROWS, headers=world["admin"])
    assert all(uuid.UUID(v["__id"]) for v in r.json()["value"])
