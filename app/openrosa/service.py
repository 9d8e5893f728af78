"""The OpenRosa adapter's calls into the services: which forms a key gets, its media, and a submission.

A submission is translated (submission.py) into exactly the body a JSON client would post and handed to one
command, `responses.instances.submit` (new, a retry or an edit: every rule of it is decided there); its files
go through the attachment service. No rule is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.access import scope
from app.access.principal import Principal
from app.attachments import service as attachments
from app.attachments.store import BlobStore
from app.core.errors import AppError, Invalid, NotFound
from app.facilities import service as facilities
from app.openrosa import media, submission
from app.questionnaires.definition import Definition
from app.questionnaires.registry import Registry
from app.responses import instances


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
    out = instances.submit(session=session, registry=registry, principal=principal,
                           instance_id=inst.instance_id, deprecated_id=inst.deprecated_id, body=body)  # fmt: skip
    if out.receipt:
        return Received(out.response_id, 0, False, d, 0, 0, receipt=True)
    rid, revision, created = out.response_id, out.revision, out.created
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
