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

from typing import Any


class HeliosError(Exception):
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


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
