"""Every 4xx/5xx leaves as ``application/problem+json`` with a ``detail`` a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from helios.core.errors import HeliosError, problem_body

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return problem_response(problem_body(status, title, detail, **extra), headers)


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """The response for a body from ``core.errors.problem_body`` (or ``HeliosError.problem()``)."""
    status = body["status"]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else headers
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HeliosError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OverflowError, _data_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeliosError)
    allow = getattr(exc, "allow", None)  # MethodNotAllowed names what the path does answer
    return problem_response(exc.problem(), {"Allow": ", ".join(sorted(allow))} if allow else None)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path")),
            "message": err["msg"],
        }
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors[:5])
    return problem(422, "Invalid input", detail, errors=errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}
    return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error: %s", exc)
    return problem(409, "Conflict", "the change clashes with a concurrent one; reload and try again")


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # The backstop behind the schemas' bounds: a value the database cannot hold is the caller's error.
    log.info("value out of range: %s", exc)
    return problem(422, "Invalid input", "a value is out of range for what Helios can store")


async def _operational_error(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return problem(503, "Service unavailable", "the database is busy or unreachable; try again shortly")


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "something went wrong on the server; the error was logged")
