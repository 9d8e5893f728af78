"""Small data factories for tests."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from app.questionnaires.definition import Definition
from app.questionnaires.validator import AnswerValidator, compile_condition

# An answer for each `pattern` the questionnaires use (a new pattern needs its example here).
PATTERN_EXAMPLES = ("https://coso.example.vn", "0912345678", "0101234567", "coso@example.vn", "2026")


def pattern_example(pattern: str) -> str:
    found = next((x for x in PATTERN_EXAMPLES if re.search(pattern, x)), None)
    assert found is not None, f"tests/factories.py: add an answer matching {pattern!r} to PATTERN_EXAMPLES"
    return found


def valid_answers(
    d: Definition, seed: int = 0, *, fill: float = 0.8, fixed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A random answer set that satisfies the definition (relevance followed in order, and its checks across
    answers: a part above its total lowered to it, else drawn again from seeds derived from `seed`); `fixed`
    answers are given as written where their question is relevant (None: left unanswered)."""
    out = _draw_answers(d, random.Random(seed), fill, fixed)
    if not d.checks:
        return out
    validator = AnswerValidator(d)
    fit_parts(d, out, set(fixed or ()))
    first = out
    for attempt in range(1, 1000):
        if not validator.validate(out):
            return out
        out = _draw_answers(d, random.Random(f"{seed}:{attempt}"), fill, fixed)
    if fixed:
        return first  # the fixed answers themselves break a check: the caller asked for them
    raise AssertionError(f"tests/factories.py: no answers of {d.key} v{d.version} pass its checks")


def fit_parts(
    d: Definition, out: dict[str, Any], keep: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Make answers meet the definition's checks of the form "${a} <= ${b}" (a part within its total): the part
    lowered to the total, or the total raised to the part (never a question in `keep`)."""
    for c in d.checks:
        t = c.tree
        if t.op == "compare" and t.args[0] == "<=" and all(x.op == "ref" for x in t.args[1:]):
            a, b = t.args[1].args[0], t.args[2].args[0]
            if (
                isinstance(out.get(a), int | float)
                and isinstance(out.get(b), int | float)
                and out[a] > out[b]
            ):
                qa, qb = d.question(a), d.question(b)
                if a not in keep and qa is not None and (qa.min is None or out[b] >= qa.min):
                    out[a] = out[b]
                elif b not in keep and qb is not None and (qb.max is None or out[a] <= qb.max):
                    out[b] = out[a]
    return out


def _draw_answers(
    d: Definition, rnd: random.Random, fill: float, fixed: dict[str, Any] | None
) -> dict[str, Any]:
    types = {q.id: q.type for q in d.questions}
    out: dict[str, Any] = {}
    for q in d.questions:
        if q.relevant and not compile_condition(q.relevant, types)(out):
            continue
        if fixed and q.id in fixed:
            if fixed[q.id] is not None:
                out[q.id] = fixed[q.id]
            continue
        if not q.required and rnd.random() > fill:
            continue
        if q.type == "integer":
            lo, hi = int(q.min if q.min is not None else 0), int(q.max if q.max is not None else 1000)
            out[q.id] = rnd.randint(lo, min(hi, lo + 10**9))
        elif q.type == "decimal":
            lo, hi = float(q.min if q.min is not None else 0), float(q.max if q.max is not None else 1000)
            out[q.id] = round(rnd.uniform(lo, hi), 2)
        elif q.type == "boolean":
            out[q.id] = rnd.random() < 0.6
        elif q.type == "text":
            if q.pattern:  # an example of each pattern the questionnaires use
                out[q.id] = pattern_example(q.pattern)
            else:
                out[q.id] = "Sản phẩm " + str(rnd.randint(1, 99))
        elif q.type == "date":
            out[q.id] = f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        elif q.type == "select_one":
            out[q.id] = rnd.choice(q.choice_codes)
        elif q.type == "geopoint":
            point: dict[str, Any] = {
                "lat": round(rnd.uniform(8.5, 23.4), 6),
                "lon": round(rnd.uniform(102.1, 109.5), 6),
            }
            if rnd.random() < 0.5:
                point.update(alt=round(rnd.uniform(-5, 2500), 1), accuracy_m=round(rnd.uniform(0, 50), 1))
            out[q.id] = point
        elif q.type in ("image", "file"):
            out[q.id] = f"{q.id}-{rnd.randint(1, 10**12)}.{'jpg' if q.type == 'image' else 'pdf'}"
        elif q.exclusive_codes and (rnd.random() < 0.3 or len(q.exclusive_codes) == len(q.choices)):
            out[q.id] = [rnd.choice(q.exclusive_codes)]
        else:
            plain = [c for c in q.choice_codes if c not in q.exclusive_codes]
            out[q.id] = rnd.sample(plain, rnd.randint(1, len(plain)))
    return out


def facility_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Cơ sở chế biến cà phê Cầu Đất",
        "kind": "household_business",
        "sector": "agro_food_processing",
        "province_code": "68",
        "employees": 12,
        "annual_revenue_vnd": 2_500_000_000,
        "established_year": 2012,
    }
    body.update(over)
    return body


def response_body(facility_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "questionnaire": "loans",
        "version": 2,
        "facility_id": facility_id,
        "answers": {
            "needs_loan": True,
            "loan_amount_vnd": 500_000_000,
            "loan_purpose": ["machinery"],
            "has_collateral": False,
            "wants_interest_subsidy": True,
        },  # fmt: skip
        "collected_at": "2026-11-20T08:30:00+07:00",
        "location": {"lat": 11.94, "lon": 108.44, "accuracy_m": 12},
    }
    body.update(over)
    return body


RESULT_STAGES = ("baseline", "completion", "follow_up_12m")


def support(
    client: Any,
    headers: dict[str, str],
    facility_ids: list[str],
    provinces: list[str],
    code: str = "0912345678",
) -> str:
    """An approved point project supporting these facilities (headers: a key covering `provinces`), so that
    `project-results` answers naming `code` are stored for them; returns the code."""
    body = {"code": code, "title": {"vi": "Đề án thử nghiệm"}, "sector": "other", "provinces": provinces,
            "start_year": 2026, "end_year": 2027, "implementing_unit": "Trung tâm Khuyến công",
            "activities": [{"kind": "advanced_machinery", "facility_id": f, "programme_vnd": 1} for f in facility_ids]}  # fmt: skip
    r = client.post("/api/v1/point-projects", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert (
        client.post(
            f"/api/v1/point-projects/{code}/state", json={"state": "approved"}, headers=headers
        ).status_code
        == 200
    )
    return code
