"""The planner workspace (/planner/): server-rendered pages over the same services as the JSON API.

Sign in with a key → priorities of a profile (filters, a stacked bar per criterion's contribution, stale and
missing answers marked) → a facility's answers with their history → a budgeted selection, frozen as a
ranking and explained (totals, binding constraints, per-province chart) → downloads. Each route declares its
access rule (`page_access` or `public`); tests/access/test_matrix.py covers every one.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from app.access import form_links, scope, sessions
from app.access.deps import public
from app.access.throttle import CredentialsThrottled
from app.attachments import service as attachments
from app.attachments.store import get_store
from app.core.db import SessionDep, StagedWriteSessionDep, WriteSessionDep
from app.core.errors import AppError, validation_errors
from app.deps import RegistryDep
from app.exports import geojson
from app.exports import service as export
from app.exports.labels import Lang
from app.facilities import service as facilities
from app.facilities.schemas import Kind, Sector
from app.models.types import utcnow
from app.places.service import provinces
from app.planner import i18n, views
from app.planner.auth import (
    SIGN_IN_COOKIE,
    SIGN_IN_PATH,
    CheckedForm,
    Planner,
    clear_session_cookie,
    current,
    remember_sign_in_token,
    set_session_cookie,
    sign_in_token,
    sign_in_token_ok,
)
from app.planner.web import PageRoute, asset_response, language, render
from app.prioritisation import rankings, service, summary
from app.prioritisation.router import ProfilesDep, ranking_table
from app.responses import service as responses
from app.review import service as review
from app.review.schemas import CommentCreate, ReviewCreate
from app.review.states import DEFAULT_FILTER, ReviewFilter, ReviewState

router = APIRouter(route_class=PageRoute, prefix="/planner", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a workspace page of this site, never another site."""
    if not target:
        return "/planner/"
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not parts.path.startswith("/planner")
        or "\\" in target
        or "//" in target
    ):
        return "/planner/"
    return target


def _scope_provinces(principal: Any) -> list[tuple[str, str]]:
    """(code, name) of the provinces the key covers, by name."""
    names = provinces()
    codes = scope.provinces_among(principal, names)
    return sorted(((c, names[c]) for c in codes), key=lambda x: views.by_name(x[1]))


# -- sign in, sign out ------------------------------------------------------------------------------------------


@router.get("/sign-in", dependencies=[public])
async def sign_in_page(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    """The sign-in form (a signed-in browser goes straight on)."""
    if await current(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    token = sign_in_token(request)
    response = render(
        request, "sign_in.html", next=_safe_next(next), form_token=token, error=None, signed_out=signed_out
    )
    remember_sign_in_token(response, request, token)
    return response


@router.post("/sign-in", dependencies=[public], max_body_size=8192)
def sign_in(
    request: Request,
    session: StagedWriteSessionDep,
    key: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the key and open a session (planners and admins only)."""
    lang = language(request)
    error, status, headers = None, 200, None
    if not sign_in_token_ok(request, csrf_token):
        error, status = i18n.tr(lang, "The sign-in form had expired. Paste your key again."), 403
    else:
        try:
            token, signed = sessions.sign_in(session=session, secret=key, client_ip=request.client.host if request.client else None,
                                             request_id=request.scope.get("state", {}).get("request_id"))  # fmt: skip
        except CredentialsThrottled as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            error, status = i18n.tr(lang, "Too many wrong keys were tried from this address. Wait %(minutes)s minute(s), then try again.",
                                    minutes=minutes), 429  # fmt: skip
            headers = {"Retry-After": str(exc.retry_after)}
        except AppError as exc:
            code = (exc.errors or [{}])[0].get("code", "")
            error, status = views.error_text({"code": code, "message": exc.detail or ""}, lang), exc.status
        else:
            done = RedirectResponse(_safe_next(next), status_code=303)
            max_age = int((signed.expires_at - utcnow()).total_seconds())
            set_session_cookie(done, request, token, max_age)
            done.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH, httponly=True, samesite="strict")
            return done
    form_token = sign_in_token(request)
    response = render(request, "sign_in.html", status=status, next=_safe_next(next), form_token=form_token, error=error,
                      signed_out=False, headers=headers)  # fmt: skip
    remember_sign_in_token(response, request, form_token)
    return response


@router.post("/sign-out")
def sign_out(request: Request, signed: Planner, form: CheckedForm, session: WriteSessionDep) -> Response:
    """End the session server-side; the cookie is cleared and never works again."""
    sessions.end(session=session, signed=signed)
    response = RedirectResponse(f"{SIGN_IN_PATH}?signed_out=1", status_code=303)
    clear_session_cookie(response, request)
    return response


# -- home ----------------------------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, signed: Planner, session: SessionDep) -> Response:
    """Where to start: the path from priorities to a frozen, budgeted selection; the key's scope; recent rankings."""
    recent, _ = rankings.list_rankings(session=session, principal=signed.principal, cursor=None, limit=5)
    return render(
        request, "home.html", section="home", recent=recent, scope=_scope_provinces(signed.principal)
    )


# -- priorities ----------------------------------------------------------------------------------------------------


@router.get("/priorities")
def priorities(
    request: Request,
    signed: Planner,
    session: SessionDep,
    registry: RegistryDep,
    profiles: ProfilesDep,
    profile: Annotated[str | None, Query(max_length=120)] = None,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
    sector: Sector | Literal[""] = "",
    kind: Kind | Literal[""] = "",
    as_of: Annotated[str | None, Query(max_length=40)] = None,
    review: ReviewFilter = DEFAULT_FILTER,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The priorities of a profile version: filters, a stacked bar per item, stale and missing answers marked."""
    lang = language(request)
    principal = signed.principal
    chosen = views.chosen_profile(profiles, profile)
    errors: list[dict[str, str]] = []
    result: dict[str, Any] | None = None
    rows: list[views.PriorityRow] = []
    legend: list[dict[str, Any]] = []
    when = None
    try:
        when = views.parse_local(as_of)
    except ValueError:
        errors.append(
            {"path": "as_of", "text": i18n.tr(lang, "Write the time as day, month, year, hour and minute.")}
        )
    if chosen is None:
        errors.append({"path": "profile", "text": i18n.tr(lang, "Choose a scoring profile from the list.")})
    if province_code and province_code not in provinces():
        errors.append({"path": "province_code", "text": i18n.tr(lang, "Choose a province from the list.")})
    if not errors and chosen is not None:
        try:
            at = service.check_as_of(when, "as_of")
            filters = service.Filters(
                (province_code,) if province_code else (), (sector,) if sector else (), kind or None
            )
            result = service.ranked(session=session, registry=registry, profile=chosen, principal=principal,
                                    filters=filters, as_of=at, review=review)  # fmt: skip
        except AppError as exc:
            errors += [{"path": e["path"], "text": views.error_text(e, lang)} for e in exc.errors or []] or [
                {"path": "", "text": exc.detail or ""}
            ]
    pages = 0
    if result is not None and chosen is not None:
        total = len(result["items"])
        pages = max(1, -(-total // size))
        page = min(page, pages)
        items = result["items"][(page - 1) * size : page * size]
        legend = views.criteria_legend(chosen, lang, registry)
        rows = views.priority_rows(items, legend, lang)
    context: dict[str, Any] = dict(
        section="priorities", profiles=views.profile_choices(profiles, lang), chosen=chosen, result=result, rows=rows,
        legend=legend, errors=errors, scope=_scope_provinces(principal), sectors=list(i18n.SECTORS), kinds=list(i18n.KINDS),
        review_filters=list(i18n.REVIEW_FILTERS),
        f={"profile": f"{chosen.key}:{chosen.version}" if chosen else (profile or ""), "province_code": province_code or "",
           "sector": sector, "kind": kind, "as_of": as_of or "", "as_of_input": i18n.local_input(when), "size": size,
           "review": review},
        page=page, pages=pages, size=size,
    )  # fmt: skip
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "results":
        return render(request, "_priorities_results.html", **context)
    return render(request, "priorities.html", **context)


# -- facilities ------------------------------------------------------------------------------------------------


@router.get("/facilities")
def facility_list(
    request: Request,
    signed: Planner,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
    sector: Sector | Literal[""] = "",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """Find a facility by name, tax code or address (in your provinces)."""
    items, nxt = facilities.list_facilities(session=session, principal=signed.principal, cursor=cursor, limit=50,
                                            province_code=[province_code] if province_code else None,
                                            sector=[sector] if sector else None, q=q)  # fmt: skip
    context: dict[str, Any] = dict(section="facilities", items=items, next_cursor=nxt, scope=_scope_provinces(signed.principal),
                   sectors=list(i18n.SECTORS), f={"q": q or "", "province_code": province_code or "", "sector": sector})  # fmt: skip
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "results":
        return render(request, "_facility_results.html", **context)
    return render(request, "facilities.html", **context)


def _response_view(session: Any, principal: Any, registry: Any, r: Any, lang: str) -> dict[str, Any]:
    """One response as the facility page shows it: answers, revisions (what changed), review history, comments."""
    d = registry.definitions.get((r.questionnaire, r.version))
    history: list[Any] = []
    if r.revision > 1:
        history, _ = responses.revisions(
            session=session, principal=principal, response_id=r.id, cursor=None, limit=1000
        )
    files = attachments.list_for(session=session, registry=registry, principal=principal, response_id=r.id)
    stored = {a.name: a for a in files.items}
    revisions, previous = [], None
    for rev in history:
        revisions.append(
            {
                "r": rev,
                "rows": views.with_files(views.answer_rows(d, rev.answers, lang, previous), r.id, stored),
            }
        )
        previous = rev.answers
    events, _ = review.history(session=session, principal=principal, response_id=r.id, limit=1000)
    thread, _ = review.comments(session=session, principal=principal, response_id=r.id, limit=1000)
    seen = {e.id for e in events}
    timeline = sorted([*events, *(c for c in thread if c.id not in seen)], key=lambda e: e.at)
    return {
        "map_url": views.map_url(r.location["lat"], r.location["lon"]) if views.has_point(r.location) else None,
        "r": r, "rows": views.with_files(views.answer_rows(d, r.answers, lang), r.id, stored), "revisions": list(reversed(revisions)), "timeline": timeline,
        "questions": [(q.id, i18n.text_of(lang, q.label)) for q in d.questions if q.id in r.answers] if d else [],
        "definition_title": i18n.text_of(lang, d.title) if d else r.questionnaire, "can_review": principal.role in scope.REVIEWERS,
    }  # fmt: skip


@router.get("/facilities/{facility_id}")
def facility_page(
    request: Request, facility_id: str, signed: Planner, session: SessionDep, registry: RegistryDep
) -> Response:
    """One facility: its record, location, every answer of every questionnaire with its revisions, review states,
    comments and the review actions."""
    lang = language(request)
    principal = signed.principal
    f = facilities.get_or_raise(session=session, principal=principal, facility_id=facility_id)
    found: list[Any] = []
    cursor = None
    while True:
        batch, cursor = responses.list_page(
            session=session, principal=principal, cursor=cursor, limit=1000, facility_id=f.id
        )
        found += batch
        if cursor is None:
            break
    groups: dict[str, dict[str, Any]] = {}
    for r in sorted(found, key=lambda r: (r.questionnaire, r.collected_at), reverse=True):
        versions = registry.versions(r.questionnaire)
        g = groups.setdefault(r.questionnaire, {
            "key": r.questionnaire, "responses": [],
            "title": i18n.text_of(lang, (registry.latest_published(r.questionnaire) or versions[-1]).title) if versions else r.questionnaire,
        })  # fmt: skip
        g["responses"].append(_response_view(session, principal, registry, r, lang))
    link_names = form_links.display_names(session=session, principals=[f.created_by])
    return render(request, "facility.html", section="facilities", f=f, groups=sorted(groups.values(), key=lambda g: g["title"]),
                  responses_count=len(found), states=views.state_counts(found), link_names=link_names)  # fmt: skip


@router.get("/responses/{response_id}/attachments/{name}")
def attachment_file(response_id: str, name: str, signed: Planner, session: SessionDep) -> StreamingResponse:
    """A photo or file an answer names, for the facility page: read with the session's key, so only a response
    that key may read (its provinces) gives its files; anything else is a 404, as if it did not exist. Photos
    are shown inline, other files downloaded; never run as a page of this site, never kept in a cache."""
    row, chunks = attachments.open_file(
        session=session, store=get_store(), principal=signed.principal, response_id=response_id, name=name
    )
    disposition = "inline" if row.content_type in views.INLINE_IMAGES else "attachment"
    return StreamingResponse(chunks, media_type=row.content_type, headers={
        "Content-Length": str(row.size),
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.name, safe='')}",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })  # fmt: skip


def _after_review(request: Request, session: Any, principal: Any, registry: Any, response_id: str,
                  error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    """After a review action or a comment: the updated response (htmx) or back to the facility page."""
    r = responses.to_read(*responses.get(session=session, principal=principal, response_id=response_id))
    if request.headers.get("hx-request") == "true":
        item = _response_view(session, principal, registry, r, language(request))
        return render(request, "_response.html", status=status, item=item, review_error=error)
    if error is not None:
        return render(request, "error.html", status=status, title=error, detail=None, errors=[])
    return RedirectResponse(f"/planner/facilities/{r.facility_id}#response-{r.id}", status_code=303)


@router.post("/responses/{response_id}/review", max_body_size=64 * 1024)
def review_response(
    request: Request,
    response_id: str,
    signed: Planner,
    form: CheckedForm,
    session: WriteSessionDep,
    registry: RegistryDep,
) -> Response:
    """A review action on the response's latest revision (approved, has_issues, rejected) with a comment; the
    comment may name the doubtful answer."""
    lang = language(request)
    comment = str(form.get("comment") or "").strip()
    question = str(form.get("question") or "").strip()
    if question and comment:
        comment = f"«{question}»: {comment}"
    elif question:
        comment = f"«{question}»"
    try:
        body = ReviewCreate.model_validate({"state": form.get("state"), "comment": comment or None})
    except ValidationError:
        return _after_review(request, session, signed.principal, registry, response_id,
                             i18n.tr(lang, "Choose approve, has issues or reject; a comment has at most 4,000 characters."), 422)  # fmt: skip
    review.act(
        session=session,
        principal=signed.principal,
        response_id=response_id,
        state=body.state,
        comment=body.comment,
    )
    return _after_review(request, session, signed.principal, registry, response_id)


@router.post("/responses/{response_id}/comments", max_body_size=64 * 1024)
def comment_response(
    request: Request,
    response_id: str,
    signed: Planner,
    form: CheckedForm,
    session: WriteSessionDep,
    registry: RegistryDep,
) -> Response:
    """A comment on a response (it changes no review state)."""
    lang = language(request)
    try:
        body = CommentCreate.model_validate({"comment": str(form.get("comment") or "")})
    except ValidationError:
        return _after_review(request, session, signed.principal, registry, response_id,
                             i18n.tr(lang, "Write the comment (at most 4,000 characters)."), 422)  # fmt: skip
    review.comment(session=session, principal=signed.principal, response_id=response_id, text=body.comment)
    return _after_review(request, session, signed.principal, registry, response_id)


@router.get("/review")
def review_queue(
    request: Request,
    signed: Planner,
    session: SessionDep,
    registry: RegistryDep,
    state: Annotated[list[ReviewState] | None, Query(max_length=5)] = None,
    questionnaire: Annotated[str | None, Query(max_length=80)] = None,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """What came in and waits for a review (received, edited after a review), or any state asked for."""
    lang = language(request)
    wanted = list(state or ["received", "edited"])
    items, nxt = responses.list_page(session=session, principal=signed.principal, cursor=cursor, limit=50,
                                     questionnaire=questionnaire or None, province_code=[province_code] if province_code else None,
                                     review_state=wanted)  # fmt: skip
    names = facilities.names(session=session, principal=signed.principal, ids=[r.facility_id for r in items])
    titles = {
        key: i18n.text_of(lang, (registry.latest_published(key) or registry.versions(key)[-1]).title)
        for key in registry.keys
    }
    context: dict[str, Any] = dict(section="review", items=items, next_cursor=nxt, names=names, titles=titles,
                                   scope=_scope_provinces(signed.principal), states=list(i18n.REVIEW_STATES),
                                   f={"state": wanted, "questionnaire": questionnaire or "", "province_code": province_code or ""})  # fmt: skip
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "results":
        return render(request, "_review_results.html", **context)
    return render(request, "review.html", **context)


# -- budgeted selection → frozen ranking ------------------------------------------------------------------------


def _selection_context(request: Request, signed: Any, registry: Any, profiles: Any, form: dict[str, Any],
                       errors: dict[str, list[str]]) -> dict[str, Any]:  # fmt: skip
    lang = language(request)
    return dict(section="selection", profiles=views.profile_choices(profiles, lang), scope=_scope_provinces(signed.principal),
                reviews=list(i18n.REVIEW_FILTERS), strategies=list(i18n.STRATEGIES), kinds=views.support_kinds(profiles, lang),
                sectors=list(i18n.SECTORS), cost_sources=views.cost_sources(registry, lang), form=form, errors=errors)  # fmt: skip


# The selection form's fields beyond the profile, filters, budget and cost: bounds and eligibility (text inputs);
# per kind of support `per_kind_min__<kind>` / `per_kind_max__<kind>`; `elig_kinds` (ticked), `elig_approved_only`.
BOUND_FIELDS = ("per_province_min", "per_province_max", "per_sector_min", "per_sector_max", "max_projects",
                "min_provinces", "elig_max_rank", "elig_min_cost_vnd", "elig_max_cost_vnd", "elig_min_score")  # fmt: skip


def _blank_form() -> dict[str, Any]:
    return {"profile": "", "province_code": [], "sector": [], "as_of": "", "budget_vnd": "", "cost_source": "",
            "name": "", "review": DEFAULT_FILTER, "strategy": "", "elig_kinds": [], "elig_approved_only": False,
            "per_kind": {}, **dict.fromkeys(BOUND_FIELDS, "")}  # fmt: skip


def _form_of_ranking(r: Any, lang: str) -> dict[str, Any]:
    """A frozen ranking's inputs as the selection form's values: "what if" starts from what was decided."""
    req, sel = r.request, r.result.get("selection") or {}
    form = _blank_form()
    text = lambda v: "" if v is None else str(v)  # noqa: E731
    money = lambda v: "" if v is None else i18n.number(lang, v)  # noqa: E731
    pp, ps = req.get("per_province") or {}, req.get("per_sector") or {}
    elig = sel.get("eligibility") or {}
    form.update(profile=f"{r.profile_key}:{r.profile_version}", province_code=list((req.get("filters") or {}).get("province_code", [])),
                sector=list((req.get("filters") or {}).get("sector", [])), as_of=i18n.local_input(r.as_of),
                as_of_exact=r.as_of.isoformat(),
                budget_vnd=money(req.get("budget_vnd")), cost_source=req.get("cost_source") or "", name=req.get("name") or "",
                review=req.get("review") or DEFAULT_FILTER, strategy=req.get("strategy") or "",
                per_province_min=text(pp.get("min")), per_province_max=text(pp.get("max")), per_sector_min=text(ps.get("min")),
                per_sector_max=text(ps.get("max") if ps.get("max") is not None else req.get("per_sector_max")),
                max_projects=text(req.get("max_projects")), min_provinces=text(req.get("min_provinces")),
                elig_max_rank=text(elig.get("max_rank")), elig_min_cost_vnd=money(elig.get("min_cost_vnd")),
                elig_max_cost_vnd=money(elig.get("max_cost_vnd")), elig_min_score=text(elig.get("min_score")),
                elig_kinds=list(elig.get("kinds") or []), elig_approved_only=bool(elig.get("approved_only")),
                per_kind={k: {"min": text(b.get("min")), "max": text(b.get("max"))} for k, b in (req.get("per_kind") or {}).items()})  # fmt: skip
    return form


@router.get("/selection")
def selection_form(
    request: Request,
    signed: Planner,
    registry: RegistryDep,
    profiles: ProfilesDep,
    session: SessionDep,
    profile: Annotated[str | None, Query(max_length=120)] = None,
    province_code: Annotated[list[str] | None, Query(max_length=40)] = None,
    sector: Annotated[list[Sector] | None, Query(max_length=10)] = None,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
    review: ReviewFilter = DEFAULT_FILTER,
    from_ranking: Annotated[str | None, Query(alias="from", max_length=40)] = None,
) -> Response:
    """The budgeted selection form (filters may come from the priorities page; `from`: a frozen ranking's inputs,
    to ask "what if" with other bounds)."""
    chosen = views.chosen_profile(profiles, profile)
    form = _blank_form()
    if from_ranking:
        form = _form_of_ranking(rankings.get(session=session, principal=signed.principal, ranking_id=from_ranking),
                                language(request))  # fmt: skip
    else:
        form.update(profile=f"{chosen.key}:{chosen.version}" if chosen else "", province_code=province_code or [],
                    sector=[s.value for s in sector or []], as_of=as_of or "", review=review)  # fmt: skip
    return render(
        request, "selection.html", **_selection_context(request, signed, registry, profiles, form, {})
    )


def _form_errors(exc: AppError | ValidationError, lang: str) -> dict[str, list[str]]:
    """The API's field errors, by form field (per_province.min is per_province_min, eligibility.max_rank is
    elig_max_rank, per_kind.<kind>.min is per_kind_min__<kind>, budget_vnd and the others as named)."""
    out: dict[str, list[str]] = {}
    errs = validation_errors(exc.errors()) if isinstance(exc, ValidationError) else (exc.errors or [])
    for e in errs:
        parts = e["path"].split(".")
        if parts[0] in ("per_province", "per_sector"):
            field = f"{parts[0]}_{parts[1] if len(parts) > 1 and parts[1] in ('min', 'max') else 'min'}"
        elif parts[0] == "per_kind" and len(parts) > 1:
            field = (
                f"per_kind_{parts[2] if len(parts) > 2 and parts[2] in ('min', 'max') else 'min'}__{parts[1]}"
            )
            if parts[1] in ("min", "max"):  # an infeasible family (per_kind.min): at the first kind's field
                field = "per_kind"
        elif parts[0] == "eligibility":
            field = (
                "elig_kinds"
                if len(parts) > 1 and parts[1] == "kinds"
                else f"elig_{parts[1]}"
                if len(parts) > 1
                else "eligibility"
            )
        elif parts[0] == "per_sector_max":
            field = "per_sector_max"
        else:
            field = parts[0] or "form"
        out.setdefault(field, []).append(views.error_text(e, lang))
    if isinstance(exc, AppError) and not errs:
        out["form"] = [exc.detail or ""]
    return out


@router.post("/selection")
def create_selection(
    request: Request,
    signed: Planner,
    form: CheckedForm,
    session: StagedWriteSessionDep,
    registry: RegistryDep,
    profiles: ProfilesDep,
) -> Response:
    """Freeze a ranking with its budgeted selection (POST /rankings through the service), then show it."""
    lang = language(request)
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in
                              ("profile", "as_of", "budget_vnd", "cost_source", "name", "review", "strategy", *BOUND_FIELDS)}  # fmt: skip
    values["province_code"] = [str(v) for v in form.getlist("province_code")]
    values["sector"] = [str(v) for v in form.getlist("sector")]
    values["elig_kinds"] = [str(v) for v in form.getlist("elig_kinds")]
    values["elig_approved_only"] = bool(form.get("elig_approved_only"))
    # "What if" keeps the frozen ranking's exact instant while the minute shown for it is left as it was.
    exact = str(form.get("as_of_exact") or "").strip()
    values["as_of_exact"] = exact
    values["per_kind"] = {}
    for key in form:
        bound, sep, kind = str(key).partition("__")
        if sep and bound in ("per_kind_min", "per_kind_max") and re.fullmatch(r"[a-z0-9_]{1,60}", kind):
            values["per_kind"].setdefault(kind, {"min": "", "max": ""})[bound[-3:]] = str(
                form.get(key) or ""
            ).strip()
    errors: dict[str, list[str]] = {}
    chosen = views.chosen_profile(profiles, values["profile"] or None)
    if chosen is None:
        errors["profile"] = [i18n.tr(lang, "Choose a scoring profile from the list.")]
    parsed: dict[str, Any] = {}
    whole = i18n.tr(lang, "Write a whole number (or leave it empty).")
    money = i18n.tr(lang, i18n.ERROR_CODES["not_a_number"])
    fields: list[tuple[str, Any, str]] = [
        ("budget_vnd", views.parse_money, money),
        ("as_of", views.parse_local, i18n.tr(lang, "Write the time as day, month, year, hour and minute.")),
        ("elig_min_cost_vnd", views.parse_money, money), ("elig_max_cost_vnd", views.parse_money, money),
        ("elig_min_score", views.parse_share, i18n.tr(lang, "Write a score from 0 to 1, e.g. 0,5 (or leave it empty).")),
        *[(f, views.parse_count, whole) for f in ("per_province_min", "per_province_max", "per_sector_min", "per_sector_max",
                                                  "max_projects", "min_provinces", "elig_max_rank")],
    ]  # fmt: skip
    for name, parse, message in fields:
        try:
            parsed[name] = parse(values[name])
        except ValueError:
            errors[name] = [message]
    per_kind: dict[str, dict[str, int]] = {}
    for kind, b in values["per_kind"].items():
        for side in ("min", "max"):
            try:
                v = views.parse_count(b[side])
            except ValueError:
                errors[f"per_kind_{side}__{kind}"] = [whole]
                continue
            if v is not None:
                per_kind.setdefault(kind, {})[side] = v
    if "budget_vnd" not in errors and parsed.get("budget_vnd") is None:
        errors["budget_vnd"] = [i18n.tr(lang, "Enter the budget in đồng.")]
    if exact and "as_of" not in errors:
        try:
            at = views.parse_local(exact)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None and i18n.local_input(at) == values["as_of"]:
            parsed["as_of"] = at
    if not errors and chosen is not None:

        def pair(low: str, high: str) -> dict[str, int] | None:
            return {k: v for k, v in (("min", parsed[low]), ("max", parsed[high])) if v is not None} or None

        eligibility = {k: parsed[f"elig_{k}"] for k in ("min_score", "max_rank", "min_cost_vnd", "max_cost_vnd")
                       if parsed[f"elig_{k}"] is not None}  # fmt: skip
        if values["elig_kinds"]:
            eligibility["kinds"] = values["elig_kinds"]
        if values["elig_approved_only"]:
            eligibility["approved_only"] = True
        try:
            body = rankings.RankingCreate.model_validate({
                "profile": chosen.key, "profile_version": chosen.version,
                "filters": {"province_code": values["province_code"], "sector": values["sector"]},
                "as_of": parsed["as_of"], "budget_vnd": parsed["budget_vnd"], "cost_source": values["cost_source"] or None,
                "per_province": pair("per_province_min", "per_province_max"), "name": values["name"] or None,
                "per_sector": pair("per_sector_min", "per_sector_max"), "per_kind": per_kind or None,
                "max_projects": parsed["max_projects"], "min_provinces": parsed["min_provinces"],
                "strategy": values["strategy"] or None, "eligibility": eligibility or None,
                "review": values["review"] or DEFAULT_FILTER,
            })  # fmt: skip
            r = rankings.create(
                session=session, registry=registry, profiles=profiles, principal=signed.principal, body=body
            )
        except (AppError, ValidationError) as exc:
            if isinstance(exc, AppError) and exc.status not in (409, 422):
                raise
            errors = _form_errors(exc, lang)
        else:
            return RedirectResponse(f"/planner/rankings/{r.id}?created=1", status_code=303)
    context = _selection_context(request, signed, registry, profiles, values, errors)
    return render(request, "selection.html", status=422, **context)


@router.get("/rankings")
def ranking_list(
    request: Request,
    signed: Planner,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """Frozen rankings you may see, newest first."""
    items, nxt = rankings.list_rankings(session=session, principal=signed.principal, cursor=cursor, limit=25)
    return render(request, "rankings.html", section="rankings", items=items, next_cursor=nxt)


@router.get("/rankings/{ranking_id}")
def ranking_page(
    request: Request,
    ranking_id: str,
    signed: Planner,
    session: SessionDep,
    registry: RegistryDep,
    profiles: ProfilesDep,
    created: bool = False,
    passed: Annotated[str | None, Query(max_length=400)] = None,
) -> Response:
    """A frozen ranking explained: both strategies side by side, selected facilities, totals, binding constraints,
    per-province chart, and the candidates passed over with their reasons (paged by `passed`)."""
    lang = language(request)
    r = rankings.get(session=session, principal=signed.principal, ranking_id=ranking_id)
    counts = summary.province_counts(session=session, ranking=r)
    names = provinces()
    sel = r.result.get("selection")
    profile = profiles.items.get((r.profile_key, r.profile_version))
    legend = views.criteria_legend(profile, lang, registry) if profile else []
    top = views.priority_rows(rankings.items_page(session, r, limit=10)[0], legend, lang) if legend else []
    over, over_next = (
        rankings.passed_over_with_names(session, r, cursor=passed, limit=50) if sel else ([], None)
    )
    return render(
        request, "ranking.html", section="rankings", r=r, sel=sel, counts=counts, created=created, legend=legend, top=top,
        profile_title=i18n.text_of(lang, profile.raw.get("title")) if profile else r.profile_key,
        selected=summary.selected_items(r), chart=views.province_chart(counts, lang, names),
        binding=views.binding_texts((sel or {}).get("binding_constraints", []), lang, names),
        cost_label=views.cost_label(registry, sel, lang), strategies=list(i18n.STRATEGIES), passed_cursor=passed,
        passed_over=over, passed_next=over_next, reason_text=lambda reason: views.passed_over_reason(reason, lang),
        kind_text=lambda k: i18n.tr(lang, i18n.SUPPORT_KINDS[k]) if k in i18n.SUPPORT_KINDS else k,
    )  # fmt: skip


# -- results of point projects -----------------------------------------------------------------------------------


@router.get("/results")
def results_page(
    request: Request,
    signed: Planner,
    session: SessionDep,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
    from_year: Annotated[str | None, Query(max_length=4)] = None,
    to_year: Annotated[str | None, Query(max_length=4)] = None,
    point_project: Annotated[str | None, Query(max_length=40)] = None,
    figure: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The results report of point projects with charts; each figure links to the establishments behind it."""
    from urllib.parse import urlencode

    from app.point_projects import results as pp_results
    from app.point_projects.schemas import ACTIVITY_LABELS, STATE_LABELS

    lang = language(request)
    year = lambda v: int(v) if v and v.isdigit() and 2000 <= int(v) <= 2100 else None  # noqa: E731
    flt = pp_results.Filters(
        point_project or None, province_code or None, None, year(from_year), year(to_year)
    )
    rep = pp_results.report(session=session, principal=signed.principal, filters=flt, as_of=None)
    behind_rows = None
    if figure in ("facilities_supported", "demonstration_models", *pp_results.METRICS):
        behind_rows = pp_results.facilities_behind(session=session, principal=signed.principal, filters=flt,
                                                   as_of=None, figure=figure)  # fmt: skip
    base = {k: v for k, v in flt.__dict__.items() if v is not None and k != "sector"}

    def behind(name: str, **more: Any) -> str:
        return "/planner/results?" + urlencode({**base, **more, "figure": name}) + "#behind"

    names = provinces()
    rows = [p for p in rep["by_province"] if p["province_code"]]
    kinds = [(k, ACTIVITY_LABELS[k][lang], n) for k, n in rep["activities_by_kind"].items() if n]
    return render(
        request, "results.html", section="results", rep=rep, filters=flt, lang=lang, behind=behind, behind_rows=behind_rows,
        query=urlencode(base), kinds=kinds, state_label=lambda s: STATE_LABELS.get(s, {}).get(lang, s),
        province_choices=_scope_provinces(signed.principal),
        stages=[("baseline", i18n.tr(lang, "Baseline (before support)")), ("completion", i18n.tr(lang, "At completion")),
                ("follow_up_12m", i18n.tr(lang, "12 months after completion"))],
        kind_chart={"labels": [label for _, label, _ in kinds], "datasets": [{"label": i18n.tr(lang, "Activities"), "data": [n for _, _, n in kinds]}]},
        province_chart={"labels": [names.get(p["province_code"], p["province_code"]) for p in rows], "datasets": [
            {"label": i18n.tr(lang, "Establishments supported"), "data": [p["facilities_supported"] for p in rows]},
            {"label": i18n.tr(lang, "New jobs"), "data": [p["jobs_created"] for p in rows]}]},
    )  # fmt: skip


# -- downloads ---------------------------------------------------------------------------------------------------


@router.get("/downloads")
def downloads(request: Request, signed: Planner, session: SessionDep, registry: RegistryDep) -> Response:
    """Every file a planner can take away: facilities, responses per questionnaire version, frozen rankings."""
    lang = language(request)
    versions = [{"key": d.key, "version": d.version, "status": d.status, "title": i18n.text_of(lang, d.title)}
                for key in registry.keys for d in reversed(registry.versions(key)) if d.status != "draft"]  # fmt: skip
    recent, _ = rankings.list_rankings(session=session, principal=signed.principal, cursor=None, limit=10)
    return render(request, "downloads.html", section="downloads", versions=versions, scope=_scope_provinces(signed.principal),
                  sectors=list(i18n.SECTORS), recent=recent)  # fmt: skip


def _file(chunks: Any, media: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


Format = Literal["csv", "xlsx"]
FileFormat = Literal["csv", "xlsx", "geojson"]
Labels = Literal["vi", "en", "codes"]


def _labels(request: Request, asked: str | None) -> Lang | None:
    """Column and choice labels of a download: as asked, or the page's language; `codes` keeps the codes."""
    if asked == "codes":
        return None
    return asked or language(request)  # type: ignore[return-value]


@router.get("/downloads/facilities")
def download_facilities(
    request: Request,
    signed: Planner,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
    sector: Sector | Literal[""] = "",
    format: FileFormat = "csv",
    labels: Labels | None = None,
) -> StreamingResponse:
    """The facilities of your provinces: a spreadsheet, or points for mapping tools (streamed by app.exports)."""
    names = _labels(request, labels)
    provs, sectors = [province_code] if province_code else None, [str(sector)] if sector else None
    if format == "geojson":
        features = geojson.facility_features(signed.principal, provs, sectors, names)
        return _file(geojson.collection("facilities", features), geojson.MEDIA_TYPE, "facilities.geojson")
    rows = export.facility_rows(signed.principal, provs, sectors, names)
    chunks, media = export.stream(format, export.facility_columns(names), rows, "facilities")
    return _file(chunks, media, f"facilities.{format}")


@router.get("/downloads/responses")
def download_responses(
    request: Request,
    signed: Planner,
    registry: RegistryDep,
    questionnaire: Annotated[str, Query(max_length=120)],
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    province_code: Annotated[str | None, Query(max_length=2)] = None,
    format: FileFormat = "csv",
    labels: Labels | None = None,
) -> StreamingResponse:
    """One row (or point) per response to one questionnaire version, latest revision (streamed by app.exports).
    The form names the version as `questionnaire=key:version`."""
    if version is None:
        key, _, number = questionnaire.rpartition(":")
        questionnaire, version = key, int(number) if number.isdigit() else 0
    d = registry.get(questionnaire, version)
    names = _labels(request, labels)
    provs = [province_code] if province_code else None
    name = f"{d.key}-v{d.version}"
    if format == "geojson":
        features = geojson.response_features(signed.principal, d, provs, names)
        return _file(geojson.collection(name, features), geojson.MEDIA_TYPE, f"{name}.geojson")
    rows = export.response_rows(signed.principal, d, provs, names)
    chunks, media = export.stream(format, export.response_columns(d, names), rows, name)
    return _file(chunks, media, f"{name}.{format}")


@router.get("/downloads/rankings/{ranking_id}")
def download_ranking(
    ranking_id: str, signed: Planner, session: SessionDep, format: Format = "csv"
) -> StreamingResponse:
    """A frozen ranking, every candidate explained, with a `selected` column when it has a budgeted selection."""
    r = rankings.get(session=session, principal=signed.principal, ranking_id=ranking_id)
    header, rows = ranking_table(r)
    chunks, media = export.stream(format, header, rows, "ranking")
    return _file(chunks, media, f"ranking-{r.id}.{format}")


# -- built assets ----------------------------------------------------------------------------------------------


@router.get("/static/{name}", dependencies=[public])
def static_file(request: Request, name: str) -> Response:
    """The workspace's built scripts and styles (content-hashed names, cached for a year)."""
    return asset_response(request, name)
