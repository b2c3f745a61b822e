"""Shared fixtures. Database-touching tests run on SQLite and on PostgreSQL (when reachable at
HELIOS_TEST_DATABASE_URL or 127.0.0.1:5432); each test gets a fresh temp database or schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate
from helios.db.engine import Database

# Which tests share an xdist worker (and so their module fixtures): see tests/scheduling.py.
pytest_plugins = ["tests.scheduling"]

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
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, for the tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'helios.db'}"
        return
    yield from _postgres_schema(_postgres_or_skip())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: _Templates
) -> Iterator[str]:
    """A fresh database already at the newest migration, copied from a template this worker migrated
    once: running every migration per test cost ~0.6 s on SQLite and ~1.7 s on PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "helios.db"
        shutil.copyfile(migrated_templates.sqlite(), target)
        yield f"sqlite:///{target}"
        return
    yield from migrated_templates.postgres_copy(_postgres_or_skip())


def _postgres_schema(base: str, script: str | None = None) -> Iterator[str]:
    """A throwaway schema per test (built by ``script`` when given): isolated, parallel-safe, and
    dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        if script is not None:
            # The DBAPI cursor directly: a parameterless execute runs the multi-statement script as is.
            connection.connection.cursor().execute(script.replace(SCHEMA_PLACEHOLDER, schema))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _postgres_or_skip() -> str:
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL not reachable (set HELIOS_TEST_DATABASE_URL or start it on 127.0.0.1:5432)")
    return base


class _Templates:
    """Per-worker migrated databases that tests copy: a SQLite file, and on PostgreSQL a migrated
    schema replayed from its ``pg_dump`` (a new schema per test; a template *database* would cost a
    checkpoint on every drop)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sqlite: Path | None = None
        self._postgres_sql: str | None = None

    def sqlite(self) -> Path:
        if self._sqlite is None:
            path = self.directory / "template.db"
            _migrate(f"sqlite:///{path}")
            # Closed cleanly, WAL is checkpointed into the main file: one file is the whole database.
            wal = Path(f"{path}-wal")
            assert not wal.exists() or wal.stat().st_size == 0
            self._sqlite = path
        return self._sqlite

    def postgres_copy(self, base: str) -> Iterator[str]:
        script = self._postgres_script(base)
        for url in _postgres_schema(base, script):
            if script is None:  # no pg_dump on this machine: migrate this schema the slow way
                _migrate(url)
            yield url

    def _postgres_script(self, base: str) -> str | None:
        if self._postgres_sql is None:
            self._postgres_sql = _dump_migrated_schema(base) or ""
        return self._postgres_sql or None


SCHEMA_PLACEHOLDER = "helios_template_schema_placeholder"


def _dump_migrated_schema(base: str) -> str | None:
    """Migrate a throwaway schema once and keep its dump (tables, indexes, triggers and the
    alembic_version row) with the schema name made a placeholder."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    for url in _postgres_schema(base):
        _migrate(url)
        schema = make_url(url).query["options"].split("search_path=")[1]
        target = make_url(base)
        result = subprocess.run(
            [
                pg_dump,
                "--no-owner",
                "--no-privileges",
                "--inserts",
                "--schema",
                schema,
                "--host",
                target.host or "127.0.0.1",
                "--port",
                str(target.port or 5432),
                "--username",
                target.username or "postgres",
                target.database or "postgres",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGPASSWORD": target.password or ""},
        )
        if result.returncode != 0:
            return None
        # psql meta-commands (\restrict) and the dump's empty search_path are not SQL for a cursor.
        lines = [
            line
            for line in result.stdout.splitlines()
            if not line.startswith("\\")
            and "set_config('search_path'" not in line
            and not line.startswith(("CREATE SCHEMA", "COMMENT ON SCHEMA"))
        ]
        return "\n".join(lines).replace(schema, SCHEMA_PLACEHOLDER)
    return None


def _migrate(url: str) -> None:
    database = Database.connect(url)
    try:
        migrate.upgrade(database.write_engine)
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> _Templates:
    return _Templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session", autouse=True)
def one_embedding_model_per_worker() -> Iterator[None]:
    """Every AppContext a test builds gets the one all-MiniLM-L6-v2 this worker loaded, not its own.
    A context's memory subscriber embeds what training, deployments and predictions publish, so most
    API tests loaded the model (2-6 s each on the 2-core box) in their teardown, when the event bus
    drains; the model is the same and holds no state between calls, so one load serves them all.
    Tests that want the small deterministic embedder still inject it (tests/memory/fakes.py)."""
    from helios.memory.embeddings import MiniLmEmbedder
    from helios.memory.runtime import MemoryRuntime

    shared = MiniLmEmbedder()

    def default(
        cls: type[MemoryRuntime], half_life_days: float = 30.0, purge_after_days: float = 30.0
    ) -> MemoryRuntime:
        return cls(shared, half_life_days, purge_after_days)

    patch = pytest.MonkeyPatch()
    patch.setattr(MemoryRuntime, "default", classmethod(default))
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def one_tls_context_per_worker() -> Iterator[None]:
    """Every httpx client the tests make gets the one default TLS context this worker built. httpx
    builds one per client, loading certifi's bundle: ~27 ms of CPU for each ``httpx.get`` and
    ``httpx.post``, where the call itself to a live server costs ~1 ms; the tests' polls (a server
    coming up, a job finishing) make tens of them a module. The context is the same each time and
    tests only speak plain HTTP to 127.0.0.1; other ``verify``/``cert`` choices still get their own."""
    from httpx._transports import default as transports

    original = getattr(transports, "create_ssl_context", None)
    if original is None:  # a newer httpx: nothing to share, nothing to break
        yield
        return
    built: dict[tuple[bool, str | None, str | None], Any] = {}

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in built:
            built[key] = original(verify=True, cert=None, trust_env=trust_env)
        return built[key]

    patch = pytest.MonkeyPatch()
    patch.setattr(transports, "create_ssl_context", shared)
    yield
    patch.undo()


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


# Where the SQL Helios writes differs by dialect (migrations, events, the ledger's scoring, memory's
# full text, registry deploys, job claims, datasets, agents, the inputs that overflow a column), tests
# run on SQLite and PostgreSQL. The rest of the API, CLI and assistants tests go through those same
# services with nothing dialect-specific of their own, so they run on SQLite only: their PostgreSQL
# half cost minutes of CI for no extra coverage. HELIOS_TEST_POSTGRES=all runs every test on both.
SQLITE_ONLY_MODULES = {
    "tests/api/test_datasets.py",
    "tests/api/test_assistants.py",
    "tests/api/test_shield.py",
    "tests/api/test_assistant_chat.py",
    "tests/api/test_assistant_quality.py",
    "tests/api/test_assistant_memory.py",
    "tests/api/test_assistant_rebinding.py",
    "tests/api/test_assistants_client_cli.py",
    "tests/api/test_sessions.py",
    "tests/api/test_auth_walk.py",
    "tests/api/test_agents.py",
    "tests/api/test_training.py",
    "tests/api/test_client.py",
    "tests/api/test_client_datasets.py",
    "tests/api/test_not_found_suggestions.py",
    "tests/api/test_expensive_calls.py",
    "tests/api/test_model_choices.py",
    "tests/assistants/test_runner.py",
    "tests/cli/test_cli.py",
    "tests/cli/test_cli_datasets.py",
    "tests/cli/test_predictions_cli.py",
    "tests/memory/test_cli.py",
    "tests/test_demo.py",
}


def pytest_configure(config: pytest.Config) -> None:
    """Helios' modules compiled once per run, before any worker starts. Where PYTHONDONTWRITEBYTECODE
    is set (as on the team's boxes) no process caches them, so every Python process the tests start
    (live servers and their training workers, each job's child process, CLI runs: ~100 a run)
    compiled again what it imported, ~0.3 s of CPU each. Python reads a cache it finds even then;
    writing it takes ~0.5 s of CPU the first time and a look at mtimes after."""
    if not hasattr(config, "workerinput"):
        import compileall

        compileall.compile_dir(REPO / "src" / "helios", quiet=2)


@pytest.hookimpl(trylast=True)  # after the module's fixtures (its live server) are torn down
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The Chromium the browser tests share (tests/live.py) closes before the first test that is not
    one: it stays open from one browser module to the next on this worker (they are sent longest
    first, so mostly one after another), but no other test runs while Playwright's loop is open."""
    if nextitem is None or nextitem.get_closest_marker("browser") is None:
        from tests.live import close_shared_browser

        close_shared_browser()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HELIOS_TEST_POSTGRES") == "all":
        return
    keep, drop = [], []
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        postgres = "postgresql" in getattr(getattr(item, "callspec", None), "params", {}).values()
        (drop if postgres and module in SQLITE_ONLY_MODULES else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
