"""The loaded questionnaires: compiled validators and exported schemas cached per version, hashes enforced."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.errors import Invalid, NotFound
from app.models import DefinitionHash
from app.questionnaires.definition import Definition, DefinitionError, Problem, load_dir
from app.questionnaires.jsonschema_export import export
from app.questionnaires.validator import AnswerValidator

log = logging.getLogger("khuyencong.questionnaires")


@dataclass
class Registry:
    definitions: dict[tuple[str, int], Definition]
    _validators: dict[tuple[str, int], AnswerValidator] = field(default_factory=dict)
    _schemas: dict[tuple[str, int, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Registry:
        """Load and check every file; raise DefinitionError listing every problem."""
        defs, problems = load_dir(root)
        if problems:
            raise DefinitionError(problems)
        return cls(defs)

    @cached_property
    def keys(self) -> list[str]:
        return sorted({k for k, _ in self.definitions})

    def versions(self, key: str) -> list[Definition]:
        return sorted((d for (k, _), d in self.definitions.items() if k == key), key=lambda d: d.version)

    def latest_published(self, key: str) -> Definition | None:
        published = [d for d in self.versions(key) if d.status == "published"]
        return published[-1] if published else None

    def get(self, key: str, version: int) -> Definition:
        d = self.definitions.get((key, version))
        if d is None:
            known = [v.version for v in self.versions(key)]
            hint = f"known versions: {known}" if known else f"known questionnaires: {', '.join(self.keys)}"
            raise NotFound(f"There is no questionnaire {key!r} version {version}; {hint}.")
        return d

    def for_responses(self, key: str, version: int, path: str = "version") -> Definition:
        """The definition a response may be given against: published or retired, never draft or unknown."""
        d = self.definitions.get((key, version))
        if d is None or d.status == "draft":
            known = [v.version for v in self.versions(key) if v.status != "draft"]
            if not self.versions(key):
                msg, where = (
                    f"{key!r} is not a questionnaire; one of: {', '.join(self.keys)}.",
                    "questionnaire",
                )
            elif d is None:
                msg, where = f"{key} has no version {version}; accepted versions: {known}.", path
            else:
                msg, where = (
                    f"{key} v{version} is a draft and does not take responses yet; accepted versions: {known}.",
                    path,
                )
            raise Invalid.at(where, "unknown_version" if d is None else "draft_version", msg)
        return d

    def validator(self, d: Definition) -> AnswerValidator:
        v = self._validators.get((d.key, d.version))
        if v is None:
            v = self._validators[(d.key, d.version)] = AnswerValidator(d)
        return v

    def json_schema(self, d: Definition, lang: str) -> dict[str, Any]:
        k = (d.key, d.version, lang)
        if k not in self._schemas:
            self._schemas[k] = export(d, lang)
        return self._schemas[k]

    def questions_by_id(self, key: str) -> dict[str, list[Definition]]:
        """Question id → the non-draft versions of this questionnaire that carry it."""
        out: dict[str, list[Definition]] = {}
        for d in self.versions(key):
            if d.status == "draft":
                continue
            for q in d.questions:
                out.setdefault(q.id, []).append(d)
        return out


def verify_hashes(session: Session, kind: str, items: list[tuple[str, int, str, str, str]]) -> list[Problem]:
    """Record the hash of each published (or retired) version the first time; report any that changed since.

    items: (key, version, status, content_hash, source file).
    """
    problems: list[Problem] = []
    existing = {
        (row.key, row.version): row
        for row in session.execute(select(DefinitionHash).where(DefinitionHash.kind == kind)).scalars()  # type: ignore[arg-type]
    }
    for key, version, status, digest, source in items:
        if status == "draft":
            continue
        row = existing.get((key, version))
        if row is None:
            try:
                with session.begin_nested():
                    session.add(DefinitionHash(kind=kind, key=key, version=version, sha256=digest))
            except IntegrityError:  # another process recorded it first; compare with theirs
                row = session.get(DefinitionHash, (kind, key, version))
        if row is not None and row.sha256 != digest:
            problems.append(
                Problem(
                    source,
                    "$",
                    f"{key} v{version} was published with different content (first seen {row.first_seen_at:%Y-%m-%d %H:%M} UTC); "
                    "published versions are immutable: restore the file and publish the change as a new version",
                )
            )
    return problems
