"""Public questionnaire definitions and their JSON Schemas, with ETags and immutable caching."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.access.deps import public
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.questionnaires import ui_schema
from app.questionnaires.definition import Definition

router = APIRouter(route_class=ApiRoute, prefix="/api/v1/questionnaires", tags=["questionnaires"])

Lang = Literal["vi", "en"]


class VersionRef(BaseModel):
    version: int
    status: str


class QuestionnaireSummary(BaseModel):
    key: str
    title: dict[str, str]
    latest_version: int | None
    versions: list[VersionRef]


def collapse(value: Any, lang: str) -> Any:
    """Replace every {vi, en} label mapping with the text in one language (Vietnamese as fallback)."""
    if isinstance(value, dict):
        if value and set(value) <= {"vi", "en"} and all(isinstance(v, str) for v in value.values()):
            return value.get(lang) or value.get("vi")
        return {k: collapse(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [collapse(v, lang) for v in value]
    return value


def cached_json(request: Request, body: Any, d: Definition) -> Response:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if d.status == "published" else "no-cache"
    )
    inm = request.headers.get("if-none-match", "")
    if etag in [t.strip().removeprefix("W/") for t in inm.split(",")] or inm.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(content=raw, media_type="application/json", headers=headers)


@router.get("", response_model=list[QuestionnaireSummary], dependencies=[public])
def list_questionnaires(registry: RegistryDep) -> list[QuestionnaireSummary]:
    """Every questionnaire with its versions; `latest_version` is the newest published one."""
    out = []
    for key in registry.keys:
        versions = registry.versions(key)
        latest = registry.latest_published(key)
        title = (latest or versions[-1]).title
        out.append(
            QuestionnaireSummary(
                key=key,
                title=title,
                latest_version=latest.version if latest else None,
                versions=[VersionRef(version=d.version, status=d.status) for d in versions],
            )
        )
    return out


_DOC_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}}, "description": "The definition"},
    304: {"description": "Not modified (If-None-Match matched the ETag)"},
    404: PROBLEM_RESPONSES[404],
    422: PROBLEM_RESPONSES[422],
}


@router.get(
    "/{key}/versions/{version}", dependencies=[public], responses=_DOC_RESPONSES, response_class=JSONResponse
)
def get_definition(
    request: Request,
    registry: RegistryDep,
    key: str,
    version: int,
    lang: Annotated[Lang | None, Query(description="collapse labels to one language")] = None,
) -> Response:
    """One questionnaire version as JSON, exactly as authored (labels collapsed with `?lang=`)."""
    d = registry.get(key, version)
    body = collapse(d.raw, lang) if lang else d.raw
    return cached_json(request, body, d)


@router.get(
    "/{key}/versions/{version}/json-schema",
    dependencies=[public],
    responses=_DOC_RESPONSES,
    response_class=JSONResponse,
)
def get_json_schema(
    request: Request,
    registry: RegistryDep,
    key: str,
    version: int,
    lang: Annotated[Lang, Query(description="language of titles")] = "vi",
) -> Response:
    """JSON Schema (draft 2020-12) of this version's `answers` object, for form renderers."""
    d = registry.get(key, version)
    return cached_json(request, registry.json_schema(d, lang), d)


@router.get(
    "/{key}/versions/{version}/ui-schema",
    dependencies=[public],
    responses=_DOC_RESPONSES,
    response_class=JSONResponse,
)
def get_ui_schema(
    request: Request,
    registry: RegistryDep,
    key: str,
    version: int,
    lang: Annotated[Lang, Query(description="language of the yes/no words and the submit button")] = "vi",
) -> Response:
    """The react-jsonschema-form UI schema that goes with the JSON Schema: yes/no as two radio choices, one
    choice as radios, several as checkboxes, long text as a text area, units and hints (see the README)."""
    d = registry.get(key, version)
    return cached_json(request, ui_schema.export(d, lang), d)
