"""The hosted form page a provincial portal puts in an <iframe>, and its built assets.

`GET /embed/{token}` answers the page of one form link: the questionnaires (JSON Schema + UI schema in the
page's language), the province and its wards, and the link's state, as JSON inside the HTML; the script
(web/embed/, built into static/) renders them with react-jsonschema-form and posts with the token. Framing
is allowed only from CORS_ORIGINS (`Content-Security-Policy: frame-ancestors`); the page runs scripts from
this server only, connects to this server only, and never sends its URL (which holds the token) as a Referer.
"""

from __future__ import annotations

import gzip
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.access import form_links
from app.access.deps import public
from app.core.config import get_settings
from app.core.errors import NotFound
from app.core.routing import ApiRoute
from app.deps import RegistryDep
from app.forms import page
from app.places import service as places
from app.questionnaires import ui_schema
from app.questionnaires.registry import Registry

router = APIRouter(route_class=ApiRoute, tags=["forms"])

Lang = Literal["vi", "en"]
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def content_security_policy(origins: list[str]) -> str:
    """Scripts, styles and requests: this server only. Ajv compiles each questionnaire's schema into a function
    at run time, which needs 'unsafe-eval' (the schemas come from this server; no text a person types is ever
    evaluated). Framing: only the configured portal origins."""
    ancestors = " ".join(origins) if origins else "'none'"
    return (
        "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self'; connect-src 'self'; "
        f"base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )


def _accepts(request: Request, coding: str) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == coding:
            q = params.strip().removeprefix("q=").strip()
            try:
                return not q or float(q) > 0
            except ValueError:
                return False
    return False


def _questionnaires(registry: Registry, keys: list[str], lang: str) -> list[dict[str, Any]]:
    out = []
    for key in keys:
        d = registry.latest_published(key)
        if d is None:  # retired since the link was made: nothing to offer for it
            continue
        out.append({"key": d.key, "version": d.version, "title": d.title.get(lang) or d.title["vi"],
                    "description": (d.description or {}).get(lang) or (d.description or {}).get("vi"),
                    "schema": registry.json_schema(d, lang), "ui_schema": ui_schema.export(d, lang)})  # fmt: skip
    return out


def page_config(link: Any, token: str, registry: Registry, lang: str) -> dict[str, Any]:
    """What the page's script needs: everything shown comes from here (the page reads nothing else)."""
    st = form_links.state(link)
    code = link.province_code
    config: dict[str, Any] = {
        "lang": lang,
        "state": st,
        "token": token,
        "api_base": "/api/v1",
        "link": {"id": link.id, "expires_at": link.expires_at.isoformat() if link.expires_at else None},
        "province": {"code": code, "name": places.provinces().get(code, code)},
        "lang_urls": {"vi": "?lang=vi", "en": "?lang=en"},
    }
    if st == "active":
        config["questionnaires"] = _questionnaires(registry, list(link.questionnaires), lang)
        # the page refuses a larger photo or file before sending anything (the upload route's own limit)
        config["max_attachment_bytes"] = get_settings().max_attachment_bytes
        config["wards"] = [{"code": c, "name": w["name"]} for c, w in (places.wards(code) or {}).items()]
    return config


@router.get(
    "/embed/{token}",
    dependencies=[public],
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The form page"},
        404: {"content": {"text/html": {}}, "description": "Unknown link: a page saying so"},
        410: {"content": {"text/html": {}}, "description": "Revoked, expired or full: a page saying so"},
    },
)
def embed_page(
    token: str,
    request: Request,
    registry: RegistryDep,
    lang: Annotated[Lang, Query(description="the page's language")] = "vi",
) -> Response:
    """The hosted form page of a form link, for an <iframe> on a portal listed in CORS_ORIGINS (Vietnamese;
    `?lang=en` English). A revoked, expired or full link answers a page that says so."""
    link = form_links.find(token)
    if link is None:
        config: dict[str, Any] = {"lang": lang, "state": "unknown", "token": "", "api_base": "/api/v1",
                                  "lang_urls": {"vi": "?lang=vi", "en": "?lang=en"}}  # fmt: skip
        status = 404
    else:
        config = page_config(link, token, registry, lang)
        status = 200 if config["state"] == "active" else 410
    html = page.render(config).encode()
    headers = {
        "Content-Security-Policy": content_security_policy(get_settings().cors_origins),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if _accepts(request, "gzip"):
        html = gzip.compress(html, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return Response(html, status_code=status, media_type="text/html; charset=utf-8", headers=headers)


@router.get(f"{page.STATIC_URL}/{{asset}}", dependencies=[public], include_in_schema=False)
def embed_asset(asset: str, request: Request) -> Response:
    """The page's built files: content-hashed, so cached for a year; pre-compressed copies when accepted."""
    if asset not in page.asset_names():
        raise NotFound(f"There is no asset {asset!r}.")
    path = page.STATIC_DIR / asset
    headers = {
        "Cache-Control": IMMUTABLE if asset in page.manifest().values() else "public, max-age=86400",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    for coding, suffix in (("br", ".br"), ("gzip", ".gz")):
        packed = path.with_name(path.name + suffix)
        if _accepts(request, coding) and packed.is_file():
            headers["Content-Encoding"] = coding
            return FileResponse(packed, media_type=_TYPES[path.suffix], headers=headers)
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=headers)
