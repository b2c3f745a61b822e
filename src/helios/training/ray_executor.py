"""``HELIOS_EXECUTOR=ray``: jobs run as Ray tasks (``HELIOS_RAY_ADDRESS``, or a local Ray).

A dispatcher thread in the server claims queued jobs exactly like a local worker (the database
stays the truth), submits each as a Ray task that runs the same ``run_job``, enforces timeouts
with ``ray.cancel(force=True)``, and fails a job whose task died without finishing it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import select, update

from helios.context import AppContext
from helios.core.clock import utcnow
from helios.training.schemas import JobStatus
from helios.training.tables import TrainingJob
from helios.training.workers import claim_next, fail_running, recover_orphans

log = logging.getLogger(__name__)


def _run_remote(settings_json: str, job_id: int) -> str:
    from helios.config import Settings
    from helios.context import AppContext
    from helios.training.runner import run_job

    context = AppContext.build(Settings.model_validate_json(settings_json))
    try:
        return run_job(context, job_id)
    finally:
        context.db.dispose()


class RayDispatcher:
    def __init__(self, context: AppContext, address: str | None, slots: int = 1) -> None:
        self.context = context
        self.address = address
        self.slots = slots
        self.running: dict[int, tuple[Any, float, int | None]] = {}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(
                address=self.address or None,
                include_dashboard=False,
                log_to_driver=False,
                num_cpus=None if self.address else max(1, self.slots),
            )
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_run_remote)
        self.thread = threading.Thread(target=self._loop, name="helios-ray-dispatcher", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # keep dispatching; the error is in the log
                log.exception("ray dispatcher tick failed")
            self.stopping.wait(0.25)

    def tick(self) -> None:
        recover_orphans(self.context, stale_after_s=120)
        self._reap()
        while len(self.running) < self.slots:
            job_id = claim_next(self.context, f"ray:{self.address or 'local'}")
            if job_id is None:
                return
            settings = self.context.settings.model_copy(update={"database_url": self.context.db.url})
            ref = self.remote.remote(settings.model_dump_json(), job_id)
            with self.context.db.reading() as session:
                timeout = session.scalar(select(TrainingJob.timeout_s).where(TrainingJob.id == job_id))
            self.running[job_id] = (ref, time.monotonic(), timeout)

    def _reap(self) -> None:
        import ray

        for job_id, (ref, started, timeout) in list(self.running.items()):
            ready, _ = ray.wait([ref], timeout=0)
            if ready:
                self._settle(job_id, ref)
                del self.running[job_id]
            elif timeout and time.monotonic() - started > timeout:
                ray.cancel(ref, force=True)
                self._fail(job_id, f"timed out after {timeout} s; the Ray task was cancelled")
                del self.running[job_id]
            else:
                self._beat(job_id)

    def _settle(self, job_id: int, ref: Any) -> None:
        import ray

        try:
            ray.get(ref)
        except Exception as exc:  # the task died (worker crash, cancellation)
            self._fail(job_id, f"the Ray task ended without finishing the job: {type(exc).__name__}")

    def _beat(self, job_id: int) -> None:
        with self.context.db.transaction() as session:
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == job_id, TrainingJob.status == JobStatus.running)
                .values(heartbeat_at=utcnow())
            )

    def _fail(self, job_id: int, reason: str) -> None:
        fail_running(self.context, job_id, reason)
