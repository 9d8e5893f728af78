"""Scoring profiles: survey_schemas/scoring/<key>/v<N>.yaml, checked against the questionnaires at load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import NotFound
from app.core.jsonutil import sha256_of
from app.questionnaires.definition import COMPARATORS, KEY_RE, STATUSES, Problem, read_versioned
from app.questionnaires.registry import Registry

METHODS = ("weighted_sum", "topsis")
DIRECTIONS = ("benefit", "cost")
MISSING = ("worst", "zero", "exclude")
FACILITY_FIELDS = ("employees", "annual_revenue_vnd", "established_year", "prior_support_count",
                   "years_since_last_support", "province_prior_support_count")  # fmt: skip
NORMALISE = ("minmax", "rank", "log_minmax")
# Facility fields that are never negative (years_since_last_support is, for a support dated after as_of).
NON_NEGATIVE_FIELDS = ("employees", "annual_revenue_vnd", "established_year", "prior_support_count",
                       "province_prior_support_count")  # fmt: skip
CRITERION_KEYS = {"id", "source", "per", "direction", "weight", "missing", "map", "rationale", "normalise",
                  "applies_when", "label", "not_applicable", "not_asked", "combine"}  # fmt: skip
# Rankings: what each criterion did (v1.2). Where applies_when does not hold: share the weight among the
# facility's other criteria (`redistribute`, as before) or score the normalised value 0.5 at full weight.
NOT_APPLICABLE = ("redistribute", "neutral")
# Where the facility's questionnaire version has no such question: as the worst observed value, as 0, or 0.5
# normalised. Unset: as the criterion's `missing` policy (what profiles written before v1.2 do).
NOT_ASKED = ("worst", "zero", "neutral")
# Several sources: their sum (as before), or their mean over the sources that hold a value (`mean`: a module
# never surveyed is not counted as "no need").
COMBINE = ("sum", "mean")
# Every criterion state an explanation names.
STATES = ("value", "missing", "not_asked", "not_applicable", "stale")
LABEL_LANGS = ("vi", "en")
TOP_KEYS = {"key", "version", "status", "title", "description", "method", "max_age_days", "criteria",
            "support_cost", "default_selection"}  # fmt: skip
SUPPORT_COST_KEYS = {"source", "share", "cap_vnd", "floor_vnd", "rationale"}


@dataclass(frozen=True)
class Source:
    """`facility.<field>` or `<questionnaire>.<question id>`."""

    kind: str  # "facility" | "answer"
    questionnaire: str | None
    name: str

    @property
    def text(self) -> str:
        return f"{self.questionnaire or 'facility'}.{self.name}"


@dataclass(frozen=True)
class Condition:
    """`applies_when`: a leaf `{source, <op>: value}` or `all`/`any` of conditions.

    `kind` is the source's answer type (`boolean`, `select_one`, `select_multiple`, `number`): it says how
    a stored value compares (for select_multiple, equals/in mean "includes", as in questionnaire relevance).
    """

    op: str  # "all" | "any" | one of COMPARATORS
    source: Source | None = None
    value: Any = None
    kind: str = "number"
    parts: tuple[Condition, ...] = ()

    @property
    def sources(self) -> tuple[Source, ...]:
        if self.source is not None:
            return (self.source,)
        return tuple(s for p in self.parts for s in p.sources)


@dataclass(frozen=True)
class Criterion:
    id: str
    sources: tuple[Source, ...]  # summed when several
    direction: str
    weight: float  # normalised to sum to 1
    missing: str
    map: dict[str, float] | None = None
    per: Source | None = None
    rationale: str | dict[str, str] | None = field(default=None, compare=False)  # text, or {vi, en}
    normalise: str = "minmax"
    applies_when: Condition | None = None
    # What a person reads for the criterion, `{vi, en}` (optional; display only: not part of the profile's hash).
    label: dict[str, str] | None = field(default=None, compare=False)
    not_applicable: str = "redistribute"
    not_asked: str | None = None  # None: as `missing`
    combine: str = "sum"

    @property
    def not_asked_policy(self) -> str:
        """How a value whose question the facility's version never asked counts: `worst`, `zero`, `neutral`
        or (unset) the criterion's `missing` policy."""
        return self.not_asked or self.missing

    def rationale_in(self, lang: str) -> str | None:
        """The rationale in `lang` (`{vi, en}`), or the profile's single text."""
        if isinstance(self.rationale, dict):
            return self.rationale.get(lang) or self.rationale.get("en") or self.rationale.get("vi")
        return self.rationale

    @property
    def all_sources(self) -> tuple[Source, ...]:
        """Every source the criterion reads: summed values, divisor and the applies_when condition."""
        return (*self.sources, *([self.per] if self.per else []),
                *(self.applies_when.sources if self.applies_when else ()))  # fmt: skip


@dataclass(frozen=True)
class SupportRule:
    """One kind of support: min(cap, max(floor, share × source)) in whole VND, where `applies_when` holds."""

    source: Source
    share: float
    cap_vnd: int
    floor_vnd: int = 0
    applies_when: Condition | None = None
    id: str | None = None

    def of(self, value: float | None) -> float | None:
        if value is None:
            return None
        return float(round(min(self.cap_vnd, max(self.floor_vnd, self.share * value))))


@dataclass(frozen=True)
class SupportCost:
    """What the programme would pay a facility: the contract's single rule, or (an extension) a list of rules
    for different kinds of support, each with its own share and cap, the first whose applies_when holds."""

    rules: tuple[SupportRule, ...]
    raw: Any = field(compare=False, repr=False)

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(
            s for r in self.rules for s in (r.source, *(r.applies_when.sources if r.applies_when else ()))
        )

    @property
    def source_text(self) -> str:
        """The source the costs come from ("a; b" when rules read different ones)."""
        return "; ".join(dict.fromkeys(r.source.text for r in self.rules))


@dataclass(frozen=True)
class Profile:
    key: str
    version: int
    status: str
    method: str
    max_age_days: int | None
    criteria: tuple[Criterion, ...]
    raw: dict[str, Any] = field(compare=False, repr=False)
    source: str = ""
    support_cost: SupportCost | None = None

    @property
    def extended(self) -> bool:
        """Uses a key of "Scoring profiles, extended": only such profiles explain `normalise`, `applies` and
        `effective_weight`, so a profile written before them is explained byte for byte as it always was."""
        return "support_cost" in self.raw or any(
            isinstance(c, dict)
            and bool({"normalise", "applies_when", "not_applicable", "not_asked", "combine"} & set(c))
            for c in self.raw.get("criteria", [])
        )

    @property
    def default_selection(self) -> dict[str, Any] | None:
        """The profile's `default_selection` block as written (what a budgeted selection uses unless the
        request says otherwise)."""
        block = self.raw.get("default_selection")
        return block if isinstance(block, dict) else None

    @property
    def content_hash(self) -> str:
        """The hash of what decides a ranking. Criterion labels are display text, left out, so a label can be
        given to (or corrected in) a published profile without changing its hash: a profile without labels
        hashes exactly as it did before labels existed."""
        body = {k: v for k, v in self.raw.items() if k != "status"}
        if isinstance(body.get("criteria"), list):
            body["criteria"] = [{k: v for k, v in c.items() if k != "label"} if isinstance(c, dict) else c
                                for c in body["criteria"]]  # fmt: skip
        return sha256_of(body)

    @property
    def questionnaires(self) -> set[str]:
        out = set()
        for c in self.criteria:
            for s in c.all_sources:
                if s.questionnaire:
                    out.add(s.questionnaire)
        for src in self.support_cost.sources if self.support_cost else ():
            if src.questionnaire:
                out.add(src.questionnaire)
        return out


def parse_source(
    text: Any,
    registry: Registry,
    path: str,
    problems: list[Problem],
    file: str,
    *,
    mapped: bool,
    condition: bool = False,
) -> Source | None:
    """A numeric source (select_one with `mapped`); with `condition`, any answer a condition can compare."""
    if not isinstance(text, str) or "." not in text:
        problems.append(Problem(file, path, "must be 'questionnaire.question_id' or 'facility.<field>'"))
        return None
    head, name = text.split(".", 1)
    if head == "facility":
        if name not in FACILITY_FIELDS:
            problems.append(
                Problem(file, path, f"unknown facility field {name!r}; one of {', '.join(FACILITY_FIELDS)}")
            )
            return None
        return Source("facility", None, name)
    if head not in registry.keys:
        problems.append(
            Problem(file, path, f"unknown questionnaire {head!r}; one of {', '.join(registry.keys)}")
        )
        return None
    carriers = registry.questions_by_id(head).get(name)
    if not carriers:
        problems.append(Problem(file, path, f"no version of {head} has a question {name!r}"))
        return None
    questions = [d.question(name) for d in carriers]
    personal = [d.version for d, q in zip(carriers, questions, strict=True) if q is not None and q.personal]
    if personal:
        problems.append(Problem(file, path, f"{text} is personal data (v{', v'.join(map(str, personal))}); "
                                "personal answers are never a scoring source"))  # fmt: skip
        return None
    types = {q.type for q in questions if q is not None}
    if condition:
        other = types - {"boolean", "select_one", "select_multiple", "integer", "decimal"}
        if other:
            problems.append(Problem(file, path, f"{text}: a condition compares numbers, yes/no or choice answers, "
                                                f"not {'/'.join(sorted(other))}"))  # fmt: skip
            return None
        return Source("answer", head, name)
    other = types - {"boolean", "integer", "decimal", *(["select_one"] if mapped else [])}
    if other:
        what = (
            "select answers need a 'map' to numbers"
            if other == {"select_one"}
            else f"a {'/'.join(sorted(other))} answer is not a number"
        )
        problems.append(Problem(file, path, f"{text}: {what}"))
        return None
    return Source("answer", head, name)


def _carriers(registry: Registry, src: Source) -> list[Any]:
    """The questions (one per carrying version) an answer source reads."""
    return [q for d in registry.questions_by_id(src.questionnaire or "").get(src.name, [])
            if (q := d.question(src.name)) is not None]  # fmt: skip


def may_be_negative(registry: Registry, src: Source, cmap: dict[str, Any] | None) -> str | None:
    """Why a source may hold a negative value (None: it never does) — log_minmax needs non-negative values."""
    if src.kind == "facility":
        return None if src.name in NON_NEGATIVE_FIELDS else f"facility.{src.name} can be negative"
    for q in _carriers(registry, src):
        if q.type == "boolean":
            continue
        if q.type == "select_one":
            low = [k for k, v in (cmap or {}).items() if v < 0]
            if low:
                return f"the map gives negative numbers ({', '.join(low)})"
            continue
        if q.min is None or q.min < 0:
            return f"{src.text} has no minimum of 0 or more in every version that carries it"
    return None


def _condition(
    cond: Any, registry: Registry, path: str, problems: list[Problem], file: str
) -> Condition | None:
    """Parse `applies_when`, checking each value against the type of the answer it is compared with."""

    def add(where: str, msg: str) -> None:
        problems.append(Problem(file, where, msg))

    if not isinstance(cond, dict):
        add(path, "must be a mapping: {source: SOURCE, equals: VALUE} or {all: [...]} / {any: [...]}")
        return None
    if "all" in cond or "any" in cond:
        op = "all" if "all" in cond else "any"
        if set(cond) != {op} or not isinstance(cond[op], list) or not cond[op]:
            add(path, f"'{op}' must be the only key and hold a non-empty list of conditions")
            return None
        parts = [_condition(c, registry, f"{path}.{op}.{i}", problems, file) for i, c in enumerate(cond[op])]
        return None if any(p is None for p in parts) else Condition(op, parts=tuple(p for p in parts if p))
    extra = set(cond) - {"source", *COMPARATORS}
    if extra:
        add(path, f"unknown keys {sorted(extra)}; use source plus one of {', '.join(COMPARATORS)}")
    ops = [k for k in cond if k in COMPARATORS]
    if len(ops) != 1:
        add(path, f"needs exactly one of {', '.join(COMPARATORS)}")
        return None
    op, value = ops[0], cond[ops[0]]
    src = parse_source(
        cond.get("source"), registry, f"{path}.source", problems, file, mapped=True, condition=True
    )
    types = {q.type for q in _carriers(registry, src)} if src is not None and src.kind == "answer" else set()
    if src is None:
        return None
    if len(types) > 1 and not types <= {"integer", "decimal"}:
        add(f"{path}.source", f"{src.text} has different types across versions ({', '.join(sorted(types))})")
        return None
    kind = "number" if not types or types <= {"integer", "decimal"} else next(iter(types))
    values = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        add(f"{path}.in", "must be a non-empty list")
        return None
    if op in ("gt", "gte", "lt", "lte") and kind != "number":
        add(f"{path}.{op}", f"'{op}' only applies to numeric sources; {src.text} is {kind}")
        return None
    codes = {c for q in _carriers(registry, src) for c in q.choice_codes}
    for v in values:
        if kind == "boolean" and not isinstance(v, bool):
            add(f"{path}.{op}", f"{src.text} is a yes/no answer: compare with true or false")
        elif kind in ("select_one", "select_multiple") and v not in codes:
            add(
                f"{path}.{op}", f"{v!r} is not a choice code of {src.text}; one of {', '.join(sorted(codes))}"
            )
        elif kind == "number" and (not isinstance(v, int | float) or isinstance(v, bool)):
            add(f"{path}.{op}", f"{src.text} is numeric: compare with a number")
    return Condition(op, src, tuple(value) if op == "in" else value, kind)


def _support_rule(
    raw: Any, path: str, registry: Registry, problems: list[Problem], file: str, *, listed: bool
) -> SupportRule | None:
    def add(where: str, msg: str) -> None:
        problems.append(Problem(file, f"{path}{where}", msg))

    allowed = SUPPORT_COST_KEYS | ({"id", "applies_when"} if listed else set())
    if not isinstance(raw, dict):
        add(
            "",
            "must be a mapping {source, share, cap_vnd, floor_vnd?}" + (", applies_when?" if listed else ""),
        )
        return None
    for k in set(raw) - allowed:
        add(f".{k}", f"unknown property; allowed: {', '.join(sorted(allowed))}")
    src = parse_source(raw.get("source"), registry, f"{path}.source", problems, file, mapped=False)
    share, cap, floor = raw.get("share"), raw.get("cap_vnd"), raw.get("floor_vnd", 0)
    ok = src is not None
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
        add(".share", "must be a number greater than 0 and at most 1 (the programme's share of the source)")
        ok = False
    for name, v in (("cap_vnd", cap), ("floor_vnd", floor)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            add(f".{name}", "must be a whole number of VND ≥ 0")
            ok = False
    if ok and floor > cap:
        add(".floor_vnd", f"the floor ({floor:,} VND) is above the cap ({cap:,} VND)")
        ok = False
    cond = (
        _condition(raw["applies_when"], registry, f"{path}.applies_when", problems, file)
        if "applies_when" in raw
        else None
    )
    if "applies_when" in raw and cond is None:
        ok = False
    if "id" in raw and not isinstance(raw["id"], str):
        add(".id", "must be text")
    if not ok or src is None:
        return None
    return SupportRule(src, float(share), int(cap), int(floor), cond, raw.get("id"))  # type: ignore[arg-type]


def _support_cost(raw: Any, registry: Registry, problems: list[Problem], file: str) -> SupportCost | None:
    """`support_cost`: one rule (the contract's form) or a non-empty list of rules, each with `applies_when`."""
    if isinstance(raw, list):
        if not raw:
            problems.append(Problem(file, "support_cost", "a list of rules must not be empty"))
            return None
        rules = [
            _support_rule(r, f"support_cost.{i}", registry, problems, file, listed=True)
            for i, r in enumerate(raw)
        ]
    else:
        rules = [_support_rule(raw, "support_cost", registry, problems, file, listed=False)]
    if any(r is None for r in rules):
        return None
    return SupportCost(tuple(r for r in rules if r is not None), raw)


# -- default_selection (what a budgeted ranking uses where its request is silent) -------------------------------
DEFAULT_SELECTION_KEYS = {"eligibility", "strategy"}
ELIGIBILITY_KEYS = {"min_score", "max_rank", "min_cost_vnd", "max_cost_vnd", "kinds", "approved_only"}
SELECTION_STRATEGIES = ("max_total_score", "rank_order")


def _default_selection(
    raw: Any, support_cost: SupportCost | None, problems: list[Problem], file: str
) -> dict[str, Any] | None:
    """`default_selection: {eligibility?: {min_score?, max_rank?, min_cost_vnd?, max_cost_vnd?, kinds?,
    approved_only?}, strategy?}`, checked as a request's would be; kinds name the support_cost rules' ids."""

    def add(path: str, msg: str) -> None:
        problems.append(Problem(file, f"default_selection{path}", msg))

    if not isinstance(raw, dict):
        add("", "must be a mapping with eligibility and/or strategy")
        return None
    for k in set(raw) - DEFAULT_SELECTION_KEYS:
        add(f".{k}", f"unknown property; allowed: {', '.join(sorted(DEFAULT_SELECTION_KEYS))}")
    if "strategy" in raw and raw["strategy"] not in SELECTION_STRATEGIES:
        add(".strategy", f"must be one of {', '.join(SELECTION_STRATEGIES)}")
    el = raw.get("eligibility", {})
    if not isinstance(el, dict):
        add(".eligibility", "must be a mapping")
        return None
    for k in set(el) - ELIGIBILITY_KEYS:
        add(f".eligibility.{k}", f"unknown property; allowed: {', '.join(sorted(ELIGIBILITY_KEYS))}")
    num = lambda v: isinstance(v, int | float) and not isinstance(v, bool)  # noqa: E731
    whole = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    if "min_score" in el and not (num(el["min_score"]) and 0 <= el["min_score"] <= 1):
        add(".eligibility.min_score", "must be a number from 0 to 1")
    for k, low in (("max_rank", 1), ("min_cost_vnd", 0), ("max_cost_vnd", 0)):
        if k in el and not (whole(el[k]) and el[k] >= low):
            add(f".eligibility.{k}", f"must be a whole number ≥ {low}")
    if "approved_only" in el and not isinstance(el["approved_only"], bool):
        add(".eligibility.approved_only", "must be true or false")
    if "kinds" in el:
        known = {r.id for r in support_cost.rules if r.id} if support_cost else set()
        kinds = el["kinds"]
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            add(".eligibility.kinds", "must be a non-empty list of support_cost rule ids")
        else:
            for i, k in enumerate(kinds):
                if k not in known:
                    add(
                        f".eligibility.kinds.{i}",
                        f"{k!r} is not the id of a support_cost rule ({', '.join(sorted(known)) or 'none'})",
                    )
    return dict(raw)


def parse(
    raw: Any, file: str, registry: Registry, expect: tuple[str, int] | None = None
) -> tuple[Profile | None, list[Problem]]:
    """Check one profile document; every problem is reported."""
    problems: list[Problem] = []

    def add(path: str, msg: str) -> None:
        problems.append(Problem(file, path, msg))

    if not isinstance(raw, dict):
        return None, [Problem(file, "$", "the file must hold a mapping")]
    for k in set(raw) - TOP_KEYS:
        add(k, f"unknown property; allowed: {', '.join(sorted(TOP_KEYS))}")
    key, version = raw.get("key"), raw.get("version")
    if not isinstance(key, str) or not KEY_RE.match(key):
        add("key", "must be lower-case letters, digits and hyphens")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        add("version", "must be a whole number ≥ 1")
    if expect and (key, version) != expect:
        add("key", f"the file is named for {expect[0]} v{expect[1]} but declares {key} v{version}")
    status = raw.get("status", "published")
    if status not in STATUSES:
        add("status", f"must be one of {', '.join(STATUSES)}")
    method = raw.get("method")
    if method not in METHODS:
        add("method", f"unknown method {method!r}; one of {', '.join(METHODS)}")
    age = raw.get("max_age_days")
    if age is not None and (not isinstance(age, int) or isinstance(age, bool) or age < 1):
        add("max_age_days", "must be a whole number of days ≥ 1")
    crits = raw.get("criteria")
    if not isinstance(crits, list) or not crits:
        add("criteria", "must be a non-empty list")
        crits = []
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, c in enumerate(crits):
        p = f"criteria.{i}"
        if not isinstance(c, dict):
            add(p, "each criterion must be a mapping")
            continue
        for k in set(c) - CRITERION_KEYS:
            add(f"{p}.{k}", f"unknown property; allowed: {', '.join(sorted(CRITERION_KEYS))}")
        cid = c.get("id")
        if not isinstance(cid, str) or not cid:
            add(f"{p}.id", "needs an id")
        elif cid in seen:
            add(f"{p}.id", f"criterion id {cid!r} is used twice")
        seen.add(str(cid))
        cmap = c.get("map")
        if cmap is not None and (
            not isinstance(cmap, dict)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in cmap.values())
        ):
            add(f"{p}.map", "must map choice codes to numbers")
            cmap = None
        raw_sources = c.get("source")
        texts = raw_sources if isinstance(raw_sources, list) else [raw_sources]
        sources = [parse_source(t, registry, f"{p}.source" + (f".{j}" if isinstance(raw_sources, list) else ""), problems, file, mapped=cmap is not None)
                   for j, t in enumerate(texts)]  # fmt: skip
        if cmap is not None:
            for s in sources:
                if s is None or s.kind != "answer":
                    continue
                for d in registry.questions_by_id(s.questionnaire or "").get(s.name, []):
                    q = d.question(s.name)
                    if q is None:
                        continue
                    if q.type == "select_one":
                        missing = [code for code in q.choice_codes if code not in cmap]
                        if missing:
                            add(f"{p}.map", f"{s.text} v{d.version}: no number for choice(s) {missing}")
                    elif q.type != "boolean":
                        add(f"{p}.map", f"{s.text} is {q.type}; a map applies to select answers")
        per = (
            parse_source(c["per"], registry, f"{p}.per", problems, file, mapped=False) if "per" in c else None
        )
        if c.get("direction") not in DIRECTIONS:
            add(f"{p}.direction", f"must be {' or '.join(DIRECTIONS)}")
        w = c.get("weight")
        if not isinstance(w, int | float) or isinstance(w, bool) or not w > 0:
            add(f"{p}.weight", "must be a number greater than 0")
        if c.get("missing", "worst") not in MISSING:
            add(f"{p}.missing", f"must be one of {', '.join(MISSING)}")
        norm = c.get("normalise", "minmax")
        if norm not in NORMALISE:
            add(f"{p}.normalise", f"must be one of {', '.join(NORMALISE)}")
        elif method == "topsis" and "normalise" in c:
            add(
                f"{p}.normalise",
                "topsis normalises every criterion by its vector norm; normalise applies to weighted_sum profiles",
            )
        elif norm == "log_minmax":
            for s in [*sources, per]:
                why = may_be_negative(registry, s, cmap) if s is not None else None
                if why:
                    add(f"{p}.normalise", f"log_minmax needs values that are never negative: {why}")
                    break
        cond = None
        if "applies_when" in c:
            if method == "topsis":
                add(f"{p}.applies_when", "topsis compares every candidate on every criterion (one ideal, one anti-ideal); "
                    "applies_when applies to weighted_sum profiles")  # fmt: skip
            else:
                cond = _condition(c["applies_when"], registry, f"{p}.applies_when", problems, file)
        label = c.get("label")
        if label is not None and not (
            isinstance(label, dict)
            and set(label) <= set(LABEL_LANGS)
            and all(isinstance(label.get(lang), str) and label[lang].strip() for lang in LABEL_LANGS)
        ):
            add(f"{p}.label", "must be {vi: TEXT, en: TEXT}: the criterion's name in Vietnamese and English")
        rationale = c.get("rationale")
        if rationale is not None and not (
            (isinstance(rationale, str) and rationale.strip())
            or (isinstance(rationale, dict) and set(rationale) <= set(LABEL_LANGS)
                and all(isinstance(rationale.get(lang), str) and rationale[lang].strip() for lang in LABEL_LANGS))
        ):  # fmt: skip
            add(f"{p}.rationale", "must be a text, or {vi: TEXT, en: TEXT}")
        for option, allowed in (("not_applicable", NOT_APPLICABLE), ("not_asked", NOT_ASKED)):
            if option not in c:
                continue
            if c[option] not in allowed:
                add(f"{p}.{option}", f"must be one of {', '.join(allowed)}")
            elif c[option] == "neutral" and method != "weighted_sum":
                add(f"{p}.{option}", "neutral (the normalised value 0.5) applies to weighted_sum profiles")
        if "not_applicable" in c and "applies_when" not in c:
            add(
                f"{p}.not_applicable",
                "says how a criterion counts where its applies_when does not hold: add applies_when",
            )
        combine = c.get("combine", "sum")
        if combine not in COMBINE:
            add(f"{p}.combine", f"must be one of {', '.join(COMBINE)}")
        elif combine == "mean" and (not isinstance(raw_sources, list) or "per" in c):
            add(f"{p}.combine", "mean averages a list of sources (without per)")
        parsed.append(
            {"c": c, "sources": sources, "per": per, "map": cmap, "normalise": norm, "applies_when": cond}
        )
    support_cost = (
        _support_cost(raw["support_cost"], registry, problems, file) if "support_cost" in raw else None
    )
    if "default_selection" in raw:  # checked here; read through Profile.default_selection
        _default_selection(raw["default_selection"], support_cost, problems, file)
    if problems:
        return None, problems
    total = sum(float(x["c"]["weight"]) for x in parsed)
    criteria = tuple(
        Criterion(
            id=x["c"]["id"], sources=tuple(x["sources"]), direction=x["c"]["direction"], weight=float(x["c"]["weight"]) / total,
            missing=x["c"].get("missing", "worst"), map={str(k): float(v) for k, v in x["map"].items()} if x["map"] else None,
            per=x["per"], rationale=x["c"].get("rationale"), normalise=x["normalise"], applies_when=x["applies_when"],
            label=dict(x["c"]["label"]) if "label" in x["c"] else None,
            not_applicable=x["c"].get("not_applicable", "redistribute"), not_asked=x["c"].get("not_asked"),
            combine=x["c"].get("combine", "sum"),
        )
        for x in parsed
    )  # fmt: skip
    return Profile(
        key=str(key),
        version=int(version),  # type: ignore[arg-type]
        status=status,
        method=str(method),
        max_age_days=age,
        criteria=criteria,
        raw=raw,
        source=file,
        support_cost=support_cost,
    ), []


@dataclass
class Profiles:
    items: dict[tuple[str, int], Profile]

    @classmethod
    def load(cls, root: Path, registry: Registry) -> tuple[Profiles, list[Problem]]:
        items: dict[tuple[str, int], Profile] = {}
        problems: list[Problem] = []
        base = root / "scoring"
        if not base.is_dir():
            return cls(items), problems
        folders = sorted(p for p in base.iterdir() if p.is_dir())
        for key, version, rel, raw in read_versioned(root, folders, "scoring profile", problems):
            prof, probs = parse(raw, rel, registry, expect=(key, version))
            problems.extend(probs)
            if prof:
                items[(prof.key, prof.version)] = prof
        return cls(items), problems

    def get(self, key: str, version: int) -> Profile:
        p = self.items.get((key, version))
        if p is None or p.status == "draft":
            known = sorted(v for (k, v), x in self.items.items() if k == key and x.status != "draft")
            raise NotFound(
                f"There is no scoring profile {key!r} version {version}"
                + (f"; known versions: {known}." if known else ".")
            )
        return p
