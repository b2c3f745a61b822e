"""Real jobs through a real worker (child processes, the database as the truth): a job trains,
streams metrics, registers a model version; stop keeps the best; cancel discards; a timeout kills;
a worker killed with SIGKILL loses no finished epoch and its job resumes from the checkpoint."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.datasets import service as datasets
from helios.datasets.schemas import ImportRequest
from helios.forecasting.rules import POWERBALL
from helios.registry import service as registry
from helios.training import service, views
from helios.training.schemas import FINISHED, EarlyStoppingSettings, JobCreate, ValidationSettings
from helios.training.workers import Worker
from tests.forecasting.draw_samples import fair_draws

pytestmark = pytest.mark.slow
# Executor behaviour (stop, cancel, timeout, SIGKILL) is the same on both databases and costs real
# training time; the claim/recovery SQL is covered on both in test_service.py, so these run on SQLite.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SMALL_NBEATS = {
    "epochs": 4,
    "hidden_size": 16,
    "layers": 1,
    "blocks": 1,
    "steps_per_epoch": 2,
    "batch_size": 16,
    "horizon": 7,
    "input_multiple": 2,
}


def create(context: AppContext, **fields) -> int:  # type: ignore[no-untyped-def]
    body = JobCreate(
        **{
            "dataset": "prices",
            "family": "nbeats",
            "hyperparameters": SMALL_NBEATS,
            "validation": ValidationSettings(horizon=7, refit=False),
            **fields,
        }
    )
    with context.db.transaction() as session:
        return service.create_job(session, body, LOCAL_USER).id


def status(context: AppContext, job_id: int):  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return views.get_job_read(session, job_id)


def wait_for(predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def kill_after_epoch(context: AppContext, job_id: int, worker: subprocess.Popen, epoch: int) -> None:  # type: ignore[type-arg]
    """SIGKILLs the worker once the job has finished `epoch`, with the job still mid-training.

    Small epochs take milliseconds, so a worker left to run can finish all of them between two
    looks. The test holds SQLite's one write lock while it looks and lets go only briefly: every
    epoch writes its row before the next starts, so the worker advances an epoch or so per
    opening and cannot finish the job while it is being looked at."""
    gate = sqlite3.connect(make_url(context.db.url).database, isolation_level=None, timeout=30)
    deadline = time.monotonic() + 120.0
    try:
        while time.monotonic() < deadline:
            gate.execute("BEGIN IMMEDIATE")
            try:
                if status(context, job_id).epoch >= epoch:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
                    return
                time.sleep(0.01)
            finally:
                gate.execute("ROLLBACK")
            time.sleep(0.005)  # the opening: a write waiting in the worker goes through
        raise AssertionError(f"the job never reached epoch {epoch}")
    finally:
        gate.close()


def test_a_job_trains_and_registers_a_version(context: AppContext, prices: str) -> None:
    job_id = create(context, early_stopping=EarlyStoppingSettings(patience=3))
    assert Worker(context).run_once()
    read = status(context, job_id)
    assert read.status == "succeeded", read.error
    assert read.epoch == 4 and read.progress == 1.0 and read.result_version == 1
    assert {"mae", "mase", "smape"} <= set(read.final_metrics)
    with context.db.reading() as session:
        names = {p.name for p in views.metrics(session, job_id)}
        model = registry.get_model(session, "prices-nbeats")
        version = registry.get_version(session, model, 1)
        journal = " | ".join(line.message for line in views.journal_lines(session, job_id))
    assert {"train_loss", "val_loss"} <= names
    assert version.training_job_id == job_id and version.dataset_version_id is not None
    assert version.metrics["mase"] == pytest.approx(read.final_metrics["mase"])
    for expected in (
        "data: prices v1",
        "config: nbeats",
        "epoch 1:",
        "registered prices-nbeats v1",
        "succeeded",
    ):
        assert expected in journal
    registry.load_verified(context.store, version)  # the artifact loads and verifies


def run_in_background(context: AppContext) -> tuple[Worker, threading.Thread]:
    worker = Worker(context)
    thread = threading.Thread(target=worker.run_once, daemon=True)
    thread.start()
    return worker, thread


@sqlite_only
def test_stop_keeps_the_best_and_cancel_discards(context: AppContext, prices: str) -> None:
    # Stopped or cancelled after an epoch or two; the rest is margin, costing nothing unless a look is late.
    slow = {**SMALL_NBEATS, "epochs": 5000}
    stopped = create(context, hyperparameters=slow)
    _, thread = run_in_background(context)
    wait_for(lambda: status(context, stopped).epoch >= 2)
    with context.db.transaction() as session:
        service.request_stop(session, stopped, LOCAL_USER)
    thread.join(timeout=120)
    read = status(context, stopped)
    assert (
        read.status == "stopped_early"
        and read.result_version == 1
        and "stopped by a person" in read.stop_reason
    )
    cancelled = create(context, hyperparameters=slow)
    _, thread = run_in_background(context)
    wait_for(lambda: status(context, cancelled).epoch >= 1)
    with context.db.transaction() as session:
        service.request_cancel(session, cancelled, LOCAL_USER)
    thread.join(timeout=120)
    assert status(context, cancelled).status == "cancelled"
    with context.db.reading() as session:
        model = registry.get_model(session, "prices-nbeats")
        assert [v.version for v in model_versions(session, model)] == [1]


def model_versions(session, model):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from helios.registry.tables import ModelVersion

    return list(session.scalars(select(ModelVersion).where(ModelVersion.model_id == model.id)))


@sqlite_only
def test_timeout_kills_the_training_process(context: AppContext, prices: str) -> None:
    job_id = create(context, hyperparameters={**SMALL_NBEATS, "epochs": 5000}, timeout_s=3)
    Worker(context).run_once()
    read = status(context, job_id)
    assert read.status == "failed" and "timed out after 3 s" in read.error


@sqlite_only
def test_early_stopping_ends_the_job_as_stopped_early(context: AppContext, prices: str) -> None:
    job_id = create(
        context,
        hyperparameters={**SMALL_NBEATS, "epochs": 300, "learning_rate": 0.5},
        early_stopping=EarlyStoppingSettings(patience=1, min_delta=1e6),
    )
    Worker(context).run_once()
    read = status(context, job_id)
    assert read.status == "stopped_early" and read.epoch < 300
    assert read.result_version is not None


@pytest.fixture
def draws(context: AppContext) -> str:
    content = fair_draws(POWERBALL, "2016-01-02", 240, seed=1).to_csv(index=False, date_format="%Y-%m-%d")
    request = ImportRequest(name="draws", kind="draws", game="powerball")
    with context.db.transaction() as session:
        datasets.import_file(session, context.store, request, content.encode(), LOCAL_USER, max_bytes=10**7)
    return "draws"


# Both neural families train on the one loop and write the one checkpoint format (nn/trainer.py).
RESUMABLE_JOBS = {
    "nbeats": ("prices", {**SMALL_NBEATS, "epochs": 40}),
    "powerball_net": ("draws", {"epochs": 40, "d_model": 16, "heads": 2, "layers": 1, "context_draws": 8}),
}


@sqlite_only
@pytest.mark.parametrize("family", sorted(RESUMABLE_JOBS))
def test_sigkilled_worker_resumes_from_its_checkpoint(
    context: AppContext, family: str, request: pytest.FixtureRequest
) -> None:
    dataset, hyperparameters = RESUMABLE_JOBS[family]
    request.getfixturevalue(dataset)
    job_id = create(context, dataset=dataset, family=family, hyperparameters=hyperparameters)
    env = {**os.environ, "HELIOS_HOME": str(context.settings.home), "HELIOS_DATABASE_URL": context.db.url}
    worker = subprocess.Popen([sys.executable, "-m", "helios", "worker"], env=env, start_new_session=True)
    try:
        kill_after_epoch(context, job_id, worker, 3)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    killed_at = status(context, job_id).epoch
    with context.db.reading() as session:
        epochs_recorded = {p.step for p in views.metrics(session, job_id) if p.name == "train_loss"}
    assert set(range(1, killed_at + 1)) <= epochs_recorded  # no finished epoch lost
    assert status(context, job_id).status == "running"  # until a worker looks
    checkpoints = context.store.resolve(f"jobs/{job_id}/checkpoints")
    # The whole checkpoint is there; a kill during the next write may also leave that write's temp
    # file (".checkpoint.safetensors.<random>.tmp"), never read and removed when the job resumes.
    left = sorted(p.name for p in checkpoints.iterdir())
    assert "checkpoint.safetensors" in left
    assert all(
        n == "checkpoint.safetensors" or re.fullmatch(r"\.checkpoint\.safetensors\..+\.tmp", n) for n in left
    )
    Worker(context).run_once()  # finds the orphan, requeues it, claims it again and resumes
    read = status(context, job_id)
    if read.status == "queued":
        Worker(context).run_once()
        read = status(context, job_id)
    assert read.status in FINISHED and read.status == "succeeded", read.error
    assert read.attempts == 2 and read.epoch == 40 and read.result_version is not None
    with context.db.reading() as session:
        journal = [line.message for line in views.journal_lines(session, job_id)]
    assert any("requeued to resume" in line for line in journal)
    assert any("resuming from the last checkpoint" in line for line in journal)
    resumed = [
        line for line in journal if line.startswith("training started") and "resumed_from_epoch=" in line
    ]
    assert resumed and "resumed_from_epoch=None" not in resumed[-1]
