"""Who is asking: shared by the API dependencies, the shield, the UI guard and the login page.

A request proves itself with ``Authorization: Bearer <token>`` (API, CLI, client) or with the
session cookie that ``/login`` sets (the browser). The cookie holds a server-side session id,
never the token; it is ``SameSite=Strict`` and the shield refuses writes from other origins, so
no other site can borrow it.
"""

from __future__ import annotations

import logging
import threading
import time

from starlette.requests import HTTPConnection

from helios.context import AppContext
from helios.core import auth
from helios.core.auth import Principal

log = logging.getLogger(__name__)
SESSION_COOKIE = "helios_session"
# last_used_at says roughly when a token was last seen; once a minute is plenty and keeps
# reads from turning into writes.
TOUCH_EVERY_S = 60.0
_touched: dict[tuple[str, int], float] = {}
_touch_lock = threading.Lock()


def auth_is_open(context: AppContext) -> bool:
    """Open to the local user only on loopback, in auto mode, while no token exists."""
    settings = context.settings
    if settings.auth != "auto" or not settings.bound_to_loopback:
        return False
    with context.db.reading() as session:
        return not auth.any_active_token(session)


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def identify(context: AppContext, connection: HTTPConnection) -> Principal:
    """The caller's principal, or ``Unauthorized``."""
    if auth_is_open(context):
        return auth.LOCAL_USER
    token = bearer_token(connection)
    with context.db.reading() as session:
        if token is not None:
            principal = auth.authenticate(session, token)
        else:
            principal = auth.authenticate_web_session(session, connection.cookies.get(SESSION_COOKIE))
    note_use(context, principal)
    return principal


def note_use(context: AppContext, principal: Principal) -> None:
    if principal.token_id is None:
        return
    now = time.monotonic()
    key = (context.settings.resolved_database_url, principal.token_id)
    with _touch_lock:
        if now - _touched.get(key, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
            return
        _touched[key] = now
    # Off the request's path: the caller may already hold the write lock (SQLite has one).
    threading.Thread(target=_touch, args=(context, principal.token_id), daemon=True).start()


def _touch(context: AppContext, token_id: int) -> None:
    try:
        with context.db.transaction() as session:
            auth.touch_token(session, token_id)
    except Exception:  # a missed touch only makes last_used_at a minute staler
        log.debug("could not record the use of token %s", token_id, exc_info=True)
