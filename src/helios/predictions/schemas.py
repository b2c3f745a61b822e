"""What crosses the predictions border: run requests, predictions with their points and actuals,
scores, accuracy reports, runs and schedules."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from helios.core.pagination import Page
from helios.predictions.tables import SUPPORTED_LEVELS

MAX_HORIZON = 366
MAX_SERIES_INLINE = 1  # more series than this run as a job


class Trigger(StrEnum):
    on_demand = "on_demand"
    schedule = "schedule"
    api = "api"


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class ModelRef(BaseModel):
    """A model by name; its active version unless ``version`` or ``alias`` names another."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)
    alias: str | None = Field(default=None, max_length=64)


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=64)
    dataset_version: int | Literal["latest"] = "latest"
    series: str | list[str] | Literal["all"] = Field(description="one ticker, a list of tickers, or 'all'")
    models: list[ModelRef | str] = Field(min_length=1, max_length=20)
    horizon: int = Field(ge=1, le=MAX_HORIZON)
    levels: list[int] = Field(default_factory=lambda: [80, 95], min_length=1, max_length=5)
    volatility_model: ModelRef | str | None = None

    @field_validator("levels")
    @classmethod
    def _supported_levels(cls, levels: list[int]) -> list[int]:
        unsupported = [level for level in levels if level not in SUPPORTED_LEVELS]
        if unsupported:
            raise ValueError(f"levels {unsupported} are not stored; choose from {list(SUPPORTED_LEVELS)}")
        return sorted(set(levels))

    def model_refs(self) -> list[ModelRef]:
        return [ModelRef(name=m) if isinstance(m, str) else m for m in self.models]

    def volatility_ref(self) -> ModelRef | None:
        v = self.volatility_model
        return ModelRef(name=v) if isinstance(v, str) else v


class PointRead(BaseModel):
    step: int
    ds: dt.datetime
    mean: float | None
    sigma: float | None = None
    bounds: dict[str, list[float | None]] = Field(default_factory=dict, description="level -> [lo, hi]")
    probabilities: dict[str, Any] | None = None
    actual: float | None = None
    actual_draw: dict[str, Any] | None = None
    first_actual: float | None = Field(
        default=None, description="the first actual, when it was revised since"
    )
    error: float | None = None
    inside: dict[str, bool | None] = Field(default_factory=dict)
    matches: int | None = None


class PredictionRead(BaseModel):
    id: int
    model: str
    model_version: int
    family: str
    task: str
    dataset: str
    dataset_version: int
    unique_id: str
    origin: dt.datetime
    origin_value: float | None
    horizon: int
    levels: list[int]
    start_mode: str
    volatility_model: str | None
    volatility_version: int | None
    trigger: str
    run_id: int | None
    created_at: dt.datetime
    created_by: str
    points: list[PointRead] = Field(default_factory=list)


class PredictionList(Page[PredictionRead]):
    pass


class RunResult(BaseModel):
    """An inline run answers its predictions; a run over many series answers its job."""

    predictions: list[PredictionRead] = Field(default_factory=list)
    run: RunRead | None = None


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: RunStatus
    request: dict[str, Any]
    trigger: str
    series_total: int
    series_done: int
    predictions: int
    error: str | None
    created_at: dt.datetime
    created_by: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> float:
        return self.series_done / self.series_total if self.series_total else 0.0


class RunList(Page[RunRead]):
    pass


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    cron: str = Field(min_length=1, max_length=128, description="5-field cron, UTC: '30 21 * * 1-5'")
    missed: Literal["skip", "catch_up"] = Field(
        default="skip", description="after downtime: run once and move on, or run every missed time"
    )
    enabled: bool = True
    request: RunRequest


class ScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    cron: str
    missed: str
    enabled: bool
    request: dict[str, Any]
    next_run_at: dt.datetime
    last_run_at: dt.datetime | None
    last_status: str | None
    created_at: dt.datetime
    created_by: str


class ScheduleList(Page[ScheduleRead]):
    pass


class ActualRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unique_id: str = Field(min_length=1, max_length=128)
    ds: dt.datetime
    y: float


class ActualsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(default=None, description="limit to predictions on this dataset")
    rows: list[ActualRow] = Field(min_length=1, max_length=100_000)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=64)
    version: int | Literal["latest"] = "latest"


class ScoringReport(BaseModel):
    points_matched: int
    scored: int
    revised: int
    unchanged: int
    predictions: int


class Coverage(BaseModel):
    level: int
    nominal: float
    observed: float
    lo: float = Field(description="95% Wilson interval of the observed coverage")
    hi: float
    n: int


class Metrics(BaseModel):
    n: int
    mae: float | None = None
    rmse: float | None = None
    mape: float | None = None
    smape: float | None = None
    mase: float | None = None
    directional_accuracy: float | None = None
    qlike: float | None = None
    interval_score: dict[str, float] = Field(default_factory=dict, description="mean Winkler score per level")
    coverage: list[Coverage] = Field(default_factory=list)


class Skill(BaseModel):
    """Relative MAE against the naive forecast on the same targets (below 1 is better)."""

    n: int
    relative_mae: float | None = None
    lo: float | None = None
    hi: float | None = None
    verdict: str


class StepAccuracy(Metrics):
    step: int


class Period(Metrics):
    start: dt.datetime


class AccuracyGroup(Metrics):
    model: str
    version: int
    unique_id: str | None = None
    skill: Skill
    by_step: list[StepAccuracy] = Field(default_factory=list)
    rolling: list[Period] = Field(default_factory=list)


class DrawSkill(BaseModel):
    model: str
    version: int
    draws: int
    mean_matches: float | None = None
    mean_log_loss_gain: float | None = Field(default=None, description="uniform log-loss minus the model's")
    p_value: float | None = None
    verdict: str


class AccuracyReport(BaseModel):
    scored_points: int
    groups: list[AccuracyGroup]
    draws: list[DrawSkill] = Field(default_factory=list)


RunResult.model_rebuild()
