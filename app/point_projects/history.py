"""A programme history for the demo and the tests: three point projects over 2018–2020 in the northern
provinces, shaped to the totals of the programme's own review of that period (3 point projects,
181,946.9 million VND of funds, 63 establishments supported, 9 of them with a technical demonstration model,
four kinds of activity, 1,055 new jobs, 80 people trained, 9 of the 28 northern provinces reached).

The review gives totals, not the list of establishments: the establishments, their split between projects
and the amounts below are illustrative, chosen so that the totals are exactly the review's. Provinces are
named as they were (pre-2025) and mapped to today's 34 (app.places: Resolution 202/2025/QH15), so the 9
former provinces count as the 8 current ones they are part of now.
"""

from __future__ import annotations

from typing import Any

from app.places.service import resolve_province

TOTAL_FUNDS_VND = 181_946_900_000
FACILITIES = 63
DEMONSTRATION_MODELS = 9
JOBS = 1_055
TRAINED = 80
FORMER_PROVINCES = ("Lạng Sơn", "Hà Giang", "Yên Bái", "Bắc Giang", "Phú Thọ", "Hòa Bình", "Thái Bình", "Nam Định",
                    "Hải Dương")  # fmt: skip

PROJECTS: tuple[dict[str, Any], ...] = (  # each: code, sector, years, title, unit, former provinces, counts
    {"code": "DA-KCD-2018-01", "sector": "textiles_garments", "start_year": 2018, "end_year": 2019,
     "title": {"vi": "Đề án khuyến công điểm hỗ trợ phát triển ngành dệt may nông thôn các tỉnh miền núi phía Bắc",
               "en": "Point project: rural textiles and garments in the northern mountain provinces"},
     "implementing_unit": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp I",
     "provinces": ("Lạng Sơn", "Hà Giang", "Yên Bái"), "facilities": 20, "models": 3},
    {"code": "DA-KCD-2019-01", "sector": "mechanical_engineering", "start_year": 2019, "end_year": 2020,
     "title": {"vi": "Đề án khuyến công điểm hỗ trợ ứng dụng máy móc thiết bị tiên tiến ngành cơ khí nông thôn",
               "en": "Point project: advanced machinery in rural mechanical engineering"},
     "implementing_unit": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp I",
     "provinces": ("Bắc Giang", "Phú Thọ", "Hòa Bình"), "facilities": 21, "models": 3},
    {"code": "DA-KCD-2020-01", "sector": "agro_food_processing", "start_year": 2020, "end_year": 2020,
     "title": {"vi": "Đề án khuyến công điểm hỗ trợ chế biến nông sản, thực phẩm vùng đồng bằng sông Hồng",
               "en": "Point project: agro-food processing in the Red River delta"},
     "implementing_unit": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp I",
     "provinces": ("Thái Bình", "Nam Định", "Hải Dương"), "facilities": 22, "models": 3},
)  # fmt: skip

# Facilities per former province: the first project's 20 as 7+7+6, then 7+7+7, then 8+7+7.
_PER_PROVINCE = ((7, 7, 6), (7, 7, 7), (8, 7, 7))
_KINDS_BY_SECTOR = {"textiles_garments": "household_business", "mechanical_engineering": "enterprise",
                    "agro_food_processing": "cooperative"}  # fmt: skip


def facilities() -> list[dict[str, Any]]:
    """The 63 establishments as facility bodies (POST /api/v1/facilities), with `_project` and `_former`."""
    out: list[dict[str, Any]] = []
    n = 0
    for p, split in zip(PROJECTS, _PER_PROVINCE, strict=True):
        for former, count in zip(p["provinces"], split, strict=True):
            code = resolve_province(former)
            assert code is not None, former
            for _ in range(count):
                n += 1
                out.append({"name": f"Cơ sở {p['sector'].split('_')[0]} số {n:02d} ({former})",
                            "kind": _KINDS_BY_SECTOR[p["sector"]], "sector": p["sector"], "province_code": code,
                            "employees": 10 + (n * 7) % 60, "annual_revenue_vnd": (800 + (n * 137) % 4000) * 1_000_000,
                            "established_year": 2000 + n % 15, "_project": p["code"], "_former": former})  # fmt: skip
    assert len(out) == FACILITIES
    return out


def project_bodies(facility_ids: dict[int, str]) -> list[dict[str, Any]]:
    """The three projects as POST /api/v1/point-projects bodies, given the facilities' ids by position.

    Per project: its first 3 facilities host a demonstration model (1,000 M programme + 2,400 M counterpart),
    the others receive advanced machinery (250–300 M programme, four times that as counterpart), plus a workshop and a skills course for
    the whole project; the last activity's counterpart takes the rounding so the funds total the review's."""
    fac = facilities()
    bodies: list[dict[str, Any]] = []
    running = 0
    for p in PROJECTS:
        acts: list[dict[str, Any]] = []
        mine = [(i, f) for i, f in enumerate(fac) if f["_project"] == p["code"]]
        for j, (i, _f) in enumerate(mine):
            if j < p["models"]:
                acts.append({"kind": "demonstration_model", "facility_id": facility_ids[i],
                             "programme_vnd": 1_000_000_000, "counterpart_vnd": 2_400_000_000})  # fmt: skip
            else:
                prog = 250_000_000 + (i * 13 % 6) * 10_000_000
                acts.append({"kind": "advanced_machinery", "facility_id": facility_ids[i], "programme_vnd": prog,
                             "counterpart_vnd": prog * 4})  # fmt: skip
        acts.append(
            {"kind": "workshop", "programme_vnd": 150_000_000, "counterpart_vnd": 0, "participants": 120}
        )
        acts.append(
            {"kind": "training", "programme_vnd": 200_000_000, "counterpart_vnd": 0, "participants": 30}
        )
        running += sum(a["programme_vnd"] + a["counterpart_vnd"] for a in acts)
        provinces = sorted({resolve_province(x) for x in p["provinces"]})  # type: ignore[type-var]
        bodies.append({"code": p["code"], "title": p["title"], "sector": p["sector"], "provinces": provinces,
                       "start_year": p["start_year"], "end_year": p["end_year"],
                       "implementing_unit": p["implementing_unit"], "activities": acts})  # fmt: skip
    rest = TOTAL_FUNDS_VND - running
    assert rest >= 0, rest
    bodies[-1]["activities"][-3]["counterpart_vnd"] += rest  # the last facility activity's counterpart
    return bodies


def results(facility_ids: dict[int, str]) -> list[dict[str, Any]]:
    """Completion results for every facility, as answers to project-results (jobs total 1,055, 80 trained)."""
    fac = facilities()
    out: list[dict[str, Any]] = []
    base_jobs, extra_jobs = divmod(JOBS, len(fac))  # 16 each, one more for the first 47
    base_trained, extra_trained = divmod(TRAINED, len(fac))  # 1 each, one more for the first 17
    for i, f in enumerate(fac):
        jobs = base_jobs + (i < extra_jobs)
        trained = base_trained + (i < extra_trained)
        out.append({"facility_id": facility_ids[i], "answers": {
            "respondent_name": "Nguyễn Văn Bình", "respondent_position": "Chủ cơ sở", "respondent_phone": "0912345678",
            "point_project_code": f["_project"], "stage": "completion", "workers_total": f["employees"] + jobs,
            "jobs_created": jobs, "jobs_created_women": jobs // 2, "workers_trained": trained,
            "revenue_last_year_vnd": f["annual_revenue_vnd"], "demonstration_sessions": 4 if i % 21 < 3 else 0,
            "demonstration_visitors": 150 if i % 21 < 3 else 0, "establishments_adopting": 2 if i % 21 < 3 else 0}})  # fmt: skip
    assert sum(r["answers"]["jobs_created"] for r in out) == JOBS
    assert sum(r["answers"]["workers_trained"] for r in out) == TRAINED
    return out
