"""Synthetic but plausible demo data: facilities over the 34 provinces and answers to every questionnaire.

Deterministic for a seed; written with bulk INSERTs (executemany) so that benchmarks can load 100k+ rows fast.
Amounts are log-normal and tied to the facility's size; needs are correlated (a loan is likelier where
pollution is worse or the workshop is small); some facilities skip modules, some were surveyed twice, some
responses were revised.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from app.models import Facility, FacilityRevision, Response, ResponseRevision
from app.places.service import fold, provinces
from app.questionnaires.registry import Registry
from app.questionnaires.validator import compile_condition

SECTORS = [("agro_food_processing", 0.38), ("handicrafts", 0.2), ("textiles_garments", 0.14),
           ("mechanical_engineering", 0.12), ("building_materials", 0.08), ("other", 0.08)]  # fmt: skip
KINDS = [("household_business", 0.55), ("cooperative", 0.15), ("cooperative_group", 0.1), ("enterprise", 0.2)]
PRODUCTS = {
    "agro_food_processing": [
        "cà phê",
        "chè",
        "bún khô",
        "nước mắm",
        "mật ong",
        "hạt điều",
        "miến dong",
        "rượu cần",
    ],
    "handicrafts": ["mây tre đan", "gốm", "thổ cẩm", "sơn mài", "chiếu cói", "đồ gỗ mỹ nghệ"],
    "textiles_garments": ["may mặc", "dệt lụa", "thêu ren", "dệt thổ cẩm"],
    "mechanical_engineering": ["cơ khí nông cụ", "rèn", "sửa chữa máy nông nghiệp", "đúc đồng"],
    "building_materials": ["gạch không nung", "đá mỹ nghệ", "ngói"],
    "other": ["giấy dó", "hương trầm", "đồ chơi gỗ"],
}
PREFIX = {
    "household_business": "Cơ sở",
    "cooperative": "HTX",
    "cooperative_group": "Tổ hợp tác",
    "enterprise": "Công ty TNHH",
}
BATCH = 5000


def _pick(rnd: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rnd.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def _lognormal(rnd: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rnd.gauss(0, sigma))


class _Answers:
    """Domain-aware answers that follow each definition's relevance and bounds."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.defs = {k: registry.latest_published(k) for k in registry.keys}
        self._plans: dict[tuple[str, int], list[tuple[Any, Any]]] = {}

    def make(
        self, key: str, version: int, rnd: random.Random, f: dict[str, Any], traits: dict[str, float]
    ) -> dict[str, Any]:
        plan = self._plans.get((key, version))
        if plan is None:
            d = self.registry.get(key, version)
            types = {q.id: q.type for q in d.questions}
            plan = self._plans[(key, version)] = [
                (q, compile_condition(q.relevant, types) if q.relevant else None) for q in d.questions
            ]
        out: dict[str, Any] = {}
        revenue = f["annual_revenue_vnd"] or 1_000_000_000
        for q, relevant in plan:
            if relevant is not None and not relevant(out):
                continue
            if not q.required and rnd.random() < 0.25:
                continue
            v = self._special(q.id, rnd, revenue, traits, f)
            if v is None:
                v = self._generic(q, rnd)
            if q.type in ("integer", "decimal"):
                lo = q.min if q.min is not None else 0
                hi = q.max if q.max is not None else 10**12
                v = min(max(v, lo), hi)
                v = int(round(v)) if q.type == "integer" else round(float(v), 2)
            out[q.id] = v
        return out

    @staticmethod
    def _special(qid: str, rnd: random.Random, revenue: float, t: dict[str, float], f: dict[str, Any]) -> Any:
        need = t["need"]
        if qid == "needs_loan":
            return rnd.random() < 0.35 + 0.4 * need
        if qid == "loan_amount_vnd":
            return _lognormal(rnd, 0.3 * revenue, 0.8)
        if qid == "counterpart_funds_vnd":
            return _lognormal(rnd, 0.1 * revenue, 0.9) * t["wealth"]
        if qid == "planned_investment_vnd":
            return _lognormal(rnd, 0.5 * revenue, 0.7)
        if qid == "severity":
            return rnd.choices(
                ["none", "low", "medium", "high"],
                [1 - t["dirty"], 0.5 * t["dirty"], 0.3 * t["dirty"], 0.2 * t["dirty"]],
            )[0]
        if qid == "needs_treatment_investment":
            return rnd.random() < 0.2 + 0.6 * t["dirty"]
        if qid == "investment_needed_vnd":
            return _lognormal(rnd, 0.2 * revenue, 0.8)
        if qid in ("needs_trade_promotion", "needs_packaging_support", "needs_digital_support"):
            return rnd.random() < 0.3 + 0.5 * need
        if qid == "has_website":
            return rnd.random() < (0.6 if f["kind"] == "enterprise" else 0.12)
        if qid == "main_products":
            return ", ".join(rnd.sample(PRODUCTS[f["sector"]], min(2, len(PRODUCTS[f["sector"]]))))
        if qid == "annual_output_value_vnd":
            return _lognormal(rnd, revenue * 0.9, 0.2)
        return None

    @staticmethod
    def _generic(q: Any, rnd: random.Random) -> Any:
        if q.type == "integer":
            lo, hi = (q.min or 0), (q.max if q.max is not None else 1000)
            return rnd.randint(int(lo), int(min(hi, lo + 200)))
        if q.type == "decimal":
            lo, hi = float(q.min or 0), float(q.max if q.max is not None else 100)
            return rnd.uniform(lo, min(hi, lo + 100))
        if q.type == "boolean":
            return rnd.random() < 0.4
        if q.type == "text":
            return (
                "https://coso-demo.vn"
                if q.pattern
                else rnd.choice(["Cần hỗ trợ sớm", "Đề nghị ưu tiên", "Không", "Đang mở rộng sản xuất"])
            )
        if q.type == "date":
            return f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        if q.type == "select_one":
            return rnd.choice(q.choice_codes)
        codes = list(q.choice_codes)
        return rnd.sample(codes, rnd.randint(1, min(3, len(codes))))


def generate(
    *, session: Session, registry: Registry, facilities: int, seed: int = 1, now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Write `facilities` facilities and their responses; returns the counts written."""
    rnd = random.Random(seed)
    now = now or datetime.now(UTC)
    codes = list(provinces())
    # Provinces are unevenly industrialised: some get many more establishments.
    pweights = [rnd.uniform(0.3, 3.0) for _ in codes]
    gen = _Answers(registry)
    keys = registry.keys
    facility_rows: list[dict[str, Any]] = []
    frev_rows: list[dict[str, Any]] = []
    resp: list[tuple[datetime, dict[str, Any], list[dict[str, Any]]]] = []
    counts = {"facilities": 0, "responses": 0, "revisions": 0}
    conn = session.connection()  # Core executemany: the ORM's per-row bookkeeping is not needed here

    def flush_facilities() -> None:
        if facility_rows:
            conn.execute(insert(Facility.__table__), facility_rows)  # type: ignore[attr-defined]
            conn.execute(insert(FacilityRevision.__table__), frev_rows)  # type: ignore[attr-defined]
            facility_rows.clear()
            frev_rows.clear()

    for i in range(facilities):
        kind, sector = _pick(rnd, KINDS), _pick(rnd, SECTORS)
        province = rnd.choices(codes, pweights)[0]
        employees = max(1, int(_lognormal(rnd, 40 if kind == "enterprise" else 8, 0.7)))
        revenue = int(employees * _lognormal(rnd, 180_000_000, 0.5))
        created = now - timedelta(days=rnd.uniform(200, 900))
        supports: list[dict[str, Any]] = [{"year": rnd.randint(2015, 2025), "programme": rnd.choice(["khuyến công quốc gia", "khuyến công địa phương"]),
                     "amount_vnd": rnd.randint(1, 30) * 50_000_000} for _ in range(rnd.choices([0, 1, 2], [0.75, 0.2, 0.05])[0])]  # fmt: skip
        product = rnd.choice(PRODUCTS[sector])
        name = f"{PREFIX[kind]} {product} {rnd.choice(['Hưng Phát', 'Thành Công', 'Bình An', 'Tân Tiến', 'Phú Quý', 'Đại Lộc', 'Minh Châu'])} {i + 1}"
        fid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        f = {
            "id": fid, "name": name, "kind": kind, "sector": sector, "province_code": province,
            "tax_code": f"{seed % 90 + 10}{i:08d}" if kind in ("enterprise", "cooperative") else None,
            "vsic_code": None, "ward_code": None, "address": None, "employees": employees, "annual_revenue_vnd": revenue,
            "established_year": rnd.randint(1990, 2024), "prior_support": supports, "prior_support_count": len(supports),
            "last_support_year": max((int(s["year"]) for s in supports), default=None), "location": None, "revision": 1,
            "created_at": created, "updated_at": created, "created_by": "demo-data",
        }  # fmt: skip
        f["search_text"] = fold(f"{name} {f['tax_code'] or ''}")
        facility_rows.append(f)
        snapshot = {k: f[k] for k in ("name", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code", "address", "employees",
                                      "annual_revenue_vnd", "established_year", "prior_support", "prior_support_count", "last_support_year", "location")}  # fmt: skip
        frev_rows.append(
            {
                "facility_id": fid,
                "revision": 1,
                "data": snapshot,
                "changed_at": created,
                "changed_by": "demo-data",
            }
        )
        traits = {"need": rnd.random(), "dirty": rnd.random() ** (0.7 if sector in ("agro_food_processing", "building_materials") else 1.5),
                  "wealth": rnd.uniform(0.2, 1.5)}  # fmt: skip
        for key in keys:
            if rnd.random() < 0.12:  # some modules not surveyed
                continue
            rounds = 2 if rnd.random() < 0.1 else 1
            for r in range(rounds):
                d = gen.defs[key] or registry.versions(key)[-1]
                version = d.version
                if key == "loans" and (r == 0 and rounds == 2 or rnd.random() < 0.15):
                    version = 1  # surveyed with the earlier, now retired, loans form
                collected = now - timedelta(days=rnd.uniform(0, 170) + (365 if r == 0 and rounds == 2 else 0))
                collected = max(collected, created + timedelta(hours=1))
                received = min(now, collected + timedelta(hours=rnd.uniform(1, 240)))
                rid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                answers = gen.make(key, version, rnd, f, traits)
                revs = [{"response_id": rid, "revision": 1, "answers": answers, "collected_at": collected, "collected_offset_min": 420,
                         "location": None, "received_at": received, "submitted_by": "demo-data"}]  # fmt: skip
                if rnd.random() < 0.05:
                    revised = min(now, received + timedelta(days=rnd.uniform(0.1, 20)))
                    revs.append(
                        {
                            **revs[0],
                            "revision": 2,
                            "answers": gen.make(key, version, rnd, f, traits),
                            "received_at": revised,
                        }
                    )
                head = {"id": rid, "questionnaire": key, "version": version, "facility_id": fid, "province_code": province,
                        "submitted_by": "demo-data", "received_at": received, "content_hash": rid.replace("-", "") * 2,
                        "current_revision": len(revs)}  # fmt: skip
                resp.append((received, head, revs))
        if len(facility_rows) >= BATCH:
            flush_facilities()
        if progress:
            progress(1)
    flush_facilities()
    counts["facilities"] = facilities
    # Receive order is the listing order: insert heads sorted by the time they were received.
    resp.sort(key=lambda t: (t[0], t[1]["id"]))
    for start in range(0, len(resp), BATCH):
        chunk = resp[start : start + BATCH]
        conn.execute(insert(Response.__table__), [h for _, h, _ in chunk])  # type: ignore[attr-defined]
        revs = [r for _, _, rs in chunk for r in rs]
        conn.execute(insert(ResponseRevision.__table__), revs)  # type: ignore[attr-defined]
        counts["responses"] += len(chunk)
        counts["revisions"] += len(revs)
    return counts
