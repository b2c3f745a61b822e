"""Expensive calls (forecasts, model loads) are open to viewers, so one token must not be able to
occupy the server with them: each token gets a few at a time, the next is told to retry (429).
Per process, in memory: a limit on concurrency, not an account of use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from helios.api.deps import ContextDep
from helios.api.security import identify
from helios.core.errors import TooManyRequests

CALLS_PER_TOKEN = 2
_running: dict[tuple[int, str], int] = {}
_lock = threading.Lock()


def expensive_call_slot(request: Request, context: ContextDep) -> Iterator[None]:
    principal = identify(context, request)
    key = (id(context), f"{principal.token_id}:{principal.name}")
    with _lock:
        if _running.get(key, 0) >= CALLS_PER_TOKEN:
            raise TooManyRequests(
                f"{principal.name!r} already has {CALLS_PER_TOKEN} forecasts running; retry when one ends"
            )
        _running[key] = _running.get(key, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _running[key] -= 1


ExpensiveCall = Annotated[None, Depends(expensive_call_slot)]
# For the route's ``responses``: the contract fills in the problem+json body.
BUSY: dict[int | str, dict[str, str]] = {429: {"description": "This token already has its share running"}}
