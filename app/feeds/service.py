"""The feeds' reads: the one project, its forms (one per questionnaire), each questionnaire's submissions and the
facility registry, in the shapes ODK Central gives them.

An adapter, no rule of its own: rows come through the JSON API's own scope statement
(`responses.service.list_statement`, `access.scope.readable`) and are paged by the one keyset helper
(`core.pagination`), so a page deep in the table costs what the first does. Rows are in receive order (oldest
first); `@odata.nextLink` carries a keyset `$skiptoken`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlmodel import Session, col

from app.access import scope
from app.access.principal import Principal
from app.core.errors import NotFound
from app.core.pagination import Keyset, encode_cursor, page
from app.feeds import edmx
from app.feeds.odata import BoolOp, Comparison, Literal, Node, Not, Options, as_instant, odata_error
from app.models import ApiKey, Attachment, DefinitionHash, Facility, Response, ResponseRevision
from app.questionnaires.definition import ATTACHMENTS, Definition
from app.questionnaires.registry import Registry
from app.responses.service import list_statement
from app.review import states

PROJECT_ID = 1
PROJECT_NAME = "Khuyến công"
DATASET = "facilities"


def not_found(what: str) -> NotFound:
    return NotFound(f"{what}.", code=404.1, message="Could not find the resource you were looking for.")


def check_project(project_id: int) -> None:
    """This service is one project (id 1); any other id is not found."""
    if project_id != PROJECT_ID:
        raise not_found(f"There is no project {project_id}; this server has one project, id {PROJECT_ID}")


def iso(dt: datetime | None) -> str | None:
    """Central's timestamps: UTC with milliseconds and a Z."""
    if dt is None:
        return None
    u = dt.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


# -- project, forms --------------------------------------------------------------------------------------------


def _first_seen(session: Session) -> dict[tuple[str, int], datetime]:
    rows = session.execute(
        select(DefinitionHash.key, DefinitionHash.version, DefinitionHash.first_seen_at).where(
            DefinitionHash.kind == "questionnaire"  # type: ignore[arg-type]
        )
    ).all()
    return {(k, v): at for k, v, at in rows}


def project(*, session: Session, registry: Registry) -> dict[str, Any]:
    """The one project, as Central describes a project."""
    seen = _first_seen(session)
    created = min(seen.values()) if seen else None
    return {
        "id": PROJECT_ID,
        "name": PROJECT_NAME,
        "description": "Khảo sát nhu cầu khuyến công: mỗi bảng hỏi là một biểu mẫu (form).",
        "archived": False,
        "keyId": None,
        "createdAt": iso(created),
        "updatedAt": None,
        "deletedAt": None,
        "forms": len(_questionnaires(registry)),
    }


def _questionnaires(registry: Registry) -> list[str]:
    return [k for k in registry.keys if any(d.status != "draft" for d in registry.versions(k))]


def _served_versions(registry: Registry, key: str) -> list[Definition]:
    """The versions a form's table serves: every version that takes or took responses (not drafts)."""
    versions = [d for d in registry.versions(key) if d.status != "draft"]
    if not versions:
        raise not_found(f"There is no form {key!r}; forms: {', '.join(_questionnaires(registry))}")
    return versions


def _form(key: str, versions: list[Definition], seen: dict[tuple[str, int], datetime]) -> dict[str, Any]:
    latest = versions[-1]
    published = [d for d in versions if d.status == "published"]
    at = [seen[(key, d.version)] for d in versions if (key, d.version) in seen]
    first_published = [seen[(key, d.version)] for d in published if (key, d.version) in seen]
    return {
        "projectId": PROJECT_ID,
        "xmlFormId": key,
        "name": latest.title.get("vi") or key,
        "version": str(latest.version),
        "hash": latest.content_hash[:32],
        "state": "open" if published else "closed",
        "enketoId": None,
        "keyId": None,
        "createdAt": iso(min(at)) if at else None,
        "updatedAt": iso(seen.get((key, latest.version))),
        "publishedAt": iso(min(first_published)) if first_published else None,
    }


def forms(*, session: Session, registry: Registry) -> list[dict[str, Any]]:
    """One form per questionnaire (`xmlFormId` = its key, `version` = its latest version)."""
    seen = _first_seen(session)
    return [_form(k, _served_versions(registry, k), seen) for k in _questionnaires(registry)]


def form(*, session: Session, registry: Registry, key: str) -> dict[str, Any]:
    return _form(key, _served_versions(registry, key), _first_seen(session))


def current_user(*, session: Session, principal: Principal) -> dict[str, Any]:
    """The caller as Central describes a user: the key's name stands for its email and display name."""
    created = session.execute(
        select(ApiKey.created_at).where(ApiKey.id == principal.key_id)
    ).scalar_one_or_none()  # type: ignore[arg-type]
    return {
        "id": principal.key_id,
        "type": "user",
        "displayName": principal.name,
        "email": principal.name,
        "role": principal.role,
        "provinces": None if principal.provinces is None else sorted(principal.provinces),
        "createdAt": iso(created),
        "updatedAt": None,
        "deletedAt": None,
    }


# -- $filter → SQL -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filterable:
    """A field `$filter` may name: how a comparison with a literal becomes SQL."""

    kind: str  # "instant" | "text" | "review"
    column: Any = None


_SQL_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: c != v,
    "lt": lambda c, v: c < v,
    "le": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v,
}

# Central's review states ↔ this service's (`received` is Central's null).
CENTRAL_REVIEW = {"received": None, "has_issues": "hasIssues", "edited": "edited", "approved": "approved",
                  "rejected": "rejected"}  # fmt: skip
FROM_CENTRAL = {v: k for k, v in CENTRAL_REVIEW.items()}


def _comparison(c: Comparison, fields: dict[str, Filterable]) -> ColumnElement[bool]:
    spec = fields.get(c.field)
    if spec is None:
        raise odata_error("$filter", 400.18, "unsupported_field",
                          f"The given OData filter expression references fields not supported by this server: "
                          f"{c.field} at {c.at}; filterable: {', '.join(fields)}.")  # fmt: skip
    lit: Literal = c.literal
    if spec.kind == "review":
        if c.op not in ("eq", "ne"):
            raise odata_error("$filter", 400.18, "unsupported_operator",
                              f"{c.field} is compared with eq or ne only, not {c.op}.")  # fmt: skip
        if lit.value is not None and lit.value not in FROM_CENTRAL:
            raise odata_error("$filter", 400.18, "unknown_value",
                              f"{lit.raw} is not a review state; one of null, "
                              + ", ".join(f"'{v}'" for v in FROM_CENTRAL if v) + ".")  # fmt: skip
        wanted = FROM_CENTRAL[lit.value]
        return states.current_is([wanted] if c.op == "eq" else [s for s in states.STATES if s != wanted])
    if spec.kind == "instant":
        value: Any = as_instant(lit, c.field)
    else:
        if lit.value is not None and not isinstance(lit.value, str):
            raise odata_error("$filter", 400.18, "type_mismatch",
                              f"{c.field} is text; compare it with a quoted value such as '68', not {lit.raw}.")  # fmt: skip
        value = lit.value
    col = spec.column
    if value is None:
        if c.op == "eq":
            return col.is_(None)  # type: ignore[no-any-return]
        if c.op == "ne":
            return col.is_not(None)  # type: ignore[no-any-return]
        return false()
    return _SQL_OPS[c.op](col, value)  # type: ignore[no-any-return]


def _where(node: Node, fields: dict[str, Filterable]) -> ColumnElement[bool]:
    if isinstance(node, Comparison):
        return _comparison(node, fields)
    if isinstance(node, Not):
        # SQL's NOT of an unknown (a comparison with NULL) is unknown; OData's `not` of a false comparison is true.
        return not_(_where(node.operand, fields).is_(true()))
    assert isinstance(node, BoolOp)
    join = and_ if node.op == "and" else or_
    return join(_where(node.left, fields), _where(node.right, fields))


SUBMISSION_FILTERS = {
    "__system/submissionDate": Filterable("instant", Response.received_at),
    "__system/reviewState": Filterable("review"),
    "__system/submitterId": Filterable("text", Response.submitted_by),
    "province_code": Filterable("text", Response.province_code),
}
ENTITY_FILTERS = {
    "__system/createdAt": Filterable("instant", Facility.created_at),
    "__system/updatedAt": Filterable("instant", Facility.updated_at),
    "province_code": Filterable("text", Facility.province_code),
}


def filterable_submission_fields() -> list[str]:
    return list(SUBMISSION_FILTERS)


def filterable_entity_fields() -> list[str]:
    return list(ENTITY_FILTERS)


# -- $select -----------------------------------------------------------------------------------------------------


def _selector(
    select_list: list[str] | None, top: list[str], system: list[str]
) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """A function keeping only the selected properties (`__system/x` selects one system field); 400 for a name
    the table does not have."""
    if select_list is None:
        return None
    keep_top: list[str] = []
    keep_system: list[str] = []
    for name in select_list:
        if name == "*":
            return None
        if name.startswith("__system/"):
            sub = name.split("/", 1)[1]
            if sub not in system:
                raise odata_error(
                    "$select", 400.23, "unknown_property", f"Could not find a property named '{name}'."
                )
            keep_system.append(sub)
        elif name in top:
            keep_top.append(name)
        else:
            raise odata_error("$select", 400.23, "unknown_property",
                              f"Could not find a property named '{name}'; properties: {', '.join(top)}.")  # fmt: skip

    def pick(row: dict[str, Any]) -> dict[str, Any]:
        out = {k: row[k] for k in keep_top if k in row}
        if keep_system and "__system" not in keep_top:
            out["__system"] = {k: row["__system"][k] for k in keep_system}
        return out

    return pick


# -- values ------------------------------------------------------------------------------------------------------


def _geo(v: Any, wkt: bool) -> Any:
    if not isinstance(v, dict) or "lat" not in v or "lon" not in v:
        return None
    coords = [v["lon"], v["lat"]] + ([v["alt"]] if v.get("alt") is not None else [])
    if wkt:
        return "POINT (" + " ".join(str(c) for c in coords) + ")"
    point: dict[str, Any] = {"type": "Point", "coordinates": coords}
    if v.get("accuracy_m") is not None:
        point["properties"] = {"accuracy": v["accuracy_m"]}
    return point


def _value(col: edmx.Column, v: Any, wkt: bool) -> Any:
    if v is None:
        return None
    if col.qtype == "select_multiple" and isinstance(v, list):
        return " ".join(str(x) for x in v)
    if col.qtype == "geopoint":
        return _geo(v, wkt)
    if col.qtype == "text" and not isinstance(v, str):
        return str(v)
    return v


# -- Submissions -------------------------------------------------------------------------------------------------


@dataclass
class FeedPage:
    rows: list[dict[str, Any]]
    next_token: str | None
    count: int | None


_SUBMISSION_COLUMNS = (
    Response.seq, Response.id, Response.version, Response.facility_id, Response.province_code,
    Response.submitted_by, Response.received_at, Response.current_revision, Response.review_state,
    Response.review_revision, Response.reviewed_at, ResponseRevision.answers, ResponseRevision.received_at,
    Response.channel,
)  # fmt: skip
_KEYS = Keyset(Response.seq)


def submission_columns(registry: Registry, key: str) -> list[edmx.Column]:
    return edmx.union_columns(_served_versions(registry, key))


def _attachments(session: Session, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(Attachment.response_id, func.count())
        .where(col(Attachment.response_id).in_(ids))
        .group_by(col(Attachment.response_id))
    ).all()
    return {rid: n for rid, n in rows}


def submissions(
    *, session: Session, registry: Registry, principal: Principal, key: str, opts: Options
) -> FeedPage:
    """One page of a questionnaire's submissions (every version in one table) that the caller may read."""
    columns = submission_columns(registry, key)
    attachment_qs = [c.name for c in columns if c.qtype in ATTACHMENTS]
    top = ["__id", "__system", *(n for n, _ in edmx.SUBMISSION_COLUMNS), *(c.name for c in columns)]
    pick = _selector(opts.select, top, [n for n, _ in edmx.SUBMISSION_SYSTEM])
    stmt = list_statement(principal, questionnaire=key, columns=_SUBMISSION_COLUMNS)
    if opts.filter is not None:
        stmt = stmt.where(_where(opts.filter, SUBMISSION_FILTERS))
    count = None
    if opts.count:
        count = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    if opts.top == 0:
        return FeedPage([], None, count)
    if opts.skip:
        stmt = stmt.offset(opts.skip)
    cursor = encode_cursor(opts.last_seq) if opts.last_seq is not None else None
    rows, nxt = page(
        session, stmt, _KEYS, cursor=cursor, limit=opts.page_size, scalars=False, key=lambda r: r.seq
    )
    present = _attachments(session, [r.id for r in rows]) if attachment_qs else {}
    out = []
    for r in rows:
        answers = r.answers or {}
        state = states.derive(r.review_state, r.review_revision, r.current_revision)
        updated = max((t for t in ((r[12] if r.current_revision > 1 else None), r.reviewed_at) if t is not None),
                      default=None)  # fmt: skip
        row: dict[str, Any] = {
            "__id": r.id,
            "__system": {
                "submissionDate": iso(r.received_at),
                "updatedAt": iso(updated),
                "submitterId": r.submitted_by,
                "submitterName": r.submitted_by,
                "attachmentsPresent": present.get(r.id, 0),
                "attachmentsExpected": sum(1 for q in attachment_qs if answers.get(q)),
                "status": None,
                "reviewState": CENTRAL_REVIEW[state],
                "deviceId": None,
                "edits": r.current_revision - 1,
                "formVersion": str(r.version),
                "channel": r.channel,
            },
            "facility_id": r.facility_id,
            "province_code": r.province_code,
        }
        for c in columns:
            row[c.name] = _value(c, answers.get(c.name), opts.wkt)
        out.append(pick(row) if pick else row)
    return FeedPage(out, nxt, count)


# -- the facility registry (dataset `facilities`) ---------------------------------------------------------------


def datasets(*, session: Session) -> list[dict[str, Any]]:
    """The one dataset, the facility registry, as Central lists entity lists."""
    created = session.execute(select(func.min(DefinitionHash.first_seen_at))).scalar_one_or_none()
    return [{"name": DATASET, "projectId": PROJECT_ID, "createdAt": iso(created or datetime.now(UTC)),
             "approvalRequired": False}]  # fmt: skip


def check_dataset(name: str) -> None:
    if name != DATASET:
        raise not_found(f"There is no dataset {name!r}; this server has one, {DATASET!r}")


def entities(*, session: Session, principal: Principal, opts: Options) -> FeedPage:
    """One page of the facilities the caller may read, as Central's Entities."""
    top = ["__id", "__system", "label", *(n for n, _ in edmx.FACILITY_PROPERTIES)]
    pick = _selector(opts.select, top, [n for n, _ in edmx.ENTITY_SYSTEM])
    stmt: Any = scope.readable(select(Facility), principal, Facility.province_code)
    if opts.filter is not None:
        stmt = stmt.where(_where(opts.filter, ENTITY_FILTERS))
    count = None
    if opts.count:
        count = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    if opts.top == 0:
        return FeedPage([], None, count)
    if opts.skip:
        stmt = stmt.offset(opts.skip)
    cursor = encode_cursor(opts.last_seq) if opts.last_seq is not None else None
    rows, nxt = page(session, stmt, Keyset(Facility.seq), cursor=cursor, limit=opts.page_size)
    out = []
    for f in rows:
        row: dict[str, Any] = {
            "__id": f.id,
            "label": f.name,
            "__system": {
                "createdAt": iso(f.created_at),
                "creatorId": f.created_by,
                "creatorName": f.created_by,
                "updates": f.revision - 1,
                "updatedAt": iso(f.updated_at) if f.revision > 1 else None,
                "version": f.revision,
                "conflict": None,
            },
        }
        for name, _ in edmx.FACILITY_PROPERTIES:
            v = getattr(f, name)
            row[name] = _geo(v, opts.wkt) if name == "location" else v
        out.append(pick(row) if pick else row)
    return FeedPage(out, nxt, count)
