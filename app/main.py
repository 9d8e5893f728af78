"""App factory: settings, logging, middleware, routers, error handlers, and the start-up checks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app import handlers as _handlers  # noqa: F401  every unit-of-work handler, before anything writes
from app.access import form_links
from app.access.deps import register_token_kind
from app.access.router import router as access_router
from app.attachments.router import router as attachments_router
from app.core import errors
from app.core import logging as app_logging
from app.core.config import Settings, get_settings
from app.core.db import session_scope
from app.core.health import router as health_router
from app.core.middleware import ProblemCORSMiddleware, RequestContextMiddleware, TrustedProxies
from app.exports.router import router as exports_router
from app.facilities.router import router as facilities_router
from app.feeds.router import router as feeds_router
from app.forms.router import router as forms_router
from app.openrosa.router import OPENROSA_HEADERS
from app.openrosa.router import PREFIX as OPENROSA_PREFIX
from app.openrosa.router import router as openrosa_router
from app.places.router import router as places_router
from app.planner.router import router as planner_router
from app.point_projects.router import router as point_projects_router
from app.prioritisation import projection
from app.prioritisation.profiles import Profiles
from app.prioritisation.router import router as prioritisation_router
from app.questionnaires.definition import DefinitionError
from app.questionnaires.registry import Registry, verify_hashes
from app.questionnaires.router import router as questionnaires_router
from app.responses.lane import IngestLane
from app.responses.router import router as responses_router
from app.responses.router import submit_route
from app.review.router import router as review_router
from app.webhooks.deliverer import Deliverer
from app.webhooks.router import router as webhooks_router

log = logging.getLogger("khuyencong")

DESCRIPTION = """Needs survey and point-project prioritisation for Vietnam's industrial-extension
(khuyến công) programme. Errors are RFC 9457 `application/problem+json`. Authenticate with
`Authorization: Bearer <key>`; see the README for roles and province scope."""


def load_definitions(settings: Settings) -> tuple[Registry, Profiles]:
    """Load questionnaires and scoring profiles, check them, and enforce immutability of published versions."""
    registry = Registry.load(settings.schemas_dir)
    profiles, problems = Profiles.load(settings.schemas_dir, registry)
    if problems:
        raise DefinitionError(problems)
    with session_scope(write=True) as session:
        problems = verify_hashes(
            session,
            "questionnaire",
            [(d.key, d.version, d.status, d.content_hash, d.source) for d in registry.definitions.values()],
        )
        problems += verify_hashes(
            session,
            "scoring",
            [(p.key, p.version, p.status, p.content_hash, p.source) for p in profiles.items.values()],
        )
    if problems:
        raise DefinitionError(problems)
    return registry, profiles


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app_logging.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            app.state.registry, app.state.profiles = load_definitions(settings)
        except DefinitionError as exc:
            for p in exc.problems:
                log.error("definition problem: %s", p)
            raise
        with session_scope(write=True) as session:  # present rankings read the answers the profiles need
            projection.ensure(session, app.state.profiles)
        deliverer = Deliverer().start() if settings.webhook_delivery == "inline" else None
        try:
            yield
        finally:
            if deliverer is not None:
                deliverer.stop()

    app = FastAPI(
        title="khuyencong-survey",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses={k: errors.PROBLEM_RESPONSES[k] for k in (422,)},
    )
    errors.install(app)
    for router in (
        health_router,
        places_router,
        questionnaires_router,
        access_router,
        facilities_router,
        responses_router,
        review_router,
        exports_router,
        prioritisation_router,
        point_projects_router,
        forms_router,
        attachments_router,
        openrosa_router,
        planner_router,
        feeds_router,
        webhooks_router,
    ):
        app.include_router(router)
    register_token_kind(form_links.TOKEN_PREFIX, form_links.resolve)
    # Outermost first: request context (id, URL guard, log, metrics) wraps everything, then the ingest lane
    # (single JSON posts of field officers' devices, served without the layers below), then CORS.
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "POST", "PUT", "PATCH", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
        expose_headers=["ETag", "X-Request-ID", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(IngestLane, route=submit_route())
    app.add_middleware(
        RequestContextMiddleware,
        trusted=TrustedProxies(settings.trusted_proxies),
        path_headers={OPENROSA_PREFIX: OPENROSA_HEADERS},  # X-OpenRosa-Version on every /openrosa reply
    )
    return app
