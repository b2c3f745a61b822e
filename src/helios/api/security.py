"""Who is asking: shared by the API dependencies, the UI middleware and the login page."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from helios.context import AppContext
from helios.core import auth
from helios.core.auth import Principal

TOKEN_COOKIE = "helios_token"


def auth_is_open(context: AppContext) -> bool:
    """Open to the local user only on loopback, in auto mode, while no token exists."""
    settings = context.settings
    if settings.auth != "auto" or not settings.bound_to_loopback:
        return False
    with context.db.reading() as session:
        return not auth.any_active_token(session)


def presented_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.cookies.get(TOKEN_COOKIE) or None


def identify(context: AppContext, connection: HTTPConnection) -> Principal:
    """The caller's principal, or ``Unauthorized``."""
    if auth_is_open(context):
        return auth.LOCAL_USER
    with context.db.reading() as session:
        return auth.authenticate(session, presented_token(connection))
