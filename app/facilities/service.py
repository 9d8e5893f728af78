"""Facility registry rules: validation against places, tax-code uniqueness, history, scope."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.access import audit, scope
from app.access.principal import Principal
from app.access.scope import check_write, readable
from app.core import uow
from app.core.errors import Conflict, Invalid, NotFound, field_error
from app.core.pagination import Keyset, page
from app.facilities.schemas import FacilityCreate, FacilityRead, FacilityUpdate
from app.models import Facility, FacilityRevision, Response
from app.models.types import utcnow
from app.places.service import fold, provinces, ward_province

SNAPSHOT_FIELDS = ("name", "tax_code", "kind", "sector", "vsic_code", "province_code", "ward_code", "address", "employees",
                   "annual_revenue_vnd", "established_year", "prior_support", "prior_support_count", "last_support_year", "location")  # fmt: skip


def _check_places(province_code: str, ward_code: str | None, prefix: str = "") -> None:
    errors = []
    if province_code not in provinces():
        errors.append(field_error(f"{prefix}province_code", "unknown_province",
                                  f"{province_code!r} is not a current province code; see /api/v1/provinces."))  # fmt: skip
    elif ward_code is not None and ward_province(ward_code) != province_code:
        where = ward_province(ward_code)
        msg = (
            f"Ward {ward_code} is in province {where}, not {province_code}."
            if where
            else f"{ward_code!r} is not a ward code."
        )
        errors.append(
            field_error(f"{prefix}ward_code", "ward_not_in_province" if where else "unknown_ward", msg)
        )
    if errors:
        raise Invalid("The facility's place is not valid.", errors=errors)


def derive(f: Facility) -> None:
    """The fields computed from others: support counts and the accent-folded search text."""
    f.prior_support_count = len(f.prior_support or [])
    years = [p["year"] for p in f.prior_support or []]
    f.last_support_year = max(years) if years else None
    f.search_text = fold(" ".join(x for x in (f.name, f.tax_code or "", f.address or "") if x))


STORED_FIELDS = ("id", *SNAPSHOT_FIELDS, "search_text", "revision", "created_at", "updated_at", "created_by")


def snapshot(f: Facility) -> dict[str, Any]:
    return {k: getattr(f, k) for k in SNAPSHOT_FIELDS}


def to_read(f: Facility) -> FacilityRead:
    return FacilityRead.model_validate(f, from_attributes=True)


def by_tax_code(session: Session, tax_code: str) -> Facility | None:
    return session.execute(select(Facility).where(Facility.tax_code == tax_code)).scalar_one_or_none()  # type: ignore[arg-type]


def duplicate_tax_code(existing: Any, principal: Principal | None, path: str = "tax_code") -> Conflict:
    """409 for a tax code already registered; the existing facility's id only for a caller who may read it."""
    if principal is None or scope.may_read(principal, existing.province_code):
        return Conflict.at(path, "duplicate", "This tax code is registered; use facility_id.",  # type: ignore[return-value]
                           detail=f"A facility with tax code {existing.tax_code} is already registered.",
                           facility_id=existing.id)  # fmt: skip
    return Conflict.at(path, "duplicate",  # type: ignore[return-value]
                       "This tax code is registered to an establishment outside your provinces; "
                       "ask the provincial industry and trade department (Sở Công Thương) to check it.",
                       detail="A facility with this tax code is already registered.")  # fmt: skip


def check_new(principal: Principal | None, data: FacilityCreate, prefix: str = "") -> None:
    """Place and scope checks of a facility about to be registered (no writes)."""
    _check_places(data.province_code, data.ward_code, prefix)
    if principal is not None:
        check_write(principal, data.province_code, f"{prefix}province_code")


def create(
    *,
    session: Session,
    principal: Principal | None,
    data: FacilityCreate,
    prefix: str = "",
    touch: bool = True,
) -> Facility:
    """Register a facility (409 with the existing id when the tax code is known).

    `touch` False: the caller records the change of ranking data itself, last in its transaction."""
    check_new(principal, data, prefix)
    if data.tax_code and (existing := by_tax_code(session, data.tax_code)) is not None:
        raise duplicate_tax_code(existing, principal, f"{prefix}tax_code")
    now = utcnow()
    f = Facility(id=str(uuid.uuid4()), created_at=now, updated_at=now, created_by=principal.name if principal else "cli",
                 **data.model_dump(mode="json"))  # fmt: skip
    derive(f)
    try:
        with session.begin_nested():
            session.add(f)
            session.flush()
    except IntegrityError:
        existing = by_tax_code(session, data.tax_code) if data.tax_code else None
        if existing is not None:
            raise duplicate_tax_code(existing, principal, f"{prefix}tax_code") from None
        raise
    session.add(
        FacilityRevision(
            facility_id=f.id, revision=1, data=snapshot(f), changed_at=now, changed_by=f.created_by
        )
    )
    audit.record(session, principal, "facility.created", "facility", f.id, province=f.province_code)
    if touch:
        uow.emit(session, uow.FacilitiesChanged(count=1))  # a new candidate for present rankings
    return f


def get_or_raise(
    *, session: Session, principal: Principal, facility_id: str, for_update: bool = False
) -> Facility:
    """The facility if it exists and is in the caller's scope; 404 otherwise."""
    stmt = select(Facility).where(Facility.id == facility_id)  # type: ignore[arg-type]
    if for_update:
        stmt = stmt.with_for_update()
    f = session.execute(readable(stmt, principal, Facility.province_code)).scalar_one_or_none()
    if f is None:
        raise NotFound(f"There is no facility {facility_id} in your provinces.")
    return f


def update(*, session: Session, principal: Principal, facility_id: str, data: FacilityUpdate) -> Facility:
    """Apply a partial change and keep the previous state as a revision."""
    f = get_or_raise(session=session, principal=principal, facility_id=facility_id, for_update=True)
    changes = data.model_dump(mode="json", exclude_unset=True)
    nulls = [
        k
        for k in ("name", "kind", "sector", "province_code", "prior_support")
        if k in changes and changes[k] is None
    ]
    if nulls:
        raise Invalid(
            "These fields cannot be emptied.",
            errors=[field_error(k, "required", f"{k} cannot be null.") for k in nulls],
        )
    if not changes:
        return f
    province = changes.get("province_code", f.province_code)
    _check_places(province, changes.get("ward_code", f.ward_code))
    scope.check_move(principal, f.province_code, province)
    if (
        changes.get("tax_code")
        and changes["tax_code"] != f.tax_code
        and (other := by_tax_code(session, changes["tax_code"]))
    ):
        raise duplicate_tax_code(other, principal)
    if province != f.province_code:
        # A facility's responses follow it: whoever may read or revise them is decided by its current province.
        # (Rankings as of an earlier instant still see the facility where it was: prioritisation.data.)
        session.execute(
            sql_update(Response).where(Response.facility_id == f.id).values(province_code=province)
        )  # type: ignore[arg-type]
    if "prior_support" in changes:  # typed entries are replaced; those recorded from point projects stay
        changes["prior_support"] = changes["prior_support"] + [
            p for p in f.prior_support or [] if p.get("point_project_id")
        ]
    for k, v in changes.items():
        setattr(f, k, v)
    derive(f)
    f.revision += 1
    f.updated_at = utcnow()
    session.add(f)
    session.add(
        FacilityRevision(
            facility_id=f.id,
            revision=f.revision,
            data=snapshot(f),
            changed_at=f.updated_at,
            changed_by=principal.name,
        )
    )
    audit.record(session, principal, "facility.updated", "facility", f.id, {"fields": sorted(changes)},
                 province=f.province_code)  # fmt: skip
    session.flush()
    uow.emit(session, uow.FacilitiesChanged(count=1))  # rankings show the facility's attributes and place
    return f


def record_project_support(
    *, session: Session, principal: Principal, entries: dict[str, dict[str, Any] | None], project_id: str
) -> int:
    """Set (or, with None, remove) the prior-support entry that point project `project_id` gives each facility
    in `entries`: a new facility revision where it changes, audited, ranking data touched once. Returns how
    many facilities changed. Called by the point-project commands in their transaction."""
    if not entries:
        return 0
    rows = session.execute(
        select(Facility).where(col(Facility.id).in_(sorted(entries))).with_for_update()
    ).scalars()  # type: ignore[attr-defined]
    changed = 0
    now = utcnow()
    for f in rows:
        kept = [p for p in f.prior_support or [] if p.get("point_project_id") != project_id]
        want = entries[f.id]
        new = kept + ([want] if want is not None else [])
        if new == (f.prior_support or []):
            continue
        f.prior_support = new
        derive(f)
        f.revision += 1
        f.updated_at = now
        session.add(f)
        session.add(FacilityRevision(facility_id=f.id, revision=f.revision, data=snapshot(f), changed_at=now,
                                     changed_by=principal.name))  # fmt: skip
        audit.record(session, principal, "facility.support_recorded" if want else "facility.support_withdrawn",
                     "facility", f.id, {"point_project_id": project_id}, province=f.province_code)  # fmt: skip
        changed += 1
    if changed:
        session.flush()
        uow.emit(session, uow.FacilitiesChanged(count=changed))
    return changed


REGISTRATION_ORDER = Keyset(Facility.seq)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_facilities(
    *,
    session: Session,
    principal: Principal,
    cursor: str | None,
    limit: int,
    province_code: list[str] | None = None,
    sector: list[str] | None = None,
    kind: str | None = None,
    q: str | None = None,
) -> tuple[list[Facility], str | None]:
    """Facilities in scope, oldest registration first, keyset-paginated."""
    stmt: Any = readable(select(Facility), principal, Facility.province_code)
    if province_code:
        stmt = stmt.where(Facility.province_code.in_(province_code))  # type: ignore[attr-defined]
    if sector:
        stmt = stmt.where(Facility.sector.in_(sector))  # type: ignore[attr-defined]
    if kind:
        stmt = stmt.where(Facility.kind == kind)
    if q and q.strip():
        for word in fold(q).split():
            stmt = stmt.where(Facility.search_text.like(f"%{_escape_like(word)}%", escape="\\"))  # type: ignore[attr-defined]
    return page(session, stmt, REGISTRATION_ORDER, cursor=cursor, limit=limit)


def in_scope_state(*, session: Session, principal: Principal) -> tuple[Any, ...]:
    """A cheap fingerprint of the facilities the caller may read: it changes whenever one is added or edited
    (every edit moves updated_at), so derived files (ODK form media) are rebuilt only then."""
    stmt: Any = readable(
        select(func.count(), func.max(Facility.seq), func.max(Facility.updated_at)),
        principal,
        Facility.province_code,
    )
    row = session.execute(stmt).one()
    return tuple(row)


def in_scope_choices(
    *, session: Session, principal: Principal
) -> list[tuple[str, str, str | None, str, str | None]]:
    """(id, name, tax_code, province_code, ward_code) of every facility the caller may read, by name (accents
    folded, as a person reads the list; the same order on every database)."""
    stmt: Any = readable(
        select(Facility.id, Facility.name, Facility.tax_code, Facility.province_code, Facility.ward_code),
        principal, Facility.province_code,
    )  # fmt: skip
    rows = [tuple(r) for r in session.execute(stmt)]
    rows.sort(key=lambda r: (fold(r[1]), r[1], r[0]))
    return rows  # type: ignore[return-value]


def names(*, session: Session, principal: Principal, ids: list[str]) -> dict[str, str]:
    """Facility id → name, for the ids the caller may read (others are left out)."""
    if not ids:
        return {}
    stmt = readable(select(Facility.id, Facility.name), principal, Facility.province_code)
    return dict(session.execute(stmt.where(col(Facility.id).in_(sorted(set(ids))))).tuples().all())  # type: ignore[attr-defined]
