"""The web UI: NiceGUI pages mounted on the same FastAPI app, calling the same services as the API.

NiceGUI keeps its pages in one process-wide app, so the running Helios is registered here once
(``runtime``) and pages read it from there.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI

from helios.context import AppContext
from helios.ui import runtime


def mount(app: FastAPI, context: AppContext) -> None:
    from nicegui import ui

    from helios.ui import pages  # noqa: F401  (registers every page)
    from helios.ui.guard import UiGuard, guard_socket, redact_access_log

    runtime.set_context(context)
    app.add_middleware(UiGuard, context=context)
    ui.run_with(
        app,
        title="Helios",
        dark=None,
        storage_secret=secrets.token_urlsafe(32),
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
    guard_socket()
    redact_access_log()
