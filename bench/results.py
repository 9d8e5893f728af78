"""The results report at programme scale: 500 point projects, 20,000 supported establishments, 60,000 result
responses (each establishment's baseline, completion and 12-month follow-up), beside the responses export of the
same 60,000 responses (the one other route that reads all of them), in the same run.

Cold: the first report after a write — an establishment's record edited, and a result response edited (a new
revision, which the report must read); the process's first report (it reads every response); warm: the same report
again. Baseline: the same report read whole from the history (`as_of` now), in the same run. Client: httpx, one request at a time; the server is the real one (`khuyencong serve`), on its own core.
Usage: python bench/results.py [--facilities 20000] [--projects 500] [--rounds 5]
Targets (issue 23): cold ≤ 1 s, warm ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fresh_db, make_key, report, server  # noqa: E402

STAGES = ("baseline", "completion", "follow_up_12m")


def build(url: str, facilities: int, projects: int) -> None:
    """Facilities, projects (completed) and three results each, through the services in this process."""
    import os

    os.environ["DATABASE_URL"] = url
    import app.handlers  # noqa: F401  every unit-of-work handler (writes below run in this process)
    from app.access.principal import Principal
    from app.core.config import get_settings
    from app.core.db import get_engine, session_scope
    from app.facilities import service as fac
    from app.facilities.schemas import FacilityCreate
    from app.point_projects import checks
    from app.point_projects import service as pp
    from app.point_projects.schemas import PointProjectCreate, State
    from app.questionnaires.registry import Registry
    from app.responses import ingest

    get_settings.cache_clear()
    get_engine.cache_clear()
    checks.install()
    registry = Registry.load(get_settings().schemas_dir)
    office = Principal(key_id=0, name="bench", role="admin", provinces=None)
    officer = Principal(key_id=0, name="bench-officer", role="field_officer", provinces=None)
    provinces = ["04", "08", "15", "19", "20", "22", "24", "25", "31", "33", "37", "38", "40", "68"]
    ids: list[str] = []
    with session_scope(write=True) as s:
        for i in range(facilities):
            body = FacilityCreate(name=f"Cơ sở {i}", kind="household_business", sector="agro_food_processing",
                                  province_code=provinces[i % len(provinces)], employees=10 + i % 50)  # fmt: skip
            ids.append(fac.create(session=s, principal=None, data=body, touch=False).id)
    per = facilities // projects
    codes: dict[str, str] = {}
    for j in range(projects):
        mine = ids[j * per : (j + 1) * per]
        acts = [{"kind": "demonstration_model" if k == 0 else "advanced_machinery", "facility_id": f,
                 "programme_vnd": 300_000_000, "counterpart_vnd": 900_000_000} for k, f in enumerate(mine)]  # fmt: skip
        acts.append(
            {"kind": "workshop", "programme_vnd": 150_000_000, "counterpart_vnd": 0, "participants": 100}
        )
        provs = sorted({provinces[(j * per + k) % len(provinces)] for k in range(len(mine))})
        with session_scope(write=True) as s:
            p = pp.create(session=s, principal=office, data=PointProjectCreate(
                code=f"DA-{j:04d}", title={"vi": f"Đề án {j}"}, sector="agro_food_processing", provinces=provs,
                start_year=2018 + j % 5, end_year=2019 + j % 5, implementing_unit="TTKC", activities=acts))  # fmt: skip
            for st in (State.approved, State.implementing, State.completed):
                pp.change_state(session=s, principal=office, project_id=p.id, state=st, comment=None)
        for f in mine:
            codes[f] = f"DA-{j:04d}"
    items = []
    for f, code in codes.items():
        for st in STAGES:
            items.append({"id": str(uuid.uuid4()), "questionnaire": "project-results", "version": 1, "facility_id": f,
                          "collected_at": "2024-03-01T09:00:00+07:00", "answers": {
                              "respondent_name": "Nguyễn Văn An", "respondent_position": "Chủ cơ sở",
                              "respondent_phone": "0912345678", "point_project_code": code, "stage": st,
                              "workers_total": 20, "jobs_created": 3, "jobs_created_women": 1, "workers_trained": 2,
                              "demonstration_visitors": 40}})  # fmt: skip
    for k in range(0, len(items), 500):
        with session_scope() as s:
            out = ingest.ingest_batch(
                session=s, registry=registry, principal=officer, items=items[k : k + 500]
            )
        assert all(r["status"] == "created" for r in out), out[:2]


def timed(
    c: httpx.Client, path: str, headers: dict[str, str], params: dict[str, str] | None = None
) -> tuple[float, int]:
    t = time.perf_counter()
    r = c.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text[:500]
    return time.perf_counter() - t, len(r.content)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=20_000)
    ap.add_argument("--projects", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--reuse", action="store_true", help="measure the database the last run built (data/bench-results.db)"
    )
    a = ap.parse_args()
    t = time.perf_counter()
    if a.reuse:
        url = f"sqlite:///{ROOT / 'data' / 'bench-results.db'}"
    else:
        url = fresh_db("results")
        build(url, a.facilities, a.projects)
    built = time.perf_counter() - t
    pl = make_key(url, "planner", f"bench-planner-{uuid.uuid4().hex[:6]}")
    fo = make_key(url, "field_officer", f"bench-fo-{uuid.uuid4().hex[:6]}")
    adm = {"Authorization": f"Bearer {make_key(url, 'admin', f'bench-admin-{uuid.uuid4().hex[:6]}')}"}
    h, hf = {"Authorization": f"Bearer {pl}"}, {"Authorization": f"Bearer {fo}"}
    cold, cold_result, warm, export, whole = [], [], [], [], []
    with server(url) as (base, _proc), httpx.Client(base_url=base, timeout=120) as c:
        fid = c.get("/api/v1/point-projects", headers=h, params={"limit": 1}).json()["items"][0]["id"]
        first = c.get(f"/api/v1/point-projects/{fid}", headers=h).json()["activities"][1]["facility_id"]
        after_start = timed(c, "/api/v1/results", h)[0]  # the process's first report: everything read
        listed = c.get(
            "/api/v1/responses", headers=h, params={"questionnaire": "project-results", "limit": 1}
        )
        rid = listed.json()["items"][0]["id"]
        for i in range(a.rounds):
            # a write first (an establishment's record changed through the API): the next report is computed anew
            assert (
                c.patch(f"/api/v1/facilities/{first}", json={"employees": 30 + i}, headers=adm).status_code
                == 200
            )
            cold.append(timed(c, "/api/v1/results", h)[0])
            # a result response edited (a new revision): the report reads what changed
            cur = c.get(f"/api/v1/responses/{rid}", headers=h).json()
            edit = {"base_revision": cur["revision"], "collected_at": cur["collected_at"],
                    "answers": {**cur["answers"], "jobs_created": 3 + (i + 1) % 2}}  # fmt: skip
            put = c.put(f"/api/v1/responses/{rid}", json=edit, headers=adm)
            assert put.status_code == 201, put.text[:1000]
            cold_result.append(timed(c, "/api/v1/results", h)[0])
            warm.append(statistics.median(timed(c, "/api/v1/results", h)[0] for _ in range(5)))
            # the same report read whole from the history (as_of now), and the export of the same responses
            whole.append(timed(c, "/api/v1/results", h, {"as_of": datetime.now(UTC).isoformat()})[0])
            export.append(
                timed(
                    c,
                    "/api/v1/exports/responses.csv",
                    h,
                    {"questionnaire": "project-results", "version": "1"},
                )[0]
            )
        size = timed(c, "/api/v1/results", h)[1]
        fu = timed(c, "/api/v1/follow-ups", hf)[0]
    med = statistics.median
    report(
        f"Results report: {a.projects:,} projects, {a.facilities:,} supported establishments, {3 * a.facilities:,} result responses",
        [
            ("report after a facility edit", f"{med(cold) * 1000:.0f} ms (target ≤ 1,000 cold)"),
            (
                "report after a result response edit",
                f"{med(cold_result) * 1000:.0f} ms (target ≤ 1,000 cold)",
            ),
            ("the process's first report (reads everything)", f"{after_start * 1000:.0f} ms"),
            ("baseline: the same report read whole (as_of now)", f"{med(whole) * 1000:.0f} ms"),
            ("report warm", f"{med(warm) * 1000:.1f} ms (target ≤ 50)"),
            ("baseline: responses export of the same 60,000 (CSV)", f"{med(export) * 1000:.0f} ms"),
            ("after a result edit ÷ read whole", f"{med(cold_result) / med(whole):.2f}"),
            ("after a result edit ÷ export", f"{med(cold_result) / med(export):.2f}"),
            ("report size", f"{size / 1024:.0f} KiB"),
            ("follow-ups list (officer, nationwide)", f"{fu * 1000:.0f} ms"),
            ("data built in", f"{built:.0f} s"),
        ],  # fmt: skip
        {
            "cold_s": cold,
            "cold_after_result_edit_s": cold_result,
            "after_start_s": after_start,
            "whole_s": whole,
            "warm_s": warm,
            "export_s": export,
            "facilities": a.facilities,
            "projects": a.projects,
        },
    )


if __name__ == "__main__":
    main()
