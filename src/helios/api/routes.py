"""The ``/api/v1`` router: every area's router, and a catch-all so an unknown API path is a
problem+json 404 rather than falling through to the web UI."""

from __future__ import annotations

from fastapi import APIRouter

from helios.api import assistant_chat, assistants, datasets, health, models, tokens, training
from helios.core.errors import NotFound

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    router.include_router(health.router)
    router.include_router(datasets.router)
    router.include_router(models.router)
    router.include_router(training.router)
    router.include_router(tokens.router)
    router.include_router(assistants.router)
    router.include_router(assistant_chat.router)
    return router


def fallback_router() -> APIRouter:
    router = APIRouter()

    @router.api_route(
        "/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown_api_path(path: str) -> None:
        raise NotFound(f"no API endpoint at /api/{path}; see /docs for the list")

    return router
