"""The running Helios, as the UI pages see it."""

from __future__ import annotations

from helios.context import AppContext

_context: AppContext | None = None


def set_context(context: AppContext) -> None:
    global _context
    _context = context


def context() -> AppContext:
    if _context is None:
        raise RuntimeError("the web UI is not mounted on a Helios app")
    return _context
