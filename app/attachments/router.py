"""Attachment endpoints: upload (raw body), list with the answers still waiting for their file, download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Request
from fastapi import Response as HttpResponse
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.access.deps import Principal, require
from app.attachments import service
from app.attachments.store import get_store
from app.core.config import get_settings
from app.core.db import SessionDep, StagedWriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.models import Attachment
from app.responses.service import READERS, REVISERS

router = APIRouter(
    route_class=ApiRoute,
    prefix="/api/v1/responses/{response_id}/attachments",
    tags=["attachments"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 422, 429)},
)
# Form links upload only to the responses they submitted themselves (app/attachments/service.py).
Uploader = Annotated[Principal, Depends(require(*REVISERS, "form_link"))]
Reader = Annotated[Principal, Depends(require(*READERS))]
INLINE = ("image/jpeg", "image/png", "image/webp", "image/gif")


class AttachmentRead(BaseModel):
    name: str
    content_type: str
    size: int
    sha256: str
    received_at: datetime


class Waiting(BaseModel):
    question: str = Field(description="the image/file question whose answer names the file")
    name: str


class AttachmentList(BaseModel):
    items: list[AttachmentRead]
    missing: list[Waiting] = Field(description="files the latest answers name that have not arrived yet")


def _read(a: Attachment) -> AttachmentRead:
    return AttachmentRead(
        name=a.name, content_type=a.content_type, size=a.size, sha256=a.sha256, received_at=a.received_at
    )


@router.put(
    "/{name}",
    status_code=201,
    response_model=AttachmentRead,
    max_body_size=get_settings().max_attachment_bytes,
    responses={
        200: {"model": AttachmentRead, "description": "The same bytes were already stored under this name"},
        409: PROBLEM_RESPONSES[409],
        413: PROBLEM_RESPONSES[413],
        415: {"description": "The question does not accept this media type"},
    },
    openapi_extra={"requestBody": {"required": True, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}},
)  # fmt: skip
async def put_attachment(
    response_id: str,
    name: str,
    request: Request,
    session: StagedWriteSessionDep,
    registry: RegistryDep,
    principal: Uploader,
    http: HttpResponse,
    content_type: Annotated[str, Header()] = "application/octet-stream",
) -> AttachmentRead:
    """Upload the file an `image`/`file` answer names (raw body, its media type as Content-Type); the same
    bytes again are 200, other bytes under a name that has a file 409. Same roles and scope as revising; a form
    link's token uploads only to the responses it submitted itself."""
    data = await request.body()
    row, created = await run_in_threadpool(
        lambda: service.add(session=session, registry=registry, store=get_store(), principal=principal,
                            response_id=response_id, name=name, content_type=content_type, data=data)
    )  # fmt: skip
    if not created:
        http.status_code = 200
    return _read(row)


@router.get("", response_model=AttachmentList)
def list_attachments(
    response_id: str, session: SessionDep, registry: RegistryDep, principal: Reader
) -> AttachmentList:
    """The response's files, and the names its latest answers give whose file has not arrived yet."""
    found = service.list_for(session=session, registry=registry, principal=principal, response_id=response_id)
    return AttachmentList(
        items=[_read(a) for a in found.items],
        missing=[Waiting(question=n.question.id, name=n.name) for n in found.missing],
    )


@router.get(
    "/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {"*/*": {}}, "description": "The file, as uploaded"}},
)
def get_attachment(response_id: str, name: str, session: SessionDep, principal: Reader) -> StreamingResponse:
    """The file's bytes with the media type it was uploaded with (anyone who may read the response)."""
    row, chunks = service.open_file(
        session=session, store=get_store(), principal=principal, response_id=response_id, name=name
    )
    disposition = "inline" if row.content_type in INLINE else "attachment"
    return StreamingResponse(
        chunks,
        media_type=row.content_type,
        headers={
            "Content-Length": str(row.size),
            "ETag": f'"{row.sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",  # a stored file never changes
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.name)}",
            # uploaded content is never run as a page of this origin
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
