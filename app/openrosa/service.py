"""The OpenRosa adapter's calls into the services: which forms a key gets, its media, and a submission.

A submission is translated (submission.py) into exactly the body a JSON client would post and handed to the
one ingest path (responses.ingest) or, for an edit, to the one revision path (responses.service.revise);
its files go through the attachment service. No rule is decided here: roles, scope, validation, idempotency
and the stored form are theirs.

Edits: Collect gives an edited instance a new instanceID and names the one it replaces in deprecatedID. The
response is found from deprecatedID (a response id, or the instanceID a later revision was stored with), the
edit becomes the next revision with its instanceID kept (so a retry is recognised and the next edit finds it).
An edit whose deprecatedID the key cannot find (never sent, or not its own) is stored as a new response under
its instanceID: the officer's data is never refused for having been edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.access import scope
from app.access.principal import Principal
from app.attachments import service as attachments
from app.attachments.store import BlobStore
from app.core.db import writing
from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound, validation_errors
from app.facilities import service as facilities
from app.openrosa import media, submission
from app.openrosa.xform import NEW
from app.places.service import fold
from app.questionnaires.definition import Definition
from app.questionnaires.registry import Registry
from app.responses import ingest
from app.responses import service as responses
from app.responses.schemas import ResponseCreate, ResponseRevise


def forms_for(registry: Registry, principal: Principal) -> list[Definition]:
    """The newest published version of each questionnaire the key may submit to (Collect keeps one version
    per form; devices holding an older one keep submitting it, and it is accepted)."""
    out = []
    for key in registry.keys:
        d = registry.latest_published(key)
        if d is not None and (principal.questionnaires is None or key in principal.questionnaires):
            out.append(d)
    return out


def form(registry: Registry, principal: Principal, key: str, version: int) -> Definition:
    """A version a device may download: published or retired (it may still hold it), never a draft."""
    d = registry.definitions.get((key, version))
    if (
        d is None
        or d.status == "draft"
        or (principal.questionnaires is not None and key not in principal.questionnaires)
    ):
        raise NotFound(f"There is no form {key} version {version} for this key.")
    return d


_media = media.MediaCache()


def media_files(*, session: Session, principal: Principal) -> dict[str, media.MediaFile]:
    """facilities.csv, provinces.csv, wards.csv and point_projects.csv of the key's scope (rebuilt when its
    facilities or any point project change)."""
    from app.places import service as places
    from app.point_projects import service as point_projects

    provinces = scope.provinces_among(principal, places.provinces())
    key = (tuple(provinces), *facilities.in_scope_state(session=session, principal=principal),
           point_projects.state_mark(session))  # fmt: skip
    files = _media.get(key)
    if files is None:
        files = media.build(provinces, facilities.in_scope_choices(session=session, principal=principal),
                            point_projects.supported_choices(session=session, principal=principal))  # fmt: skip
        _media.put(key, files)
    return files


class SubmissionInvalid(Invalid):
    """The XML itself is not a submission of our forms (400)."""

    status, slug, title = 400, "invalid-submission", "Invalid submission"


@dataclass
class Received:
    response_id: str
    revision: int
    created: bool
    definition: Definition
    files_added: int
    waiting: int
    receipt: bool = False  # a resend of content this key may not read: nothing of it is told


def _parse(registry: Registry, xml: bytes) -> tuple[submission.Instance, Definition, dict[str, Any]]:
    try:
        inst = submission.read(xml)
    except submission.SubmissionError as exc:
        raise SubmissionInvalid(exc.vi) from None
    d = registry.for_responses(inst.form_id, inst.version)
    try:
        body = submission.to_body(inst, d)
    except submission.SubmissionError as exc:
        raise SubmissionInvalid(exc.vi) from None
    return inst, d, body


def _create(
    session: Session, registry: Registry, principal: Principal, body: dict[str, Any]
) -> tuple[str, int, bool, bool]:
    try:
        parsed = ResponseCreate.model_validate(body)
    except ValidationError as exc:
        raise Invalid(
            "The submission does not make a valid response.", errors=validation_errors(exc.errors())
        ) from None
    out = ingest.ingest(session=session, registry=registry, principal=principal, body=parsed)
    return out.response.id, out.revision.revision, out.status == "created", out.visible_to(principal)


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
    session: Session, registry: Registry, principal: Principal, inst: submission.Instance, body: dict[str, Any],
    response_id: str, base: int,
) -> tuple[str, int, bool]:  # fmt: skip
    if principal.role not in (*responses.REVISERS, "admin"):
        raise Forbidden(
            f"The role {principal.role!r} may not revise responses; edits need a field officer's key."
        )
    change = _change(body, base)
    with writing(session):
        r, _ = responses.get(session=session, principal=principal, response_id=response_id)
        if not _same_facility(session, principal, r.facility_id, body):
            got = NEW if "facility" in body else body.get("facility_id")
            raise Invalid.at("facility_id", "facility_changed",
                             f"An edit keeps the response's facility ({r.facility_id}); this one names {got}.")  # fmt: skip
        out, created = responses.revise(session=session, registry=registry, principal=principal,
                                        response_id=response_id, body=change, instance_id=inst.instance_id)  # fmt: skip
    return out.response.id, out.revision.revision, created


def _same_facility(session: Session, principal: Principal, facility_id: str, body: dict[str, Any]) -> bool:
    """Does the edited instance still name the response's facility? One registered inline is named again by
    its inline details (an edited instance keeps them): its tax code, or (without one) its name."""
    if "facility" not in body:
        return body.get("facility_id") == facility_id
    try:
        f = facilities.get_or_raise(session=session, principal=principal, facility_id=facility_id)
    except NotFound:
        return False
    inline = body["facility"]
    tax = (inline.get("tax_code") or "").replace("-", "").replace(" ", "") or None
    if tax and f.tax_code:
        return tax == f.tax_code
    return fold(f.name) == fold(str(inline.get("name", "")))


def submit(
    *,
    session: Session,
    registry: Registry,
    store: BlobStore,
    principal: Principal,
    xml: bytes,
    files: list[tuple[str, str, bytes]],
) -> Received:
    """One OpenRosa post: the instance (new, a retry, or an edit), then the files it carries.

    The instance is parsed once; an error raised after it was read carries its questionnaire version as
    `definition` (the labels the Vietnamese message names answers by).

    Content already stored, resent by a key that may not read the response it belongs to (another officer's
    phone holding the same instance): a receipt, whatever the form, and nothing of the stored response (its
    revision, its files, what it still waits for) in the reply; the files of such a resend are not this key's
    to add. Only content that differs under the same instanceID is refused (409), as for any client id."""
    inst, d, body = _parse(registry, xml)
    try:
        return _store(session, registry, store, principal, inst, d, body, files)
    except AppError as exc:
        exc.definition = d  # type: ignore[attr-defined]
        raise


def _store(
    session: Session, registry: Registry, store: BlobStore, principal: Principal, inst: submission.Instance,
    d: Definition, body: dict[str, Any], files: list[tuple[str, str, bytes]],
) -> Received:  # fmt: skip
    target = None
    if inst.deprecated_id is not None:
        # A retry of an edit already stored names itself; a first edit names the instance it replaces.
        own = target = responses.revision_for_instance(session, inst.instance_id)
        if target is not None and target[0] != inst.instance_id:
            target = (target[0], target[1] - 1)
        elif target is None:
            target = responses.revision_for_instance(session, inst.deprecated_id)
        if target is not None:
            try:
                responses.get(session=session, principal=principal, response_id=target[0])
            except NotFound:
                if own is not None and own[0] != inst.instance_id:  # this very edit is stored: a resend
                    if not responses.stores_revision(session, own[0], own[1], _change(body, 1)):
                        raise Conflict.at("meta.instanceID", "conflict", "This instanceID is taken by different content.",
                                          detail=f"A different submission with instanceID {inst.instance_id} was already received.") from None  # fmt: skip
                    return Received(inst.instance_id, 0, False, d, 0, 0, receipt=True)
                target = None  # not this key's to edit: kept as a response of its own, like an unknown one
    if target is not None and (target[0] != inst.instance_id):
        rid, revision, created = _revise(session, registry, principal, inst, body, *target)
    else:
        rid, revision, created, visible = _create(session, registry, principal, body)
        if not visible:
            return Received(rid, 0, False, d, 0, 0, receipt=True)
    added = 0
    for name, content_type, data in files:
        _, new = attachments.add(session=session, registry=registry, store=store, principal=principal,
                                 response_id=rid, name=name, content_type=content_type, data=data)  # fmt: skip
        added += new
    waiting = 0
    if any(q.type in ("image", "file") for q in d.questions):
        listing = attachments.list_for(
            session=session, registry=registry, principal=principal, response_id=rid
        )
        waiting = len(listing.missing)
    return Received(rid, revision, created, d, added, waiting)
