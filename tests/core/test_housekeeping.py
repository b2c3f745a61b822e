"""What a running server does by itself on a timer: memories deleted longer ago than their restore
period are purged (graph and index with them), outbox events older than the retention are pruned
(the newest kept, so delivery goes on), and one failing chore does not stop the others."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, select, update

from helios.context import AppContext
from helios.core.clock import utcnow
from helios.core.event_bus import EventBus, prune_chore
from helios.core.events import ModelDeployed, publish
from helios.core.housekeeping import Housekeeper
from helios.core.tables import OutboxEvent
from tests.core.test_events import Recorder, deployed, publish_committed
from tests.memory.fakes import fake_runtime

API = "/api/v1"


def age_events(context: AppContext, days: float, ids: list[int]) -> None:
    with context.db.transaction() as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(published_at=utcnow() - dt.timedelta(days=days))
        )


def outbox_ids(context: AppContext) -> list[int]:
    with context.db.reading() as session:
        return list(session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id)))


def test_events_older_than_the_retention_are_pruned_the_newest_kept_and_delivery_goes_on(
    context: AppContext,
) -> None:
    publish_committed(context, deployed(1), deployed(2), deployed(3), deployed(4))
    first, second, third, fourth = outbox_ids(context)
    age_events(context, 45, [first, second, fourth])  # the newest is old too: it stays all the same
    age_events(context, 10, [third])  # inside the 30 days
    keeper = Housekeeper(context.db)
    keeper.add("event outbox", prune_chore(30))
    done = keeper.run_once()
    assert done["event outbox"] == "pruned 2 event(s) older than 30 days"
    assert outbox_ids(context) == [third, fourth]
    assert keeper.run_once()["event outbox"] == ""  # nothing more to do
    # A subscriber from the start gets what is left, and what comes next: ids never come back.
    publish_committed(context, deployed(5))
    bus = EventBus(context.db)
    recorder = Recorder()
    bus.subscribe("late", ModelDeployed, recorder)
    bus.drain()
    assert [e.to_version for e in recorder.events] == [3, 4, 5]  # type: ignore[attr-defined]
    assert recorder.events[-1].event_id > fourth


def test_a_failing_chore_is_reported_and_the_others_still_run(context: AppContext) -> None:
    keeper = Housekeeper(context.db)

    def broken(session):  # type: ignore[no-untyped-def]
        publish(session, deployed(9))  # rolled back with the failure
        raise RuntimeError("disk on fire")

    keeper.add("broken", broken)
    keeper.add("event outbox", prune_chore(30))
    done = keeper.run_once()
    assert isinstance(done["broken"], RuntimeError) and done["event outbox"] == ""
    assert outbox_ids(context) == []


def test_the_running_server_purges_memories_deleted_longer_ago_than_their_restore_period(settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from helios.app import create_app

    settings = settings.model_copy(update={"memory_purge_after_days": 1.0, "housekeeping_interval_s": 1.0})
    app = create_app(settings, ui=False)
    context = app.state.helios
    context.memory = fake_runtime(purge_after_days=1.0)
    with TestClient(app) as client:
        assert context.housekeeper.running
        written = client.post(
            f"{API}/memory/agents/scout/memories",
            json={
                "memories": [
                    {
                        "content": "Initech supplies Globex",
                        "triples": [{"subject": "Initech", "predicate": "supplies", "object": "Globex"}],
                    },
                    {"content": "kept: deleted an hour ago"},
                ]
            },
        ).json()["items"]
        old, recent = written[0]["id"], written[1]["id"]
        for memory_id in (old, recent):
            assert client.delete(f"{API}/memory/{memory_id}").status_code in (200, 204)
        from helios.memory.tables import Memory

        with context.db.transaction() as session:
            session.execute(
                update(Memory).where(Memory.id == old).values(deleted_at=utcnow() - dt.timedelta(days=2))
            )
        deadline = time.monotonic() + 15
        while client.get(f"{API}/memory/{old}").status_code != 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get(f"{API}/memory/{old}").status_code == 404  # purged by the server itself
        assert client.get(f"{API}/memory/{recent}").status_code == 200  # still restorable
        graph = client.get(f"{API}/memory/agents/scout").json()["graph"]
        assert graph["nodes"] == [] and graph["edges"] == []  # its entities went with it
    assert not context.housekeeper.running  # stopped with the app
    with context.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Memory).where(Memory.id == old)) == 0
    context.db.dispose()
