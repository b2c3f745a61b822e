"""Delivery of outbox events to named subscribers, each with a cursor of its own in the database.
The contract (publishing, subscribing, order, at-least-once, several processes) is written in
``helios.core.events``; this module is how it is kept."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helios.core.clock import as_utc, utcnow
from helios.core.events import Event, event_class, running_buses
from helios.core.tables import EventCursor, OutboxEvent
from helios.db.engine import Database

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0

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
    """Delivers outbox events to this process's subscribers (contract: ``helios.core.events``)."""

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
            if event_class(kind.type_name) is not kind:
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
        running_buses.add(self)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        running_buses.discard(self)
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


def prune_chore(retention_days: float) -> Callable[[Session], str]:
    """The housekeeping chore that keeps the outbox to ``retention_days``."""

    def prune(session: Session) -> str:
        pruned = prune_outbox(session, utcnow() - dt.timedelta(days=retention_days))
        return f"pruned {pruned} event(s) older than {retention_days:g} days" if pruned else ""

    return prune


def prune_outbox(session: Session, older_than: dt.datetime) -> int:
    """Delete the events published before ``older_than`` (the retention, ``event_retention_days``);
    the count. The newest event always stays: the head is what a new subscriber starting at the
    end, and every caught-up cursor, is measured against (ids never come back, so the next event
    is still above every cursor). A cursor behind what was pruned is named in the log: that
    subscriber was away longer than the retention and misses those events."""
    head = _head(session)
    last = session.scalar(
        select(func.max(OutboxEvent.id)).where(OutboxEvent.published_at < older_than, OutboxEvent.id < head)
    )
    if last is None:
        return 0
    behind = list(session.scalars(select(EventCursor.subscriber).where(EventCursor.position < last)))
    if behind:
        log.warning("pruning events up to %d that subscribers %s had not reached", last, ", ".join(behind))
    pruned = session.execute(
        delete(OutboxEvent).where(OutboxEvent.id <= last, OutboxEvent.published_at < older_than)
    )
    return pruned.rowcount


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
    cls = event_class(row.type)
    assert cls is not None  # subscribers only ask for registered types
    return cls.model_validate(row.payload).model_copy(
        update={"event_id": row.id, "published_at": as_utc(row.published_at)}
    )
