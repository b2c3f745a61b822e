"""Prompt test runs as jobs: queued, claimed by exactly one worker, progress and heartbeat written
as attempts finish, stale runs failed with the reason, a broken run stored as ``error`` while the
worker lives on, and a wake-up that does a small run at once instead of at the next poll."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import update

from helios.assistants import runner, service, testing, views
from helios.assistants.schemas import (
    AssistantConfigUpdate,
    AssistantCreate,
    PromptVersionCreate,
)
from helios.assistants.schemas import TestSetCreate as SetCreate
from helios.assistants.tables import PromptTestRun
from helios.core.auth import LOCAL_USER
from helios.core.clock import utcnow
from helios.registry import service as registry
from helios.registry.schemas import LlmConfig, ModelCreate
from tests.assistants.fake_llm import fake_llm_fixture  # noqa: F401

CASES = [
    {"variables": {"question": f"q{i}"}, "assertions": [{"kind": "contains", "value": "echo"}]}
    for i in range(3)
]


def setup_set(context, base_url: str | None, repeats: int = 2) -> int:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        service.update_config(session, AssistantConfigUpdate(allow_local_model_servers=True), LOCAL_USER)
        model = None
        if base_url is not None:
            llm = LlmConfig(base_url=base_url, model_name="m")
            registry.create_model(
                session, ModelCreate(name="llm", kind="llm", task="chat", llm=llm), LOCAL_USER
            )
            model = "llm"
        body = AssistantCreate(
            name="analyst", role="analyst", llm_model=model, llm_version=1 if model else None
        )
        assistant = service.create_assistant(session, body, LOCAL_USER)
        version = PromptVersionCreate(
            system_prompt="Be brief.",
            messages=[{"role": "user", "template": "{{ question }}"}],
            variables=["question"],
        )
        service.save_version(session, assistant, version, LOCAL_USER)
        created = testing.create_test_set(
            session, assistant, SetCreate(name="smoke", cases=CASES, repeats=repeats), LOCAL_USER
        )
        return created.id


def queue(context, test_set_id: int) -> int:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        return testing.queue_run(
            session, testing.get_test_set(session, test_set_id), [1], None, LOCAL_USER
        ).id


def read(context, run_id: int):  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return views.run_read(session, testing.get_run(session, run_id))


def test_a_queued_run_is_claimed_once_and_reports_progress_to_the_end(context, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(runner, "WRITE_EVERY_S", 0.0)
    set_id = setup_set(context, fake_llm.base_url)
    run_id = queue(context, set_id)
    queued = read(context, run_id)
    assert queued.status == "queued" and not queued.finished and queued.calls_total == 3 * 2
    assert runner.claim(context.db, "a") == run_id
    assert runner.claim(context.db, "b") is None and runner.claim(context.db, "b", run_id) is None
    seen: list[int] = []
    real = runner.Progress.__call__

    def spy(self, done: int) -> None:  # type: ignore[no-untyped-def]
        real(self, done)
        seen.append(read(context, run_id).calls_done)

    monkeypatch.setattr(runner.Progress, "__call__", spy)
    assert runner.execute(context.db, run_id, "a") == "passed"
    assert seen == sorted(seen) and seen[-1] == 6 and len(seen) >= 2
    done = read(context, run_id)
    assert done.finished and done.calls_done == 6 and done.results[0].pass_rate == 1.0
    assert done.started_at is not None and done.finished_at is not None


def test_run_here_does_the_run_and_reports_progress(context, fake_llm) -> None:  # type: ignore[no-untyped-def]
    run_id = queue(context, setup_set(context, fake_llm.base_url))
    updates: list[tuple[int, int, str]] = []
    assert runner.run_here(context.db, run_id, lambda *u: updates.append(u), poll_s=0.01) == "passed"
    assert updates[-1] == (6, 6, "passed")
    assert [u[0] for u in updates] == sorted(u[0] for u in updates)


def test_a_woken_worker_does_a_small_run_at_once(context, fake_llm) -> None:  # type: ignore[no-untyped-def]
    set_id = setup_set(context, fake_llm.base_url, repeats=1)
    worker = runner.PromptTestWorker(context.db, poll_s=60.0).start()  # would not look again for a minute
    try:
        time.sleep(0.2)  # its first pass found nothing; it now waits
        run_id = queue(context, set_id)
        started = time.monotonic()
        runner.wake()
        while not read(context, run_id).finished:
            assert time.monotonic() - started < 10, "the wake-up did not reach the worker"
            time.sleep(0.02)
    finally:
        worker.stop()
    assert read(context, run_id).status == "passed"


def test_a_run_that_breaks_is_stored_as_error_and_the_worker_goes_on(context, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    set_id = setup_set(context, fake_llm.base_url)
    first, second = queue(context, set_id), queue(context, set_id)
    real = testing.execute
    calls = iter([RuntimeError("the disk is on fire"), None])

    def flaky(plan, progress=None):  # type: ignore[no-untyped-def]
        problem = next(calls)
        if problem is not None:
            raise problem
        return real(plan, progress)

    monkeypatch.setattr(testing, "execute", flaky)
    worker = runner.PromptTestWorker(context.db)
    assert worker.run_once() and worker.run_once() and not worker.run_once()
    broken = read(context, first)
    assert broken.status == "error" and broken.finished and "the disk is on fire" in (broken.error or "")
    assert read(context, second).status == "passed"


def test_a_run_whose_worker_stopped_beating_is_failed_with_the_reason(context, fake_llm) -> None:  # type: ignore[no-untyped-def]
    set_id = setup_set(context, fake_llm.base_url)
    stale, live = queue(context, set_id), queue(context, set_id)
    assert (
        runner.claim(context.db, "gone:1", stale) == stale
        and runner.claim(context.db, "here:2", live) == live
    )
    with context.db.transaction() as session:
        session.execute(
            update(PromptTestRun)
            .where(PromptTestRun.id == stale)
            .values(heartbeat_at=utcnow() - dt.timedelta(minutes=5), calls_done=2)
        )
    assert runner.recover_stale(context.db) == [stale]
    recovered = read(context, stale)
    assert recovered.status == "error" and "gone:1 stopped answering after 2 of 6 calls" in (
        recovered.error or ""
    )
    assert read(context, live).status == "running"
    # the old worker coming back to finish cannot overwrite what recovery said
    runner._finish(context.db, stale, "gone:1", "passed", [], 6)
    assert read(context, stale).status == "error"


def test_no_provider_finishes_as_unavailable(context) -> None:  # type: ignore[no-untyped-def]
    run_id = queue(context, setup_set(context, None))
    assert runner.claim(context.db, "w") == run_id
    assert runner.execute(context.db, run_id, "w") == "unavailable"
    assert "no model provider" in (read(context, run_id).results[0].notice or "")


def test_two_workers_racing_take_each_run_once(context, fake_llm) -> None:  # type: ignore[no-untyped-def]
    set_id = setup_set(context, fake_llm.base_url, repeats=1)
    runs = [queue(context, set_id) for _ in range(6)]
    taken: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def take(name: str) -> None:
        barrier.wait()
        while (found := runner.claim(context.db, name)) is not None:
            taken[name].append(found)

    threads = [threading.Thread(target=take, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken["a"] + taken["b"]) == runs


def test_a_catastrophic_regex_in_a_run_finishes_at_once(context, fake_llm) -> None:  # type: ignore[no-untyped-def]
    # The ReDoS attack replayed end to end: the model echoes 50 a's and a b, the pattern is (a+)+$.
    setup_set(context, fake_llm.base_url, repeats=1)
    with context.db.transaction() as session:
        assistant = service.get_assistant(session, "analyst")
        attack = [
            {"variables": {"question": "a" * 50 + "b"}, "assertions": [{"kind": "regex", "value": "(a+)+$"}]}
        ]
        set_id = testing.create_test_set(
            session, assistant, SetCreate(name="redos", cases=attack), LOCAL_USER
        ).id
    run_id = queue(context, set_id)
    started = time.monotonic()
    assert runner.run_here(context.db, run_id, poll_s=0.01) == "failed"
    assert time.monotonic() - started < 10
    assert read(context, run_id).results[0].cases[0].failures == ["does not match /(a+)+$/"]


def test_a_run_stopped_from_the_command_line_says_so(context, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    real = testing._attempt
    monkeypatch.setattr(testing, "_attempt", lambda *a: time.sleep(0.1) or real(*a))
    run_id = queue(context, setup_set(context, fake_llm.base_url))

    def interrupt(done: int, total: int, status: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run_here(context.db, run_id, interrupt)
    for thread in threading.enumerate():  # the abandoned run's calls finish; its result is not stored
        if thread.name == "helios-prompt-test":
            thread.join(timeout=30)
    stopped = read(context, run_id)
    assert stopped.status == "error" and "stopped from the command line" in (stopped.error or "")
    assert stopped.results == []
