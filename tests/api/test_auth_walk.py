"""Every API route and every UI page is behind the auth rules: 401 without a token, 403 for a
role too low. Allowlisted: health, docs, login."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from helios.core import auth
from helios.core.auth import Role

ALLOWLIST = {"/api/v1/health"}


def _required_role(route: APIRoute) -> Role | None:
    for dependency in route.dependant.dependencies:
        role = getattr(dependency.call, "required_role", None)
        if role is not None:
            return role
    return None


def _flatten(routes, prefix: str = ""):  # type: ignore[no-untyped-def]
    """(full path, APIRoute) for every route, through FastAPI's nested included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # fastapi.routing._IncludedRouter
            yield from _flatten(route.original_router.routes, prefix + route.include_context.prefix)


def _api_routes(app) -> list[tuple[str, str, Role | None]]:  # type: ignore[no-untyped-def]
    routes = []
    for path, route in _flatten(app.routes):
        if path.startswith("/api/v1") and route.include_in_schema:
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, path, _required_role(route)))
    assert {p for _, p, _ in routes} >= {"/api/v1/datasets", "/api/v1/health"}, routes
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.fixture
def tokens(client) -> dict[Role, str]:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.transaction() as session:
        return {role: auth.create_token(session, f"t-{role.name}", role).secret for role in Role}


def test_every_api_route_declares_a_role(client) -> None:  # type: ignore[no-untyped-def]
    unguarded = [(m, p) for m, p, role in _api_routes(client.app) if role is None and p not in ALLOWLIST]
    assert not unguarded, f"routes without an auth dependency: {unguarded}"


def test_every_api_route_needs_a_token_and_enough_role(client, tokens) -> None:  # type: ignore[no-untyped-def]
    walked = 0
    for method, path, role in _api_routes(client.app):
        if path in ALLOWLIST:
            continue
        url = _concrete(path)
        anonymous = client.request(method, url)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        for lower in (r for r in Role if r < role):
            denied = client.request(method, url, headers={"Authorization": f"Bearer {tokens[lower]}"})
            assert denied.status_code == 403, (method, path, lower, denied.text)
        allowed = client.request(method, url, headers={"Authorization": f"Bearer {tokens[role]}"})
        assert allowed.status_code not in (401, 403), (method, path, role, allowed.text)
        walked += 1
    assert walked >= 8


def test_allowlisted_routes_stay_open(client, tokens) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/login").status_code == 200


def test_open_on_loopback_until_the_first_token(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/datasets").status_code == 200
    with client.app.state.helios.db.transaction() as session:
        auth.create_token(session, "first", Role.viewer)
    assert client.get("/api/v1/datasets").status_code == 401


def test_required_mode_needs_a_token_even_without_any(settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from helios.app import create_app

    app = create_app(settings.model_copy(update={"auth": "required"}), ui=False)
    with TestClient(app) as client:
        assert client.get("/api/v1/datasets").status_code == 401


def test_refuses_to_serve_beyond_loopback_without_auth(tmp_path: Path) -> None:
    from tests.live import helios

    result = helios(tmp_path / "home", "serve", "--host", "0.0.0.0", "--port", "1")
    assert result.returncode == 2
    assert "admin token" in result.stderr.lower() or "admin token" in result.stdout.lower()
