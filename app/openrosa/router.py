"""ODK Collect's server: OpenRosa 1.0 under /openrosa (form list, forms, manifests, media, submissions).

Set `https://<host>/openrosa` as Collect's server URL, the key's name as user and its secret as password.
Every reply carries `X-OpenRosa-Version: 1.0` (OPENROSA_HEADERS, added by the request-context middleware); errors are
OpenRosaResponse XML in Vietnamese, and a 401 asks for HTTP Basic (realm "khuyencong"), as Collect expects.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Response as HttpResponse
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from app.access.deps import Principal, require
from app.attachments.store import get_store
from app.core.config import get_settings
from app.core.db import SessionDep, StagedWriteSessionDep
from app.core.errors import AppError, Invalid, NotFound, PayloadTooLarge, validation_errors
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.openrosa import messages, protocol, service, xform
from app.openrosa.media import FILES
from app.responses.service import REVISERS

log = logging.getLogger("khuyencong.openrosa")
PREFIX = "/openrosa"
XML = protocol.XML_TYPE
BASIC = {"WWW-Authenticate": 'Basic realm="khuyencong"'}


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(body, status_code=status, media_type=XML, headers=headers)


async def _render_error(request: Request, exc: Exception) -> HttpResponse:
    """Any failure of an /openrosa route as an OpenRosaResponse message Collect can show the officer."""
    if isinstance(exc, HTTPException) and exc.status_code == 413:
        exc = PayloadTooLarge(str(exc.detail))
    elif isinstance(exc, HTTPException) and exc.status_code == 404:
        exc = NotFound(str(exc.detail))
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        exc = Invalid(
            f"The body could not be read: {exc.detail}"
        )  # e.g. a multipart body that does not parse
    elif isinstance(exc, RequestValidationError):
        exc = Invalid("The request does not fit this endpoint.", errors=validation_errors(exc.errors()))
    if not isinstance(exc, AppError):
        log.exception("unhandled error on an OpenRosa route", exc_info=exc)
        return _xml(protocol.message("Lỗi máy chủ; lỗi đã được ghi lại, hãy gửi lại sau.", "error"), 500)
    status = 400 if exc.status == 422 else exc.status
    headers = dict(exc.headers or {})
    if status == 401:
        headers.update(BASIC)  # Collect answers a Basic challenge with the saved user name and password
    body = getattr(exc, "openrosa_message", None)  # built in the submission's worker thread (see _submit)
    if body is None:
        text = messages.for_error(
            exc, getattr(exc, "definition", None), submission=request.url.path.endswith("/submission")
        )
        body = protocol.message(text, "error")
    return _xml(body, status, headers)


class OpenRosaRoute(ApiRoute):
    render_error = _render_error


# Every reply under /openrosa, the app's own 404/405 included (added by core.middleware.RequestContextMiddleware).
OPENROSA_HEADERS = [(b"x-openrosa-version", b"1.0")]


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"content": {XML: {}}, "description": f"OpenRosaResponse with a Vietnamese message: {what}"}
    for status, what in ((400, "the request or the submission is not valid (each broken answer named)"),
                         (401, "no or wrong credentials (WWW-Authenticate: Basic realm=\"khuyencong\")"),
                         (403, "the key's role may not do this"), (404, "no such form or media file"),
                         (409, "other content under a stored instanceID, or other bytes under a stored file name"),
                         (413, "the post is larger than X-OpenRosa-Accept-Content-Length"),
                         (415, "a file's media type is not one its question accepts"),
                         (429, "over the key's rate limit (Retry-After)"), (503, "the database is busy (Retry-After)"))
}  # fmt: skip
router = APIRouter(
    route_class=OpenRosaRoute, prefix=PREFIX, tags=["openrosa (ODK Collect)"], responses=_ERRORS
)
Collector = Annotated[Principal, Depends(require(*REVISERS))]
_XML_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {XML: {}}, "description": "OpenRosa XML"}}


@router.get("/formList", response_class=HttpResponse, responses=_XML_DOC)
def form_list(
    request: Request, registry: RegistryDep, principal: Collector, formID: str | None = None
) -> HttpResponse:
    """The forms this key may fill (newest published version of each questionnaire), OpenRosa form list."""
    items = []
    for d in service.forms_for(registry, principal):
        if formID and d.key != formID:
            continue
        f = xform.build(d)
        items.append(protocol.FormItem(
            form_id=d.key, name=f"{d.title['vi']} (v{d.version})", version=str(d.version), md5=f.md5,
            download_url=str(request.url_for("openrosa_form", key=d.key, version=d.version)),
            manifest_url=str(request.url_for("openrosa_manifest", key=d.key, version=d.version)),
            description=(d.description or {}).get("vi"),
        ))  # fmt: skip
    return _xml(protocol.form_list(items))


@router.get("/forms/{key}/{version}", name="openrosa_form", response_class=HttpResponse, responses=_XML_DOC)
def get_form(key: str, version: int, registry: RegistryDep, principal: Collector) -> HttpResponse:
    """The XForm of one questionnaire version (compiled by pyxform from its definition)."""
    f = xform.build(service.form(registry, principal, key, version))
    return _xml(f.xml, headers={"ETag": f'"md5:{f.md5}"'})


@router.get(
    "/forms/{key}/{version}/manifest",
    name="openrosa_manifest",
    response_class=HttpResponse,
    responses=_XML_DOC,
)
def get_manifest(
    request: Request, key: str, version: int, session: SessionDep, registry: RegistryDep, principal: Collector
) -> HttpResponse:
    """The form's media for this key: facilities.csv (its provinces' facilities), provinces.csv, wards.csv."""
    service.form(registry, principal, key, version)
    files = service.media_files(session=session, principal=principal)
    items = [
        protocol.MediaItem(name, files[name].md5,
                           str(request.url_for("openrosa_media", key=key, version=version, filename=name)))
        for name in FILES
    ]  # fmt: skip
    return _xml(protocol.manifest(items))


@router.get(
    "/forms/{key}/{version}/media/{filename}",
    name="openrosa_media",
    response_class=HttpResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The media file"}},
)
def get_media(
    key: str, version: int, filename: str, session: SessionDep, registry: RegistryDep, principal: Collector
) -> HttpResponse:
    """One media file of the form, for this key's scope."""
    service.form(registry, principal, key, version)
    files = service.media_files(session=session, principal=principal)
    if filename not in files:
        raise NotFound(f"The form has no media file {filename!r}; it has {', '.join(FILES)}.")
    f = files[filename]
    return HttpResponse(f.content, media_type="text/csv; charset=utf-8", headers={"ETag": f'"md5:{f.md5}"'})


def _accept_length() -> dict[str, str]:
    return {"X-OpenRosa-Accept-Content-Length": str(get_settings().openrosa_max_body_bytes)}


@router.head("/submission", status_code=204, response_class=HttpResponse)
def submission_head(principal: Collector) -> HttpResponse:
    """Collect asks first: 204 with the largest post it may send (it splits bigger submissions)."""
    return HttpResponse(status_code=204, headers=_accept_length())


@router.post(
    "/submission",
    status_code=201,
    response_class=HttpResponse,
    max_body_size=get_settings().openrosa_max_body_bytes,
    responses={201: {"content": {XML: {}}, "description": "OpenRosaResponse: received (new, a retry, or an edit)"}},
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["xml_submission_file"],
        "properties": {"xml_submission_file": {"type": "string", "format": "binary"}},
        "additionalProperties": {"type": "string", "format": "binary"}}}}}},
)  # fmt: skip
async def post_submission(
    request: Request, session: StagedWriteSessionDep, registry: RegistryDep, principal: Collector
) -> HttpResponse:
    """A submission (multipart: `xml_submission_file` plus attachments, possibly over several posts): stored
    as the same answers posted as JSON would be; the same instance again is 201 and no duplicate."""
    form = await request.form(max_files=1000, max_fields=1000)
    xml_part = form.get("xml_submission_file")
    if not isinstance(xml_part, UploadFile):
        raise service.SubmissionInvalid("Thiếu tệp xml_submission_file trong bản gửi (multipart/form-data).")
    xml = await xml_part.read()
    files = []
    for field, part in form.multi_items():
        if isinstance(part, UploadFile) and field != "xml_submission_file":
            files.append(
                (part.filename or field, part.content_type or "application/octet-stream", await part.read())
            )
    await form.close()
    return await run_in_threadpool(_submit, session, registry, principal, xml, files)


def _submit(
    session: Any, registry: Any, principal: Principal, xml: bytes, files: list[tuple[str, str, bytes]]
) -> HttpResponse:
    """The submission and its reply, in a worker thread: parsing the XML, checking it and building the message
    (success or error) never hold the event loop (a 14 MB post must not stall /healthz)."""
    try:
        out = service.submit(
            session=session, registry=registry, store=get_store(), principal=principal, xml=xml, files=files
        )
    except AppError as exc:
        text = messages.for_error(exc, getattr(exc, "definition", None), submission=True)
        exc.openrosa_message = protocol.message(text, "error")  # type: ignore[attr-defined]
        raise
    text = messages.received(out.revision, out.created, out.files_added, out.waiting)
    return _xml(protocol.message(text, "submit_success"), 201, _accept_length())
