"""Auth for the web UI: pages need a signed-in token (or open local mode), like the API does.

Static assets and the websocket that a page opens after it loaded stay reachable: the page
itself is what is guarded, and every action re-checks the role in its handler.
"""

from __future__ import annotations

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from helios.context import AppContext
from helios.api.login import render_login
from helios.api.security import identify
from helios.core.auth import Principal
from helios.core.errors import HeliosError

# Paths the middleware leaves alone: the API guards itself, and these are assets or sign-in.
_OPEN_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/login", "/logout", "/_nicegui")

# Minimum role per page; pages not listed need viewer.
PAGE_ROLES: dict[str, str] = {}


class UiAuthMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, context: AppContext) -> None:  # type: ignore[no-untyped-def]
        super().__init__(app)
        self.context = context

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith(_OPEN_PREFIXES) or path == "/favicon.ico":
            return await call_next(request)
        try:
            identify(self.context, request)
        except HeliosError as exc:
            if (
                exc.status == 401
                and request.method == "GET"
                and "text/html" in request.headers.get("accept", "")
            ):
                # A person in a browser: show the sign-in form right here (still a 401).
                return render_login(path, "", status_code=401)
            return Response(exc.detail, status_code=exc.status, media_type="text/plain")
        return await call_next(request)


def page_principal(request: Request) -> Principal:
    from helios.ui.runtime import context

    return identify(context(), request)


def redirect_home() -> RedirectResponse:
    return RedirectResponse("/datasets")
