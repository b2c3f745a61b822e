"""The event bus: what a transaction publishes is delivered after it commits and never after a
rollback; named subscribers keep their cursor, so one restarted misses nothing; events from
another process (a training worker) reach a subscriber here; two buses never deliver twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.core.event_bus import EventBus
from helios.core.events import (
    DatasetVersionCreated,
    Event,
    ModelDeployed,
    TrainingFinished,
    after_commit,
    event_type,
    publish,
)
from helios.core.tables import AuditEntry, EventCursor, OutboxEvent
from helios.db.engine import Database


def deployed(version: int, action: str = "deploy") -> ModelDeployed:
    return ModelDeployed(
        model="m",
        action=action,  # type: ignore[arg-type]
        stage="active",
        to_version=version,
        from_stage="staging",
        deployment_id=version,
        actor="test",
    )


def publish_committed(context: AppContext, *events: Event) -> None:
    with context.db.transaction() as session:
        for event in events:
            publish(session, event)


class Recorder:
    """A subscriber that remembers what it got; thread-safe, since the dispatcher is a thread."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()

    def __call__(self, event: Event, session: Session) -> None:
        with self.lock:
            self.events.append(event)
        self.arrived.set()

    def versions(self) -> list[int]:
        return [e.to_version for e in self.events]  # type: ignore[attr-defined]


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_a_committed_event_reaches_its_subscriber_with_its_outbox_id(context: AppContext) -> None:
    got = Recorder()
    context.events.subscribe("ledger", ModelDeployed, got)
    publish_committed(context, deployed(1))
    assert context.events.drain() == 1
    (event,) = got.events
    assert isinstance(event, ModelDeployed) and event.to_version == 1 and event.action == "deploy"
    assert event.event_id is not None and event.published_at is not None
    assert context.events.cursor("ledger") == event.event_id
    assert context.events.drain() == 0


def test_a_rolled_back_transaction_publishes_nothing(context: AppContext) -> None:
    got = Recorder()
    context.events.subscribe("ledger", ModelDeployed, got)
    with pytest.raises(RuntimeError), context.db.transaction() as session:
        publish(session, deployed(1))
        raise RuntimeError("the change failed after publishing")
    publish_committed(context, deployed(2))
    context.events.drain()
    assert got.versions() == [2]
    with context.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


def test_a_subscriber_restarted_from_its_cursor_misses_nothing(context: AppContext) -> None:
    first = Recorder()
    context.events.subscribe("memory", ModelDeployed, first)
    publish_committed(context, deployed(1), deployed(2))
    context.events.drain()
    context.events.unsubscribe("memory")  # the subscriber goes down...
    publish_committed(context, deployed(3))
    publish_committed(context, deployed(4))  # ...while these are published

    restarted = EventBus(Database.connect(context.db.url))  # a fresh process, in effect
    second = Recorder()
    restarted.subscribe("memory", ModelDeployed, second)
    restarted.drain()
    restarted.db.dispose()
    assert first.versions() == [1, 2]
    assert second.versions() == [3, 4]


def test_subscribers_keep_separate_cursors_and_get_only_their_types(context: AppContext) -> None:
    deploys, trainings = Recorder(), Recorder()
    context.events.subscribe("deploys", ModelDeployed, deploys)
    context.events.subscribe("both", [ModelDeployed, TrainingFinished], trainings)
    finished = TrainingFinished(
        job_id=7, status="succeeded", family="naive", dataset_version_id=1, model="m", owner="x"
    )
    publish_committed(context, deployed(1), finished, deployed(2))
    context.events.drain()
    assert deploys.versions() == [1, 2]
    assert [type(e).__name__ for e in trainings.events] == [
        "ModelDeployed",
        "TrainingFinished",
        "ModelDeployed",
    ]
    # The type-filtered subscriber's cursor still moves past events it does not take.
    publish_committed(context, finished)
    context.events.drain()
    with context.db.reading() as session:
        head = session.scalar(select(func.max(OutboxEvent.id)))
    assert context.events.cursor("deploys") == head


def test_a_new_subscriber_can_start_at_the_end_of_the_outbox(context: AppContext) -> None:
    publish_committed(context, deployed(1))
    got = Recorder()
    context.events.subscribe("late", ModelDeployed, got, from_start=False)
    context.events.drain()
    publish_committed(context, deployed(2))
    context.events.drain()
    assert got.versions() == [2]


def test_a_failing_handler_is_retried_with_its_writes_rolled_back(context: AppContext) -> None:
    attempts: list[int] = []

    def flaky(event: Event, session: Session) -> None:
        session.add(
            AuditEntry(actor="bus", action="seen", entity_type="event", entity_id=str(event.event_id))
        )
        attempts.append(event.event_id or 0)
        if len(attempts) == 1:
            raise ValueError("downstream not ready")

    bus = EventBus(context.db, poll_s=0.05)
    bus.subscribe("flaky", ModelDeployed, flaky)
    publish_committed(context, deployed(1), deployed(2))
    assert bus.drain() == 0  # the first event failed; the one behind it waits
    with context.db.reading() as session:
        cursor = session.get(EventCursor, "flaky")
        assert cursor.failures == 1 and "downstream not ready" in cursor.last_error
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    time.sleep(0.06)  # past the backoff
    assert bus.drain() == 2
    assert attempts[0] == attempts[1] and len(attempts) == 3
    with context.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
        cursor = session.get(EventCursor, "flaky")
        assert cursor.failures == 0 and cursor.last_error is None


@contextmanager
def running(context: AppContext, name: str, poll_s: float) -> Iterator[Recorder]:
    """A started bus of its own with one recording subscriber to ModelDeployed."""
    bus, got = EventBus(context.db, poll_s=poll_s), Recorder()
    bus.subscribe(name, ModelDeployed, got)
    bus.start()
    try:
        yield got
    finally:
        bus.stop()


def test_a_commit_in_this_process_delivers_without_waiting_for_a_poll(context: AppContext) -> None:
    with running(context, "fast", poll_s=60) as got:
        time.sleep(0.2)  # the first pass has run; the dispatcher now sleeps for a minute
        publish_committed(context, deployed(1))
        assert got.arrived.wait(5), "the after-commit nudge did not wake the dispatcher"
    assert got.versions() == [1]


PUBLISH_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from helios.core.events import ModelDeployed, publish
    from helios.db.engine import Database

    db = Database.connect(sys.argv[1])
    for number in (1, 2, 3):
        with db.transaction() as session:
            publish(session, ModelDeployed(model="m", action="deploy", stage="active", to_version=number,
                                           from_stage="staging", deployment_id=number, actor="worker"))
    db.dispose()
    """
)


def test_an_event_published_in_another_process_reaches_a_running_bus(context: AppContext) -> None:
    with running(context, "server", poll_s=0.1) as got:
        subprocess.run(
            [sys.executable, "-c", PUBLISH_IN_ANOTHER_PROCESS, context.db.url], check=True, timeout=60
        )
        wait_for(lambda: len(got.events) == 3)
    assert got.versions() == [1, 2, 3]
    assert {e.actor for e in got.events} == {"worker"}  # type: ignore[attr-defined]


def test_two_buses_on_one_database_never_deliver_an_event_twice(context: AppContext) -> None:
    calls: list[int] = []

    def record(event: Event, session: Session) -> None:
        calls.append(event.event_id or 0)
        time.sleep(0.005)  # widen the window in which the other server could deliver it too
        session.add(
            AuditEntry(actor="ledger", action="seen", entity_type="event", entity_id=str(event.event_id))
        )

    buses = [EventBus(Database.connect(context.db.url)) for _ in range(2)]
    for bus in buses:
        bus.subscribe("ledger", ModelDeployed, record)  # the same subscriber, in two "servers"
    publish_committed(context, *[deployed(n) for n in range(1, 41)])
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda bus: bus.drain(), buses))
    for bus in buses:
        bus.drain()
        bus.db.dispose()
    with context.db.reading() as session:
        ledger = select(AuditEntry.entity_id).where(AuditEntry.actor == "ledger").order_by(AuditEntry.id)
        committed = list(session.scalars(ledger))
        ids = list(session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)))
    # Each event's effects committed exactly once, in outbox order; a handler that ran in both
    # "servers" at once had one of its two transactions rolled back.
    assert committed == [str(i) for i in ids] and len(ids) == 40
    assert set(calls) == set(ids)


@event_type("test.scored")
class Scored(Event):
    prediction_id: int
    error: float


def test_adding_an_event_type_takes_a_few_lines(context: AppContext) -> None:
    got: list[Event] = []
    context.events.subscribe("scores", Scored, lambda event, session: got.append(event))
    publish_committed(context, Scored(prediction_id=3, error=0.5))
    context.events.drain()
    (event,) = got
    assert isinstance(event, Scored) and (event.prediction_id, event.error) == (3, 0.5)
    assert event.event_id is not None and event.published_at.tzinfo is not None  # type: ignore[union-attr]


def test_an_unregistered_event_cannot_be_published_or_subscribed(context: AppContext) -> None:
    class Unnamed(Event):
        value: int

    with pytest.raises(TypeError), context.db.transaction() as session:
        publish(session, Unnamed(value=1))
    with pytest.raises(TypeError):
        context.events.subscribe("x", Unnamed, lambda event, session: None)
    with pytest.raises(ValueError):
        event_type("model.deployed")(Unnamed)


# --- the events the services publish --------------------------------------------------------------


def test_importing_a_dataset_version_publishes_it(context: AppContext) -> None:
    from helios.datasets import service as datasets
    from helios.datasets.schemas import ImportRequest

    got = Recorder()
    context.events.subscribe("datasets", DatasetVersionCreated, got)
    csv = b"unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,2\nB,2024-01-01,3\nB,2024-01-02,4\n"
    for _ in range(2):  # the same content again is no new version and no new event
        with context.db.transaction() as session:
            datasets.import_file(
                session, context.store, ImportRequest(name="p"), csv, LOCAL_USER, max_bytes=10**6
            )
    context.events.drain()
    (event,) = got.events
    assert (event.dataset, event.version, event.rows, event.series) == ("p", 1, 4, 2)  # type: ignore[attr-defined]


def test_deploy_and_rollback_publish_model_deployed(context: AppContext) -> None:
    from helios.registry import deployments
    from tests.registry.test_deployments import make_llm

    make_llm(context, versions=3)
    got = Recorder()
    context.events.subscribe("deploys", ModelDeployed, got)
    for number in (1, 2):
        with context.db.transaction() as session:
            deployments.deploy(session, "explainer", number, "active", "", LOCAL_USER)
    with context.db.transaction() as session:
        deployments.rollback(session, "explainer", "bad answers", LOCAL_USER)
    context.events.drain()
    summary = [(e.action, e.from_version, e.to_version, e.stage) for e in got.events]  # type: ignore[attr-defined]
    assert summary == [
        ("deploy", None, 1, "active"),
        ("deploy", 1, 2, "active"),
        ("rollback", 2, 1, "active"),
    ]
    assert got.events[-1].note == "bad answers"  # type: ignore[attr-defined]


def test_after_commit_actions_run_once_committed_and_never_after_a_rollback(context: AppContext) -> None:
    done: list[str] = []
    with pytest.raises(RuntimeError), context.db.transaction() as session:
        after_commit(session, lambda: done.append("rolled back"))
        raise RuntimeError("failed")
    with context.db.transaction() as session:
        after_commit(session, lambda: done.append("outer"))
        with pytest.raises(RuntimeError), session.begin_nested():
            after_commit(session, lambda: done.append("inside a savepoint"))
            raise RuntimeError("the savepoint rolls back, the transaction goes on")
        assert done == []
    # A savepoint's rollback takes its own plans along, not what the outer transaction planned.
    assert done == ["outer"]
