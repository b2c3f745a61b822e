"""What crosses the training border."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from helios.core.pagination import Page


class JobStatus(StrEnum):
    """A training job's life: queued -> running -> one of the four finished statuses."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    stopped_early = "stopped_early"


FINISHED = (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled, JobStatus.stopped_early)

# The validation horizon when neither the request nor the family's own ``horizon`` names one. Resolved
# once, by the training service at job creation, so the UI, CLI and client all score the same way.
DEFAULT_VALIDATION_HORIZON = 14


class EarlyStoppingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monitor: str = Field(default="val_loss", description="metric watched each epoch")
    mode: Literal["min", "max"] = "min"
    patience: int = Field(
        default=5, ge=1, le=10_000, description="epochs without improvement before stopping"
    )
    min_delta: float = Field(default=0.0, ge=0.0, description="smallest change that counts as improvement")
    restore_best: bool = True


class EarlyStoppingPatch(BaseModel):
    """Change the rule of a running job; unset fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    monitor: str | None = None
    mode: Literal["min", "max"] | None = None
    patience: int | None = Field(default=None, ge=1, le=10_000)
    min_delta: float | None = Field(default=None, ge=0.0)
    enabled: bool | None = Field(default=None, description="false turns early stopping off")


class ValidationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["holdout", "rolling"] = "holdout"
    horizon: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="steps scored per window; default: the family's horizon hyperparameter if it has one, "
        f"else {DEFAULT_VALIDATION_HORIZON}",
    )
    windows: int = Field(default=1, ge=1, le=20, description="rolling: number of origins")
    refit: bool = Field(
        default=True, description="after scoring, refit on all the data for the registered model"
    )


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    dataset_version: int | Literal["latest"] = "latest"
    series: list[str] | None = Field(default=None, description="default: every series")
    family: str
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    early_stopping: EarlyStoppingSettings | None = None
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    target_model: str | None = Field(
        default=None, description="model to register into; default <dataset>-<family>"
    )
    tags: list[str] = Field(default_factory=list, max_length=32)
    timeout_s: int | None = Field(default=None, ge=1, le=7 * 86400)


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class JobAnnotation(BaseModel):
    """Tags and a note on a run; unset fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] | None = Field(default=None, max_length=32, description="replaces the run's tags")
    note: str | None = Field(default=None, max_length=4000, description="empty string clears the note")


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latest_version: bool = Field(
        default=False, description="train on the dataset's latest version instead of the job's own"
    )


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: JobStatus
    dataset: str
    dataset_version: int
    series: list[str] | None
    family: str
    hyperparameters: dict[str, Any]
    early_stopping: dict[str, Any] | None
    validation: dict[str, Any]
    seed: int
    target_model: str
    tags: list[str]
    note: str | None = None
    timeout_s: int | None
    control: str | None
    progress: float
    epoch: int
    epochs_total: int | None
    best_metric: float | None
    best_epoch: int | None
    worker: str | None
    attempts: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_s: float | None
    error: str | None
    stop_reason: str | None
    result_version: int | None
    final_metrics: dict[str, Any]
    created_at: dt.datetime
    created_by: str


class JobList(Page[JobRead]):
    """Jobs in the requested ``sort`` order; ``total`` counts every match."""


class MetricPoint(BaseModel):
    id: int
    step: int
    name: str
    value: float
    at: dt.datetime


class MetricsRead(BaseModel):
    job_id: int
    status: JobStatus
    points: list[MetricPoint]
    last_id: int = Field(description="pass as ?since= to get only newer points")


class JournalLine(BaseModel):
    id: int
    at: dt.datetime
    level: str
    message: str


class JournalRead(BaseModel):
    job_id: int
    items: list[JournalLine]


class FamilyRead(BaseModel):
    slug: str
    task: str
    iterative: bool
    description: str
    hyperparameters_schema: dict[str, Any]


class FamilyList(Page[FamilyRead]):
    """Every model family this server can train: one page, never a cursor."""


class RunCurves(BaseModel):
    job_id: int
    label: str
    curves: dict[str, list[tuple[int, float]]]
    final_metrics: dict[str, Any]


class Comparison(BaseModel):
    runs: list[RunCurves]
    params_diff: dict[str, dict[str, Any]] = Field(
        description="param -> {job id: value}, only params that differ"
    )
    params_same: dict[str, Any]


# --- the validation forecast: what the job page plots against the actuals ----------------------------

Number = float | None  # a value JSON can carry: NaN and infinities are stored as null


class IntervalBand(BaseModel):
    level: int = Field(description="nominal coverage in percent, e.g. 95")
    lo: list[Number]
    hi: list[Number]


class ValidationSeries(BaseModel):
    """One series on the holdout: the history just before the origin, then forecast and actuals per step."""

    unique_id: str
    history_ds: list[str] = Field(description="the last training points before the origin (context)")
    history_y: list[Number]
    ds: list[str] = Field(description="the holdout steps, after the origin")
    actual: list[Number]
    forecast: list[Number] = Field(description="the model's mean forecast, made from the training data only")
    naive: list[Number] = Field(description="the (seasonal) naive forecast from the same origin")
    intervals: list[IntervalBand] = Field(default_factory=list)
    mae: Number = None
    naive_mae: Number = None


class DrawValidation(BaseModel):
    """A draws model on its held-out draws: how much more probability than chance it gave each draw."""

    ds: list[str]
    log_likelihood_ratio: list[Number] = Field(
        description=(
            "per draw, log p(drawn numbers | model) - log p(... | uniform chance), in nats; > 0 beat chance"
        )
    )
    main_matches: list[Number] = Field(description="mean main numbers matched per sampled ticket")
    chance_main_matches: list[Number] = Field(description="what a uniformly random ticket expects")


class ValidationRead(BaseModel):
    """The forecast a job scored on its holdout. Series are capped (``series_total`` says how many
    there were)."""

    job_id: int
    kind: Literal["series", "draws"]
    horizon: int
    season_length: int = 1
    naive_method: str = Field(default="", description="what the naive forecast is, in words")
    series_total: int = 0
    series: list[ValidationSeries] = Field(default_factory=list)
    draws: DrawValidation | None = None
