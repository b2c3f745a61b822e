"""Runs over many series as jobs, with progress; schedules fired once across two servers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput
from helios.predictions import jobs, schedules, service
from helios.predictions.schemas import RunRequest, ScheduleCreate, Trigger
from helios.predictions.tables import Prediction, PredictionRun
from tests.predictions.ledger import import_prices, prices, register_model

REQUEST = {"dataset": "stocks", "series": "all", "models": ["walk"], "horizon": 3}


@pytest.fixture
def ledger(context):  # type: ignore[no-untyped-def]
    register_model(context, "walk", "naive", prices(90, tickers=("A1", "A2", "A3")))
    import_prices(context, prices(100, tickers=("A1", "A2", "A3")))
    return context


def test_many_series_become_a_run_with_progress(ledger) -> None:  # type: ignore[no-untyped-def]
    with ledger.db.transaction() as session:
        stored, run = service.run_or_enqueue(
            session, ledger.store, ledger.inference, RunRequest(**REQUEST), LOCAL_USER, trigger=Trigger.api
        )
    assert stored == [] and run is not None and run.series_total == 3
    worker = jobs.PredictionWorker(ledger)
    assert worker.run_once() is True
    with ledger.db.reading() as session:
        done = session.get(PredictionRun, run.id)
        assert (done.status, done.series_done, done.predictions) == ("succeeded", 3, 3)
        assert {p.run_id for p in session.query(Prediction)} == {run.id}
    assert worker.run_once() is False


def test_a_bad_run_is_refused_before_it_is_queued(ledger) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput), ledger.db.transaction() as session:
        service.run_or_enqueue(
            session,
            ledger.store,
            ledger.inference,
            RunRequest(**{**REQUEST, "models": ["none"]}),
            LOCAL_USER,
            trigger=Trigger.api,
        )
    with ledger.db.reading() as session:
        assert session.query(PredictionRun).count() == 0


def make_schedule(context, missed: str = "skip", hour: int = 22) -> None:  # type: ignore[no-untyped-def]
    body = ScheduleCreate(
        name="nightly", cron=f"0 {hour} * * *", missed=missed, request=RunRequest(**REQUEST)
    )
    with context.db.transaction() as session:
        schedules.create_schedule(session, body, LOCAL_USER)


def test_a_cron_that_does_not_parse_is_refused(ledger) -> None:  # type: ignore[no-untyped-def]
    body = ScheduleCreate(name="bad", cron="every night", request=RunRequest(**REQUEST))
    with pytest.raises(InvalidInput) as refused, ledger.db.transaction() as session:
        schedules.create_schedule(session, body, LOCAL_USER)
    assert refused.value.errors[0]["field"] == "cron"


def test_two_servers_fire_a_schedule_once(ledger, settings) -> None:  # type: ignore[no-untyped-def]
    make_schedule(ledger)
    second = AppContext.build(settings)  # another server on the same database
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, hours=1)
    fired: list[list[int]] = []
    servers = [
        threading.Thread(target=lambda c=c, n=n: fired.append(schedules.fire_due(c, n, later)))
        for c, n in ((ledger, "one"), (second, "two"))
    ]
    for server in servers:
        server.start()
    for server in servers:
        server.join()
    second.db.dispose()
    assert sorted(len(f) for f in fired) == [0, 1]
    with ledger.db.reading() as session:
        assert session.query(PredictionRun).count() == 1


@pytest.mark.parametrize(("missed", "runs"), [("skip", 1), ("catch_up", 3)])
def test_missed_times_are_skipped_or_caught_up(ledger, missed, runs) -> None:  # type: ignore[no-untyped-def]
    # Daily, first due one to two hours from now whatever the time of day: at a fixed 22:00, a run
    # between 22:00 and 22:30 UTC saw two due times in these three days, not three.
    now = dt.datetime.now(dt.UTC)
    make_schedule(ledger, missed, hour=(now + dt.timedelta(hours=2)).hour)
    three_days_on = now + dt.timedelta(days=3, minutes=-30)
    fired = []
    for _ in range(5):
        fired += schedules.fire_due(ledger, "one", three_days_on)
    assert len(fired) == runs
