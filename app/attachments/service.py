"""Attachments: the files that `image` and `file` answers name, for every client (JSON API and OpenRosa).

Rules, whichever route a file arrives by:
- a file is accepted only under a name that an `image`/`file` answer of the response names (in any of its
  revisions), with a media type that question accepts (`accept`, default any image for `image`);
- adding a file is revising the response: same roles and scope (a field officer: its own responses, in its
  provinces); a form link (which reads and revises nothing) adds files only to the responses it submitted
  itself (`scope.may_attach_as_form_link`), so the hosted page can send a photo after its response is stored;
  reading one is reading the response;
- the same bytes under the same name again is a success (nothing stored twice), other bytes under a name that
  already has a file is a 409: a stored file is never replaced;
- the bytes are stored (content-addressed, durably) before the row that names them is committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.access import audit, scope
from app.access.principal import Principal
from app.attachments.store import BlobStore
from app.core.db import writing
from app.core.errors import AppError, Conflict, Invalid, NotFound
from app.models import Attachment, Response, ResponseRevision
from app.models.types import utcnow
from app.questionnaires.definition import Definition, Question
from app.questionnaires.registry import Registry
from app.responses import service as responses
from app.responses.store import latest


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


@dataclass(frozen=True)
class Named:
    """A file name that an answer gives, with the question that gives it."""

    name: str
    question: Question


def _named(d: Definition, answers: list[dict[str, Any]]) -> dict[str, Named]:
    """File name → its question, over the answers of every revision (the latest revision's naming wins)."""
    out: dict[str, Named] = {}
    for a in answers:
        for q in d.questions:
            if q.type in ("image", "file") and isinstance(a.get(q.id), str):
                out[a[q.id]] = Named(a[q.id], q)
    return out


def accepts(q: Question, content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    allowed = q.accept or (("image/*",) if q.type == "image" else ("*/*",))
    for a in allowed:
        major, _, minor = a.partition("/")
        if a == "*/*" or a == kind or (minor == "*" and kind.startswith(major + "/")):
            return True
    return False


def _response(session: Session, principal: Principal, response_id: str) -> tuple[Response, ResponseRevision]:
    return responses.get(session=session, principal=principal, response_id=response_id)


def _response_to_attach(session: Session, principal: Principal, response_id: str) -> Response:
    """The response a file is added to: one the caller may revise, or (a form link) one it submitted itself."""
    if principal.kind != "form_link":
        return _response(session, principal, response_id)[0]
    found = latest(session, response_id)
    if found is None or not scope.may_attach_as_form_link(
        principal, found[0].province_code, found[0].submitted_by, found[0].questionnaire
    ):
        raise NotFound(f"There is no response {response_id} that this form link submitted.")
    return found[0]


def _all_answers(session: Session, response_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ResponseRevision.answers)
        .where(ResponseRevision.response_id == response_id)  # type: ignore[arg-type]
        .order_by(ResponseRevision.revision)  # type: ignore[arg-type]
    )
    return [r[0] for r in rows]


def _stored(session: Session, response_id: str, name: str) -> Attachment | None:
    return session.execute(
        select(Attachment).where(Attachment.response_id == response_id, Attachment.name == name)  # type: ignore[arg-type]
    ).scalar_one_or_none()


def _same_or_conflict(found: Attachment, digest: str, name: str) -> Attachment:
    if found.sha256 != digest:
        raise Conflict.at(
            "name", "attachment_exists", f"{name} already has a file with other content; a stored file is never replaced.",
            detail=f"The response already has a different file named {name}.",
        )  # fmt: skip
    return found


def add(
    *,
    session: Session,
    registry: Registry,
    store: BlobStore,
    principal: Principal,
    response_id: str,
    name: str,
    content_type: str,
    data: bytes,
) -> tuple[Attachment, bool]:
    """Store one file of a response; (the stored row, created). Reads first, then a short write transaction."""
    r = _response_to_attach(session, principal, response_id)
    scope.check_write(principal, r.province_code)
    d = registry.for_responses(r.questionnaire, r.version)
    named = _named(d, _all_answers(session, r.id)).get(name)
    if named is None:
        raise Invalid.at(
            "name", "not_an_answer",
            f"No image or file answer of this response names {name!r}; upload a file under the name its answer gives.",
        )  # fmt: skip
    if not accepts(named.question, content_type):
        allowed = ", ".join(named.question.accept or (("image/*",) if named.question.type == "image" else ()))
        raise UnsupportedMediaType.at(
            "content_type", "not_accepted", f"{named.question.id} accepts {allowed}; this file is {content_type or 'untyped'}.",
        )  # fmt: skip
    digest = hashlib.sha256(data).hexdigest()
    if (found := _stored(session, r.id, name)) is not None:
        return _same_or_conflict(found, digest, name), False
    store.put(digest, data)  # durable before the row that names it commits
    row = Attachment(
        response_id=r.id, name=name, content_type=content_type.split(";", 1)[0].strip().lower() or "application/octet-stream",
        size=len(data), sha256=digest, received_at=utcnow(), received_by=principal.name,
    )  # fmt: skip
    try:
        with writing(session):
            session.add(row)
            session.flush()
            audit.record(session, principal, "attachment.added", "response", r.id,
                         {"name": name, "sha256": digest, "size": len(data)}, province=r.province_code)  # fmt: skip
    except IntegrityError:  # the same name arrived at the same moment: the stored one decides
        session.rollback()
        found = _stored(session, r.id, name)
        if found is None:
            raise
        return _same_or_conflict(found, digest, name), False
    return row, True


@dataclass(frozen=True)
class Listing:
    items: list[Attachment]
    missing: list[Named]  # names the latest answers give whose file has not arrived


def list_for(*, session: Session, registry: Registry, principal: Principal, response_id: str) -> Listing:
    r, current = _response(session, principal, response_id)
    d = registry.for_responses(r.questionnaire, r.version)
    items = list(
        session.execute(
            select(Attachment).where(Attachment.response_id == r.id).order_by(Attachment.id)  # type: ignore[arg-type]
        ).scalars()
    )
    have = {a.name for a in items}
    missing = [n for n in _named(d, [current.answers]).values() if n.name not in have]
    return Listing(items, missing)


def open_file(
    *, session: Session, store: BlobStore, principal: Principal, response_id: str, name: str
) -> tuple[Attachment, Iterator[bytes]]:
    r, _ = _response(session, principal, response_id)
    found = _stored(session, r.id, name)
    if found is None:
        raise NotFound(f"Response {response_id} has no file named {name!r} (yet).")
    return found, store.open(found.sha256)
