"""What crosses the agents' border."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from helios.core.pagination import Page

AGENT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class WatchedSeries(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, max_length=64)
    tickers: list[str] = Field(default_factory=list, max_length=1000)


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=AGENT_NAME, description="letters, digits, _ . -; up to 64")
    description: str = Field(default="", max_length=2000)
    models: list[str] = Field(default_factory=list, max_length=50, description="registry model names")
    watches: list[WatchedSeries] = Field(default_factory=list, max_length=50)
    assistant: str | None = Field(
        default=None, max_length=64, description="the assistant that explains it, by name or id"
    )


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    models: list[str] | None = Field(default=None, max_length=50)
    watches: list[WatchedSeries] | None = Field(default=None, max_length=50)
    assistant: str | None = Field(
        default=None, max_length=64, description="an assistant by name or id; null takes it away"
    )


class AgentAssistant(BaseModel):
    """The agent's assistant as the assistants service knows it now; ``found`` is false once the
    assistant has been deleted (the agent keeps the name so a person sees what it pointed at)."""

    name: str
    found: bool
    role: str | None = None
    llm_model: str | None = None
    llm_version: int | None = None


class AgentSchedule(BaseModel):
    """A prediction schedule that runs one of the agent's models on a series it watches."""

    name: str
    cron: str
    enabled: bool
    dataset: str
    series: list[str] | Literal["all"]
    models: list[str]
    next_run_at: dt.datetime
    last_run_at: dt.datetime | None = None
    last_status: str | None = None


class AgentRead(BaseModel):
    id: int
    name: str
    description: str
    models: list[str]
    watches: list[WatchedSeries]
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None
    memory_count: int = Field(description="live (not deleted) memories")
    assistant: AgentAssistant | None = None
    schedules: list[AgentSchedule] = Field(
        default_factory=list, description="schedules running its models on the series it watches"
    )


class AgentList(Page[AgentRead]):
    pass


class AgentDeleted(BaseModel):
    agent: str
    memories_deleted: int
    deletion_id: int | None = Field(description="undo with POST /agents/{name}/restore")


class AgentForecast(BaseModel):
    """The newest prediction of one of the agent's models for one series it watches."""

    prediction_id: int
    dataset: str
    unique_id: str
    model: str
    model_version: int
    origin: dt.datetime
    horizon: int
    trigger: str
    created_at: dt.datetime


class AgentAccuracy(BaseModel):
    """How one model version did on one watched series (the ledger's accuracy, condensed)."""

    dataset: str
    unique_id: str
    model: str
    model_version: int
    scored_points: int
    mae: float | None = None
    mase: float | None = None
    coverage_95: float | None = Field(default=None, description="observed share inside the 95% interval")
    relative_mae: float | None = Field(
        default=None, description="MAE over the naive forecast's; below 1 wins"
    )
    verdict: str


class AgentPredictions(BaseModel):
    latest: list[AgentForecast]
    accuracy: list[AgentAccuracy]
