"""Engines and sessions.

SQLite runs in WAL mode with a busy timeout. Writes begin ``IMMEDIATE`` so a transaction that
reads and then writes takes the write lock up front (a deferred one that upgrades late fails with
SQLITE_BUSY without waiting); reads begin deferred so they never queue behind a writer. That is
why there are two engines over the same file: ``Database.write`` and ``Database.read``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Take BEGIN away from pysqlite so the "begin" hook below decides how to start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    url: str
    write_engine: Engine
    read_engine: Engine

    @classmethod
    def connect(cls, url: str) -> Database:
        url = normalise_url(url)
        if is_sqlite(url):
            return cls(url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        return cls(url, engine, engine)

    def __post_init__(self) -> None:
        self._writers = sessionmaker(self.write_engine, expire_on_commit=False)
        self._readers = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit at the boundary: everything inside commits together or not at all."""
        with _session_scope(self._writers) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with _session_scope(self._readers) as session:
            yield session

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


@contextmanager
def _session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
