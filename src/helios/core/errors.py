"""Domain errors, rendered by one handler as ``application/problem+json``.

    HeliosError                 base: carries an HTTP status, a title and a detail
     +-- InvalidInput (422)     the request or file is wrong; ``errors`` names rows/columns/fields
     +-- PayloadTooLarge (413)  an upload over the configured limit
     +-- NotFound (404)         the thing named does not exist (or is deleted)
     +-- Conflict (409)         the request clashes with stored state (name taken, still referenced)
     +-- Unauthorized (401)     no valid token
     +-- Forbidden (403)        a valid token whose role is too low

Services raise these; API, CLI and UI each render them their own way, so a service never
knows who called it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem details body: the one place its shape is written."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'cli-ets'?)`` when a known name is close to a mistyped one, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class HeliosError(Exception):
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def problem(self) -> dict[str, Any]:
        extra = {"errors": self.errors} if self.errors else {}
        return problem_body(self.status, self.title, self.detail, **extra)


class InvalidInput(HeliosError):
    status = 422
    title = "Invalid input"


class PayloadTooLarge(HeliosError):
    status = 413
    title = "Payload too large"


class NotFound(HeliosError):
    status = 404
    title = "Not found"


class Conflict(HeliosError):
    status = 409
    title = "Conflict"


class Unauthorized(HeliosError):
    status = 401
    title = "Unauthorized"


class Forbidden(HeliosError):
    status = 403
    title = "Forbidden"


class MethodNotAllowed(HeliosError):
    status = 405
    title = "Method not allowed"

    def __init__(self, detail: str, *, allow: set[str]) -> None:
        super().__init__(detail)
        self.allow = allow


class TooManyRequests(HeliosError):
    status = 429
    title = "Too many requests"
