"""The workspace's access rule: a signed-in session (cookie), re-checked on every request, and CSRF tokens.

`page_access(*roles)` is the pages' counterpart of `access.deps.require(...)`: declared on every page route
(tests/access/test_matrix.py reads `access_roles` and `access_via`), run from the headers before the body
is read. No cookie, or one whose session ended, expired or whose key was revoked → SignInRequired (the
pages answer with a redirect to the sign-in page, or 401 to htmx); another role → 403.

Every form post carries the session's CSRF token (a synchronizer token stored with the session), as the
`csrf_token` field or the `X-CSRF-Token` header (htmx). The sign-in form, which has no session yet, carries a
token that must match a short-lived cookie set with the form (so no other site can sign a browser in).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from app.access import sessions
from app.access.deps import rate_limiter
from app.access.sessions import SignedIn
from app.core.config import get_settings
from app.core.errors import Forbidden, TooManyRequests, Unauthorized

COOKIE = "kc_planner"
SIGN_IN_COOKIE = "kc_planner_signin"
LANG_COOKIE = "kc_lang"
PATH = "/planner"
SIGN_IN_PATH = "/planner/sign-in"


class SignInRequired(Unauthorized):
    """No live session: the page asks the person to sign in."""

    slug, title = "sign-in-required", "Sign in to the planner workspace"


class CsrfRefused(Forbidden):
    slug, title = "csrf", "The form's security token is missing or wrong"


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def current(request: Request) -> SignedIn | None:
    """The request's live session, or None (resolved once per request)."""
    state = request.scope.setdefault("state", {})
    if "planner" not in state:
        token = request.cookies.get(COOKIE)
        state["planner"] = (
            await run_in_threadpool(sessions.resolve, token, _client_ip(request), state.get("request_id"))
            if token
            else None
        )
    return state["planner"]  # type: ignore[no-any-return]


def page_access(*roles: str) -> Callable[..., Any]:
    """A page's access rule: a live session of one of these roles (admin always)."""
    allowed = frozenset(roles) | {"admin"}

    async def check(request: Request) -> SignedIn:
        signed = await current(request)
        if signed is None:
            raise SignInRequired("Sign in with your key to use the planner workspace.")
        principal = signed.principal
        if principal.role not in allowed:
            raise Forbidden.at(
                "session", "role_not_allowed", f"The role {principal.role!r} may not use this page."
            )
        limit = get_settings().rate_limit_per_minute
        wait = rate_limiter.hit(f"{principal.kind}:{principal.key_id}", limit)
        if wait is not None:
            raise TooManyRequests(
                f"Too many requests; retry in {wait} s.", headers={"Retry-After": str(wait)}
            )
        state = request.scope.setdefault("state", {})
        state["principal"] = principal
        state["key_name"] = principal.name
        return signed

    async def _dep(request: Request) -> SignedIn:
        return await check(request)

    _dep.access_roles = allowed  # type: ignore[attr-defined]
    _dep.access_via = "session"  # type: ignore[attr-defined]
    _dep.pre_body = check  # type: ignore[attr-defined]
    return _dep


Planner = Annotated[SignedIn, Depends(page_access("planner"))]


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the session's (403 otherwise)."""
    form = await request.form()
    signed = await current(request)
    token = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if signed is None or not isinstance(token, str) or not signed.csrf_matches(token):
        raise CsrfRefused(
            "This form is out of date or did not come from this site; reload the page and try again."
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


# -- cookies ------------------------------------------------------------------------------------------------


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, path=PATH, secure=_secure(request), httponly=True,
                        samesite="strict")  # fmt: skip


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, secure=_secure(request), httponly=True, samesite="strict")


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the one in the browser's sign-in cookie, or a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def remember_sign_in_token(response: Response, request: Request, token: str) -> None:
    """Set the cookie the sign-in form's token must match (login CSRF: no other site can sign a browser in)."""
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, path=SIGN_IN_PATH, secure=_secure(request),
                        httponly=True, samesite="strict")  # fmt: skip


def sign_in_token_ok(request: Request, posted: object) -> bool:
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    return bool(cookie) and isinstance(posted, str) and hmac.compare_digest(cookie.encode(), posted.encode())  # type: ignore[union-attr]
