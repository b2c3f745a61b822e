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
  its cursor and misses nothing published within the retention: a running server prunes events
  older than ``event_retention_days`` (30 by default; ``event_bus.prune_outbox``, a housekeeping
  chore), and a subscriber away for longer misses those (the log names it). A name seen for the
  first time starts at the beginning of the outbox, or at its end with ``from_start=False``;
- use the given session only: on SQLite a second write transaction would wait for this one;
- the transaction opens at the handler's first statement and holds SQLite's write lock until
  the commit: do slow work that needs no database (embedding, HTTP) before touching ``session``.

**Delivery** (``helios.core.event_bus``): ``EventBus.start()`` runs a dispatcher thread (the app
lifespan starts and stops ``context.events``). A commit in this process that published nudges it at
once (an ``after_commit`` hook); events published by other processes (training workers, the CLI, a
second server) arrive by polling the outbox every ``poll_s``. ``drain()`` delivers everything
pending synchronously without a thread (CLI, tests). Several processes may run buses with the same
subscribers on one database: a delivery moves the cursor by compare-and-set from the position it
read, in the handler's transaction, so of two processes handling the same event only one commits;
the other's transaction (its handler's writes included) rolls back. No event's database effects
reach one subscriber twice.

**After commit**: ``after_commit(session, action)`` runs a plain callable once the session's
transaction commits (never on rollback) — for files and caches that must change only after the
commit that justifies them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import weakref
from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session

from helios.core.tables import OutboxEvent

log = logging.getLogger(__name__)

# Any constant works: it only has to be the same in every process publishing to one database.
_OUTBOX_LOCK_KEY = 0x48454C494F53  # "HELIOS"
_PUBLISHED = "helios.events.published"
_AFTER_COMMIT = "helios.after_commit"


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


@event_type("memory.written")
class MemoryWritten(Event):
    """A batch of memories was written for one agent (what comes after, e.g. finding entities
    with an LLM, happens from here, never inside the write)."""

    agent_id: int
    agent: str
    memory_ids: list[int]


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


# Buses running in this process (``event_bus.EventBus`` adds itself when started): a commit that
# published wakes them.
running_buses: weakref.WeakSet[Any] = weakref.WeakSet()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once this session's transaction has committed, never if it rolls back: for
    changes outside the database (artifact files, in-memory caches) that the commit justifies."""
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_AFTER_COMMIT, []).append((owner, action))


@sa_event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    actions = session.info.pop(_AFTER_COMMIT, [])
    published = session.info.pop(_PUBLISHED, False)
    for _, action in actions:
        try:
            action()
        except Exception:  # the commit stands; what failed afterwards is logged, not raised
            log.exception("an after-commit action failed")
    # Wake the buses only once the commit's files are in place: a subscriber woken first read a
    # new dataset version before its Parquet file had moved out of staging (and had to retry).
    if published:
        for bus in list(running_buses):
            bus.nudge()


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
