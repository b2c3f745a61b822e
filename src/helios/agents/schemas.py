"""What crosses the agents' border."""

from __future__ import annotations

import datetime as dt

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


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    models: list[str] | None = Field(default=None, max_length=50)
    watches: list[WatchedSeries] | None = Field(default=None, max_length=50)


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


class AgentList(Page[AgentRead]):
    pass


class AgentDeleted(BaseModel):
    agent: str
    memories_deleted: int
    deletion_id: int | None = Field(description="undo with POST /agents/{name}/restore")
