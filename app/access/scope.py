"""Every rule of what a principal may read, write or administer, in one place.

Services never spell a scope rule themselves: they call these. Reads filter silently (lists) or answer
404 (by id, existence not revealed); writes naming a province outside scope answer 403.

- read: a key reads what lies in its provinces; a field officer reads the responses it submitted itself;
  a form link reads nothing. A response's reviews and comments are read exactly like the response.
- review: planners and admins review the responses they may read (others: 403; out of scope: 404).
- write: a key writes only in its provinces; a form link only submits to its questionnaires, and adds the
  files its answers name only to the responses it submitted itself (`may_attach_as_form_link`).
- point projects: planners and admins read and write a project only if every province it touches (its own and
  its facilities') is in their scope (`may_read_project`, `check_write_all`).
- administer: a province-scoped admin creates, lists and revokes keys and form links only within its own
  provinces (never a nationwide key), and reads the audit trail of its provinces (and its own actions);
  only a nationwide admin (or the CLI) makes nationwide keys.
- webhooks: administered like keys (`may_administer` on the hook's provinces); a hook has its creator's
  provinces and receives only the events lying wholly inside them (`hook_sees`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, false, or_

from app.access.principal import Principal
from app.core.errors import Forbidden, Invalid


def readable(
    stmt: Select[Any], principal: Principal, province_col: Any, owner_col: Any | None = None
) -> Select[Any]:
    """Filter a query to the caller's provinces (and, for field officers, to what it submitted itself)."""
    if principal.kind == "form_link":
        return stmt.where(false())
    if principal.provinces is not None:
        stmt = (
            stmt.where(province_col.in_(sorted(principal.provinces)))
            if principal.provinces
            else stmt.where(false())
        )
    if owner_col is not None and principal.role == "field_officer":
        stmt = stmt.where(owner_col == principal.name)
    return stmt


def covers(principal: Principal, province_code: str | None) -> bool:
    """The province is within the principal's provinces (keys and form links alike: what a write may touch)."""
    return principal.in_scope(province_code)


def provinces_among(principal: Principal, codes: Iterable[str]) -> list[str]:
    """Of these province codes, those the principal covers, sorted."""
    return sorted(c for c in codes if principal.in_scope(c))


def may_read(
    principal: Principal, province_code: str | None, owner: str | None = None, *, owned: bool = False
) -> bool:
    """The one-row form of `readable`: `owned` rows (responses) are read by field officers only if theirs."""
    if principal.kind == "form_link" or not principal.in_scope(province_code):
        return False
    return not (owned and principal.role == "field_officer" and owner != principal.name)


# Who reads responses (field officers: their own) and who reviews them; routes declare the same roles with
# require(...), and services called by pages (which have no route rule of their own) check them here.
RESPONSE_READERS = frozenset({"admin", "planner", "field_officer"})
REVIEWERS = frozenset({"admin", "planner"})


def check_role(principal: Principal, roles: frozenset[str], what: str) -> None:
    """403 unless the caller is a key of one of these roles (form links have none of them)."""
    if principal.kind != "key" or principal.role not in roles:
        raise Forbidden(f"A {principal.role} key may not {what}.")


def may_read_response(principal: Principal, province_code: str | None, submitted_by: str | None) -> bool:
    """Responses are read by planners and admins in scope, and by the field officer who submitted them."""
    return principal.role in RESPONSE_READERS and may_read(principal, province_code, submitted_by, owned=True)


def check_write(principal: Principal, province_code: str, path: str = "province_code") -> None:
    """403 when a write names a province outside the caller's scope."""
    if not principal.in_scope(province_code):
        raise Forbidden.at(
            path,
            "out_of_scope",
            f"Province {province_code} is outside this key's provinces.",
            detail=f"This key may not write in province {province_code}.",
        )


def check_submit(principal: Principal, questionnaire: str, path: str = "questionnaire") -> None:
    """403 when a form link submits to a questionnaire it was not made for."""
    if principal.questionnaires is not None and questionnaire not in principal.questionnaires:
        raise Forbidden.at(
            path,
            "questionnaire_not_allowed",
            f"This form link takes responses to {', '.join(sorted(principal.questionnaires))} only.",
        )


def may_attach_as_form_link(
    principal: Principal, province_code: str | None, submitted_by: str | None, questionnaire: str
) -> bool:
    """A form link uploads a file (an image/file answer's attachment) only to a response it submitted itself,
    to one of its questionnaires, in its province; any other response is as if it did not exist (404). Which
    names it may upload is the rule every uploader has: the names the response's image/file answers give."""
    return (
        principal.kind == "form_link"
        and submitted_by == principal.name
        and principal.in_scope(province_code)
        and principal.questionnaires is not None
        and questionnaire in principal.questionnaires
    )


def check_move(principal: Principal, old_province: str, new_province: str) -> None:
    """A facility (with its responses) moves only between provinces the caller may write in."""
    check_write(principal, old_province)
    check_write(principal, new_province)


def ranking_provinces(principal: Principal, requested: Iterable[str] = ()) -> list[str] | None:
    """The provinces a ranking of this caller covers: the requested ones within scope (None: every province)."""
    wanted = set(requested) or None
    if principal.provinces is not None:
        wanted = set(principal.provinces) if wanted is None else wanted & set(principal.provinces)
    return None if wanted is None else sorted(wanted)


def may_read_ranking(principal: Principal, ranking_scope: list[str] | None) -> bool:
    """A frozen ranking is visible to keys whose scope covers every province it was computed over."""
    if principal.kind == "form_link":
        return False
    if principal.provinces is None:
        return True
    return ranking_scope is not None and set(ranking_scope) <= principal.provinces


def may_read_project(principal: Principal, project_provinces: Iterable[str]) -> bool:
    """A point project (and what it reports) is visible to planners and admins whose scope covers every
    province it touches: its own and its facilities' (a project across provinces is a nationwide matter)."""
    if principal.kind != "key" or principal.role not in REVIEWERS:
        return False
    return principal.provinces is None or set(project_provinces) <= principal.provinces


def check_write_all(principal: Principal, provinces: Iterable[str], path: str = "provinces") -> None:
    """403 unless the caller may write in every one of these provinces (a point project and its facilities)."""
    for code in sorted(set(provinces)):
        check_write(principal, code, path)


# -- administration: keys, form links, audit ------------------------------------------------------------


def check_grant(principal: Principal | None, provinces: list[str] | None, path: str = "provinces") -> None:
    """May the caller make a key (or form link) covering `provinces` (None: every province)?

    `[]` is never "all": it is refused (422). Only a nationwide admin or the CLI (principal None) makes
    nationwide keys; a province-scoped admin grants only provinces inside its own (403 otherwise).
    """
    if provinces is not None and not provinces:
        raise Invalid.at(
            path, "empty", "List at least one province code, or leave provinces out for a nationwide key."
        )
    if principal is None or principal.provinces is None:
        return
    if provinces is None:
        raise Forbidden.at(
            path,
            "out_of_scope",
            "A province-scoped admin key may only create keys for its own provinces: list them in 'provinces'.",
        )
    outside = sorted(set(provinces) - principal.provinces)
    if outside:
        raise Forbidden.at(
            path,
            "out_of_scope",
            f"Province(s) {', '.join(outside)} are outside this key's provinces "
            f"({', '.join(sorted(principal.provinces))}).",
        )


def may_administer(principal: Principal | None, provinces: list[str] | None) -> bool:
    """May the caller see or revoke a key (or form link) covering `provinces` (None: every province)?"""
    if principal is None or principal.provinces is None:
        return True
    return provinces is not None and set(provinces) <= principal.provinces


def audit_province(provinces: Iterable[str] | None) -> str | None:
    """The province an audit event belongs to: the one province of its resource, else None (nationwide)."""
    found = sorted(set(provinces)) if provinces is not None else []
    return found[0] if len(found) == 1 else None


def readable_audit(stmt: Select[Any], principal: Principal, province_col: Any, actor_col: Any) -> Select[Any]:
    """Audit events of the caller's provinces, and its own actions; a nationwide admin reads them all."""
    if principal.provinces is None:
        return stmt
    return stmt.where(or_(province_col.in_(sorted(principal.provinces)), actor_col == principal.name))


# -- webhooks ---------------------------------------------------------------------------------------------


def hook_provinces(principal: Principal) -> list[str] | None:
    """The provinces a webhook created by this admin receives events of: the admin's own (None: every one)."""
    return sorted(principal.provinces) if principal.provinces is not None else None


def hook_sees(hook_provinces: frozenset[str] | None, event_provinces: Iterable[str] | None) -> bool:
    """A webhook receives an event only when every province the event belongs to is one of its provinces
    (`event_provinces` None: a nationwide event, e.g. a ranking over every province; only a nationwide hook
    receives it). A nationwide hook (None) receives everything."""
    if hook_provinces is None:
        return True
    if event_provinces is None:
        return False
    return set(event_provinces) <= hook_provinces
