"""Auth for the web UI, like the API's: pages, NiceGUI's socket and its upload routes.

A page is only the start: everything a person does afterwards arrives over the socket (events)
or the upload route, long after the page was checked. So the check is repeated where those
arrive: the socket and the uploads need a signed-in caller who is the page's own user, and every
event re-checks that the page's session and token are still alive (a revoked token stops the
page at its next click, not at its next reload).
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from helios.api.login import render_login
from helios.api.security import identify
from helios.context import AppContext
from helios.core.auth import Principal
from helios.core.errors import Forbidden, HeliosError, Unauthorized

log = logging.getLogger(__name__)

# The API guards itself; these are documentation, sign-in and NiceGUI's static assets.
_OPEN_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/login", "/logout", "/_nicegui/")
_CLIENT_ROUTE = re.compile(r"^/_nicegui/client/(?P<client>[^/]+)/")
_SOCKET_PREFIX = "/_nicegui_ws/"


class UiGuard:
    """Pure ASGI (not BaseHTTPMiddleware) so that it sees the websocket too."""

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = await self.refusal(HTTPConnection(scope))
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await refusal(scope, receive, send)

    async def refusal(self, connection: HTTPConnection) -> Response | None:
        path = connection.url.path
        client_route = _CLIENT_ROUTE.match(path)
        if not (client_route or path.startswith(_SOCKET_PREFIX)) and (
            path.startswith(_OPEN_PREFIXES) or path == "/favicon.ico"
        ):
            return None
        try:
            caller = await anyio.to_thread.run_sync(identify, self.context, connection)
            if client_route:
                await anyio.to_thread.run_sync(self.check_page_owner, client_route["client"], caller)
        except HeliosError as exc:
            return self.refusal_response(connection, exc)
        return None

    def check_page_owner(self, client_id: str, caller: Principal) -> None:
        """An upload lands in a page: only that page's own user, still signed in, may send it."""
        from nicegui import Client

        client = Client.instances.get(client_id)
        if client is None:
            return  # NiceGUI answers 404 for a page that is gone
        if not same_user(page_principal(client.request), caller):
            raise Forbidden("this upload belongs to another user's page")

    def refusal_response(self, connection: HTTPConnection, exc: HeliosError) -> Response:
        wants_html = "text/html" in connection.headers.get("accept", "")
        if exc.status == 401 and connection.scope.get("method") == "GET" and wants_html:
            # A person in a browser: show the sign-in form right here (still a 401).
            return render_login(connection.url.path, "", status_code=401)
        return Response(exc.detail, status_code=exc.status, media_type="text/plain")


def same_user(a: Principal, b: Principal) -> bool:
    return (a.token_id, a.role) == (b.token_id, b.role)


def page_principal(request: Request) -> Principal:
    from helios.ui.runtime import context

    return identify(context(), request)


def redirect_home() -> RedirectResponse:
    return RedirectResponse("/datasets")


def guard_socket() -> None:
    """Wrap NiceGUI's socket handlers: a socket joins only its own user's page, and every event
    first re-checks that the page's session is still alive. NiceGUI's socket is process-wide,
    so this wraps it once and reads the running Helios from ``runtime``."""
    from nicegui import Client, core

    from helios.ui.runtime import context

    sio = core.sio
    handlers = sio.handlers["/"]
    if getattr(handlers["event"], "helios_guarded", False):
        return
    on_connect, on_handshake, on_event = handlers["connect"], handlers["handshake"], handlers["event"]

    def socket_may_join(sid: str, client_id: str | None, environ: dict[str, Any] | None = None) -> bool:
        client = Client.instances.get(client_id or "")
        if client is None:
            return False
        environ = environ or sio.get_environ(sid) or {}
        scope = environ.get("asgi.scope")
        if scope is None:
            return False
        try:
            return same_user(page_principal(client.request), identify(context(), HTTPConnection(scope)))
        except HeliosError:
            return False

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> Any:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if query.get("implicit_handshake") == "true":
            allowed = await anyio.to_thread.run_sync(socket_may_join, sid, query.get("client_id"), environ)
            if not allowed:
                import socketio

                raise socketio.exceptions.ConnectionRefusedError("not this user's page")
        return await on_connect(sid, environ, auth)

    async def handshake(sid: str, data: dict[str, Any]) -> bool:
        if not await anyio.to_thread.run_sync(socket_may_join, sid, data.get("client_id")):
            return False
        return await on_handshake(sid, data)

    # python-socketio handles each event in a task of its own, and the check below waits on a
    # thread: without a per-page queue a click could overtake the value typed just before it (a
    # deploy note went missing this way under load). An asyncio.Lock wakes its waiters in the
    # order they came, and each event takes it before its first await.
    in_order: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()

    async def event(sid: str, msg: dict[str, Any]) -> None:
        client = Client.instances.get(msg.get("client_id", ""))
        if client is None or client.id not in sio.rooms(sid):
            return  # a socket only ever speaks for the page it joined
        async with in_order.setdefault(client, asyncio.Lock()):
            try:
                await anyio.to_thread.run_sync(page_principal, client.request)
            except Unauthorized as exc:
                send_to_sign_in(client, exc.detail)
                return
            on_event(sid, msg)

    event.helios_guarded = True  # type: ignore[attr-defined]
    sio.on("connect", connect)
    sio.on("handshake", handshake)
    sio.on("event", event)


def send_to_sign_in(client: Any, reason: str) -> None:
    from nicegui import ui

    log.info("UI action refused: %s", reason)
    with client:
        ui.notify(reason, type="negative")
        ui.navigate.to(f"/login?next={client.request.url.path}")


class RedactClientIds(logging.Filter):
    """NiceGUI puts page (client) ids in URLs; whoever holds one could speak for that page,
    so the access log shows a placeholder instead."""

    PATTERN = re.compile(r"(client_id=|/_nicegui/client/)[^&/\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def redact_access_log() -> None:
    # uvicorn logs requests on "uvicorn.access" and websocket handshakes on "uvicorn.error".
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactClientIds) for f in logger.filters):
            logger.addFilter(RedactClientIds())
