"""Synthetic but plausible demo data: facilities over the 34 provinces and answers to every questionnaire.

Deterministic for a seed (with the same numpy release: numpy does not promise the same random stream across
releases). Amounts are log-normal and tied to the facility's size; needs are correlated (a loan is likelier
where needs are high, pollution urgency follows the sector); some facilities skip modules, some were
surveyed twice a year apart (the first time on the retired loans form), some responses were revised.
A questionnaire's current version took over from the one before it `SWITCH_DAYS` ago: older responses use
the earlier version. The technology questionnaire is newer still: its responses are all from that window.
The technology answers follow the facility's equipment level (old, manual workshops want new machinery more
often), investments are of the size the programme funds (hundreds of millions to several billion VND),
counterpart funds scale with the investment and the facility's means, workers by sex, rural and
ethnic-minority origin are counts of the facility's own workforce (women by sector, ethnic minorities by
province).

Speed: facilities and the shape of their surveys (which modules, when, which form version) are drawn one
by one with `random`; answers are then drawn column-wise with numpy, a chunk of responses and one
questionnaire version at a time, and assembled row by row following each definition's relevance rules.
Rows are built in stored form (JSON text, timestamps as stored) and inserted by a second thread
(`core.db.RowWriter`, multi-row statements) while the next ones are drawn. Demo responses never came
through the API, so their content_hash is a placeholder, not the hash of a request body.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import queue
import random
import re
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlmodel import Session

from app.core.db import RowWriter, row_writer
from app.models import Facility, FacilityRevision, Response, ResponseRevision
from app.places.service import fold, provinces
from app.prioritisation import projection
from app.questionnaires.definition import Definition, Question
from app.questionnaires.registry import Registry

SECTORS = [("agro_food_processing", 0.38), ("handicrafts", 0.2), ("textiles_garments", 0.14),
           ("mechanical_engineering", 0.12), ("building_materials", 0.08), ("other", 0.08)]  # fmt: skip
KINDS = [("household_business", 0.55), ("cooperative", 0.15), ("cooperative_group", 0.1), ("enterprise", 0.2)]
PRODUCTS = {
    "agro_food_processing": ["cà phê", "chè", "bún khô", "nước mắm", "mật ong", "hạt điều", "miến dong", "rượu cần"],
    "handicrafts": ["mây tre đan", "gốm", "thổ cẩm", "sơn mài", "chiếu cói", "đồ gỗ mỹ nghệ"],
    "textiles_garments": ["may mặc", "dệt lụa", "thêu ren", "dệt thổ cẩm"],
    "mechanical_engineering": ["cơ khí nông cụ", "rèn", "sửa chữa máy nông nghiệp", "đúc đồng"],
    "building_materials": ["gạch không nung", "đá mỹ nghệ", "ngói"],
    "other": ["giấy dó", "hương trầm", "đồ chơi gỗ"],
}  # fmt: skip
SECTOR_INDEX = {s: i for i, (s, _) in enumerate(SECTORS)}
PREFIX = {
    "household_business": "Cơ sở",
    "cooperative": "HTX",
    "cooperative_group": "Tổ hợp tác",
    "enterprise": "Công ty TNHH",
}
BRANDS = ["Hưng Phát", "Thành Công", "Bình An", "Tân Tiến", "Phú Quý", "Đại Lộc", "Minh Châu"]
NOTES = ["Cần hỗ trợ sớm", "Đề nghị ưu tiên", "Không", "Đang mở rộng sản xuất"]
PROGRAMMES = ["khuyến công quốc gia", "khuyến công địa phương"]
BATCH = 5000  # facilities drawn and written per round; responses answered 4 × BATCH at a time
SWITCH_DAYS = (
    120  # the current versions replaced the earlier ones this long ago (the technology one began then)
)
NEW_KEYS = ("technology-demonstration",)
# Share of women in the workforce by sector (SECTORS order), and of ethnic-minority workers by province:
# rough demo figures (mountainous northern and Central Highlands provinces high), not statistics.
FEMALE = (0.5, 0.6, 0.75, 0.15, 0.25, 0.45)
ETHNIC = {"04": 0.9, "08": 0.75, "11": 0.8, "12": 0.85, "14": 0.8, "15": 0.55, "19": 0.3, "20": 0.8, "22": 0.1,
          "24": 0.07, "25": 0.2, "38": 0.15, "40": 0.12, "44": 0.08, "51": 0.25, "52": 0.3, "56": 0.1, "66": 0.25,
          "68": 0.2, "82": 0.01, "86": 0.1, "91": 0.08, "92": 0.12, "96": 0.04}  # fmt: skip
CITIES = ("01", "31", "46", "48", "79", "92")
SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Vũ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Lò",
    "Hà",
    "Nông",
]
GIVEN = ["Văn An", "Thị Bình", "Văn Cường", "Thị Dung", "Minh Đức", "Thị Hoa", "Văn Hùng", "Thị Lan", "Quốc Long",
         "Thị Mai", "Văn Nam", "Thị Oanh", "Hữu Phúc", "Thị Quyên", "Văn Sơn", "Thị Thu", "Đức Trung", "Thị Yến"]  # fmt: skip
POSITIONS = {"household_business": ["Chủ hộ kinh doanh", "Thành viên hộ kinh doanh"],
             "cooperative": ["Giám đốc hợp tác xã", "Phó Giám đốc hợp tác xã", "Kế toán hợp tác xã"],
             "cooperative_group": ["Tổ trưởng tổ hợp tác", "Thành viên tổ hợp tác"],
             "enterprise": ["Giám đốc", "Phó Giám đốc", "Kế toán trưởng", "Quản đốc phân xưởng"]}  # fmt: skip
KIND_INDEX = {k: i for i, k in enumerate(POSITIONS)}
POSITIONS_BY_INDEX = list(POSITIONS.values())


def _lognormal(rnd: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rnd.gauss(0, sigma))


class _Traits:
    """Per answer row: the traits of the facility it describes (numpy columns).

    need, dirty, wealth (0.2-1.5), revenue, enterprise, sector, employees, tech (0 manual and old .. 1 modern),
    women's share, ethnic-minority share, rural share, kind."""

    WIDTH = 12

    def __init__(self, rows: Sequence[tuple[float, ...]]) -> None:
        cols = np.array(rows, dtype=float).reshape(-1, self.WIDTH)
        self.need, self.dirty, self.wealth, self.revenue = cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3]
        self.enterprise = cols[:, 4] > 0.5
        self.sector = cols[:, 5].astype(np.int64)
        self.employees, self.tech = cols[:, 6].astype(np.int64), cols[:, 7]
        self.female, self.ethnic, self.rural = cols[:, 8], cols[:, 9], cols[:, 10]
        self.kind = cols[:, 11].astype(np.int64)
        self.n = len(cols)


OWN_FUNDS = ("counterpart_funds_vnd", "investment_own_funds_vnd")  # loans v3, v4 (same meaning, renamed)


class _AnswerDrawer:
    """Answers for many responses to one questionnaire version at once, following its relevance and bounds."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def draw(self, d: Definition, g: np.random.Generator, t: _Traits) -> list[dict[str, Any]]:
        """Column by column: each question's values for every row, then where it is answered (kept and
        relevant, relevance evaluated on the earlier columns as masks), then the rows filled column-wise, so
        each row's keys follow the definition's order."""
        n = t.n
        types = {q.id: q.type for q in d.questions}
        answered: dict[str, np.ndarray] = {}
        columns: dict[str, list[Any]] = {}
        drawn: dict[str, np.ndarray] = {}  # earlier numeric columns, for answers that depend on them
        for q in d.questions:
            kept = (
                np.ones(n, dtype=bool) if q.required else g.random(n) >= 0.25
            )  # optional: 1 in 4 left blank
            values = self._special(d.key, q, g, t, drawn)
            if values is None:
                values = self._generic(q, g, n)
            answered[q.id] = (
                kept & self._holds(q.relevant, answered, columns, types, n) if q.relevant else kept
            )
            columns[q.id] = values
        out: list[dict[str, Any]] = [{} for _ in range(n)]
        for qid, values in columns.items():
            for r in np.flatnonzero(answered[qid]).tolist():
                out[r][qid] = values[r]
        if d.checks:
            self._within_checks(d, out)
        return out

    def _within_checks(self, d: Definition, rows: list[dict[str, Any]]) -> None:
        """Answers a version's checks refuse, made consistent: a part above its total (`${a} <= ${b}`) raises
        the total (within its bounds) or is lowered to it; a severity the sources contradict is low."""
        validator = self.registry.validator(d)
        for row in rows:
            for c in d.checks:
                t = c.tree
                if t.op == "compare" and t.args[0] == "<=" and all(x.op == "ref" for x in t.args[1:]):
                    a, b = t.args[1].args[0], t.args[2].args[0]
                    if (
                        isinstance(row.get(a), int | float)
                        and isinstance(row.get(b), int | float)
                        and row[a] > row[b]
                    ):
                        qb = d.question(b)
                        if qb is not None and (qb.max is None or row[a] <= qb.max):
                            row[b] = row[a]
                        else:
                            row[a] = row[b]
                elif c.id == "severity_needs_a_source" and row.get("pollution_sources") == ["none"]:
                    row["severity"] = row["severity"] if row.get("severity") in ("none", "low") else "low"
            assert not validator.validate(row), (d.key, d.version, validator.validate(row))

    @classmethod
    def _holds(
        cls, cond: dict[str, Any], answered: dict[str, np.ndarray], columns: dict[str, list[Any]],
        types: dict[str, str], n: int,
    ) -> np.ndarray:  # fmt: skip
        """Where a relevance condition holds, row by row (the validator's semantics: false on an unanswered
        question; for select_multiple, equals/in mean "includes")."""
        if "all" in cond or "any" in cond:
            parts = [
                cls._holds(c, answered, columns, types, n) for c in cond["all" if "all" in cond else "any"]
            ]
            return np.logical_and.reduce(parts) if "all" in cond else np.logical_or.reduce(parts)
        qid = cond["question"]
        base, values = answered[qid], columns[qid]
        if "equals" in cond or "in" in cond:
            wanted = set(cond["in"]) if "in" in cond else {cond["equals"]}
            if types[qid] == "select_multiple":
                hit = (not wanted.isdisjoint(v) for v in values)
            else:
                hit = (v in wanted for v in values)
            return base & np.fromiter(hit, dtype=bool, count=n)
        op = next(k for k in ("gt", "gte", "lt", "lte") if k in cond)
        x = np.array(values, dtype=float)
        cmp = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}[op]
        return base & cmp(x, float(cond[op]))

    @staticmethod
    def _number(q: Question, v: np.ndarray) -> list[Any]:
        lo = q.min if q.min is not None else 0
        hi = q.max if q.max is not None else 10**12
        v = np.clip(v, lo, hi)
        return np.rint(v).astype(np.int64).tolist() if q.type == "integer" else np.round(v, 2).tolist()

    def _special(
        self, key: str, q: Question, g: np.random.Generator, t: _Traits, drawn: dict[str, np.ndarray]
    ) -> list[Any] | None:
        n, qid = t.n, q.id

        def lognormal(median: np.ndarray, sigma: float) -> np.ndarray:
            return median * np.exp(g.normal(0.0, sigma, n))

        def keep(values: np.ndarray) -> list[Any]:  # a numeric column later answers depend on
            out = self._number(q, values)
            drawn[qid] = np.asarray(out, dtype=float)
            return out

        if key == "technology-demonstration":
            tech = self._technology(q, g, t, drawn, lognormal, keep)
            if tech is not None:
                return tech
        people = self._people(key, q, g, t, keep)
        if people is not None:
            return people
        # loans v3 asks everyone for the plan and the counterpart funds first: the loan covers the rest
        planned = drawn.get("planned_investment_vnd")
        funds = drawn.get("counterpart_funds_vnd", drawn.get("investment_own_funds_vnd"))  # v4 renamed it
        if qid == "needs_loan" and planned is not None and funds is not None:
            gap = planned - funds
            return ((gap > 0) & (g.random(n) < 0.85) | (g.random(n) < 0.05)).tolist()
        if qid == "needs_loan":
            return (g.random(n) < 0.35 + 0.4 * t.need).tolist()
        if qid == "loan_amount_vnd" and planned is not None and funds is not None:
            gap = planned - funds
            return self._number(
                q, np.where(gap > 0, gap * g.uniform(0.5, 1.0, n), lognormal(0.3 * t.revenue, 0.8))
            )
        if qid == "loan_amount_vnd":
            return self._number(q, lognormal(0.3 * t.revenue, 0.8))
        if qid in OWN_FUNDS and planned is not None:  # a share of the plan, by the facility's means
            return keep(planned * np.clip(g.beta(2, 5, n) * t.wealth, 0, 1))
        if qid in OWN_FUNDS:
            return self._number(q, lognormal(0.1 * t.revenue, 0.9) * t.wealth)
        if qid == "planned_investment_vnd":  # asked of everyone in v3, where some plan nothing (0)
            plans = g.random(n) < (0.45 + 0.4 * t.need if q.relevant is None else 1.0)
            return keep(np.where(plans, 100_000_000 + lognormal(0.5 * t.revenue, 0.6), 0.0))
        if qid == "trademark_status":
            u = g.random(n) / np.where(t.enterprise, 1.8, 1.0) / (0.5 + t.wealth)
            return np.where(u < 0.3, "granted", np.where(u < 0.45, "filed", "not_filed")).tolist()
        if qid == "has_brand_identity":
            return (g.random(n) < np.where(t.enterprise, 0.55, 0.12)).tolist()
        if qid == "environmental_procedure":
            u = g.random(n)
            permit = np.where(t.enterprise, 0.35, 0.05) * (0.5 + t.dirty)
            codes = np.where(u < permit, "permit", np.where(u < permit + 0.45, "registration",
                                                              np.where(u < permit + 0.8, "exempt", "unknown")))  # fmt: skip
            return codes.tolist()
        if qid == "investment_needed_vnd":  # a treatment system: from about a hundred million VND
            return self._number(q, 80_000_000 + lognormal(0.25 * t.revenue, 0.6))
        if qid == "annual_output_value_vnd":
            return self._number(q, lognormal(0.9 * t.revenue, 0.2))
        if qid == "severity":  # none / low / medium / high with weights 1-d, .5d, .3d, .2d
            u, d = g.random(n), t.dirty
            level = (u >= 1 - d).astype(int) + (u >= 1 - 0.5 * d) + (u >= 1 - 0.2 * d)
            names = ("none", "low", "medium", "high")
            return [names[i] for i in level.tolist()]
        if qid == "needs_treatment_investment":
            return (g.random(n) < 0.2 + 0.6 * t.dirty).tolist()
        if qid in ("needs_trade_promotion", "needs_packaging_support", "needs_digital_support"):
            return (g.random(n) < 0.3 + 0.5 * t.need).tolist()
        if qid == "has_website":
            return (g.random(n) < np.where(t.enterprise, 0.6, 0.12)).tolist()
        if qid == "main_products":  # two different products of the facility's sector
            lists = [PRODUCTS[s] for s, _ in SECTORS]
            u1, u2 = g.random(n).tolist(), g.random(n).tolist()
            out = []
            for s, a, b in zip(t.sector.tolist(), u1, u2, strict=True):
                items = lists[s]
                i = int(a * len(items))
                j = (i + 1 + int(b * (len(items) - 1))) % len(items)
                out.append(f"{items[i]}, {items[j]}")
            return out
        return None

    def _technology(self, q, g, t, drawn, lognormal, keep) -> list[Any] | None:  # type: ignore[no-untyped-def]
        """technology-demonstration answers, tied to the facility's equipment level (t.tech) and means."""
        n, qid, old = t.n, q.id, 1.0 - t.tech
        if qid == "equipment_age_years":
            return keep(lognormal(2.0 + 14.0 * old, 0.45))
        if qid == "mechanisation_level":  # manual .. automated, by equipment level
            level = np.clip(np.floor(t.tech * 3.6 + g.normal(0, 0.5, n)), 0, 3).astype(int)
            names = ("manual", "semi_mechanised", "mechanised", "automated")
            return [names[i] for i in level.tolist()]
        if qid == "needs_upgrade":  # old, manual workshops want new machinery more often
            return (g.random(n) < 0.1 + 0.65 * old + 0.15 * t.need).tolist()
        if qid == "upgrade_kind":
            line = g.random(n) < np.where(t.enterprise, 0.35, 0.1)
            first = np.where(
                line, "production_line", np.where(g.random(n) < 0.6, "replace_machine", "mechanise_stage")
            )
            extra = g.random(n) < 0.35
            other = np.array(["technology_transfer", "cleaner_production", "quality_testing"])[
                g.integers(0, 3, n)
            ]
            return [
                [a, b] if x else [a]
                for a, b, x in zip(first.tolist(), other.tolist(), extra.tolist(), strict=True)
            ]
        if qid == "upgrade_cost_vnd":  # larger for bigger, older workshops; a machine worth funding costs
            # hundreds of millions at least, an enterprise's line several billion VND
            return keep(120_000_000 + lognormal(0.45 * t.revenue * (0.6 + old), 0.6))
        if qid == "expected_capacity_gain_pct":
            return keep(np.clip(g.normal(10 + 50 * old, 12, n), 0, None))
        if qid == "jobs_kept":
            return keep(np.floor(t.employees * g.uniform(0.3, 1.0, n)))
        if qid == "jobs_added":
            return keep(g.poisson(0.5 + 0.2 * t.employees * old))
        if qid == "counterpart_funds_vnd":  # a share of the upgrade, larger where the facility has means
            share = np.clip(g.beta(2, 4, n) * t.wealth, 0, 0.9)  # never more than the upgrade itself
            return keep(drawn.get("upgrade_cost_vnd", lognormal(0.35 * t.revenue, 0.8)) * share)
        if qid == "hosts_demonstration":  # larger, better-equipped workshops are likelier hosts
            return (g.random(n) < 0.08 + 0.35 * np.minimum(1.0, t.employees / 40) + 0.15 * t.tech).tolist()
        if qid == "visitors_per_session":
            return keep(lognormal(10 + 0.5 * t.employees, 0.5))
        if qid == "sessions_per_year":
            return keep(g.integers(1, 13, n).astype(float))
        if qid == "needs_training":
            return (g.random(n) < 0.3 + 0.3 * t.need + 0.2 * old).tolist()
        if qid == "trainees":
            return keep(1 + g.binomial(np.maximum(t.employees - 1, 0), 0.5))
        if (
            qid == "certifications"
        ):  # household businesses mostly have none; food processors HACCP / food safety
            none = g.random(n) < np.where(t.enterprise, 0.3, 0.75)
            food = t.sector == SECTOR_INDEX["agro_food_processing"]
            first = np.where(food, np.where(g.random(n) < 0.5, "food_safety_eligible", "haccp"),
                             np.where(g.random(n) < 0.5, "iso_9001", "regulation_conformity"))  # fmt: skip
            second = np.array(["iso_9001", "standard_conformity", "iso_14001", "vietgap", "organic"])[
                g.integers(0, 5, n)
            ]
            both = (g.random(n) < 0.3) & (first != second)
            return [["none"] if z else [a, b] if x else [a]
                    for z, a, b, x in zip(none.tolist(), first.tolist(), second.tolist(), both.tolist(), strict=True)]  # fmt: skip
        if qid == "ocop_rating":
            u = g.random(n) * np.where(t.enterprise | (t.kind == KIND_INDEX["cooperative"]), 1.0, 1.6)
            return np.where(u < 0.12, "4", np.where(u < 0.15, "5", np.where(u < 0.3, "3", "none"))).tolist()
        if qid == "rural_product_award":
            u = g.random(n)
            return np.where(
                u < 0.01, "national", np.where(u < 0.04, "regional", np.where(u < 0.14, "provincial", "none"))
            ).tolist()
        return None

    def _people(self, key, q, g, t, keep) -> list[Any] | None:  # type: ignore[no-untyped-def]
        """Who answered, and the workforce counts (each a part of the facility's own workers)."""
        n, qid = t.n, q.id
        if qid == "respondent_name":
            s, gv = g.integers(0, len(SURNAMES), n).tolist(), g.integers(0, len(GIVEN), n).tolist()
            return [f"{SURNAMES[a]} {GIVEN[b]}" for a, b in zip(s, gv, strict=True)]
        if qid == "respondent_position":
            u = g.random(n).tolist()
            return [
                POSITIONS_BY_INDEX[k][int(x * len(POSITIONS_BY_INDEX[k]))]
                for k, x in zip(t.kind.tolist(), u, strict=True)
            ]
        if qid == "respondent_phone":
            return [f"09{v:08d}" for v in g.integers(0, 10**8, n).tolist()]
        if qid == "workers_total":
            return keep(t.employees.astype(float))
        if qid == "workers_female":
            return keep(g.binomial(t.employees, np.clip(t.female, 0, 1)).astype(float))
        if qid == "workers_rural":
            return keep(g.binomial(t.employees, np.clip(t.rural, 0, 1)).astype(float))
        if qid == "workers_ethnic_minority":
            return keep(g.binomial(t.employees, np.clip(t.ethnic, 0, 1)).astype(float))
        return None

    def _generic(self, q: Question, g: np.random.Generator, n: int) -> list[Any]:
        if q.type == "integer":
            lo, hi = int(q.min or 0), q.max if q.max is not None else 1000
            return g.integers(lo, int(min(hi, lo + 200)), endpoint=True, size=n).tolist()
        if q.type == "decimal":
            lo_f, hi_f = float(q.min or 0), float(q.max if q.max is not None else 100)
            return np.round(g.uniform(lo_f, min(hi_f, lo_f + 100), n), 2).tolist()
        if q.type == "boolean":
            return (g.random(n) < 0.4).tolist()
        if q.type == "text":
            if q.pattern:  # a sample of each form the questionnaires ask for (a web address, a phone number)
                pattern = re.compile(q.pattern)
                sample = next((x for x in ("https://coso-demo.vn", "0912345678") if pattern.search(x)), None)
                if sample is not None:
                    return [sample] * n
            return [NOTES[i] for i in g.integers(0, len(NOTES), n).tolist()]
        if q.type == "date":
            months, days = g.integers(1, 13, n).tolist(), g.integers(1, 29, n).tolist()
            return [f"2026-{m:02d}-{day:02d}" for m, day in zip(months, days, strict=True)]
        if q.type == "geopoint":  # within Viet Nam's bounding box, as a phone reports it
            lat, lon = (
                np.round(g.uniform(8.6, 23.3, n), 6).tolist(),
                np.round(g.uniform(102.2, 109.4, n), 6).tolist(),
            )
            acc = np.round(g.uniform(3, 30, n), 1).tolist()
            return [{"lat": a, "lon": b, "accuracy_m": c} for a, b, c in zip(lat, lon, acc, strict=True)]
        if q.type in ("image", "file"):  # names only: demo responses have no attachment files
            ext = "jpg" if q.type == "image" else "pdf"
            return [f"{q.id}-{i}.{ext}" for i in g.integers(10**9, 10**12, n).tolist()]
        codes = q.choice_codes
        if q.type == "select_one":
            return [codes[i] for i in g.integers(0, len(codes), n).tolist()]
        # select_multiple: 1 to 3 different codes in a random order, uniform over the ordered choices of each size
        # (one flat table of every ordered choice; rows share its lists, which are serialised, never changed)
        # an exclusive choice ("none") is only ever ticked alone
        excl = set(q.exclusive_codes)
        perms = [
            [list(p) for p in itertools.permutations(codes, m) if m == 1 or not excl.intersection(p)]
            for m in range(1, min(3, len(codes)) + 1)
        ]
        perms = [ps for ps in perms if ps]
        table = [p for ps in perms for p in ps]
        counts = np.array([len(ps) for ps in perms])
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        size = g.integers(0, len(perms), size=n)
        pick = offsets[size] + (g.random(n) * counts[size]).astype(np.int64)
        return [table[i] for i in pick.tolist()]


class _Sink:
    """A thread that writes the rows it is given, in order, while the caller draws the next ones.

    The database connection is used by this thread only until close() returns (the caller does not touch
    it meanwhile); the driver releases the GIL while SQLite works, so drawing and writing overlap.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._queue: queue.Queue[tuple[RowWriter, list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="demo-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (task := self._queue.get()) is not None:
            if self._error is None:
                try:
                    task[0].insert(self.conn, task[1])
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller by put() / close()
                    self._error = exc

    def put(self, writer: RowWriter, rows: list[tuple[Any, ...]]) -> None:
        if self._error is not None:
            self.close()
        self._queue.put((writer, rows))

    def close(self) -> None:
        """Wait until everything given is written; raise what the writer hit, if anything."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


def _uuid4(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)) without the object."""
    bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid7(when: datetime, bits: int) -> str:
    """A time-ordered UUID (version 7, RFC 9562) for `when` (naive UTC): ids then sort in receive order,
    as a client using UUIDv7 would send them, and the unique index on response ids grows at its end."""
    ms = (when - _EPOCH) // _MS
    value = ms << 80 | 7 << 76 | (bits >> 62 & 0xFFF) << 64 | 0b10 << 62 | bits & (1 << 62) - 1
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_EPOCH, _MS = datetime(1970, 1, 1), timedelta(milliseconds=1)


def _sqlite_time(v: datetime) -> str:
    """The text SQLAlchemy stores for a (naive UTC) datetime on SQLite: fixed width, microseconds always written."""
    text = v.isoformat(" ")
    return text if v.microsecond else text + ".000000"


def _pg_time(v: datetime) -> datetime:
    return v.replace(tzinfo=UTC)


FACILITY_COLS = ("id", "name", "search_text", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code",
                 "address", "employees", "annual_revenue_vnd", "established_year", "prior_support", "prior_support_count",
                 "last_support_year", "location", "revision", "created_at", "updated_at", "created_by")  # fmt: skip
SNAPSHOT_COLS = ("name", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code", "address", "employees",
                 "annual_revenue_vnd", "established_year", "prior_support", "prior_support_count", "last_support_year",
                 "location")  # fmt: skip
FREV_COLS = ("facility_id", "revision", "data", "changed_at", "changed_by")
RESPONSE_COLS = ("id", "questionnaire", "version", "facility_id", "province_code", "submitted_by", "received_at",
                 "content_hash", "current_revision", "channel")  # fmt: skip
REVISION_COLS = ("response_id", "revision", "answers", "collected_at", "collected_offset_min", "location",
                 "received_at", "submitted_by")  # fmt: skip


def generate(
    *, session: Session, registry: Registry, facilities: int, seed: int = 1, now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Write `facilities` facilities and their responses; returns the counts written."""
    # Millions of short-lived rows and no reference cycles: the cyclic collector would rescan every live
    # row again and again as the lists grow. Reference counting frees everything; collection resumes after.
    paused = gc.isenabled()
    gc.disable()
    # The writer thread wants the GIL back after each statement; with the default 5 ms switch interval it
    # would wait that long behind the drawing thread every time.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    sink = _Sink(session.connection())  # rows are written by another thread while the next ones are drawn
    try:
        return _generate(session, registry, facilities, seed, now, progress, sink)
    finally:
        try:
            sink.close()  # never leave the writer using the connection while the caller rolls back
        finally:
            sys.setswitchinterval(interval)
            if paused:
                gc.enable()


def _generate(
    session: Session, registry: Registry, facilities: int, seed: int, now: datetime | None,
    progress: Callable[[int], None] | None, sink: _Sink,
) -> dict[str, int]:  # fmt: skip
    rnd = random.Random(seed)
    g = np.random.default_rng(rnd.getrandbits(64))
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)  # naive UTC inside
    codes = list(provinces())
    # Provinces are unevenly industrialised: some get many more establishments.
    province_cum = list(itertools.accumulate(rnd.uniform(0.3, 3.0) for _ in codes))
    kinds, kind_cum = [k for k, _ in KINDS], list(itertools.accumulate(w for _, w in KINDS))
    sectors, sector_cum = [k for k, _ in SECTORS], list(itertools.accumulate(w for _, w in SECTORS))
    drawer = _AnswerDrawer(registry)
    keys = registry.keys
    current = {k: (registry.latest_published(k) or registry.versions(k)[-1]).version for k in keys}
    # The version before the current one, for responses collected before the switch (None: no earlier one).
    earlier = {k: max((d.version for d in registry.versions(k) if d.version < current[k] and d.status != "draft"),
                      default=None) for k in keys}  # fmt: skip
    conn = session.connection()
    if conn.dialect.name == "sqlite":  # a bigger page cache for this load: index pages stay in memory
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    tm = _pg_time if conn.dialect.name == "postgresql" else _sqlite_time
    # Rows are built here already in stored form (JSON text, `tm` times), so the writers only insert them.
    write_facilities = row_writer(Facility.__table__, FACILITY_COLS, conn.dialect)  # type: ignore[attr-defined]
    write_frevs = row_writer(FacilityRevision.__table__, FREV_COLS, conn.dialect)  # type: ignore[attr-defined]
    write_heads = row_writer(Response.__table__, RESPONSE_COLS, conn.dialect)  # type: ignore[attr-defined]
    write_revs = row_writer(ResponseRevision.__table__, REVISION_COLS, conn.dialect)  # type: ignore[attr-defined]
    # A head row, then (collected, revised, traits) for drawing its answers later.
    slots: list[tuple[tuple[Any, ...], Any, Any, tuple[Any, ...]]] = []
    revision_count = 0
    null = json.dumps(None)
    dumps = json.JSONEncoder(separators=(",", ":")).encode  # compact: fewer bytes to write
    hour, day = timedelta(hours=1), timedelta(days=1)
    folded: dict[str, str] = {}  # fold() of each name stem; the number and tax code need no folding

    for start in range(0, facilities, BATCH):
        facility_rows, frev_rows = [], []
        for i in range(start, min(start + BATCH, facilities)):
            kind = rnd.choices(kinds, cum_weights=kind_cum)[0]
            sector = rnd.choices(sectors, cum_weights=sector_cum)[0]
            province = rnd.choices(codes, cum_weights=province_cum)[0]
            employees = max(1, int(_lognormal(rnd, 40 if kind == "enterprise" else 8, 0.7)))
            revenue = int(employees * _lognormal(rnd, 180_000_000, 0.5))
            created = now - day * (200 + 700 * rnd.random())
            first_collectable = created + hour
            supports: list[dict[str, Any]] = [{"year": rnd.randint(2015, 2025), "programme": rnd.choice(PROGRAMMES), "amount_vnd": rnd.randint(1, 30) * 50_000_000}
                        for _ in range(rnd.choices((0, 1, 2), cum_weights=(0.75, 0.95, 1.0))[0])]  # fmt: skip
            stem = f"{PREFIX[kind]} {rnd.choice(PRODUCTS[sector])} {rnd.choice(BRANDS)}"
            if stem not in folded:
                folded[stem] = fold(stem)
            name = f"{stem} {i + 1}"
            fid = _uuid4(rnd.getrandbits(128))
            tax_code = f"{seed % 90 + 10}{i:08d}" if kind in ("enterprise", "cooperative") else None
            search_text = f"{folded[stem]} {i + 1} {tax_code}" if tax_code else f"{folded[stem]} {i + 1}"
            f: dict[str, Any] = {
                "id": fid, "name": name, "search_text": search_text, "tax_code": tax_code,
                "kind": kind, "sector": sector, "vsic_code": None, "province_code": province, "ward_code": None, "address": None,
                "employees": employees, "annual_revenue_vnd": revenue, "established_year": rnd.randint(1990, 2024),
                "prior_support": supports, "prior_support_count": len(supports),
                "last_support_year": max((int(s["year"]) for s in supports), default=None), "location": None, "revision": 1,
            }  # fmt: skip
            snapshot = dumps({c: f[c] for c in SNAPSHOT_COLS})
            f.update(prior_support=dumps(supports), location=null, created_at=tm(created), updated_at=tm(created),
                     created_by="demo-data")  # fmt: skip
            facility_rows.append(tuple(f[c] for c in FACILITY_COLS))
            frev_rows.append((fid, 1, snapshot, f["created_at"], "demo-data"))
            wealth = 0.2 + 1.3 * rnd.random()
            tech = min(1.0, rnd.random() * (1.25 if kind == "enterprise" else 0.85) * (0.7 + 0.3 * wealth))
            traits = (rnd.random(), rnd.random() ** (0.7 if sector in ("agro_food_processing", "building_materials") else 1.5),
                      wealth, float(revenue or 1_000_000_000), kind == "enterprise", SECTOR_INDEX[sector], employees, tech,
                      FEMALE[SECTOR_INDEX[sector]] + 0.15 * (rnd.random() - 0.5), ETHNIC.get(province, 0.02) * 1.5 * rnd.random(),
                      (0.5 if province in CITIES else 0.85) + 0.1 * (rnd.random() - 0.5), KIND_INDEX[kind])  # fmt: skip
            for key in keys:
                if rnd.random() < 0.12:  # some modules not surveyed
                    continue
                new = key in NEW_KEYS
                rounds = 2 if not new and rnd.random() < 0.1 else 1
                for r in range(rounds):
                    ago = (SWITCH_DAYS if new else 170) * rnd.random() + (
                        365 if r == 0 and rounds == 2 else 0
                    )
                    collected = now - day * ago
                    before = earlier[key]
                    version = (
                        before if ago > SWITCH_DAYS and before is not None else current[key]
                    )  # the form then
                    if key == "loans" and (r == 0 and rounds == 2 or rnd.random() < 0.15):
                        version = 1  # surveyed with the first, long retired, loans form
                    if collected < first_collectable:
                        collected = first_collectable
                    received = collected + hour * (1 + 239 * rnd.random())
                    if received > now:
                        received = now
                    rid = _uuid7(received, rnd.getrandbits(128))
                    revised = (
                        min(now, received + day * (0.1 + 19.9 * rnd.random()))
                        if rnd.random() < 0.05
                        else None
                    )
                    head = (
                        rid,
                        key,
                        version,
                        fid,
                        province,
                        "demo-data",
                        tm(received),
                        rid.replace("-", "") * 2,
                        2 if revised else 1,
                        "field",
                    )  # fmt: skip  (the demo imitates officers' surveys)
                    slots.append((head, tm(collected), tm(revised) if revised else None, traits))
        sink.put(write_facilities, facility_rows)
        sink.put(write_frevs, frev_rows)
        if progress:
            progress(len(facility_rows))
    # Receive order is the listing order: heads go in sorted by the time they were received (their ids,
    # UUIDv7 of that time, then sort the same way, so every index on them grows at its end).
    slots.sort(key=lambda slot: (slot[0][6], slot[0][0]))
    for start in range(0, len(slots), BATCH * 4):
        sink.put(write_heads, [slot[0] for slot in slots[start : start + BATCH * 4]])
    # Answers, drawn a chunk of responses at a time (in receive order), per questionnaire version.
    for start in range(0, len(slots), BATCH * 4):
        groups: dict[tuple[str, int], tuple[list[Any], list[tuple[Any, ...]]]] = {}
        for head, collected_s, revised_s, traits in slots[start : start + BATCH * 4]:
            traits_rows, targets = groups.setdefault((head[1], head[2]), ([], []))
            traits_rows.append(traits)
            targets.append((head[0], 1, collected_s, head[6]))
            if revised_s is not None:
                traits_rows.append(traits)
                targets.append((head[0], 2, collected_s, revised_s))
        revisions: list[tuple[Any, ...]] = []
        for (key, version), (traits_rows, targets) in sorted(groups.items()):
            drawn = drawer.draw(registry.get(key, version), g, _Traits(traits_rows))
            revisions.extend((rid, rev, dumps(answers), collected_s, 420, null, received_s, "demo-data")
                             for (rid, rev, collected_s, received_s), answers in zip(targets, drawn, strict=True))  # fmt: skip
        revisions.sort()  # by (response id, revision): the unique index grows at its end
        revision_count += len(revisions)
        sink.put(write_revs, revisions)
    sink.close()
    projection.bulk_written(session)  # rows written around the write paths: the projection is recomputed
    return {"facilities": facilities, "responses": len(slots), "revisions": revision_count}
