"""AppError hierarchy and the handlers that render every error as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("khuyencong.errors")

PROBLEM_BASE = "https://khuyencong.example/problems/"

# An error reply never grows with its input: it lists at most MAX_FIELD_ERRORS field errors (per item, in a
# batch) and counts the rest in `more_errors`; a path is cut to MAX_PATH_CHARS and a message to
# MAX_MESSAGE_CHARS (both may echo what was sent, e.g. an unknown answer's name). See `bounded`.
MAX_FIELD_ERRORS = 50
MAX_PATH_CHARS = 200
MAX_MESSAGE_CHARS = 500
MAX_DETAIL_CHARS = 1000
MORE_ERRORS_DESCRIPTION = (
    "How many more field errors there were than `errors` lists (it lists at most the first 50); absent when "
    "none were left out"
)


class FieldError(BaseModel):
    """One broken field: where (dotted path from the body root), which rule, and what was expected."""

    path: str
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    more_errors: int | None = Field(default=None, description=MORE_ERRORS_DESCRIPTION)
    facility_id: str | None = Field(
        default=None, description="On 409 duplicate tax code: the existing facility"
    )


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def field_error(path: str, code: str, message: str) -> dict[str, str]:
    """One entry of a problem's `errors`: the dotted path from the body root (or `query.x`, `url`, `file`),
    the rule broken (a stable code) and what was expected, in words the caller can act on."""
    return {"path": path, "code": code, "message": message}


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded(
    errors: list[dict[str, str]] | None, limit: int = MAX_FIELD_ERRORS
) -> tuple[list[dict[str, str]], int]:
    """The one rule for how much an error reply lists: the first `limit` field errors, each with its path and
    message cut to MAX_PATH_CHARS / MAX_MESSAGE_CHARS, and how many were left out (rendered `more_errors`).

    Every error carrying field errors goes through it: AppError on construction (so a batch of 500 bad items
    holds 50 errors per item, never their tens of thousands), problem bodies when rendered, batch items."""
    errors = errors or []
    out = [
        {**e, "path": clip(str(e.get("path", "")), MAX_PATH_CHARS),
         "code": clip(str(e.get("code", "")), 64), "message": clip(str(e.get("message", "")), MAX_MESSAGE_CHARS)}
        for e in errors[:limit]
    ]  # fmt: skip
    return out, max(0, len(errors) - limit)


def prefixed(errors: list[dict[str, str]] | None, prefix: str) -> list[dict[str, str]]:
    """The same field errors under another root, e.g. `items.3.` inside a batch."""
    return [
        {**e, "path": clip(f"{prefix}{e['path']}" if e["path"] else prefix.rstrip("."), MAX_PATH_CHARS)}
        for e in errors or []
    ]


class AppError(Exception):
    """Base of every error a service may raise; carries its HTTP status and field errors."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        more_errors: int = 0,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        # At most MAX_FIELD_ERRORS kept (see `bounded`); `more_errors` counts the rest (and any a caller had
        # already left out).
        listed, rest = bounded(errors)
        self.errors = listed if errors is not None else None
        self.more_errors = rest + more_errors
        self.headers = headers
        self.extra = extra

    @classmethod
    def at(cls, path: str, code: str, message: str, detail: str | None = None, **kwargs: Any) -> AppError:
        """The error with one field error: `raise Invalid.at("query.cursor", "invalid_cursor", "...")`.

        `detail` defaults to the field message, so a caller reading only `detail` learns the same."""
        return cls(detail or message, errors=[field_error(path, code, message)], **kwargs)


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Not allowed"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class Invalid(AppError):
    status, slug, title = 422, "invalid", "Invalid request"


class InvalidAnswers(Invalid):
    slug, title = "invalid-answers", "Answers do not match the questionnaire"


class Infeasible(Invalid):
    slug, title = "infeasible", "No selection satisfies the constraints"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class TooManyRequests(AppError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class Unavailable(AppError):
    status, slug, title = 503, "unavailable", "Service unavailable"


def problem_body(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    errors: list[dict[str, str]] | None = None,
    more_errors: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = clip(detail, MAX_DETAIL_CHARS)
    listed, rest = bounded(errors)
    if listed:
        body["errors"] = listed
    if rest + more_errors:
        body["more_errors"] = rest + more_errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    errors=None,
    headers=None,
    more_errors: int = 0,
    **extra: Any,
) -> ProblemResponse:
    return ProblemResponse(
        problem_body(status, slug, title, detail, errors, more_errors, **extra),
        status_code=status,
        headers=headers,
    )


_PYDANTIC_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "This field is not part of the request; remove it.",
    "json_invalid": "The body is not valid JSON.",
    "int_type": "Expected a whole number.",
    "bool_type": "Expected true or false.",
    "string_type": "Expected text.",
    "float_type": "Expected a number.",
    "finite_number": "Expected a finite number (NaN and Infinity are not allowed).",
}


def _path_of(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts.pop(0)
        if where != "body":
            parts.insert(0, where)
    return ".".join(str(p) for p in parts) or "body"


def validation_errors(exc_errors: Any) -> list[dict[str, str]]:
    out = []
    for err in exc_errors:
        code = err.get("type", "invalid")
        msg = _PYDANTIC_MESSAGES.get(code) or str(err.get("msg", "Invalid value.")).removeprefix(
            "Value error, "
        )
        if code == "json_invalid":
            ctx = err.get("ctx") or {}
            if ctx.get("error"):
                msg = f"The body is not valid JSON: {ctx['error']}."
            out.append({"path": "body", "code": code, "message": msg})
            continue
        out.append({"path": _path_of(tuple(err.get("loc", ()))), "code": code, "message": msg})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> ProblemResponse:
        return problem(
            exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors, headers=exc.headers,
            more_errors=exc.more_errors, **exc.extra,
        )  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = validation_errors(exc.errors())
        return problem(
            422,
            "invalid",
            "Invalid request",
            "The request does not match what this endpoint accepts.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        if exc.status_code == 400:
            # FastAPI's own body parser gives up on bytes that are not UTF-8 JSON / form data: the contract
            # calls that a malformed body, 422.
            return problem(422, "invalid", "Invalid request", "The body could not be read.", errors=[{"path": "body", "code": "unreadable_body",
                           "message": "The body must be UTF-8 JSON (or multipart form data for file uploads)."}])  # fmt: skip
        titles = {
            404: ("not-found", "Not found"),
            405: ("method-not-allowed", "Method not allowed"),
            413: ("payload-too-large", "Request body too large"),
        }
        slug, title = titles.get(exc.status_code, ("http-error", str(exc.detail)))
        detail = None
        if exc.status_code == 404:
            detail = f"No resource at {request.url.path}."
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        elif isinstance(exc.detail, str):
            detail = exc.detail
        return problem(exc.status_code, slug, title, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
        log.exception("unhandled error")
        return problem(500, "internal", "Internal error", "An unexpected error occurred; it has been logged.")


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}, "description": desc}
    for code, desc in {
        400: "Bad request",
        401: "Missing, unknown or revoked API key",
        403: "Role or province scope does not allow this",
        404: "Not found (or outside your province scope)",
        409: "Conflict",
        413: "Body too large",
        422: "Invalid request; `errors` names each field",
        429: "Rate limit exceeded",
    }.items()
}
