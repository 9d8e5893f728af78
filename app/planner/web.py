"""What every page shares: the template environment, the route class (HTML errors, security headers), assets.

- Templates: Jinja2 with autoescape on, gettext through `i18n` (the request's language), Babel formatting.
- `PageRoute`: the API's route class (access checked from the headers before the body, body ceilings, write
  sessions by construction) with errors rendered as pages: no session → redirect to the sign-in page (htmx:
  401 + HX-Redirect), 403/404/422 → a page that says what happened, in the reader's language.
- Every page answer carries a strict Content-Security-Policy (scripts and styles from this site only, no inline
  script), no caching (pages hold personal data), no framing, no MIME sniffing.
- Built assets (web/planner → app/planner/static, content-hashed names) are served with a year of immutable
  caching, pre-compressed when the browser accepts it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from starlette.exceptions import HTTPException

from app.access.sessions import SignedIn
from app.core.errors import AppError, bounded, validation_errors
from app.core.routing import ApiRoute
from app.places.service import provinces, wards
from app.planner import i18n
from app.planner.auth import LANG_COOKIE, PATH, SIGN_IN_PATH, CsrfRefused, SignInRequired
from app.planner.views import map_url

log = logging.getLogger("khuyencong.planner")
HERE = Path(__file__).parent
STATIC = HERE / "static"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")  # fmt: skip
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# -- language ------------------------------------------------------------------------------------------------


def language(request: Request) -> str:
    """`?lang=` (remembered in a cookie), else the cookie, else Vietnamese."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGS:
        return asked  # type: ignore[return-value]
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in i18n.LANGS else i18n.DEFAULT_LANG  # type: ignore[return-value]


def _remember_language(request: Request, response: Response) -> None:
    asked = request.query_params.get("lang")
    if asked in i18n.LANGS and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, path=PATH, samesite="strict", httponly=True,  # type: ignore[arg-type]
                            secure=request.url.scheme == "https")  # fmt: skip


# -- templates ------------------------------------------------------------------------------------------------


# Jinja's new-style gettext fills the placeholders itself (escaping the values): these only translate.
@pass_context
def _gettext(ctx: Any, message: str) -> str:
    return i18n.catalogue(ctx["lang"]).gettext(message)


@pass_context
def _ngettext(ctx: Any, singular: str, plural: str, n: int) -> str:
    return i18n.catalogue(ctx["lang"]).ngettext(singular, plural, n)


# The language of the page being rendered: filters read it here (a context variable set by `render`), which is
# cheaper than asking Jinja's context in each of the thousands of numbers a page of priorities formats.
_rendering_lang: ContextVar[str] = ContextVar("planner_lang", default=i18n.DEFAULT_LANG)


def _lang_filter(fn: Callable[..., str]) -> Callable[..., str]:
    def f(value: Any, *args: Any) -> str:
        return fn(_rendering_lang.get(), value, *args)

    return f


def _label(table: dict[str, str]) -> Callable[..., str]:
    @pass_context
    def f(ctx: Any, code: Any) -> str:
        return i18n.tr(ctx["lang"], table[code]) if code in table else ("—" if code is None else str(code))

    return f


def _named(table: dict[str, dict[str, str]]) -> Any:
    """A filter: a code's `{vi, en}` name in the page's language (the code itself when unknown)."""

    @pass_context
    def f(ctx: Any, code: Any) -> str:
        return (
            i18n.text_of(ctx["lang"], table[code]) if code in table else ("—" if code is None else str(code))
        )

    return f


@pass_context
def _ward(ctx: Any, code: Any, province_code: Any) -> str:
    """A ward's name ("Phường Ba Đình") from its code within its province (the code when unknown)."""
    found = (wards(province_code) or {}).get(code) if isinstance(province_code, str) else None
    return found["name"] if found else ("—" if code is None else str(code))


@pass_context
def _province(ctx: Any, code: Any) -> str:
    return provinces().get(code, code or "—")


@pass_context
def _text(ctx: Any, value: Any) -> str:
    return i18n.text_of(ctx["lang"], value)


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=_lang_filter(i18n.money),
        number=_lang_filter(i18n.number),
        percent=_lang_filter(i18n.percent),
        when=_lang_filter(i18n.when),
        day=_lang_filter(i18n.day),
        sector=_named(i18n.SECTORS),
        kind=_named(i18n.KINDS),
        ward=_ward,
        review_state=_label(i18n.REVIEW_STATES),
        review_filter=_label(i18n.REVIEW_FILTERS),
        strategy=_label(i18n.STRATEGIES),
        role=_label(i18n.ROLES),
        method=_label(i18n.METHODS),
        province=_province,
        text=_text,
        local_input=i18n.local_input,
        tojson_attr=lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
    )
    env.globals.update(asset=asset_url, provinces=provinces, urlencode=urlencode, map_url=map_url)
    return env


def url_with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for k, v in changes.items():
        if v is None:
            continue
        for item in v if isinstance(v, list | tuple) else [v]:
            params.append((k, str(item)))
    return request.url.path + ("?" + urlencode(params) if params else "")


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    signed: SignedIn | None = None,
    section: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page (or, for htmx, the fragment the template renders when `fragment` is true)."""
    lang = language(request)
    state = request.scope.get("state", {})
    signed = signed or state.get("planner")
    ctx = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "vi" else "vi",
        "url_with": lambda **kw: url_with(request, **kw),
        "signed": signed,
        "principal": signed.principal if signed else None,
        "csrf_token": signed.csrf_token if signed else "",
        "section": section,
        "htmx": request.headers.get("hx-request") == "true",
        "request_id": state.get("request_id", ""),
        **context,
    }
    token = _rendering_lang.set(lang)
    try:
        html = environment().get_template(template).render(ctx)
    finally:
        _rendering_lang.reset(token)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Vary"] = "HX-Request, Cookie"
    _remember_language(request, response)
    return response


# -- errors as pages ----------------------------------------------------------------------------------------


def sign_in_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGN_IN_PATH}?next={quote(here, safe='')}"


async def render_error(request: Request, exc: Exception) -> Response:
    """Every exception of a page route, as a page (or a redirect to sign in)."""
    if isinstance(exc, SignInRequired) or (isinstance(exc, AppError) and exc.status == 401):
        target = sign_in_url(request) if request.method == "GET" else SIGN_IN_PATH
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    lang = language(request)
    status, title, detail, errors = 500, i18n.tr(lang, "Something went wrong"), None, []
    if isinstance(exc, CsrfRefused):
        status, title = 403, i18n.tr(lang, "This form has expired")
        detail = i18n.tr(
            lang,
            "The form was out of date or did not come from this workspace. Go back, reload the page and try again.",
        )
    elif isinstance(exc, AppError):
        status = exc.status
        title = {403: i18n.tr(lang, "Not allowed"), 404: i18n.tr(lang, "Not found"), 422: i18n.tr(lang, "Check what you entered"),
                 429: i18n.tr(lang, "Too many requests")}.get(status, i18n.tr(lang, "Request refused"))  # fmt: skip
        if status == 404:
            detail = i18n.tr(
                lang,
                "There is nothing here that your key may see. It may be in another province, or the address may be wrong.",
            )
        elif status == 403:
            detail = i18n.tr(lang, "Your key's role may not use this page.")
        else:
            detail = exc.detail
        errors = exc.errors or []
    elif isinstance(exc, RequestValidationError):
        status, title = 422, i18n.tr(lang, "Check what you entered")
        errors = bounded(validation_errors(exc.errors()))[0]
    elif isinstance(exc, HTTPException):
        status, title, detail = exc.status_code, str(exc.detail), None
    else:
        log.exception("planner page failed", exc_info=exc)
    headers = (
        {"Retry-After": exc.headers["Retry-After"]}
        if isinstance(exc, AppError) and exc.headers and "Retry-After" in exc.headers
        else None
    )
    return render(
        request, "error.html", status=status, title=title, detail=detail, errors=errors, headers=headers
    )


class PageRoute(ApiRoute):
    """ApiRoute for pages: errors as pages, and the pages' security headers on every answer."""

    render_error = staticmethod(render_error)  # type: ignore[assignment]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            response = await handler(request)
            for k, v in PAGE_HEADERS.items():
                response.headers.setdefault(k, v)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return page_handler


# -- built assets -------------------------------------------------------------------------------------------

ASSET_NAME = re.compile(r"^planner-[A-Z0-9]+\.(js|css)$|^planner-licenses\.txt$")
MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


@lru_cache
def manifest() -> dict[str, str]:
    return json.loads((STATIC / "manifest.json").read_text())  # type: ignore[no-any-return]


def asset_url(logical: str) -> str:
    return f"{PATH}/static/{manifest()[logical]}"


@lru_cache(maxsize=32)
def asset_bytes(name: str, encoding: str) -> bytes | None:
    """A built file (and its pre-compressed copies), read once; None when no such file was built."""
    if not ASSET_NAME.match(name):
        return None
    path = STATIC / (name + ({"br": ".br", "gzip": ".gz"}.get(encoding, "")))
    return path.read_bytes() if path.is_file() else None


def asset_response(request: Request, name: str) -> Response:
    accepted = {e.split(";")[0].strip() for e in request.headers.get("accept-encoding", "").split(",")}
    for encoding in ("br", "gzip", "identity"):
        if encoding != "identity" and encoding not in accepted:
            continue
        body = asset_bytes(name, encoding)
        if body is None:
            continue
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable",
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        media = MEDIA[Path(name).suffix]
        return Response(body, media_type=media, headers=headers)
    raise HTTPException(404, "No such file.")
