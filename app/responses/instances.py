"""One command for a client that names its instances (ODK Collect through OpenRosa): new, a retry, or an edit.

The OpenRosa adapter translates a submission into exactly the body a JSON client would post and calls
`submit` once; everything decided about it is decided here, with the rules of the JSON routes:

- a new instance goes to the one ingest path (`ingest.ingest`: roles, scope, validation, idempotency, the
  group committer);
- an edit becomes the next revision through the one revision path (`service.revise`), under the same role
  rule as `PATCH /responses/{id}` (a field officer's key, or admin) and with the response's facility kept.

Edits: Collect gives an edited instance a new instanceID and names the one it replaces in deprecatedID. The
response is found from deprecatedID (a response id, or the instanceID a later revision was stored with), the
edit becomes the next revision with its instanceID kept (so a retry is recognised and the next edit finds it).
An edit whose deprecatedID the key cannot find (never sent, or not its own) is stored as a new response under
its instanceID: the officer's data is never refused for having been edited.

Content already stored, resent by a key that may not read the response it belongs to (another officer's
phone holding the same instance), gets a receipt and learns nothing of the stored response; only content that
differs under the same instanceID is refused (409), as for any client id.

Transactions: a new instance is stored by the group committer; an edit's short write transaction is opened
here with `writing()` (the OpenRosa route is a staged write route: parsing and checks hold no lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.access.principal import Principal
from app.core.db import writing
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, validation_errors
from app.facilities import service as facilities
from app.facilities.schemas import tax_digits
from app.places.service import fold
from app.questionnaires.registry import Registry
from app.responses import ingest, service
from app.responses.schemas import ResponseCreate, ResponseRevise

#: The key an inline registration is sent under in a body (a facility registered with the response).
INLINE = "facility"


@dataclass(frozen=True)
class Submitted:
    response_id: str
    revision: int
    created: bool
    receipt: bool = False  # a resend of content this key may not read: nothing of it may be told


def submit(
    *, session: Session, registry: Registry, principal: Principal, instance_id: str, deprecated_id: str | None,
    body: dict[str, Any],
) -> Submitted:  # fmt: skip
    """Store one instance: `body` is the JSON body of `POST /responses` (its `client_id` the instanceID)."""
    target = None
    if deprecated_id is not None:
        # A retry of an edit already stored names itself; a first edit names the instance it replaces.
        own = target = service.revision_for_instance(session, instance_id)
        if target is not None and target[0] != instance_id:
            target = (target[0], target[1] - 1)
        elif target is None:
            target = service.revision_for_instance(session, deprecated_id)
        if target is not None:
            try:
                service.get(session=session, principal=principal, response_id=target[0])
            except NotFound:
                if own is not None and own[0] != instance_id:  # this very edit is stored: a resend
                    if not service.stores_revision(session, own[0], own[1], _change(body, 1)):
                        raise Conflict.at("meta.instanceID", "conflict", "This instanceID is taken by different content.",
                                          detail=f"A different submission with instanceID {instance_id} was already received.") from None  # fmt: skip
                    return Submitted(instance_id, 0, False, receipt=True)
                target = None  # not this key's to edit: kept as a response of its own, like an unknown one
    if target is not None and target[0] != instance_id:
        return _revise(session, registry, principal, instance_id, body, *target)
    return _create(session, registry, principal, body)


def _create(session: Session, registry: Registry, principal: Principal, body: dict[str, Any]) -> Submitted:
    try:
        parsed = ResponseCreate.model_validate(body)
    except ValidationError as exc:
        raise Invalid(
            "The submission does not make a valid response.", errors=validation_errors(exc.errors())
        ) from None
    out = ingest.ingest(session=session, registry=registry, principal=principal, body=parsed)
    if not out.visible_to(principal):
        return Submitted(out.response.id, 0, False, receipt=True)
    return Submitted(out.response.id, out.revision.revision, out.status == "created")


def _change(body: dict[str, Any], base: int) -> ResponseRevise:
    """An edited instance as the revision a JSON client would send."""
    try:
        return ResponseRevise.model_validate(
            {"base_revision": base, "answers": body["answers"], "collected_at": body["collected_at"]}
        )
    except ValidationError as exc:
        raise Invalid(
            "The edit does not make a valid revision.", errors=validation_errors(exc.errors())
        ) from None


def _revise(
    session: Session, registry: Registry, principal: Principal, instance_id: str, body: dict[str, Any],
    response_id: str, base: int,
) -> Submitted:  # fmt: skip
    if not principal.has_role(*service.REVISERS):
        raise Forbidden(
            f"The role {principal.role!r} may not revise responses; edits need a field officer's key."
        )
    change = _change(body, base)
    with writing(session):
        r, _ = service.get(session=session, principal=principal, response_id=response_id)
        if not _same_facility(session, principal, r.facility_id, body):
            got = "a new establishment" if INLINE in body else body.get("facility_id")
            raise Invalid.at("facility_id", "facility_changed",
                             f"An edit keeps the response's facility ({r.facility_id}); this one names {got}.")  # fmt: skip
        out, created = service.revise(session=session, registry=registry, principal=principal,
                                      response_id=response_id, body=change, instance_id=instance_id)  # fmt: skip
    return Submitted(out.response.id, out.revision.revision, created)


def _same_facility(session: Session, principal: Principal, facility_id: str, body: dict[str, Any]) -> bool:
    """Does the edited instance still name the response's facility? One registered inline is named again by
    its inline details (an edited instance keeps them): its tax code, or (without one) its name."""
    if INLINE not in body:
        return body.get("facility_id") == facility_id
    try:
        f = facilities.get_or_raise(session=session, principal=principal, facility_id=facility_id)
    except NotFound:
        return False
    inline = body[INLINE]
    tax = tax_digits(str(inline.get("tax_code") or "")) or None
    if tax and f.tax_code:
        return tax == f.tax_code
    return fold(f.name) == fold(str(inline.get("name", "")))
