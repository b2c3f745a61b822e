"""Training jobs, their metric points and their journal. The database is the truth for job
state: workers claim, heartbeat and finish jobs here, and a server restart reads it back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helios.core.clock import utcnow
from helios.db.base import Base, StrEnumText
from helios.training.schemas import JobStatus


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (Index("ix_training_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[JobStatus] = mapped_column(StrEnumText(JobStatus), default=JobStatus.queued)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"), index=True)
    series: Mapped[list | None] = mapped_column(JSON)  # None: every series
    family: Mapped[str] = mapped_column(String(64), index=True)
    hyperparameters: Mapped[dict] = mapped_column(JSON, default=dict)
    early_stopping: Mapped[dict | None] = mapped_column(JSON)
    validation: Mapped[dict] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(default=0)
    target_model: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)  # a person's words about the run, editable later
    timeout_s: Mapped[int | None]
    # What a person or the system asked of a running job: "stop" keeps the best, "cancel" discards.
    control: Mapped[str | None] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    epoch: Mapped[int] = mapped_column(default=0)
    epochs_total: Mapped[int | None]
    best_metric: Mapped[float | None] = mapped_column(Float)
    best_epoch: Mapped[int | None]
    worker: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    stop_reason: Mapped[str | None] = mapped_column(String(255))
    result_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    final_metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")


class TrainingMetric(Base):
    __tablename__ = "training_metrics"
    # One value per (job, step, name): a job resumed from a checkpoint replaces the points it
    # reports again instead of storing them twice.
    __table_args__ = (
        Index("ix_training_metrics_job_id_id", "job_id", "id"),
        UniqueConstraint("job_id", "step", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"))
    step: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TrainingJournal(Base):
    __tablename__ = "training_journal"
    __table_args__ = (Index("ix_training_journal_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(8), default="info")
    message: Mapped[str] = mapped_column(Text)
