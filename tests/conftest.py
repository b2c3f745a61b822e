"""Shared fixtures. Database-touching tests run on SQLite and on PostgreSQL (when reachable at
HELIOS_TEST_DATABASE_URL or 127.0.0.1:5432); each test gets a fresh temp database or schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def shared_data() -> Path:
    return Path(os.environ.get("HELIOS_SHARED_DATA", REPO.parent / "shared" / "data"))


@cache
def postgres_url() -> str | None:
    url = os.environ.get("HELIOS_TEST_DATABASE_URL", DEFAULT_PG)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception:
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'helios.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL not reachable (set HELIOS_TEST_DATABASE_URL or start it on 127.0.0.1:5432)")
    yield from _postgres_schema(base)


def _postgres_schema(base: str) -> Iterator[str]:
    """A throwaway schema per test: isolated, parallel-safe, and dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # "testserver" is the Host that Starlette's TestClient sends; a real server answers only its own names.
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        max_upload_bytes=5 * 1024 * 1024,
        allowed_hosts=["testserver"],
    )


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    ctx = AppContext.build(settings)
    migrate.upgrade(ctx.db.write_engine)
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from helios.app import create_app

    application = create_app(settings, ui=False)
    yield application
    application.state.helios.db.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client
