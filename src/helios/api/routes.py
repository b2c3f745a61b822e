"""The ``/api/v1`` router: every area's router, and a catch-all so an unknown API path is a
problem+json 404 rather than falling through to the web UI."""

from __future__ import annotations

from fastapi import APIRouter, Request

from helios.api import (
    agents,
    assistant_chat,
    assistant_quality,
    assistants,
    datasets,
    health,
    memory,
    models,
    predictions,
    tokens,
    training,
)
from helios.api.shield import api_routes
from helios.core.errors import MethodNotAllowed, NotFound

API_PREFIX = "/api/v1"
FALLBACK_PATH = "/api/{path:path}"
ANY_METHOD = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    router.include_router(health.router)
    router.include_router(datasets.router)
    router.include_router(models.router)
    router.include_router(training.router)
    router.include_router(predictions.router)
    router.include_router(tokens.router)
    router.include_router(agents.router)
    router.include_router(memory.router)
    router.include_router(assistants.router)
    router.include_router(assistant_chat.router)
    router.include_router(assistant_quality.router)
    return router


def fallback_router() -> APIRouter:
    router = APIRouter()

    # Every method, HEAD/OPTIONS/TRACE included: an API path never falls through to the web UI
    # (which would answer HTML and open a UI client per request).
    @router.api_route(FALLBACK_PATH, methods=sorted(ANY_METHOD), include_in_schema=False)
    def unknown_api_path(path: str, request: Request) -> None:
        allowed = methods_at(request)
        if allowed:
            raise MethodNotAllowed(
                f"{request.method} is not allowed on /api/{path}; use {', '.join(sorted(allowed))}",
                allow=allowed,
            )
        raise NotFound(f"no API endpoint at /api/{path}; see /docs for the list")

    return router


def methods_at(request: Request) -> set[str]:
    """The methods the API does answer at this path (for a 405 rather than a 404)."""
    path = request.url.path
    routes = [r for r in api_routes(request.app.routes) if r.path != FALLBACK_PATH]
    allowed = {m for route in routes if route.pattern.match(path) for m in route.methods}
    return allowed - {"HEAD", "OPTIONS", "TRACE", "CONNECT"}
