"""What crosses the memory domain's border."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helios.core.pagination import Page

MAX_CONTENT = 10_000
MAX_BATCH = 1_000
MAX_METADATA_BYTES = 16_384


class MemoryKind(enum.StrEnum):
    fact = "fact"
    episode = "episode"
    lesson = "lesson"
    preference = "preference"


class MemorySource(enum.StrEnum):
    user = "user"
    api = "api"
    system = "system"


class MemoryOrder(enum.StrEnum):
    time = "time"
    strength = "strength"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # A time without a zone is read as UTC, the zone every stored time is in.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is larger than {MAX_METADATA_BYTES:,} bytes of JSON")
    return value


class EntityRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: str = Field(default="concept", pattern=r"^[a-z][a-z0-9_]{0,31}$")


class Triple(BaseModel):
    """A structured fact: ``subject --predicate--> object``."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=200)
    predicate: str = Field(min_length=1, max_length=100)
    object: str = Field(min_length=1, max_length=200)
    subject_type: str = Field(default="concept", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    object_type: str = Field(default="concept", pattern=r"^[a-z][a-z0-9_]{0,31}$")


class MemoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_CONTENT)
    kind: MemoryKind = MemoryKind.fact
    importance: float = Field(default=0.5, ge=0, le=1)
    source: MemorySource = MemorySource.api
    source_link: dict[str, Any] | None = Field(
        default=None, description='what it came from, e.g. {"type": "model_version", "id": 12}'
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    valid_from: dt.datetime | None = Field(default=None, description="when it became true; now if unset")
    valid_until: dt.datetime | None = None
    triples: list[Triple] = Field(default_factory=list, max_length=50)
    entities: list[EntityRef] = Field(default_factory=list, max_length=50)
    supersedes: list[int] = Field(
        default_factory=list, max_length=20, description="ids of this agent's memories this one replaces"
    )

    _aware_times = field_validator("valid_from", "valid_until")(_aware)
    _metadata_size = field_validator("metadata")(_check_metadata)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content is blank")
        return value

    @model_validator(mode="after")
    def _valid_window(self) -> MemoryCreate:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class MemoryBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memories: list[MemoryCreate] = Field(min_length=1, max_length=MAX_BATCH)


class MemoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(default=None, min_length=1, max_length=MAX_CONTENT)
    kind: MemoryKind | None = None
    importance: float | None = Field(default=None, ge=0, le=1)
    source_link: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None

    _aware_times = field_validator("valid_from", "valid_until")(_aware)

    @field_validator("metadata")
    @classmethod
    def _metadata_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_metadata(value)


class StrengthParts(BaseModel):
    """How strength is made, so a person can see why a memory ranks where it does."""

    total: float = Field(description="0-1")
    importance: float
    decay: float = Field(description="0.5 ** (days since last use / half-life); floored, never hides")
    days_since_use: float
    half_life_days: float
    access: float = Field(description="added for being read")
    corroboration: float = Field(description="added for other memories backing the same facts")
    wrong_predictions: int
    penalty: float = Field(description="multiplier for predictions it fed that scored badly")


class MemoryRead(BaseModel):
    id: int
    agent: str
    content: str
    kind: MemoryKind
    importance: float
    source: MemorySource
    source_link: dict[str, Any] | None
    metadata: dict[str, Any]
    recorded_at: dt.datetime
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    superseded_by: int | None
    last_accessed: dt.datetime | None
    access_count: int
    deleted_at: dt.datetime | None
    strength: StrengthParts


class MemoryList(Page[MemoryRead]):
    pass


class MemoryWriteResult(BaseModel):
    agent: str
    agent_created: bool
    items: list[MemoryRead]


class GraphNode(BaseModel):
    id: int
    name: str
    type: str
    strength: float = Field(description="strongest supporting memory")
    memory_ids: list[int]


class GraphEdge(BaseModel):
    id: int
    source: int
    target: int
    predicate: str
    weight: int = Field(description="supporting memories")
    memory_ids: list[int]
    valid_from: dt.datetime
    valid_until: dt.datetime | None


class Graph(BaseModel):
    as_of: dt.datetime | None
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class TimelineEntry(BaseModel):
    id: int
    kind: MemoryKind
    content: str


class TimelineDay(BaseModel):
    day: dt.date
    count: int
    memories: list[TimelineEntry] = Field(description="up to 20 of the day's memories, newest first")


class AgentMemorySummary(BaseModel):
    agent_id: int
    agent: str
    memory_count: int
    deleted_count: int
    entity_count: int
    last_recorded_at: dt.datetime | None


class AgentMemoryList(Page[AgentMemorySummary]):
    pass


class AgentMemory(BaseModel):
    summary: AgentMemorySummary
    memories: MemoryList
    graph: Graph
    timeline: list[TimelineDay]


class Why(BaseModel):
    terms: list[str] = Field(description="query words found in the memory")
    semantic: float | None = Field(description="cosine similarity, where it counted")
    entities: list[str] = Field(description="graph entities shared with the query")
    superseded: bool = Field(description="replaced by a newer memory; ranked below it")


class SearchHit(BaseModel):
    memory: MemoryRead
    score: float
    strength: float
    why: Why


class SearchResult(BaseModel):
    query: str
    items: list[SearchHit]


class ForgetRule(BaseModel):
    """Every condition given must hold; at least one is needed."""

    model_config = ConfigDict(extra="forbid")

    older_than_days: float | None = Field(default=None, gt=0, description="recorded more than N days ago")
    strength_below: float | None = Field(default=None, gt=0, le=1)
    superseded: bool | None = Field(default=None, description="true: only replaced facts")
    kinds: list[MemoryKind] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _some_condition(self) -> ForgetRule:
        if not any(v is not None for v in self.model_dump().values()):
            raise ValueError(
                "give at least one condition: older_than_days, strength_below, superseded, kinds"
            )
        return self


class ForgetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: ForgetRule
    dry_run: bool = True
    memory_ids: list[int] | None = Field(
        default=None, max_length=10_000, description="apply to these of the reviewed queue only"
    )


class ForgetResult(BaseModel):
    dry_run: bool
    count: int
    items: list[MemoryRead] = Field(description="the review queue (the first 500)")
    deletion_id: int | None = Field(description="undo with POST /memory/deletions/{id}/undo")


class DeletionRead(BaseModel):
    id: int
    agent: str
    reason: str
    rule: dict[str, Any]
    memory_count: int
    created_at: dt.datetime
    created_by: str
    undone_at: dt.datetime | None


class DeletionList(Page[DeletionRead]):
    pass


class RestoreResult(BaseModel):
    restored: int


class PurgeResult(BaseModel):
    purged: int
    entities_removed: int
    relations_removed: int
