"""Typed domain events through a durable outbox, delivered to named subscribers with cursors.

The contract (other domains code against this)
----------------------------------------------
**An event type** is a frozen pydantic model registered under a stable type name; adding one is
a few lines, here or in the publishing domain::

    @event_type("prediction.scored")
    class PredictionScored(Event):
        prediction_id: int
        model: str

The type name is what the outbox stores, so it never changes; fields must survive JSON.

**Publishing**: ``publish(session, event)`` adds a row to the outbox in the caller's
transaction and only flushes (a service, like any other). Subscribers see it once that
transaction commits, and never if it rolls back. Publish where the change is made, in the same
transaction as the change; the boundary (request, job runner, CLI command) commits. On
PostgreSQL a publishing transaction holds a transaction-scoped advisory lock from ``publish``
until it ends, so outbox ids commit in id order (SQLite's single writer gives that anyway):
publish late in a transaction and keep what follows short.

**Subscribing**: ``context.events.subscribe(name, EventTypes, handler)`` with
``handler(event, session)``. ``name`` is durable: the subscriber's cursor (the last outbox id it
is done with) lives under it in ``event_cursors``. Each event is handled in a transaction of its
own that also advances the cursor, so the handler's writes through ``session`` and the cursor
commit together. Consequences:

- in outbox order, per subscriber; subscribers are independent of each other;
- at-least-once: a handler that raises has its writes rolled back and is retried with backoff
  (``event_cursors.failures``/``last_error`` say why), and the events behind it wait. Effects
  outside the database (files, HTTP) may repeat; key them by ``event.event_id``;
- a subscriber that was down (server stopped, name not subscribed for a while) catches up from
  its cursor and misses nothing. A name seen for the first time starts at the beginning of the
  outbox, or at its end with ``from_start=False``;
- use the given session only: on SQLite a second write transaction would wait for this one;
- the transaction opens at the handler's first statement and holds SQLite's write lock until
  the commit: do slow work that needs no database (embedding, HTTP) before touching ``session``.

**Delivery**: ``EventBus.start()`` runs a dispatcher thread (the app lifespan starts and stops
``context.events``). A commit in this process that published nudges it at once (an
``after_commit`` hook); events published by other processes (training workers, the CLI, a
second server) arrive by polling the outbox every ``poll_s``. ``drain()`` delivers everything
pending synchronously without a thread (CLI, tests). Several processes may run buses with the
same subscribers on one database: a delivery moves the cursor by compare-and-set from the
position it read, in the handler's transaction, so of two processes handling the same event only
one commits; the other's transaction (its handler's writes included) rolls back. No event's
database effects reach one subscriber twice.

**After commit**: ``after_commit(session, action)`` runs a plain callable once the session's
transaction commits (never on rollback) — for files and caches that must change only after the
commit that justifies them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helios.core.clock import as_utc, utcnow
from helios.core.tables import EventCursor, OutboxEvent
from helios.db.engine import Database

log = logging.getLogger(__name__)

# Any constant works: it only has to be the same in every process publishing to one database.
_OUTBOX_LOCK_KEY = 0x48454C494F53  # "HELIOS"
_PUBLISHED = "helios.events.published"
_AFTER_COMMIT = "helios.after_commit"
MAX_BACKOFF_S = 60.0


class Event(BaseModel):
    """Base of every event. ``event_id`` and ``published_at`` are filled on delivery."""

    model_config = ConfigDict(frozen=True)
    type_name: ClassVar[str] = ""

    event_id: int | None = Field(default=None, exclude=True)
    published_at: dt.datetime | None = Field(default=None, exclude=True)


_TYPES: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def event_type(name: str) -> Callable[[E], E]:
    """Register an event class under ``name``, the stable name stored in the outbox."""

    def register(cls: E) -> E:
        if name in _TYPES and _TYPES[name] is not cls:
            raise ValueError(f"event type {name!r} is already {_TYPES[name].__qualname__}")
        cls.type_name = name
        _TYPES[name] = cls
        return cls

    return register


def event_class(name: str) -> type[Event] | None:
    return _TYPES.get(name)


# --- the events Helios publishes -----------------------------------------------------------------


@event_type("training.finished")
class TrainingFinished(Event):
    """A training job reached a final status (any of them, failures included)."""

    job_id: int
    # succeeded | stopped_early | failed | cancelled
    status: str
    family: str
    dataset_version_id: int
    model: str
    # The registered version, when the job produced one.
    version: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    reason: str | None = None
    owner: str


@event_type("model.deployed")
class ModelDeployed(Event):
    """A version changed stage. A rollback is a deploy to active with ``action="rollback"``."""

    model: str
    action: Literal["deploy", "rollback"]
    # none | staging | active | archived
    stage: str
    to_version: int
    from_stage: str
    # The version that held ``stage`` before, replaced now (only "active" is held by one version).
    from_version: int | None = None
    deployment_id: int
    actor: str
    note: str = ""


@event_type("dataset.version_created")
class DatasetVersionCreated(Event):
    dataset: str
    kind: str
    version: int
    version_id: int
    rows: int
    series: int
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    actor: str


class ScoredPrediction(BaseModel):
    """How one prediction did against the actuals that just arrived."""

    prediction_id: int
    model: str
    model_version: int
    dataset: str
    unique_id: str
    points: int  # points scored in this batch
    revised: int  # of which against a revised actual
    mean_abs_error: float | None = None
    # Interval levels (e.g. [95]) that at least one of those points fell outside of
    missed_levels: list[int] = Field(default_factory=list)
    last_ds: dt.datetime | None = None


@event_type("prediction.scored")
class PredictionScored(Event):
    """Predictions were scored against new actuals (a dataset version or a POST). One event per
    batch of up to 200 predictions, so scoring a million points does not write 100k events."""

    source: str  # "dataset stocks v3" | "api"
    predictions: list[ScoredPrediction]


# --- publishing -------------------------------------------------------------------------------


def publish(session: Session, event: Event) -> None:
    if not event.type_name or _TYPES.get(event.type_name) is not type(event):
        raise TypeError(f"{type(event).__qualname__} is not a registered event type (use @event_type)")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OUTBOX_LOCK_KEY})
    session.add(OutboxEvent(type=event.type_name, payload=event.model_dump(mode="json"), origin=_origin()))
    session.flush()
    session.info[_PUBLISHED] = True


def _origin() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


# Buses running in this process; a commit that published wakes them.
_running: weakref.WeakSet[EventBus] = weakref.WeakSet()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once this session's transaction has committed, never if it rolls back: for
    changes outside the database (artifact files, in-memory caches) that the commit justifies."""
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_AFTER_COMMIT, []).append((owner, action))


@sa_event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    actions = session.info.pop(_AFTER_COMMIT, [])
    if session.info.pop(_PUBLISHED, False):
        for bus in list(_running):
            bus.nudge()
    for _, action in actions:
        try:
            action()
        except Exception:  # the commit stands; what failed afterwards is logged, not raised
            log.exception("an after-commit action failed")


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: Any) -> None:
    """A rolled-back savepoint takes the actions planned inside it along."""
    planned = session.info.get(_AFTER_COMMIT)
    if planned:
        planned[:] = [(owner, action) for owner, action in planned if not _within(owner, previous)]


def _within(transaction: Any, ancestor: Any) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    # Only the outermost transaction: a rolled-back savepoint leaves the outer one's plans alone.
    if transaction.parent is None:
        session.info.pop(_PUBLISHED, None)
        session.info.pop(_AFTER_COMMIT, None)


# --- subscribing and delivery -------------------------------------------------------------------

Handler = Callable[[Any, Session], None]


@dataclass
class Subscriber:
    name: str
    types: tuple[type[Event], ...]
    handler: Handler
    from_start: bool = True
    retry_at: float = 0.0
    failures: int = 0
    # Where this process last saw the cursor: never ahead of the stored one (cursors only move
    # forward), so "nothing past it" lets a poll skip the write transaction.
    known_position: int | None = None

    @property
    def type_names(self) -> list[str]:
        return [t.type_name for t in self.types]


class EventBus:
    """Delivers outbox events to this process's subscribers; see the module docstring."""

    def __init__(self, db: Database, *, poll_s: float = 1.0, batch: int = 200) -> None:
        self.db = db
        self.poll_s = poll_s
        self.batch = batch
        self.subscribers: dict[str, Subscriber] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._delivering = threading.Lock()

    def subscribe(
        self,
        name: str,
        types: type[Event] | Iterable[type[Event]],
        handler: Handler,
        *,
        from_start: bool = True,
    ) -> Subscriber:
        if not name or len(name) > 128:
            raise ValueError("a subscriber needs a name of 1 to 128 characters")
        if name in self.subscribers:
            raise ValueError(f"a subscriber named {name!r} is already subscribed")
        kinds = (types,) if isinstance(types, type) else tuple(types)
        for kind in kinds:
            if _TYPES.get(kind.type_name) is not kind:
                raise TypeError(f"{kind.__qualname__} is not a registered event type")
        subscriber = Subscriber(name, kinds, handler, from_start)
        self.subscribers[name] = subscriber
        self.nudge()
        return subscriber

    def unsubscribe(self, name: str) -> None:
        """Stop delivering to ``name`` here; its cursor stays, so it resumes where it was."""
        self.subscribers.pop(name, None)

    # -- running --

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="helios-events", daemon=True)
        _running.add(self)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        _running.discard(self)
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None
        self._stopping.clear()

    def nudge(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.drain()
            except Exception:  # the dispatcher outlives a bad moment (database restarting, ...)
                log.exception("event delivery pass failed")
            self._wake.wait(self._next_wait())
            self._wake.clear()

    def _next_wait(self) -> float:
        now = time.monotonic()
        waits = [s.retry_at - now for s in self.subscribers.values() if s.retry_at > now]
        return max(0.01, min([self.poll_s, *waits]))

    def drain(self) -> int:
        """Deliver everything pending to every subscriber that is not backing off; the count."""
        with self._delivering:
            total = 0
            while (delivered := self._pass()) > 0:
                total += delivered
            return total

    def _pass(self) -> int:
        """Up to ``batch`` events to each subscriber in turn, so one backlog cannot starve the rest."""
        head = self._read_head()
        total = 0
        for subscriber in list(self.subscribers.values()):
            caught_up = subscriber.known_position is not None and subscriber.known_position >= head
            if not caught_up and subscriber.retry_at <= time.monotonic():
                total += self._deliver(subscriber)
        return total

    def _read_head(self) -> int:
        with self.db.reading() as session:
            return _head(session)

    def _deliver(self, subscriber: Subscriber) -> int:
        delivered = 0
        while delivered < self.batch and not self._stopping.is_set():
            try:
                if not self._deliver_next(subscriber):
                    return delivered
            except Exception as exc:
                self._failed(subscriber, exc)
                return delivered
            delivered += 1
        return delivered

    def _deliver_next(self, subscriber: Subscriber) -> bool:
        """Hand the subscriber its next event; False when nothing is pending for it (or another
        process delivered it first)."""
        if subscriber.known_position is None:
            with self.db.transaction() as session:
                _ensure_cursor(session, subscriber)
        with self.db.reading() as session:
            position, head, row = _next_event(session, subscriber)
            event = _decode(row) if row is not None else None
        if event is None:
            if head > position:  # past the others' events, so the next look starts there
                with self.db.transaction() as session:
                    _move_cursor(session, subscriber.name, position, head)
            subscriber.known_position = max(position, head)
            return False
        try:
            with self.db.transaction() as session:
                # The handler's first statement opens the transaction: what it does before
                # touching the session (embedding, HTTP) holds no lock.
                subscriber.handler(event, session)
                if not _move_cursor(session, subscriber.name, position, row.id, delivered=True):
                    raise _Superseded
        except _Superseded:  # another process delivered it meanwhile; this attempt rolled back
            subscriber.known_position = None
            return False
        subscriber.known_position = row.id
        subscriber.failures, subscriber.retry_at = 0, 0.0
        return True

    def _failed(self, subscriber: Subscriber, exc: Exception) -> None:
        subscriber.failures += 1
        backoff = min(MAX_BACKOFF_S, self.poll_s * 2 ** (subscriber.failures - 1))
        subscriber.retry_at = time.monotonic() + backoff
        log.warning(
            "subscriber %s failed (%d in a row); retrying in %.1f s: %s",
            subscriber.name,
            subscriber.failures,
            backoff,
            exc,
        )
        try:
            with self.db.transaction() as session:
                _ensure_cursor(session, subscriber)
                session.execute(
                    update(EventCursor)
                    .where(EventCursor.subscriber == subscriber.name)
                    .values(
                        failures=EventCursor.failures + 1,
                        last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    )
                )
        except Exception:
            log.exception("could not record the failure of subscriber %s", subscriber.name)

    def cursor(self, name: str) -> int | None:
        """Where subscriber ``name`` stands (the last outbox id it is done with), or None."""
        with self.db.reading() as session:
            return session.scalar(select(EventCursor.position).where(EventCursor.subscriber == name))


def _ensure_cursor(session: Session, subscriber: Subscriber) -> None:
    """A name seen for the first time starts at the beginning of the outbox, or at its end."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    start = 0 if subscriber.from_start else _head(session)
    session.execute(
        insert(EventCursor)
        .values(subscriber=subscriber.name, position=start, failures=0)
        .on_conflict_do_nothing(index_elements=["subscriber"])
    )


class _Superseded(Exception):
    """The cursor moved while a handler ran: another process delivered this event."""


def _next_event(session: Session, subscriber: Subscriber) -> tuple[int, int, OutboxEvent | None]:
    """The subscriber's position, the outbox head, and its next event up to the head."""
    position = session.scalar(select(EventCursor.position).where(EventCursor.subscriber == subscriber.name))
    # The head first: every id up to it has committed (ids commit in order, see ``publish``), so
    # the next statement sees all of them and moving the cursor to the head passes over nothing.
    head = _head(session)
    row = session.scalar(
        select(OutboxEvent)
        .where(
            OutboxEvent.id > (position or 0),
            OutboxEvent.id <= head,
            OutboxEvent.type.in_(subscriber.type_names),
        )
        .order_by(OutboxEvent.id)
        .limit(1)
    )
    return position or 0, head, row


def _move_cursor(session: Session, name: str, seen: int, to: int, *, delivered: bool = False) -> bool:
    """Compare-and-set: the cursor moves only from the position this delivery read. On
    PostgreSQL a concurrent delivery's UPDATE waits for this one and then matches no row."""
    values: dict[str, Any] = {"position": to}
    if delivered:
        values.update(delivered_at=utcnow(), failures=0, last_error=None)
    moved = session.execute(
        update(EventCursor)
        .where(EventCursor.subscriber == name, EventCursor.position == seen)
        .values(**values)
    )
    return moved.rowcount == 1


def _head(session: Session) -> int:
    return session.scalar(select(func.max(OutboxEvent.id))) or 0


def _decode(row: OutboxEvent) -> Event:
    cls = _TYPES[row.type]
    return cls.model_validate(row.payload).model_copy(
        update={"event_id": row.id, "published_at": as_utc(row.published_at)}
    )
