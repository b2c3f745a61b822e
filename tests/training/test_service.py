"""Job creation, atomic claiming, orphan recovery and controls, without training anything."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.core.errors import Conflict, InvalidInput, NotFound
from helios.training import service, views
from helios.training.schemas import EarlyStoppingPatch, EarlyStoppingSettings, JobCreate
from helios.training.tables import TrainingJob
from helios.training.workers import claim_next, recover_orphans


def create(context: AppContext, **fields) -> int:  # type: ignore[no-untyped-def]
    body = JobCreate(**{"dataset": "prices", "family": "nbeats", **fields})
    with context.db.transaction() as session:
        return service.create_job(session, body, LOCAL_USER).id


def test_create_validates_hyperparameters_against_the_family(context: AppContext, prices: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        create(context, hyperparameters={"epochs": 0, "colour": "red"})
    fields = {e["field"] for e in caught.value.errors}
    assert "hyperparameters.epochs" in fields and "hyperparameters.colour" in fields
    with pytest.raises(InvalidInput, match="unknown model family"):
        create(context, family="crystal_ball")
    with pytest.raises(InvalidInput, match="draws dataset"):
        create(context, family="powerball_net")
    with pytest.raises(InvalidInput, match="'ZZZ'"):
        create(context, series=["ZZZ"])
    with pytest.raises(NotFound):
        create(context, dataset="ghost")
    with context.db.reading() as session:
        assert views.list_jobs(session).total == 0


def test_a_job_is_queued_with_defaults_and_a_journal(context: AppContext, prices: str) -> None:
    job_id = create(context, hyperparameters={"epochs": 3}, early_stopping=EarlyStoppingSettings(patience=2))
    with context.db.reading() as session:
        read = views.get_job_read(session, job_id)
        lines = views.journal_lines(session, job_id)
    assert read.status == "queued" and read.target_model == "prices-nbeats"
    assert read.hyperparameters["epochs"] == 3 and read.early_stopping["patience"] == 2
    assert read.dataset == "prices" and read.dataset_version == 1
    assert "queued by local" in lines[0].message


def test_racing_workers_claim_each_job_exactly_once(context: AppContext, prices: str) -> None:
    jobs = [create(context) for _ in range(5)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda i: claim_next(context, f"w{i}"), range(16)))
    claimed = [c for c in claims if c is not None]
    assert sorted(claimed) == jobs
    with context.db.reading() as session:
        assert {j.status for j in session.query(TrainingJob)} == {"running"}


def test_orphan_without_checkpoint_fails_with_the_reason(context: AppContext, prices: str) -> None:
    job_id = create(context)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    import socket

    claim_next(context, f"{socket.gethostname()}:{dead.stdout.strip()}")
    assert recover_orphans(context, stale_after_s=60) == [job_id]
    with context.db.reading() as session:
        job = service.get_job(session, job_id)
        assert job.status == "failed" and "no checkpoint" in job.error


def test_orphan_with_a_checkpoint_is_requeued_to_resume(context: AppContext, prices: str) -> None:
    job_id = create(context)
    claim_next(context, "elsewhere:1")
    checkpoints = context.store.resolve(f"jobs/{job_id}/checkpoints")
    checkpoints.mkdir(parents=True)
    (checkpoints / "latest.json").write_text("{}")
    with context.db.transaction() as session:
        session.get(TrainingJob, job_id).heartbeat_at = None
    assert recover_orphans(context, stale_after_s=60) == [job_id]
    with context.db.reading() as session:
        job = service.get_job(session, job_id)
        assert job.status == "queued" and "resume" in views.journal_lines(session, job_id)[-1].message


def test_a_resumed_job_is_said_to_restart_from_its_checkpoints_epoch(
    context: AppContext, prices: str
) -> None:
    """The journal quotes the epoch the checkpoint was written after, read from its header, not
    the last epoch the job reported: a fast job checkpoints every few seconds, not every epoch."""
    import json
    import struct

    job_id = create(context)
    claim_next(context, "elsewhere:1")
    checkpoints = context.store.resolve(f"jobs/{job_id}/checkpoints")
    checkpoints.mkdir(parents=True)
    header = json.dumps({"__metadata__": {"helios": json.dumps({"format": 1, "epoch": 5})}}).encode()
    (checkpoints / "checkpoint.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with context.db.transaction() as session:
        job = session.get(TrainingJob, job_id)
        job.heartbeat_at, job.epoch = None, 23
    assert recover_orphans(context, stale_after_s=60) == [job_id]
    with context.db.reading() as session:
        message = views.journal_lines(session, job_id)[-1].message
    assert "during epoch 24" in message and "resume from its last checkpoint (epoch 5)" in message


def test_live_worker_keeps_its_job(context: AppContext, prices: str) -> None:
    import socket

    job_id = create(context)
    claim_next(context, f"{socket.gethostname()}:{os.getpid()}")
    assert recover_orphans(context, stale_after_s=60) == []
    with context.db.reading() as session:
        assert service.get_job(session, job_id).status == "running"


def test_stop_cancel_and_early_stopping_controls(context: AppContext, prices: str) -> None:
    queued = create(context)
    with context.db.transaction() as session:
        assert service.request_stop(session, queued, LOCAL_USER).status == "cancelled"
    with context.db.transaction() as session, pytest.raises(Conflict):
        service.request_cancel(session, queued, LOCAL_USER)
    running = create(context, early_stopping=EarlyStoppingSettings())
    claim_next(context, "w")
    with context.db.transaction() as session:
        job = service.patch_early_stopping(
            session, running, EarlyStoppingPatch(patience=9, min_delta=0.01), LOCAL_USER
        )
        assert job.early_stopping["patience"] == 9 and job.early_stopping["min_delta"] == 0.01
        assert service.request_stop(session, running, LOCAL_USER).control == "stop"
        off = service.patch_early_stopping(session, running, EarlyStoppingPatch(enabled=False), LOCAL_USER)
        assert off.early_stopping is None


def test_datasets_with_jobs_cannot_be_deleted(context: AppContext, prices: str) -> None:
    from helios.datasets import service as datasets

    create(context)
    with context.db.transaction() as session, pytest.raises(Conflict, match="training job"):
        datasets.delete_dataset(session, "prices", LOCAL_USER)


def test_the_job_seed_reaches_the_family_and_horizons_must_fit(context: AppContext, prices: str) -> None:
    job_id = create(context, seed=42, hyperparameters={"horizon": 7}, validation={"horizon": 7})
    with context.db.reading() as session:
        assert service.get_job(session, job_id).hyperparameters["seed"] == 42
    with pytest.raises(InvalidInput) as caught:
        create(context, hyperparameters={"horizon": 7}, validation={"horizon": 14})
    assert caught.value.errors[0]["field"] == "validation.horizon"


def test_the_validation_horizon_is_resolved_once_at_creation(context: AppContext, prices: str) -> None:
    """Not given: the family's own horizon if it has one, else the default; every client the same."""
    from helios.training.schemas import DEFAULT_VALIDATION_HORIZON

    learned = create(context, hyperparameters={"horizon": 9})
    plain = create(context, family="naive")
    asked = create(context, family="naive", validation={"horizon": 5})
    with context.db.reading() as session:
        horizons = [views.get_job_read(session, j).validation["horizon"] for j in (learned, plain, asked)]
    assert horizons == [9, DEFAULT_VALIDATION_HORIZON, 5]


def test_a_holdout_that_leaves_too_little_to_train_on_is_refused(context: AppContext, prices: str) -> None:
    # 120 daily points, weekly season: scoring needs 8 before the holdout, so at most 112 held out.
    with pytest.raises(InvalidInput, match="at most 112") as caught:
        create(context, family="naive", validation={"horizon": 115})
    assert caught.value.errors == [{"field": "validation.horizon", "message": "at most 112"}]
    create(context, family="naive", validation={"horizon": 112})
    with context.db.reading() as session:
        assert views.list_jobs(session).total == 1


def test_jobs_are_found_by_model_tag_note_or_number(context: AppContext, prices: str) -> None:
    from helios.training.schemas import JobAnnotation

    first = create(context, family="naive", tags=["Weekly_100%"])
    second = create(context, family="drift", target_model="prices-trend")
    with context.db.transaction() as session:
        service.annotate_job(session, second, JobAnnotation(note="Trend check"), LOCAL_USER)
    with context.db.reading() as session:

        def found(q: str) -> list[int]:
            return sorted(j.id for j in views.list_jobs(session, q=q).items)

        assert found("weekly_100%") == [first]  # tags, case-insensitive, % and _ literal
        assert found("100_") == []
        assert found("trend") == [second]  # the model name and the note
        assert found(f"#{first}") == [first] and found(str(second)) == [second]
        assert found("  ") == [first, second]


def test_the_pool_replaces_a_worker_that_died(context: AppContext) -> None:
    import time

    from helios.training.workers import WorkerPool

    pool = WorkerPool(context, 1)
    pool.start()
    try:
        first = pool.processes[0]
        first.kill()
        first.wait()
        deadline = time.monotonic() + 30
        while pool.processes[0] is first and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pool.processes[0] is not first and pool.processes[0].poll() is None
    finally:
        pool.stop()
    assert all(p.poll() is not None for p in pool.processes) or not pool.processes
