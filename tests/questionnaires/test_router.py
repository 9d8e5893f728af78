"""Questionnaire endpoints: list, definitions, JSON Schema, ETag/304 and caching."""

from __future__ import annotations

import jsonschema

from tests.conftest import assert_problem


def test_lists_the_questionnaires(client) -> None:
    r = client.get("/api/v1/questionnaires")
    assert r.status_code == 200
    body = {q["key"]: q for q in r.json()}
    assert set(body) == {
        "market-needs",
        "loans",
        "packaging",
        "websites",
        "pollution",
        "technology-demonstration",
        "project-results",
    }
    assert body["loans"]["latest_version"] == 4
    assert body["loans"]["versions"] == [
        {"version": 1, "status": "retired"},
        {"version": 2, "status": "retired"},
        {"version": 3, "status": "published"},  # still taken, never changed: v4 adds checks across answers
        {"version": 4, "status": "published"},
    ]
    assert body["pollution"]["title"]["vi"] == "Xử lý ô nhiễm môi trường"


def test_definition_as_authored_and_collapsed(client) -> None:
    full = client.get("/api/v1/questionnaires/loans/versions/2").json()
    assert full["title"] == {"vi": "Nhu cầu vốn vay", "en": "Loan needs"}
    en = client.get("/api/v1/questionnaires/loans/versions/2?lang=en")
    assert en.json()["title"] == "Loan needs"
    assert en.json()["questions"][0]["label"] == "Does the establishment need a loan in the next 2 years?"
    vi = client.get("/api/v1/questionnaires/loans/versions/2?lang=vi")
    assert "Nhu cầu vốn vay" in vi.text  # Vietnamese as-is, not \u-escaped


def test_retired_version_still_served(client) -> None:
    r = client.get("/api/v1/questionnaires/loans/versions/1")
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert r.headers["cache-control"] == "no-cache"


def test_etag_and_304(client) -> None:
    r = client.get("/api/v1/questionnaires/packaging/versions/2")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = r.headers["etag"]
    again = client.get("/api/v1/questionnaires/packaging/versions/2", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get("/api/v1/questionnaires/packaging/versions/2", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200


def test_json_schema_endpoint(client) -> None:
    r = client.get("/api/v1/questionnaires/websites/versions/1/json-schema?lang=en")
    assert r.status_code == 200 and r.headers["etag"]
    schema = r.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["has_website"]["title"] == "Does the establishment have its own website?"
    vi = client.get("/api/v1/questionnaires/websites/versions/1/json-schema").json()
    assert vi["properties"]["has_website"]["title"] == "Cơ sở có website riêng?"
    r304 = client.get(
        "/api/v1/questionnaires/websites/versions/1/json-schema?lang=en",
        headers={"If-None-Match": r.headers["etag"]},
    )
    assert r304.status_code == 304


def test_unknown_questionnaire_or_version_is_404(client) -> None:
    assert_problem(client.get("/api/v1/questionnaires/nope/versions/1"), 404)
    body = assert_problem(client.get("/api/v1/questionnaires/loans/versions/9"), 404)
    assert "known versions: [1, 2, 3, 4]" in body["detail"]
    assert_problem(client.get("/api/v1/questionnaires/loans/versions/x"), 422, "path.version")
    assert_problem(client.get("/api/v1/questionnaires/loans/versions/1?lang=fr"), 422, "query.lang")
