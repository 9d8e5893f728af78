"""Dependencies shared by the routers of several domains (FastAPI `Depends`), in one place.

Access rules (keys, roles, scope) live in `app.access.deps`; the write session each route needs in
`app.core.routing`. What is here is the service's shared state that routes read: the questionnaire registry.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.questionnaires.registry import Registry


async def get_registry(request: Request) -> Registry:
    """The questionnaire registry loaded at start-up (app.state.registry)."""
    return request.app.state.registry  # type: ignore[no-any-return]


RegistryDep = Annotated[Registry, Depends(get_registry)]
