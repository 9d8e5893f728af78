"""Feeds for analysis tools: a read-only subset of ODK Central's API under /v1, so pyodk, ruODK, Excel and
Power BI read this service unchanged (docs/api.md, "Feeds").

An adapter: it parses Central's requests, calls one service function and renders Central's shapes. Who may read
is `access.sessions.FeedPrincipal` (planner and admin keys, by session token, Bearer key or Basic name:secret);
what they may read is the JSON API's own scope statement.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi import Response as HttpResponse
from pydantic import BaseModel, Field

from app.access import sessions
from app.access.deps import public
from app.access.sessions import FeedPrincipal
from app.core.db import SessionDep, WriteSessionDep
from app.core.errors import PROBLEM_RESPONSES
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.feeds import edmx, odata, service

router = APIRouter(
    route_class=ApiRoute,
    prefix="/v1",
    tags=["feeds (ODK Central's API)"],
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 404, 429)},
)

ODATA_JSON = "application/json; odata.metadata=minimal; odata.streaming=true"
ODATA_HEADERS = {"OData-Version": "4.0"}


class JsonResponse(HttpResponse):
    """JSON with Vietnamese text as-is (never \\u-escaped)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


class SessionIn(BaseModel):
    model_config = {"extra": "forbid"}
    email: str = Field(min_length=1, max_length=120, description="the key's name")
    password: str = Field(min_length=1, max_length=200, description="the key's secret")


class SessionOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>` to /v1")
    createdAt: str
    expiresAt: str


class UserOut(BaseModel):
    id: int
    type: str
    displayName: str
    email: str
    role: str
    provinces: list[str] | None
    createdAt: str | None
    updatedAt: str | None
    deletedAt: str | None


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str | None
    archived: bool
    keyId: int | None
    createdAt: str | None
    updatedAt: str | None
    deletedAt: str | None
    forms: int


class FormOut(BaseModel):
    projectId: int
    xmlFormId: str
    name: str
    version: str
    hash: str
    state: str
    enketoId: str | None
    keyId: int | None
    createdAt: str | None
    updatedAt: str | None
    publishedAt: str | None


class DatasetOut(BaseModel):
    name: str
    projectId: int
    createdAt: str
    approvalRequired: bool


class Success(BaseModel):
    success: bool


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post(
    "/sessions",
    response_model=SessionOut,
    dependencies=[public],
    responses={401: PROBLEM_RESPONSES[401], 403: PROBLEM_RESPONSES[403], 422: PROBLEM_RESPONSES[422]},
)
def sign_in(body: SessionIn, request: Request, session: WriteSessionDep) -> JsonResponse:
    """Sign in as ODK Central's clients do: `email` is a planner's or an admin's key name, `password` its secret;
    200 with a bearer token for /v1 (401: unknown name, wrong secret or revoked key; 403: another role)."""
    token, signed = sessions.sign_in_feed(
        session=session, name=body.email, secret=body.password, client_ip=_client_ip(request),
        request_id=request.scope.get("state", {}).get("request_id"),
    )  # fmt: skip
    return JsonResponse({"token": token, "createdAt": service.iso(signed.created_at),
                         "expiresAt": service.iso(signed.expires_at)})  # fmt: skip


@router.delete("/sessions/{token}", response_model=Success)
def sign_out(token: str, principal: FeedPrincipal, session: WriteSessionDep) -> JsonResponse:
    """Sign a session out (its token never works again); only the key it belongs to may end it (404 otherwise)."""
    sessions.end_feed(session=session, principal=principal, token=token)
    return JsonResponse({"success": True})


@router.get("/users/current", response_model=UserOut)
def current_user(principal: FeedPrincipal, session: SessionDep) -> JsonResponse:
    """The caller (its key), as Central describes a user; the key's name stands for the email."""
    return JsonResponse(service.current_user(session=session, principal=principal))


@router.get("/projects", response_model=list[ProjectOut])
def list_projects(principal: FeedPrincipal, session: SessionDep, registry: RegistryDep) -> JsonResponse:
    """The one project (id 1) holding every questionnaire as a form."""
    return JsonResponse([service.project(session=session, registry=registry)])


@router.get("/projects/{project_id}", response_model=ProjectOut)
def get_project(
    project_id: int, principal: FeedPrincipal, session: SessionDep, registry: RegistryDep
) -> JsonResponse:
    """The one project (id 1; any other id is 404)."""
    service.check_project(project_id)
    return JsonResponse(service.project(session=session, registry=registry))


@router.get("/projects/{project_id}/forms", response_model=list[FormOut])
def list_forms(
    project_id: int, principal: FeedPrincipal, session: SessionDep, registry: RegistryDep
) -> JsonResponse:
    """One form per questionnaire: `xmlFormId` is its key, `version` its latest version (as a string)."""
    service.check_project(project_id)
    return JsonResponse(service.forms(session=session, registry=registry))


@router.get("/projects/{project_id}/datasets", response_model=list[DatasetOut])
def list_datasets(project_id: int, principal: FeedPrincipal, session: SessionDep) -> JsonResponse:
    """The one dataset (entity list): `facilities`, the facility registry."""
    service.check_project(project_id)
    return JsonResponse(service.datasets(session=session))


# The OData routes come before /forms/{key}, which would otherwise take "loans.svc" as a key.


def _odata(request: Request, body: dict[str, Any]) -> JsonResponse:
    return JsonResponse(body, media_type=ODATA_JSON, headers=ODATA_HEADERS)


def _no_options(request: Request) -> None:
    """Documents ($metadata, service documents) take no query option but $format."""
    odata.parse_options(list(request.query_params.multi_items()), allowed=("$format",))


def _page_body(
    request: Request, context: str, opts: odata.Options, result: service.FeedPage
) -> dict[str, Any]:
    body: dict[str, Any] = {"@odata.context": context}
    if result.count is not None:
        body["@odata.count"] = result.count
    body["value"] = result.rows
    if result.next_token is not None:
        params = {k: v for k, v in opts.raw.items() if k not in ("$skip", "$skiptoken")}
        params["$skiptoken"] = result.next_token
        body["@odata.nextLink"] = f"{_base(request)}{request.url.path}?" + urlencode(
            params, quote_via=quote, safe="$"
        )
    return body


@router.get(
    "/projects/{project_id}/forms/{key}.svc", responses={200: {"description": "OData service document"}}
)
@router.get(
    "/projects/{project_id}/forms/{key}.svc/", include_in_schema=False
)  # the service root as clients write it
def service_document(
    project_id: int, key: str, request: Request, principal: FeedPrincipal, registry: RegistryDep
) -> JsonResponse:
    """The OData service document of a questionnaire's feed: one entity set, `Submissions`."""
    service.check_project(project_id)
    _no_options(request)
    service.submission_columns(registry, key)  # 404 for an unknown form
    return _odata(
        request,
        edmx.service_document(f"{_base(request)}{request.url.path.rstrip('/')}/$metadata", ["Submissions"]),
    )


@router.get("/projects/{project_id}/forms/{key}.svc/$metadata",
            responses={200: {"content": {"application/xml": {}}, "description": "EDMX"}})  # fmt: skip
def metadata(
    project_id: int, key: str, request: Request, principal: FeedPrincipal, registry: RegistryDep
) -> HttpResponse:
    """The EDMX (XML) of a questionnaire's feed: `Submissions` with the questions of every version in one table."""
    service.check_project(project_id)
    _no_options(request)
    columns = service.submission_columns(registry, key)
    xml = edmx.submissions_edmx(key, columns, service.filterable_submission_fields())
    return HttpResponse(xml, media_type="application/xml", headers=ODATA_HEADERS)


@router.get(
    "/projects/{project_id}/forms/{key}.svc/Submissions",
    responses={200: {"description": "OData rows"}, 400: PROBLEM_RESPONSES[400]},
)
def submissions(project_id: int, key: str, request: Request, principal: FeedPrincipal, session: SessionDep,
                registry: RegistryDep) -> JsonResponse:  # fmt: skip
    """A questionnaire's responses in the caller's scope, every version in one table, oldest first: `$top`, `$skip`,
    `$count`, `$filter` (on `__system/submissionDate`, `__system/reviewState`, `__system/submitterId`,
    `province_code`), `$select`, `$wkt`; a page (at most 5,000 rows) ends with `@odata.nextLink` when more remain.
    Any other option, or a filter this server cannot apply, is a 400 naming it."""
    service.check_project(project_id)
    opts = odata.parse_options(list(request.query_params.multi_items()))
    result = service.submissions(session=session, registry=registry, principal=principal, key=key, opts=opts)
    context = f"{_base(request)}{request.url.path.removesuffix('/Submissions')}/$metadata#Submissions"
    return _odata(request, _page_body(request, context, opts, result))


@router.get("/projects/{project_id}/forms/{key}", response_model=FormOut)
def get_form(
    project_id: int, key: str, principal: FeedPrincipal, session: SessionDep, registry: RegistryDep
) -> JsonResponse:
    """One form (questionnaire) by its key."""
    service.check_project(project_id)
    return JsonResponse(service.form(session=session, registry=registry, key=key))


@router.get(
    "/projects/{project_id}/datasets/{name}.svc", responses={200: {"description": "OData service document"}}
)
@router.get("/projects/{project_id}/datasets/{name}.svc/", include_in_schema=False)
def dataset_document(project_id: int, name: str, request: Request, principal: FeedPrincipal) -> JsonResponse:
    """The OData service document of the facility registry (dataset `facilities`): one entity set, `Entities`."""
    service.check_project(project_id)
    service.check_dataset(name)
    _no_options(request)
    return _odata(
        request,
        edmx.service_document(f"{_base(request)}{request.url.path.rstrip('/')}/$metadata", ["Entities"]),
    )


@router.get("/projects/{project_id}/datasets/{name}.svc/$metadata",
            responses={200: {"content": {"application/xml": {}}, "description": "EDMX"}})  # fmt: skip
def dataset_metadata(project_id: int, name: str, request: Request, principal: FeedPrincipal) -> HttpResponse:
    """The EDMX (XML) of the facility registry."""
    service.check_project(project_id)
    service.check_dataset(name)
    _no_options(request)
    xml = edmx.entities_edmx(name, service.filterable_entity_fields())
    return HttpResponse(xml, media_type="application/xml", headers=ODATA_HEADERS)


@router.get(
    "/projects/{project_id}/datasets/{name}.svc/Entities",
    responses={200: {"description": "OData rows"}, 400: PROBLEM_RESPONSES[400]},
)
def dataset_entities(
    project_id: int, name: str, request: Request, principal: FeedPrincipal, session: SessionDep
) -> JsonResponse:
    """The facilities in the caller's scope as Central's Entities (`__id`, `label`, `__system`, properties), oldest
    first, with `$top`, `$skip`, `$count`, `$filter` (on `__system/createdAt`, `__system/updatedAt`,
    `province_code`), `$select`, `$wkt` and `@odata.nextLink`."""
    service.check_project(project_id)
    service.check_dataset(name)
    opts = odata.parse_options(list(request.query_params.multi_items()))
    result = service.entities(session=session, principal=principal, opts=opts)
    context = f"{_base(request)}{request.url.path.removesuffix('/Entities')}/$metadata#Entities"
    return _odata(request, _page_body(request, context, opts, result))
