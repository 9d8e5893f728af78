"""pyodk (from PyPI, unchanged) against a live server: it signs in, lists the project's forms, reads every
questionnaire's submissions and pages them, reads the facility registry; scope and refusals as Central gives them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from pyodk._utils.config import CentralConfig, Config
from pyodk.client import Client
from pyodk.errors import PyODKError

from tests.factories import RESULT_STAGES, facility_body, support, valid_answers


def pyodk_client(base: str, name: str, headers: dict[str, str], cache: Path) -> Client:
    secret = headers["Authorization"].split()[1]
    config = Config(
        central=CentralConfig(base_url=base, username=name, password=secret, default_project_id=1)
    )
    return Client(config=config, cache_path=cache)


@pytest.fixture
def seeded(client, make_key) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Three responses to every version (published or retired) of every questionnaire, in Lâm Đồng and Hà Nội."""
    admin = make_key("admin", name="admin")
    registry = client.app.state.registry
    facilities = [client.post("/api/v1/facilities", json=facility_body(name=f"Cơ sở {p}", province_code=p),
                              headers=admin).json()["id"] for p in ("68", "01")]  # fmt: skip
    code = support(
        client, admin, facilities, ["01", "68"]
    )  # project-results answers name a supporting project
    counts: dict[str, dict[str, int]] = {}
    for key in registry.keys:
        for d in registry.versions(key):
            if d.status == "draft":
                continue
            for i in range(3):
                fid = facilities[i % 2]
                answers = valid_answers(d, seed=i)
                if (
                    key == "project-results"
                ):  # one report per stage and establishment, of the project supporting it
                    answers.update(point_project_code=code, stage=RESULT_STAGES[i])
                body = {"id": str(uuid.uuid4()), "questionnaire": key, "version": d.version, "facility_id": fid,
                        "answers": answers, "collected_at": "2026-11-20T08:30:00+07:00"}  # fmt: skip
                r = client.post("/api/v1/responses", json=body, headers=admin)
                assert r.status_code == 201, (key, d.version, r.text)
                by = counts.setdefault(key, {"all": 0, "68": 0})
                by["all"] += 1
                by["68"] += fid == facilities[0]
    return {"counts": counts, "admin": admin,
            "planner": make_key("planner", name="planner-all"),
            "planner68": make_key("planner", provinces=["68"], name="planner-68"),
            "fo": make_key("field_officer", provinces=["68"], name="fo-68")}  # fmt: skip


def test_pyodk_reads_every_questionnaire_and_pages(live_server, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pyodk_client(live_server, "planner-all", seeded["planner"], tmp_path / "cache.toml") as odk:
        assert [p.id for p in odk.projects.list()] == [1]
        forms = odk.forms.list()
        assert {f.xmlFormId for f in forms} == set(seeded["counts"])
        for form in forms:
            want = seeded["counts"][form.xmlFormId]["all"]
            whole = odk.submissions.get_table(form_id=form.xmlFormId, count=True)
            assert whole["@odata.count"] == want and len(whole["value"]) == want, form.xmlFormId
            # paged with $top/$skip, as pyodk pages
            got: list[str] = []
            skip = 0
            while True:
                page = odk.submissions.get_table(form_id=form.xmlFormId, top=2, skip=skip)
                got += [row["__id"] for row in page["value"]]
                if "@odata.nextLink" not in page:
                    break
                skip += 2
            assert got == [row["__id"] for row in whole["value"]], form.xmlFormId
            # and by following @odata.nextLink (the keyset $skiptoken), as Power BI does
            got = []
            page = odk.submissions.get_table(form_id=form.xmlFormId, top=2)
            while True:
                got += [row["__id"] for row in page["value"]]
                if "@odata.nextLink" not in page:
                    break
                page = odk.get(page["@odata.nextLink"]).json()
            assert got == [row["__id"] for row in whole["value"]], form.xmlFormId
        versions = {row["__system"]["formVersion"] for row in
                    odk.submissions.get_table(form_id="loans")["value"]}  # fmt: skip
        assert len(versions) > 1, "every published version in one table"
        approved = odk.submissions.get_table(form_id="loans", filter="__system/reviewState eq 'approved'")
        assert approved["value"] == []
        assert [e.name for e in odk.entity_lists.list()] == ["facilities"]
        facilities = odk.entities.get_table(entity_list_name="facilities", count=True)
        assert facilities["@odata.count"] == 2 and {e["label"] for e in facilities["value"]} == {
            "Cơ sở 68",
            "Cơ sở 01",
        }
    # the cached session token is reused by the next client (pyodk verifies it with GET users/current)
    with pyodk_client(live_server, "planner-all", seeded["planner"], tmp_path / "cache.toml") as odk:
        assert odk.projects.get(1).id == 1


def test_pyodk_scope_and_refusals(live_server, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pyodk_client(live_server, "planner-68", seeded["planner68"], tmp_path / "c68.toml") as odk:
        for key, by in seeded["counts"].items():
            table = odk.submissions.get_table(form_id=key, count=True)
            assert table["@odata.count"] == by["68"], key
            assert {row["province_code"] for row in table["value"]} <= {"68"}
        widened = odk.submissions.get_table(form_id="loans", filter="province_code eq '01'")
        assert widened["value"] == []
        with pytest.raises(PyODKError, match="400"):
            odk.submissions.get_table(form_id="loans", filter="year(__system/submissionDate) eq 2026")
        with pytest.raises(PyODKError, match="404"):
            odk.submissions.get_table(form_id="no-such-form")
    with pytest.raises(PyODKError, match="403"):
        pyodk_client(live_server, "fo-68", seeded["fo"], tmp_path / "fo.toml").open()
    with pytest.raises(PyODKError, match="401"):
        pyodk_client(live_server, "planner-68", seeded["planner"], tmp_path / "x.toml").open()
