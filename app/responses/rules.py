"""Rules other domains hold over the responses to their own questionnaires, checked where responses are stored.

A domain that owns a questionnaire (point projects own `project-results`) registers one function here; the
store calls it in the write transaction, for the group's new items of that questionnaire whose facility is
known, so every route (JSON, batch, form links, OpenRosa) obeys it and a concurrent write cannot slip past it.
The function returns the items it refuses, by position, each with the error to answer. This module imports no
domain: registration goes one way (the domain imports this), so the write path never imports upward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from app.core.errors import AppError

# (session, [(position, questionnaire version, facility id, response id, answers, submitter)]) -> {position: error}
Item = tuple[int, int, str | None, str, dict[str, Any], str]
Rule = Callable[[Session, list[Item]], dict[int, AppError]]
_RULES: dict[str, Rule] = {}


def register(questionnaire: str, rule: Rule) -> None:
    """Make `rule` decide, at store time, which new responses to `questionnaire` are refused."""
    _RULES[questionnaire] = rule


def check(session: Session, items: list[Any], out: list[Any]) -> None:
    """Apply the registered rules to the items still standing (`out[k]` None); refusals go into `out`."""
    if not _RULES:
        return
    groups: dict[str, list[Item]] = {}
    for k, p in enumerate(items):
        q = p.definition.key
        if out[k] is None and q in _RULES:
            groups.setdefault(q, []).append(
                (
                    k,
                    p.definition.version,
                    p.head.get("facility_id"),
                    p.body.id,
                    p.body.answers,
                    p.principal.name,
                )
            )
    for q, group in groups.items():
        for k, err in _RULES[q](session, group).items():
            out[k] = err
