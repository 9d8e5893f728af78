"""Scoring profiles: survey_schemas/scoring/<key>/v<N>.yaml, checked against the questionnaires at load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import NotFound
from app.core.jsonutil import sha256_of
from app.questionnaires.definition import KEY_RE, STATUSES, Problem, read_versioned
from app.questionnaires.registry import Registry

METHODS = ("weighted_sum", "topsis")
DIRECTIONS = ("benefit", "cost")
MISSING = ("worst", "zero", "exclude")
FACILITY_FIELDS = ("employees", "annual_revenue_vnd", "established_year", "prior_support_count",
                   "years_since_last_support", "province_prior_support_count")  # fmt: skip
CRITERION_KEYS = {"id", "source", "per", "direction", "weight", "missing", "map", "rationale"}
TOP_KEYS = {"key", "version", "status", "title", "description", "method", "max_age_days", "criteria"}


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
class Criterion:
    id: str
    sources: tuple[Source, ...]  # summed when several
    direction: str
    weight: float  # normalised to sum to 1
    missing: str
    map: dict[str, float] | None = None
    per: Source | None = None
    rationale: str | None = None


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

    @property
    def content_hash(self) -> str:
        return sha256_of({k: v for k, v in self.raw.items() if k != "status"})

    @property
    def questionnaires(self) -> set[str]:
        out = set()
        for c in self.criteria:
            for s in (*c.sources, *([c.per] if c.per else [])):
                if s.questionnaire:
                    out.add(s.questionnaire)
        return out


def parse_source(
    text: Any, registry: Registry, path: str, problems: list[Problem], file: str, *, mapped: bool
) -> Source | None:
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
    if types & {"text", "date", "select_multiple", "geopoint", "image", "file"} or (
        types & {"select_one"} and not mapped
    ):
        what = (
            "select answers need a 'map' to numbers"
            if types & {"select_one"}
            else f"a {'/'.join(sorted(types))} answer is not a number"
        )
        problems.append(Problem(file, path, f"{text}: {what}"))
        return None
    return Source("answer", head, name)


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
        parsed.append({"c": c, "sources": sources, "per": per, "map": cmap})
    if problems:
        return None, problems
    total = sum(float(x["c"]["weight"]) for x in parsed)
    criteria = tuple(
        Criterion(
            id=x["c"]["id"], sources=tuple(x["sources"]), direction=x["c"]["direction"], weight=float(x["c"]["weight"]) / total,
            missing=x["c"].get("missing", "worst"), map={str(k): float(v) for k, v in x["map"].items()} if x["map"] else None,
            per=x["per"], rationale=x["c"].get("rationale"),
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
