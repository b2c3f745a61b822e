from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui


@ui.page("/")
def index() -> RedirectResponse:
    # The first capability is the home page until a dashboard lands.
    return RedirectResponse("/datasets")
