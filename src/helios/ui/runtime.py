"""The running Helios, as the UI pages see it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from helios.context import AppContext
from helios.core.auth import Principal, Role

_context: AppContext | None = None


def set_context(context: AppContext) -> None:
    global _context
    _context = context


def context() -> AppContext:
    if _context is None:
        raise RuntimeError("the web UI is not mounted on a Helios app")
    return _context


def write(change: Callable[[Any], Any], principal: Principal) -> None:
    """Runs ``change(session)`` in one transaction, for an editor only. Blocking (it may wait for
    a lock): pages call it through ``run.io_bound``, never on the event loop."""
    principal.require(Role.editor)
    with context().db.transaction() as session:
        change(session)
