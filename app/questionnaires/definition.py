"""The questionnaire file format: parsed into plain dataclasses, checked with every problem reported."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.core.jsonutil import sha256_of
from app.questionnaires import expressions

TYPES = (
    "text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "select_one",
    "select_multiple",
    "geopoint",
    "image",
    "file",
)
STATUSES = ("draft", "published", "retired")
COMPARATORS = ("equals", "in", "gt", "gte", "lt", "lte")
NUMERIC = ("integer", "decimal")
SELECTS = ("select_one", "select_multiple")
ATTACHMENTS = ("image", "file")
# Answers that are objects or file names: no comparison in `relevant` applies to them.
NOT_COMPARABLE = ("geopoint", *ATTACHMENTS)
MEDIA_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$")
KEY_RE = re.compile(r"^[a-z][a-z0-9-]{1,60}$")
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Media lists a text question's answer may be picked from on ODK Collect (app.openrosa.media builds them per key):
# point_projects — the key's supported establishments with the projects supporting them (code, filtered by the
# facility picked).
LIST_SOURCES = ("point_projects",)
QUESTION_KEYS = {"id", "type", "label", "required", "relevant", "min", "max", "min_length", "max_length",
                 "pattern", "hint", "unit", "choices", "personal", "accept", "list_from"}  # fmt: skip
TOP_KEYS = {"key", "version", "status", "title", "description", "questions", "checks"}
CHECK_KEYS = {"id", "rule", "message"}
# Names the ODK form gives its own fields (app/openrosa/xform.py), and the columns the /v1 feed adds to every
# row (app/feeds/edmx.py): a question may not take them.
RESERVED_IDS = ("facility_id", "new_facility", "meta", "start", "end", "province_code")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a definition file."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class DefinitionError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Choice:
    code: str
    label: dict[str, str]
    exclusive: bool = False  # select_multiple: ticked alone or not at all (e.g. "none")


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    label: dict[str, str]
    required: bool = False
    relevant: dict[str, Any] | None = None
    min: float | int | None = None
    max: float | int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    hint: dict[str, str] | None = None
    unit: dict[str, str] | None = None  # a plain string in the file is {"vi": it}
    choices: tuple[Choice, ...] = ()
    personal: bool = False  # personal data: never a scoring source (see README, "Questionnaire files")
    accept: tuple[str, ...] = ()  # image/file: media types the attachment may have (empty: any)
    # text: the answer is picked on ODK Collect from a media list the server builds per key (LIST_SOURCES)
    list_from: str | None = None

    @property
    def choice_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices)

    @property
    def exclusive_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices if c.exclusive)

    def unit_text(self, lang: str) -> str | None:
        if not self.unit:
            return None
        return self.unit.get(lang) or self.unit["vi"]


@dataclass(frozen=True)
class Check:
    """A rule over several answers (`checks:` in the file), parsed and typed when the file loads."""

    id: str
    rule: str
    message: dict[str, str]
    tree: expressions.Node = field(compare=False, repr=False)
    names: tuple[str, ...] = ()  # the questions it names, in questionnaire order
    target: str = ""  # the last of them in questionnaire order: the XForm's constraint is on it

    def text(self, lang: str) -> str:
        return self.message.get(lang) or self.message["vi"]


@dataclass(frozen=True)
class Definition:
    key: str
    version: int
    status: str
    title: dict[str, str]
    questions: tuple[Question, ...]
    raw: dict[str, Any] = field(compare=False, repr=False)
    source: str = ""
    description: dict[str, str] | None = None
    checks: tuple[Check, ...] = ()

    @property
    def content_hash(self) -> str:
        """Hash of everything but `status` (retiring a published version is allowed; editing it is not)."""
        return sha256_of({k: v for k, v in self.raw.items() if k != "status"})

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)

    def check(self, cid: str) -> Check | None:
        return next((c for c in self.checks if c.id == cid), None)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def label(self, value: Any, path: str, *, required: bool = True) -> dict[str, str] | None:
        if value is None:
            if required:
                self.add(path, "a label is required, with at least a Vietnamese text ('vi')")
            return None
        if not isinstance(value, dict):
            self.add(path, "must be a mapping of language to text, e.g. {vi: '...', en: '...'}")
            return None
        for lang, text in value.items():
            if lang not in ("vi", "en"):
                self.add(f"{path}.{lang}", "only 'vi' and 'en' labels are supported")
            elif not isinstance(text, str) or not text.strip():
                self.add(f"{path}.{lang}", "must be non-empty text")
        if not isinstance(value.get("vi"), str) or not str(value.get("vi", "")).strip():
            self.add(f"{path}.vi", "the Vietnamese label is missing")
        return {k: str(v) for k, v in value.items() if k in ("vi", "en") and isinstance(v, str)}

    def condition(self, cond: Any, path: str, earlier: dict[str, dict[str, Any]], all_ids: set[str]) -> None:
        if not isinstance(cond, dict):
            self.add(path, "must be a mapping: {question: ID, equals: VALUE} or {all: [...]} / {any: [...]}")
            return
        if "all" in cond or "any" in cond:
            op = "all" if "all" in cond else "any"
            if set(cond) != {op} or not isinstance(cond[op], list) or not cond[op]:
                self.add(path, f"'{op}' must be the only key and hold a non-empty list of conditions")
                return
            for i, sub in enumerate(cond[op]):
                self.condition(sub, f"{path}.{op}.{i}", earlier, all_ids)
            return
        qid = cond.get("question")
        ops = [k for k in cond if k in COMPARATORS]
        extra = set(cond) - {"question", *COMPARATORS}
        if extra:
            self.add(path, f"unknown keys {sorted(extra)}; use question plus one of {', '.join(COMPARATORS)}")
        if len(ops) != 1:
            self.add(path, f"needs exactly one of {', '.join(COMPARATORS)}")
            return
        if not isinstance(qid, str):
            self.add(f"{path}.question", "must name a question id")
            return
        if qid not in earlier:
            where = "a later question" if qid in all_ids else "an unknown question"
            self.add(
                f"{path}.question", f"'{qid}' is {where}; relevance may only depend on earlier questions"
            )
            return
        target = earlier[qid]
        op, value = ops[0], cond[ops[0]]
        qtype = target.get("type")
        if qtype in NOT_COMPARABLE:
            self.add(
                f"{path}.question", f"'{qid}' is a {qtype} question; relevance cannot depend on its answer"
            )
            return
        codes = {c.get("code") for c in target.get("choices") or [] if isinstance(c, dict)}
        values = value if op == "in" else [value]
        if op == "in" and (not isinstance(value, list) or not value):
            self.add(f"{path}.in", "must be a non-empty list")
            return
        if op in ("gt", "gte", "lt", "lte"):
            if qtype not in NUMERIC:
                self.add(
                    f"{path}.{op}", f"'{op}' only applies to integer or decimal questions; '{qid}' is {qtype}"
                )
            elif not _is_num(value):
                self.add(f"{path}.{op}", "must be a number")
            return
        for v in values:
            if qtype == "boolean" and not isinstance(v, bool):
                self.add(f"{path}.{op}", f"'{qid}' is a yes/no question: compare with true or false")
            elif qtype in SELECTS and v not in codes:
                self.add(f"{path}.{op}", f"{v!r} is not a choice code of '{qid}'")
            elif qtype in NUMERIC and not _is_num(v):
                self.add(f"{path}.{op}", f"'{qid}' is numeric: compare with a number")
            elif qtype in ("text", "date") and not isinstance(v, str):
                self.add(f"{path}.{op}", f"'{qid}' is {qtype}: compare with text")

    def question(self, q: Any, path: str, earlier: dict[str, dict[str, Any]], all_ids: set[str]) -> None:
        if not isinstance(q, dict):
            self.add(path, "each question must be a mapping")
            return
        for k in set(q) - QUESTION_KEYS:
            self.add(f"{path}.{k}", f"unknown property; allowed: {', '.join(sorted(QUESTION_KEYS))}")
        qid, qtype = q.get("id"), q.get("type")
        if not isinstance(qid, str) or not ID_RE.match(qid):
            self.add(
                f"{path}.id", "must be snake_case: lower-case letters, digits and _ (starting with a letter)"
            )
        if qid in RESERVED_IDS:
            self.add(
                f"{path}.id",
                f"{qid!r} is reserved for the ODK form's own fields and the feed's columns ({', '.join(RESERVED_IDS)})",
            )
        if qtype not in TYPES:
            self.add(f"{path}.type", f"unknown type {qtype!r}; one of {', '.join(TYPES)}")
        self.label(q.get("label"), f"{path}.label")
        if "hint" in q:
            self.label(q.get("hint"), f"{path}.hint")
        if "required" in q and not isinstance(q["required"], bool):
            self.add(f"{path}.required", "must be true or false")
        if "unit" in q:
            if isinstance(q["unit"], dict):
                self.label(q["unit"], f"{path}.unit")
            elif not isinstance(q["unit"], str) or not q["unit"].strip():
                self.add(f"{path}.unit", "must be text, or {vi: '...', en: '...'} like a label")
        if "personal" in q and not isinstance(q["personal"], bool):
            self.add(f"{path}.personal", "must be true or false")
        if "accept" in q:
            acc = q["accept"]
            if qtype not in ATTACHMENTS:
                self.add(f"{path}.accept", "only image and file questions take accept")
            elif not isinstance(acc, list) or not acc:
                self.add(
                    f"{path}.accept", "must be a non-empty list of media types, e.g. [image/jpeg, image/png]"
                )
            else:
                for i, m in enumerate(acc):
                    if not isinstance(m, str) or not MEDIA_TYPE_RE.fullmatch(m):
                        self.add(
                            f"{path}.accept.{i}",
                            f"{m!r} is not a lower-case media type such as image/jpeg or image/*",
                        )
                    elif qtype == "image" and not m.startswith("image/"):
                        self.add(
                            f"{path}.accept.{i}", f"an image question accepts image/... types only, not {m!r}"
                        )
        if "list_from" in q and (qtype != "text" or q["list_from"] not in LIST_SOURCES):
            self.add(
                f"{path}.list_from",
                f"only a text question takes list_from, one of: {', '.join(LIST_SOURCES)}",
            )
        lo, hi = q.get("min"), q.get("max")
        for name in ("min", "max"):
            if name in q:
                if qtype not in NUMERIC:
                    self.add(f"{path}.{name}", f"only integer and decimal questions take {name}")
                elif not _is_num(q[name]):
                    self.add(f"{path}.{name}", "must be a number")
        if (
            isinstance(lo, int | float)
            and isinstance(hi, int | float)
            and _is_num(lo)
            and _is_num(hi)
            and lo > hi
        ):
            self.add(path, f"min ({lo}) is greater than max ({hi})")
        for name in ("min_length", "max_length"):
            if name in q and (
                qtype != "text" or not isinstance(q[name], int) or isinstance(q[name], bool) or q[name] < 0
            ):
                self.add(f"{path}.{name}", f"{name} applies to text questions and must be a whole number ≥ 0")
        if (
            isinstance(q.get("min_length"), int)
            and isinstance(q.get("max_length"), int)
            and q["min_length"] > q["max_length"]
        ):
            self.add(path, f"min_length ({q['min_length']}) is greater than max_length ({q['max_length']})")
        if "pattern" in q:
            if qtype != "text" or not isinstance(q["pattern"], str):
                self.add(
                    f"{path}.pattern", "pattern applies to text questions and must be a regular expression"
                )
            else:
                try:
                    re.compile(q["pattern"])
                except re.error as exc:
                    self.add(f"{path}.pattern", f"not a valid regular expression: {exc}")
        choices = q.get("choices")
        if qtype in SELECTS:
            if not isinstance(choices, list) or not choices:
                self.add(f"{path}.choices", "a select question needs a non-empty list of choices")
            else:
                seen: set[str] = set()
                for i, c in enumerate(choices):
                    if not isinstance(c, dict) or not isinstance(c.get("code"), str) or not c["code"]:
                        self.add(f"{path}.choices.{i}.code", "each choice needs a text code")
                        continue
                    if c["code"] in seen:
                        self.add(f"{path}.choices.{i}.code", f"choice code {c['code']!r} is used twice")
                    seen.add(c["code"])
                    for k in set(c) - {"code", "label", "exclusive"}:
                        self.add(
                            f"{path}.choices.{i}.{k}",
                            "unknown property; a choice has code, label and exclusive",
                        )
                    if "exclusive" in c:
                        if not isinstance(c["exclusive"], bool):
                            self.add(f"{path}.choices.{i}.exclusive", "must be true or false")
                        elif qtype != "select_multiple":
                            self.add(
                                f"{path}.choices.{i}.exclusive",
                                "exclusive applies to select_multiple choices only",
                            )
                    self.label(c.get("label"), f"{path}.choices.{i}.label")
        elif choices is not None:
            self.add(f"{path}.choices", "only select_one and select_multiple questions take choices")
        if "relevant" in q:
            self.condition(q["relevant"], f"{path}.relevant", earlier, all_ids)


def _checks(ck: _Checker, raw: Any, questions: list[Any]) -> list[Check]:
    """The `checks:` list: each with an id, a rule that parses and types against the questions, a message."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        ck.add("checks", "must be a non-empty list of {id, rule, message: {vi, en}}")
        return []
    order = {
        q["id"]: i for i, q in enumerate(questions) if isinstance(q, dict) and isinstance(q.get("id"), str)
    }
    types = {
        str(q["id"]): str(q.get("type"))
        for q in questions
        if isinstance(q, dict) and isinstance(q.get("id"), str)
    }
    choices = {
        qid: tuple(str(c.get("code")) for c in (q.get("choices") or []) if isinstance(c, dict))
        for q in questions
        if isinstance(q, dict) and isinstance(qid := q.get("id"), str)
    }
    out: list[Check] = []
    seen: set[str] = set()
    for i, c in enumerate(raw):
        path = f"checks.{i}"
        if not isinstance(c, dict):
            ck.add(path, "each check must be a mapping with id, rule and message")
            continue
        for k in set(c) - CHECK_KEYS:
            ck.add(f"{path}.{k}", f"unknown property; a check has {', '.join(sorted(CHECK_KEYS))}")
        cid, rule = c.get("id"), c.get("rule")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            ck.add(
                f"{path}.id", "must be snake_case: lower-case letters, digits and _ (starting with a letter)"
            )
            cid = None
        elif cid in seen:
            ck.add(f"{path}.id", f"check id {cid!r} is used twice")
        elif cid in order:
            ck.add(f"{path}.id", f"{cid!r} is a question id; a check needs an id of its own")
        if cid:
            seen.add(cid)
        message = ck.label(c.get("message"), f"{path}.message")
        if message is not None and "en" not in message:
            ck.add(f"{path}.message.en", "a check's message is shown in both languages: add 'en'")
        if not isinstance(rule, str) or not rule.strip():
            ck.add(f"{path}.rule", 'must be an expression such as "${workers_female} <= ${workers_total}"')
            continue
        try:
            tree = expressions.parse(rule)
            expressions.typecheck(tree, types, choices)
        except expressions.RuleError as exc:
            ck.add(f"{path}.rule", str(exc))
            continue
        names = tuple(sorted(expressions.refs(tree), key=order.__getitem__))
        if not names:
            ck.add(f"{path}.rule", "a check names at least one question, as ${question}")
            continue
        if cid and message is not None:
            out.append(Check(cid, rule, message, tree, names, names[-1]))
    return out


def _unit(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {"vi": value} if isinstance(value, str) else {k: str(v) for k, v in value.items()}


def parse(
    raw: Any, file: str, expect: tuple[str, int] | None = None
) -> tuple[Definition | None, list[Problem]]:
    """Check a loaded YAML document; return the definition (when sound) and every problem found."""
    ck = _Checker(file)
    if not isinstance(raw, dict):
        ck.add("$", "the file must hold a mapping with key, version, status, title and questions")
        return None, ck.problems
    for k in set(raw) - TOP_KEYS:
        ck.add(k, f"unknown property; allowed: {', '.join(sorted(TOP_KEYS))}")
    key, version, status = raw.get("key"), raw.get("version"), raw.get("status")
    if not isinstance(key, str) or not KEY_RE.match(key):
        ck.add("key", "must be lower-case letters, digits and hyphens")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        ck.add("version", "must be a whole number ≥ 1")
    if expect and (key, version) != expect:
        ck.add("key", f"the file is named for {expect[0]} v{expect[1]} but declares {key} v{version}")
    if status not in STATUSES:
        ck.add("status", f"must be one of {', '.join(STATUSES)}")
    ck.label(raw.get("title"), "title")
    if "description" in raw:
        ck.label(raw.get("description"), "description")
    questions = raw.get("questions")
    if not isinstance(questions, list) or not questions:
        ck.add("questions", "must be a non-empty list")
        questions = []
    all_ids: set[str] = {
        str(q["id"]) for q in questions if isinstance(q, dict) and isinstance(q.get("id"), str)
    }
    earlier: dict[str, dict[str, Any]] = {}
    for i, q in enumerate(questions):
        ck.question(q, f"questions.{i}", earlier, all_ids)
        if isinstance(q, dict) and isinstance(q.get("id"), str):
            if q["id"] in earlier:
                ck.add(f"questions.{i}.id", f"question id {q['id']!r} is used twice")
            earlier.setdefault(q["id"], q)
    checks = _checks(ck, raw.get("checks"), questions)
    if ck.problems:
        return None, ck.problems
    qs = tuple(
        Question(
            id=q["id"],
            type=q["type"],
            label=dict(q["label"]),
            required=bool(q.get("required", False)),
            relevant=q.get("relevant"),
            min=q.get("min"),
            max=q.get("max"),
            min_length=q.get("min_length"),
            max_length=q.get("max_length"),
            pattern=q.get("pattern"),
            hint=q.get("hint"),
            unit=_unit(q.get("unit")),
            choices=tuple(
                Choice(c["code"], dict(c["label"]), bool(c.get("exclusive", False)))
                for c in q.get("choices") or []
            ),
            personal=bool(q.get("personal", False)),
            accept=tuple(q.get("accept") or ()),
            list_from=q.get("list_from"),
        )
        for q in questions
    )
    return (
        Definition(
            key=str(key), version=int(raw["version"]), status=str(status), title=dict(raw["title"]), questions=qs, raw=raw,
            source=file, description=raw.get("description"), checks=tuple(checks),
        ),
        [],
    )  # fmt: skip


FILE_RE = re.compile(r"^v(\d+)\.ya?ml$")
# libyaml's safe loader where PyYAML was built with it (its wheels are): the same documents, the same types, about
# ten times faster than the pure-Python one (start-up reads every questionnaire and profile file).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_versioned(
    root: Path, folders: list[Path], what: str, problems: list[Problem]
) -> Iterator[tuple[str, int, str, Any]]:
    """Each `<folder>/v<N>.yaml` as (folder name, N, path as reported, parsed YAML), folders and files in name
    order. A YAML file not named v<N>.yaml, or one that does not parse, is added to `problems` instead."""
    for folder in folders:
        for f in sorted(folder.iterdir()):
            rel = str(f.relative_to(root.parent)) if root.parent in f.parents else str(f)
            m = FILE_RE.match(f.name)
            if not m:
                if f.suffix in (".yaml", ".yml"):
                    problems.append(Problem(rel, "$", f"{what} files are named v<N>.yaml"))
                continue
            try:
                raw = yaml.load(f.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                problems.append(Problem(rel, "$", f"not valid YAML: {exc}"))
                continue
            yield folder.name, int(m.group(1)), rel, raw


def load_dir(root: Path) -> tuple[dict[tuple[str, int], Definition], list[Problem]]:
    """Load every survey_schemas/<key>/v<N>.yaml (the scoring/ folder is not questionnaires)."""
    defs: dict[tuple[str, int], Definition] = {}
    problems: list[Problem] = []
    if not root.is_dir():
        return defs, [Problem(str(root), "$", "the survey_schemas folder does not exist")]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name != "scoring")
    for key, version, rel, raw in read_versioned(root, folders, "questionnaire", problems):
        d, probs = parse(raw, rel, expect=(key, version))
        problems.extend(probs)
        if d is not None:
            defs[(d.key, d.version)] = d
    return defs, problems
