"""Metrics after a resume (issue 9): a job that reported epochs 1-3, crashed and resumed from its
epoch-1 checkpoint reports epochs 2-3 again; those replace the stored points instead of doubling
them, and the database holds one value per (job, step, name)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.training import service, views
from helios.training.schemas import JobCreate
from helios.training.tables import TrainingMetric


def _read(context: AppContext, job_id: int):  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return sorted(views.metrics(session, job_id), key=lambda p: (p.step, p.name))


def test_a_resumed_job_replaces_the_points_it_reports_again(context: AppContext, prices: str) -> None:
    with context.db.transaction() as session:
        job_id = service.create_job(session, JobCreate(dataset="prices", family="nbeats"), LOCAL_USER).id
    for epoch in (1, 2, 3):
        with context.db.transaction() as session:
            service.record_metrics(session, job_id, [(epoch, "loss", float(epoch)), (epoch, "val_loss", 9.0)])
    for epoch in (2, 3):  # the resume from the epoch-1 checkpoint replays these
        with context.db.transaction() as session:
            service.record_metrics(session, job_id, [(epoch, "loss", epoch / 10), (epoch, "val_loss", 8.0)])
    stored = [(p.step, p.name, p.value) for p in _read(context, job_id)]
    assert stored == [
        (1, "loss", 1.0),
        (1, "val_loss", 9.0),
        (2, "loss", 0.2),
        (2, "val_loss", 8.0),
        (3, "loss", 0.3),
        (3, "val_loss", 8.0),
    ]
    with pytest.raises(IntegrityError), context.db.transaction() as session:
        session.add(TrainingMetric(job_id=job_id, step=1, name="loss", value=0.0))
        session.flush()
