"""Training announces its end on the event bus: a job run by a worker in its own process
publishes ``TrainingFinished``, and a subscriber in this (the server's) process receives it."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.core.events import TrainingFinished
from helios.training import service
from helios.training.schemas import JobCreate, ValidationSettings
from helios.training.workers import Worker, fail_running


def test_a_job_finished_in_a_worker_process_reaches_a_subscriber_in_the_server(
    context: AppContext, prices: str
) -> None:
    got: list[TrainingFinished] = []
    arrived = threading.Event()

    def remember(event: TrainingFinished, session: Session) -> None:
        got.append(event)
        arrived.set()

    context.events.poll_s = 0.1
    context.events.subscribe("memory", TrainingFinished, remember)
    context.events.start()
    try:
        body = JobCreate(
            dataset=prices, family="naive", validation=ValidationSettings(horizon=7, refit=False)
        )
        with context.db.transaction() as session:
            job_id = service.create_job(session, body, LOCAL_USER).id
        assert Worker(context).run_once()  # trains in a child process: another process publishes
        assert arrived.wait(20), "TrainingFinished did not arrive"
    finally:
        context.events.stop()
    (event,) = got
    assert (event.job_id, event.status, event.family, event.version) == (job_id, "succeeded", "naive", 1)
    assert event.model == f"{prices}-naive" and event.owner == LOCAL_USER.name
    assert {"mae", "mase"} <= set(event.metrics)


def test_a_job_the_executor_fails_is_announced_too(context: AppContext, prices: str) -> None:
    got: list[TrainingFinished] = []
    context.events.subscribe("memory", TrainingFinished, lambda event, session: got.append(event))
    body = JobCreate(dataset=prices, family="naive", validation=ValidationSettings(horizon=7))
    with context.db.transaction() as session:
        job = service.create_job(session, body, LOCAL_USER)
        job.status = "running"
    fail_running(context, job.id, "timed out after 5 s; the training process was killed")
    context.events.drain()
    (event,) = got
    assert (event.status, event.version, event.reason) == (
        "failed",
        None,
        "timed out after 5 s; the training process was killed",
    )
