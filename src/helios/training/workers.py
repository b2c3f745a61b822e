"""Claiming and supervising jobs: the local executor.

A worker claims the oldest queued job atomically (one UPDATE that only a queued row matches;
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, BEGIN IMMEDIATE on SQLite), runs it in a child process
it can kill (per-job timeout, an unresponsive cancel), and keeps the job's heartbeat while the
child works. Jobs whose worker died are found by ``recover_orphans``: resumed from their last
checkpoint when the family can, otherwise failed with the reason. Never left running.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select, update

from helios.context import AppContext
from helios.core.clock import as_utc, utcnow
from helios.training.schemas import JobStatus
from helios.training.service import announce_finished, journal
from helios.training.tables import TrainingJob

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
CANCEL_GRACE_S = 10.0
POLL_S = 0.25
# While a child trains: a heartbeat (and a look at its timeout and cancel) every beat, a look at
# the child itself every CHILD_POLL_S.
BEAT_S = 1.0
CHILD_POLL_S = 0.05


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_next(context: AppContext, worker: str) -> int | None:
    with context.db.transaction() as session:
        oldest = (
            select(TrainingJob.id)
            .where(TrainingJob.status == JobStatus.queued)
            .order_by(TrainingJob.id)
            .limit(1)
        )
        if context.db.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        job_id = session.scalar(oldest)
        if job_id is None:
            return None
        now = utcnow()
        claimed = session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job_id, TrainingJob.status == JobStatus.queued)
            .values(
                status=JobStatus.running,
                worker=worker,
                attempts=TrainingJob.attempts + 1,
                heartbeat_at=now,
                started_at=now,
                control=None,
            )
        )
        if claimed.rowcount != 1:
            return None
        journal(session, job_id, f"claimed by worker {worker}")
        return job_id


# --- recovery -----------------------------------------------------------------------------------


def recover_orphans(context: AppContext, stale_after_s: float) -> list[int]:
    """Running jobs whose worker is gone: resume them from a checkpoint, or fail them with why."""
    recovered = []
    with context.db.transaction() as session:
        for job in session.scalars(
            select(TrainingJob).where(TrainingJob.status == JobStatus.running).with_for_update()
        ):
            if _worker_alive(job, stale_after_s):
                continue
            _recover(context, session, job)
            recovered.append(job.id)
    return recovered


def _worker_alive(job: TrainingJob, stale_after_s: float) -> bool:
    host, _, pid = (job.worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdecimal() and not job.worker.startswith("ray:"):
        return _pid_alive(int(pid))
    if job.heartbeat_at is None:
        return False
    return (utcnow() - as_utc(job.heartbeat_at)).total_seconds() < stale_after_s


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _recover(context: AppContext, session, job: TrainingJob) -> None:  # type: ignore[no-untyped-def]
    from helios.forecasting.checkpoint_header import saved_epoch
    from helios.forecasting.families import get_family

    checkpoints = context.store.resolve(f"jobs/{job.id}/checkpoints")
    resumable = get_family(job.family).iterative and checkpoints.is_dir() and any(checkpoints.iterdir())
    died = (
        f"worker {job.worker} stopped during epoch {job.epoch + 1}"
        if job.epoch
        else f"worker {job.worker} stopped"
    )
    if resumable and job.attempts < MAX_ATTEMPTS and job.control != "cancel":
        job.status, job.worker = JobStatus.queued, None
        # The checkpoint's own epoch, not the job's last reported one: checkpoints are written
        # every few seconds, so a fast job resumes from further back than it had got.
        saved = saved_epoch(checkpoints)
        where = f" (epoch {saved})" if saved else ""
        journal(session, job.id, f"{died}; requeued to resume from its last checkpoint{where}", "warning")
        return
    why = (
        "it had no checkpoint to resume from"
        if not resumable
        else f"it already ran {job.attempts} times"
        if job.attempts >= MAX_ATTEMPTS
        else "it was being cancelled"
    )
    job.status, job.finished_at, job.control = (
        (JobStatus.cancelled if job.control == "cancel" else JobStatus.failed),
        utcnow(),
        None,
    )
    job.error = f"{died}; not resumed because {why}"
    journal(session, job.id, job.error, "error")
    announce_finished(session, job)


# --- the worker loop ------------------------------------------------------------------------------


class Worker:
    """One worker: claims jobs one at a time and runs each in a child process."""

    def __init__(
        self,
        context: AppContext,
        *,
        stale_after_s: float = 60.0,
        name: str | None = None,
        parent_pid: int | None = None,
    ) -> None:
        self.context = context
        self.name = name or worker_name()
        self.stale_after_s = stale_after_s
        self.parent_pid = parent_pid
        self.stopping = threading.Event()

    def run_forever(self) -> None:
        log.info("worker %s started", self.name)
        while not self.stopping.is_set():
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                log.warning("worker %s: its server is gone; stopping", self.name)  # where prctl is missing
                break
            if not self.run_once():
                self.stopping.wait(POLL_S)

    def run_once(self) -> bool:
        recover_orphans(self.context, self.stale_after_s)
        job_id = claim_next(self.context, self.name)
        if job_id is None:
            return False
        self._supervise(job_id)
        return True

    def _supervise(self, job_id: int) -> None:
        child = subprocess.Popen(
            [sys.executable, "-m", "helios.training.child", str(job_id)],
            env=_child_env(self.context),
            preexec_fn=_die_with_parent,
        )
        started = time.monotonic()
        cancel_seen: float | None = None
        while self._trains_on(child):
            timeout, control = self._beat(job_id)
            if timeout and time.monotonic() - started > timeout:
                _kill(child)
                self._fail(job_id, f"timed out after {timeout} s; the training process was killed")
                return
            if control == "cancel":
                cancel_seen = cancel_seen or time.monotonic()
                if time.monotonic() - cancel_seen > CANCEL_GRACE_S:
                    _kill(child)
                    self._fail(
                        job_id,
                        "cancelled; the training process did not stop by itself and was killed",
                        status=JobStatus.cancelled,
                    )
                    return
        if child.poll() is None:  # the worker itself is shutting down
            _kill(child)
            return
        self._settle(job_id, child.returncode)

    def _trains_on(self, child: subprocess.Popen) -> bool:  # type: ignore[type-arg]
        """Wait a beat; False as soon as the child exits or the worker is told to stop. Watching
        the child in between, rather than sleeping the beat out, frees the worker for its next job
        the moment this one ends (a sleep kept it idle for up to a second after every job)."""
        deadline = time.monotonic() + BEAT_S
        while time.monotonic() < deadline:
            if child.poll() is not None or self.stopping.wait(CHILD_POLL_S):
                return False
        return child.poll() is None and not self.stopping.is_set()

    def _beat(self, job_id: int) -> tuple[int | None, str | None]:
        with self.context.db.transaction() as session:
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == job_id, TrainingJob.status == JobStatus.running)
                .values(heartbeat_at=utcnow())
            )
            job = session.get(TrainingJob, job_id)
            return job.timeout_s, job.control

    def _settle(self, job_id: int, returncode: int) -> None:
        """A child that died without finishing its job (crash, OOM kill) fails it, with the code."""
        with self.context.db.reading() as session:
            status = session.scalar(select(TrainingJob.status).where(TrainingJob.id == job_id))
        if status == JobStatus.running:
            self._fail(job_id, f"the training process exited with code {returncode} before finishing")

    def _fail(self, job_id: int, reason: str, status: str = JobStatus.failed) -> None:
        fail_running(self.context, job_id, reason, status)


def fail_running(context: AppContext, job_id: int, reason: str, status: str = JobStatus.failed) -> None:
    """The executor ends a job its training process could not (killed, timed out, vanished)."""
    with context.db.transaction() as session:
        job = session.scalar(select(TrainingJob).where(TrainingJob.id == job_id).with_for_update())
        if job.status != JobStatus.running:
            return
        job.status, job.finished_at, job.error, job.control = status, utcnow(), reason, None
        journal(session, job_id, reason, "error" if status == JobStatus.failed else "info")
        announce_finished(session, job)


def _child_env(context: AppContext) -> dict[str, str]:
    settings = context.settings
    return {
        **os.environ,
        "HELIOS_HOME": str(settings.home),
        "HELIOS_DATABASE_URL": context.db.url,
        "HELIOS_ARTIFACTS_DIR": str(settings.artifact_root),
    }


PARENT_ENV = "HELIOS_WORKER_PARENT"


class ParentGone(RuntimeError):
    """A worker spawned by a server whose server is no longer there."""


def bind_to_parent() -> int | None:
    """In a worker that ``helios serve`` spawned: the server's pid, after making sure this
    process dies with it. None for a worker someone started by hand."""
    expected = os.environ.get(PARENT_ENV)
    if not expected:
        return None
    _die_with_parent()
    if os.getppid() != int(expected):  # checked after prctl: the server may have died before it
        raise ParentGone(f"the server that started this worker (pid {expected}) is gone; not running")
    return int(expected)


def _die_with_parent() -> None:
    """Linux: the child gets SIGKILL when its worker dies, so a requeued job never trains twice."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _kill(child: subprocess.Popen) -> None:  # type: ignore[type-arg]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)


class WorkerPool:
    """``helios serve`` starts its workers as ``helios worker`` processes and stops them with it."""

    def __init__(self, context: AppContext, count: int) -> None:
        self.context = context
        self.count = count
        self.processes: list[subprocess.Popen] = []  # type: ignore[type-arg]

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        self.stopping = threading.Event()
        self.monitor = threading.Thread(target=self._watch, name="helios-worker-pool", daemon=True)
        self.monitor.start()

    def _spawn(self) -> subprocess.Popen:  # type: ignore[type-arg]
        # A worker dies with the server that spawned it (a killed server must not leave workers
        # claiming jobs), and refuses to run at all if that server is already gone.
        return subprocess.Popen(
            [sys.executable, "-m", "helios", "worker"],
            env={**_child_env(self.context), PARENT_ENV: str(os.getpid())},
            preexec_fn=_die_with_parent,
        )

    def _watch(self) -> None:
        """A worker that died (killed, crashed) is replaced, so queued jobs never wait forever;
        the new worker's recovery pass settles the job the dead one held."""
        while not self.stopping.wait(2.0):
            for index, process in enumerate(self.processes):
                if process.poll() is not None:
                    log.warning("worker %s exited with %s; starting another", process.pid, process.returncode)
                    self.processes[index] = self._spawn()

    def stop(self) -> None:
        if hasattr(self, "stopping"):
            self.stopping.set()
            self.monitor.join(timeout=5)
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
