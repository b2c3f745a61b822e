"""Prompt test runs as jobs: queued by the API (``testing.queue_run``), claimed atomically and done
by the server's prompt-test worker thread, with progress and a heartbeat a person can watch.

A run is up to 400 model calls, four at a time: minutes against a slow model, far too long for a
request. It follows the prediction worker's pattern (predictions/jobs.py): the claim is one
conditional UPDATE that only a queued row matches, so two servers (or a server and a CLI) never
take the same run; progress writes carry the heartbeat; a run whose worker stopped beating is
failed with the reason, never left running. Small runs stay quick: the API wakes the worker the
moment its transaction commits instead of waiting for the next poll.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from helios.assistants import service, testing
from helios.assistants.tables import PromptTestRun, PromptVersion
from helios.core.clock import as_utc, utcnow
from helios.core.errors import NotFound
from helios.db.engine import Database

log = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(seconds=60)  # > testing.PROGRESS_EVERY_S, the longest quiet a live run has
RECOVER_EVERY_S = 30.0
WRITE_EVERY_S = 0.5  # progress rows written at most this often (and on the last attempt)

_wake = threading.Event()


def wake() -> None:
    """A run was queued and committed: the worker in this process looks now, not at its next poll."""
    _wake.set()


def worker_name(role: str = "prompt-tests") -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def claim(db: Database, worker: str, run_id: int | None = None) -> int | None:
    """Take ``run_id`` (or the oldest queued run) for ``worker``; None when it was not there to take."""
    wanted = select(PromptTestRun.id).where(PromptTestRun.status == "queued")
    if run_id is not None:
        wanted = wanted.where(PromptTestRun.id == run_id)
    # Look before taking the write lock: an idle poll must not queue behind (or block) writers.
    with db.reading() as session:
        if session.scalar(wanted.limit(1)) is None:
            return None
    with db.transaction() as session:
        oldest = wanted.order_by(PromptTestRun.id)
        if db.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        found = session.scalar(oldest.limit(1))
        if found is None:
            return None
        now = utcnow()
        claimed = session.execute(
            update(PromptTestRun)
            .where(PromptTestRun.id == found, PromptTestRun.status == "queued")
            .values(status="running", worker=worker, started_at=now, heartbeat_at=now)
        )
        return found if cast(CursorResult, claimed).rowcount == 1 else None


def execute(db: Database, run_id: int, worker: str) -> str:
    """Do a claimed run: plan it again from the stored set and versions, call the model, store the
    results. Returns the final status; a failure is stored as ``error`` and the worker lives on."""
    try:
        with db.reading() as session:
            run = testing.get_run(session, run_id)
            test_set = testing.get_test_set(session, run.test_set_id)
            numbers = [_number(session, version_id) for version_id in run.version_ids]
            provider = service.provider_for(
                session, service.get_assistant(session, str(test_set.assistant_id))
            )
            plan = testing.plan_run(session, test_set, numbers, run.repeats, provider)
        results = testing.execute(plan, Progress(db, run_id, worker, plan.calls))
        status = testing.verdict(results)
        _finish(db, run_id, worker, status, [r.model_dump(mode="json") for r in results], plan.calls)
        return status
    except Exception as exc:  # the run fails, the worker lives on
        log.warning("prompt test run %s failed", run_id, exc_info=True)
        _finish(db, run_id, worker, "error", [], None, getattr(exc, "detail", None) or str(exc))
        return "error"


def _number(session: Any, version_id: int) -> int:
    version = session.get(PromptVersion, version_id)
    if version is None:
        raise NotFound(f"prompt version id {version_id} no longer exists")
    return version.version


class Progress:
    """``testing.execute``'s progress callback: calls done and the heartbeat, a short write at
    most every ``WRITE_EVERY_S`` (a 400-call run against a fast model writes a few rows, not 400)."""

    def __init__(self, db: Database, run_id: int, worker: str, total: int) -> None:
        self.db, self.run_id, self.worker, self.total = db, run_id, worker, total
        self._written = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if done < self.total and now - self._written < WRITE_EVERY_S:
            return
        self._written = now
        with self.db.transaction() as session:
            session.execute(
                update(PromptTestRun)
                .where(PromptTestRun.id == self.run_id, PromptTestRun.worker == self.worker)
                .values(calls_done=done, heartbeat_at=utcnow())
            )


def _finish(
    db: Database,
    run_id: int,
    worker: str,
    status: str,
    results: list[dict],
    done: int | None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "results": results, "error": error, "finished_at": utcnow()}
    if done is not None:
        values["calls_done"] = done
    with db.transaction() as session:
        # Only while it is still this worker's run: one recovered as stale stays as recovered.
        session.execute(
            update(PromptTestRun)
            .where(
                PromptTestRun.id == run_id, PromptTestRun.worker == worker, PromptTestRun.status == "running"
            )
            .values(**values)
        )


def recover_stale(db: Database) -> list[int]:
    """Runs left running by a worker that stopped beating: ``error`` with the reason."""
    cutoff = utcnow() - STALE_AFTER
    failed = []
    with db.transaction() as session:
        for run in session.scalars(select(PromptTestRun).where(PromptTestRun.status == "running")):
            if run.heartbeat_at is None or as_utc(run.heartbeat_at) < cutoff:
                run.status, run.finished_at = "error", utcnow()
                run.error = (
                    f"worker {run.worker} stopped answering after {run.calls_done} of {run.calls_total} "
                    "calls; run the set again"
                )
                failed.append(run.id)
    return failed


def run_here(
    db: Database, run_id: int, on_progress: Callable[[int, int, str], None] | None = None, poll_s: float = 0.2
) -> str:
    """Do a queued run in this process (the CLI on a local home) unless a server's worker took it
    first, and report progress either way; the final status."""
    worker = worker_name("cli")
    doing = None
    if claim(db, worker, run_id) is not None:
        doing = threading.Thread(
            target=execute, args=(db, run_id, worker), name="helios-prompt-test", daemon=True
        )
        doing.start()
    try:
        status = _follow(db, run_id, on_progress, poll_s)
    except KeyboardInterrupt:
        if doing is not None:  # ours, so nobody else will finish it: say why it stopped
            _finish(db, run_id, worker, "error", [], None, "stopped from the command line before it finished")
        raise
    if doing is not None:
        doing.join()
    return status


def _follow(
    db: Database, run_id: int, on_progress: Callable[[int, int, str], None] | None, poll_s: float
) -> str:
    while True:
        with db.reading() as session:
            run = testing.get_run(session, run_id)
            done, total, status = run.calls_done, run.calls_total, run.status
        if on_progress is not None:
            on_progress(done, total, status)
        if status in testing.FINISHED:
            return status
        time.sleep(poll_s)


class PromptTestWorker:
    """The server's background thread for queued prompt test runs, one at a time."""

    def __init__(self, db: Database, poll_s: float = 1.0) -> None:
        self.db, self.poll_s, self.name = db, poll_s, worker_name()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered = 0.0

    def start(self) -> PromptTestWorker:
        self._thread = threading.Thread(target=self._loop, name="helios-prompt-tests", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        _wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run_once(self) -> bool:
        """One pass; True when it did a run."""
        if time.monotonic() - self._recovered > RECOVER_EVERY_S:
            self._recovered = time.monotonic()
            recover_stale(self.db)
        run_id = claim(self.db, self.name)
        if run_id is not None:
            execute(self.db, run_id, self.name)
        return run_id is not None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a database hiccup must not end the thread
                log.warning("prompt test worker pass failed", exc_info=True)
                busy = False
            if not busy:
                _wake.wait(self.poll_s)
                _wake.clear()
