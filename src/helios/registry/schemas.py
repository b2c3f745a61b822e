"""What crosses the registry's border."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helios.core.pagination import Page
from helios.core.parsing import SLUG_SCHEMA

ModelKind = Literal["ml", "llm"]


class Stage(StrEnum):
    """Where a model version is in its life; at most one version of a model is ``active``."""

    none = "none"
    staging = "staging"
    active = "active"
    archived = "archived"


class LlmConfig(BaseModel):
    """An OpenAI-compatible endpoint. The API key is referenced by the *name* of an environment
    variable on the server, never stored."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["openai-compatible"] = "openai-compatible"
    base_url: str = Field(
        description="e.g. http://127.0.0.1:11434/v1 for Ollama",
        json_schema_extra={"pattern": "^https?://", "format": "uri"},
    )
    model_name: str = Field(min_length=1, max_length=200)
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]{0,127}$",
        description="name of the environment variable holding the key",
    )
    default_params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")


class ModelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra=SLUG_SCHEMA)
    kind: ModelKind = "ml"
    task: str = Field(default="price", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    description: str = ""
    tags: list[str] = Field(default_factory=list, max_length=32)
    key_metric: str | None = None
    llm: LlmConfig | None = Field(default=None, description="for kind=llm: the first version's config")


class ModelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    tags: list[str] | None = None
    key_metric: str | None = None


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    stage: Stage
    aliases: list[str] = []
    family: str | None
    artifact_sha256: str | None
    artifact_bytes: int | None
    artifact_files: list[str] = []
    params: dict[str, Any]
    metrics: dict[str, Any]
    llm_config: dict[str, Any] | None
    training_job_id: int | None
    dataset_version_id: int | None
    dataset: str | None = Field(default=None, description="name@version of the dataset version")
    parent_version: int | None = None
    code_revision: str | None
    description: str
    created_at: dt.datetime
    created_by: str


class ModelSummary(BaseModel):
    id: int
    name: str
    kind: ModelKind
    task: str
    description: str
    tags: list[str]
    key_metric: str | None
    key_metric_value: float | None
    key_metric_trend: list[float | None] = Field(description="key metric across versions, oldest first")
    shown_metrics: dict[str, Any] = Field(
        default_factory=dict, description="every metric of the version the key metric is shown for"
    )
    version_count: int
    latest_version: int | None
    active_version: int | None
    staging_version: int | None
    updated_at: dt.datetime


class ModelList(Page[ModelSummary]):
    """Models in name order."""


class ModelDetail(ModelSummary):
    versions: list[VersionRead]
    aliases: dict[str, int]
    created_at: dt.datetime
    created_by: str


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    stage: Stage = Stage.active
    note: str = Field(default="", max_length=2000)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


class AliasRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    version: int


class DeploymentRead(BaseModel):
    id: int
    version: int
    from_stage: Stage
    to_stage: Stage
    actor: str
    at: dt.datetime
    note: str


class DeploymentList(Page[DeploymentRead]):
    """A model's stage changes, newest first."""

    active_now: int | None


class ActiveAt(BaseModel):
    at: dt.datetime
    version: int | None


class LineageNode(BaseModel):
    id: str
    kind: Literal[
        "dataset_version", "training_job", "model_version", "deployment", "prediction", "prompt_version"
    ]
    label: str
    data: dict[str, Any] = {}


class LineageEdge(BaseModel):
    source: str
    target: str
    relation: str


class Lineage(BaseModel):
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class JournalEntry(BaseModel):
    at: dt.datetime
    version: int | None
    level: Literal["info", "warning", "error"] = "info"
    message: str


class Journal(Page[JournalEntry]):
    """A model's whole story in time order: one page, never a cursor."""


class CacheEntry(BaseModel):
    model: str
    version: int
    bytes: int
    loads: int
    hits: int


class ModelInfo(BaseModel):
    name: str
    kind: ModelKind
    task: str
    active_version: int | None
    family: str | None
    artifact_bytes: int | None
    last_deployment: DeploymentRead | None
    cached_versions: list[int]
    cache: dict[str, Any]


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = None


class LoadResult(BaseModel):
    version: int
    bytes: int
    already_loaded: bool
    evicted: list[str]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, description="default: the active version")
    horizon: int = Field(default=7, ge=1, le=1000)
    levels: list[int] = Field(default=[80, 95], max_length=5)

    @field_validator("levels")
    @classmethod
    def _levels_in_range(cls, value: list[int]) -> list[int]:
        if any(not 0 < level < 100 for level in value):
            raise ValueError("levels must be between 1 and 99")
        return sorted(set(value))


class PredictResult(BaseModel):
    model: str
    version: int
    columns: list[str]
    rows: list[list[Any]]


class SeriesChoice(BaseModel):
    unique_id: str
    chosen: list[str] = Field(description="the candidates this series forecasts with (several: averaged)")
    reason: str = Field(description="why, in the words of the validation that chose")


class CandidateCost(BaseModel):
    candidate: str
    validation_s: float | None = Field(description="seconds validating it; null where it was not validated")
    final_fit_s: float | None = Field(
        description="seconds fitting it on all the data; null where no series kept it"
    )


class ModelChoices(BaseModel):
    """What an ``auto`` version chose per series and why, and what each candidate cost to find out."""

    model: str
    version: int
    family: str
    series: list[SeriesChoice] = Field(description="one per series, in the model's series order")
    counts: dict[str, int] = Field(
        description="series per candidate, most used first (a blend counts for each)"
    )
    costs: list[CandidateCost] = Field(description="costliest first (validation + final fit)")
    scores_note: str = Field(default="", description="how to read the scores each reason quotes")
