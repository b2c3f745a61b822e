"""The OpenAPI schema tells clients the truth about failures: every API operation declares the
problem+json answers Helios can give it (401, 403, 404, 409, 413, 422), in one place rather than
on each route, so routes added later by any domain are documented the same way."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM_MEDIA = "application/problem+json"
PROBLEM_ANSWERS = {
    "401": "No valid token (or signed-in session)",
    "403": "The token's role is too low, or the request came from another origin",
    "404": "The thing named does not exist",
    "405": "The path does not answer this method",
    "409": "The request clashes with stored state",
    "413": "The body is over HELIOS_MAX_UPLOAD_BYTES",
    "422": "The input is invalid; errors name the fields",
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
OPEN_PATHS = {"/api/v1/health"}  # answers without a token: no 401/403 to declare


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_problems(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "429" in responses:  # declared by routes that throttle (helios.api.throttle)
                responses["429"]["content"] = {PROBLEM_MEDIA: {"schema": reference}}
            for code, description in PROBLEM_ANSWERS.items():
                if path in OPEN_PATHS and code in ("401", "403"):
                    continue
                # The problem+json answer replaces FastAPI's own 422 shape: the handler renders every
                # validation error as a problem.
                responses[code] = {
                    "description": responses.get(code, {}).get("description") or description,
                    "content": {PROBLEM_MEDIA: {"schema": reference}},
                }
    return schema
