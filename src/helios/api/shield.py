"""One gate in front of everything Helios serves: the API, the web UI, its socket and its uploads.

A browser on the same machine is not the user. Open loopback mode trusts whoever reaches the port,
so a page on another origin (or a DNS-rebound name) must not be able to act through it; and a body
must not be received before we know its sender may send it. Doing this once, as ASGI middleware on
the whole app, covers every route, including the ones other domains add later:

- ``Host`` must be the bound host, ``localhost``, an IP literal or an allow-listed name (DNS
  rebinding always arrives under the attacker's name);
- a write (any method but GET/HEAD/OPTIONS) and every websocket must come from Helios's own
  origin or an allow-listed one (``Origin``, else ``Referer``; clients that send neither — the
  CLI, scripts — are not browsers and stay welcome);
- an API write is authenticated and its role checked from the headers, before the body is read;
- ``Content-Length`` over the limit is refused at once, and a chunked body is counted as it streams;
- every response carries the security headers an offline app can afford.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.requests import HTTPConnection
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helios.context import AppContext
from helios.core.auth import Role
from helios.core.errors import Forbidden, HeliosError, PayloadTooLarge
from helios.core.parsing import INT64_MAX, INT64_MIN, load_json, out_of_range

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Multipart framing and form fields ride along with the file: allow that much beyond the upload limit.
FORM_SLACK_BYTES = 256 * 1024

# NiceGUI needs inline script/style and eval (its Vue templates compile in the page); everything
# else may only come from Helios itself, and no other site may frame it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]


@dataclass(frozen=True)
class ApiRoute:
    """An API route as the shield sees it: where it answers and which role it needs."""

    path: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    role: Role | None


class Shield:
    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context
        settings = context.settings
        self.hosts = {settings.host.lower(), "localhost", *settings.allowed_hosts}
        self.origins = set(settings.allowed_origins)
        self.body_limit = settings.max_upload_bytes + FORM_SLACK_BYTES
        self._routes: list[ApiRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            self.check_host(connection)
            self.check_origin(connection, scope)
            if scope["type"] == "http":
                self.check_length(connection)
                await self.check_api_caller(connection, scope)
                self.check_numbers(connection, scope)
        except HeliosError as refusal:
            await refuse(scope, receive, send, refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self.serve_http(scope, receive, send)

    # -- the checks -----------------------------------------------------------------------------

    def check_host(self, connection: HTTPConnection) -> None:
        host = host_name(connection.headers.get("host", ""))
        if host in self.hosts or is_ip_literal(host):
            return
        raise Forbidden(
            f"Helios does not serve the host name {host[:100]!r}; "
            "add it to HELIOS_ALLOWED_HOSTS if it is really this server"
        )

    def check_origin(self, connection: HTTPConnection, scope: Scope) -> None:
        if scope["type"] == "http" and scope["method"] in READ_METHODS:
            return
        origin = connection.headers.get("origin") or referer_origin(connection.headers.get("referer"))
        if origin is None:
            return  # not a browser: CLI, client, scripts
        own = f"{connection.url.scheme.replace('ws', 'http', 1)}://{connection.headers.get('host', '')}"
        if origin.lower() == own.lower() or origin.lower().rstrip("/") in self.origins:
            return
        raise Forbidden(
            f"refused a request from the page at {origin[:100]!r}: only Helios's own pages "
            "(or HELIOS_ALLOWED_ORIGINS) may change things"
        )

    def check_length(self, connection: HTTPConnection) -> None:
        declared = connection.headers.get("content-length")
        if declared is not None and declared.isdecimal() and int(declared) > self.body_limit:
            raise too_large(self.context.settings.max_upload_bytes)

    async def check_api_caller(self, connection: HTTPConnection, scope: Scope) -> None:
        """Auth and role for an API write, from the headers alone (FastAPI would read the body first)."""
        if scope["method"] in READ_METHODS or not scope["path"].startswith("/api/"):
            return
        role = self.required_role(scope["app"].routes, scope["method"], scope["path"])
        if role is None:
            return
        from helios.api.security import identify

        principal = await anyio.to_thread.run_sync(identify, self.context, connection)
        principal.require(role)

    def required_role(self, app_routes: Iterable[Any], method: str, path: str) -> Role | None:
        for route in self.routes(app_routes):
            if method in route.methods and route.pattern.match(path):
                return route.role
        return None

    def routes(self, app_routes: Iterable[Any]) -> list[ApiRoute]:
        if self._routes is None:  # built on first use: every domain has added its routes by then
            self._routes = list(api_routes(app_routes))
        return self._routes

    def check_numbers(self, connection: HTTPConnection, scope: Scope) -> None:
        """An integer beyond 64 bits in a path or query parameter could only overflow in the
        database: refuse it here for every route, naming the parameter."""
        if not scope["path"].startswith("/api/"):
            return
        for name, value in connection.query_params.multi_items():
            refuse_huge_integer(value, name)
        for route in self.routes(scope["app"].routes):
            match = route.pattern.match(scope["path"])
            if match:
                for name, value in match.groupdict().items():
                    refuse_huge_integer(value, name)
                return

    # -- serving, with a counted body and the headers ---------------------------------------------

    async def serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in READ_METHODS and is_json(scope):
            try:
                receive = await self.checked_json_body(receive)
            except HeliosError as refusal:
                await refuse(scope, receive, send, refusal)
                return
        counted = 0
        over = False
        started = False
        limit = self.body_limit

        async def counted_receive() -> Message:
            nonlocal counted, over
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > limit:
                    over = True
                    raise too_large(self.context.settings.max_upload_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if over:  # whatever the app made of the cut-off body, the answer is 413
                    return
                started = True
                message = {**message, "headers": with_security_headers(message.get("headers", []))}
            elif over and not started:
                return
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except PayloadTooLarge as exc:
            if started:
                raise
            await refuse(scope, receive, send, exc)
            return
        if over and not started:
            await refuse(scope, receive, send, too_large(self.context.settings.max_upload_bytes))

    async def checked_json_body(self, receive: Receive) -> Receive:
        """A JSON body is small and read whole anyway: check its depth and numbers once, for
        every route, then hand the same bytes on."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.body_limit:
                raise too_large(self.context.settings.max_upload_bytes)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            await anyio.to_thread.run_sync(load_json, body, "the request body")
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def refuse_huge_integer(value: str, name: str) -> None:
    text = value.strip()
    if len(text) > 18 and text.lstrip("+-").isdecimal() and not INT64_MIN <= int(text) <= INT64_MAX:
        raise out_of_range(name, "the request")


def install(app: Any, context: AppContext) -> None:
    """Put the shield outermost, so it sees every request before the API, the UI or NiceGUI."""
    app.add_middleware(Shield, context=context)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is over the {limit:,}-byte limit (HELIOS_MAX_UPLOAD_BYTES)")


def host_name(header: str) -> str:
    host = header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_ip_literal(host: str) -> bool:
    # A rebinding attack always arrives under the attacker's DNS name, never under an address.
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def referer_origin(referer: str | None) -> str | None:
    if not referer:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"


def with_security_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    return [*headers, *((n, v) for n, v in SECURITY_HEADERS if n not in present)]


def api_routes(routes: Iterable[Any], prefix: str = "") -> Iterable[ApiRoute]:
    """Every API route with its full path, through FastAPI's included routers."""
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            path = prefix + route.path
            if path.startswith("/api/"):
                yield ApiRoute(path, compile_path(path)[0], frozenset(route.methods or ()), route_role(route))
        elif hasattr(route, "original_router"):  # fastapi.routing._IncludedRouter
            yield from api_routes(route.original_router.routes, prefix + route.include_context.prefix)


def route_role(route: Any) -> Role | None:
    for dependency in route.dependant.dependencies:
        role = getattr(dependency.call, "required_role", None)
        if role is not None:
            return role
    return None


async def refuse(scope: Scope, receive: Receive, send: Send, refusal: HeliosError) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": refusal.detail[:120]})
        return
    from helios.api.problems import problem

    extra = {"errors": refusal.errors} if refusal.errors else {}
    response = problem(refusal.status, refusal.title, refusal.detail, **extra)
    response.headers.update({k.decode(): v.decode() for k, v in SECURITY_HEADERS})
    response.headers["connection"] = "close"  # the unread body is not worth draining
    await response(scope, receive, send)
