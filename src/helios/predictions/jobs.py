"""Runs over many series: queued in ``prediction_runs``, claimed atomically and done by the
server's prediction worker thread, series chunk by chunk, with progress a person can watch.

Why not the training executor's queue: a training job is fit-then-register (a family, a target
model, checkpoints, a child process per job so a runaway fit can be killed). A prediction run is
short and mostly reads: it wants the models already warm in this process's inference cache, which
a fresh child process would load again for every run. The claim (one conditional UPDATE that only
a queued row matches, so two servers never take the same run), the heartbeat and the recovery of
a run whose worker died follow the training workers' pattern.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from sqlalchemy import select, update

from helios.core.auth import Principal, Role
from helios.core.clock import as_utc, utcnow
from helios.predictions import schedules, service
from helios.predictions.schemas import RunRequest, RunStatus, Trigger
from helios.predictions.tables import PredictionRun

log = logging.getLogger(__name__)
CHUNK = 25  # series per transaction: progress moves, and a failure loses at most one chunk
STALE_AFTER = dt.timedelta(minutes=2)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:predictions"


def claim_next(context, worker: str) -> int | None:  # type: ignore[no-untyped-def]
    # Look before taking the write lock: an idle poll must not queue behind (or block) writers.
    with context.db.reading() as session:
        if (
            session.scalar(select(PredictionRun.id).where(PredictionRun.status == RunStatus.queued).limit(1))
            is None
        ):
            return None
    with context.db.transaction() as session:
        oldest = (
            select(PredictionRun.id)
            .where(PredictionRun.status == RunStatus.queued)
            .order_by(PredictionRun.id)
        )
        if context.db.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        run_id = session.scalar(oldest.limit(1))
        if run_id is None:
            return None
        now = utcnow()
        claimed = session.execute(
            update(PredictionRun)
            .where(PredictionRun.id == run_id, PredictionRun.status == RunStatus.queued)
            .values(status=RunStatus.running, worker=worker, started_at=now, heartbeat_at=now)
        )
        return run_id if claimed.rowcount == 1 else None


def execute(context, run_id: int) -> str:  # type: ignore[no-untyped-def]
    """Predict every series of the run, a chunk per transaction; returns the final status."""
    with context.db.reading() as session:
        run = service.get_run(session, run_id)
        request, trigger, owner = RunRequest.model_validate(run.request), Trigger(run.trigger), run.created_by
        schedule_id = run.schedule_id
    actor = Principal(name=owner, role=Role.editor)
    try:
        with context.db.reading() as session:
            series = service.resolve_series(session, context.store, request)
        _progress(context, run_id, done=0, total=len(series), made=0)
        made = 0
        for start in range(0, len(series), CHUNK):
            part = request.model_copy(update={"series": series[start : start + CHUNK]})
            with context.db.transaction() as session:
                made += len(
                    service.run_inline(
                        session,
                        context.store,
                        context.inference,
                        part,
                        actor,
                        trigger=trigger,
                        run_id=run_id,
                        schedule_id=schedule_id,
                    )
                )
            _progress(context, run_id, done=min(start + CHUNK, len(series)), total=len(series), made=made)
        return _finish(context, run_id, RunStatus.succeeded)
    except Exception as exc:  # the run fails, the worker lives on
        log.warning("prediction run %s failed", run_id, exc_info=True)
        return _finish(context, run_id, RunStatus.failed, error=getattr(exc, "detail", None) or str(exc))


def _progress(context, run_id: int, *, done: int, total: int, made: int) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        session.execute(
            update(PredictionRun)
            .where(PredictionRun.id == run_id)
            .values(series_done=done, series_total=total, predictions=made, heartbeat_at=utcnow())
        )


def _finish(context, run_id: int, status: RunStatus, error: str | None = None) -> str:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        session.execute(
            update(PredictionRun)
            .where(PredictionRun.id == run_id)
            .values(status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow())
        )
    return str(status)


def recover_stale(context) -> list[int]:  # type: ignore[no-untyped-def]
    """Runs left running by a worker that stopped beating: failed with the reason, never left running."""
    cutoff = utcnow() - STALE_AFTER
    failed = []
    with context.db.transaction() as session:
        for run in session.scalars(select(PredictionRun).where(PredictionRun.status == RunStatus.running)):
            if run.heartbeat_at is None or as_utc(run.heartbeat_at) < cutoff:
                run.status, run.finished_at = RunStatus.failed, utcnow()
                run.error = (
                    f"worker {run.worker} stopped answering; "
                    f"{run.series_done} of {run.series_total} series were done"
                )
                failed.append(run.id)
    return failed


class PredictionWorker:
    """The server's background thread: fires due schedules, then does queued runs."""

    def __init__(self, context, poll_s: float = 1.0) -> None:  # type: ignore[no-untyped-def]
        self.context, self.poll_s, self.name = context, poll_s, worker_name()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PredictionWorker:
        recover_stale(self.context)
        self._thread = threading.Thread(target=self._loop, name="helios-predictions", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run_once(self) -> bool:
        """One pass; True when it found something to do."""
        fired = schedules.fire_due(self.context, self.name)
        run_id = claim_next(self.context, self.name)
        if run_id is not None:
            execute(self.context, run_id)
        return bool(fired) or run_id is not None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.run_once()
            except Exception:  # a database hiccup must not end the thread
                log.warning("prediction worker pass failed", exc_info=True)
                busy = False
            if not busy:
                self._stopping.wait(self.poll_s)
