"""What crosses the assistants domain's border: assistants, prompt versions, labels, diffs, the
server-wide config and chat calls. Test sets live in ``testing_schemas``, experiments in
``experiment_schemas``."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from helios.core.pagination import Page

NAME = r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$"
LABEL = r"^[a-z][a-z0-9_-]{0,31}$"
VARIABLE = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
DEFAULT_MAX_TOKENS_LIMIT = 32_768


class CallOutcome(enum.StrEnum):
    answered = "answered"
    no_provider = "no_provider"
    refused = "refused"
    unreachable = "unreachable"
    error = "error"


class MemoryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = Field(default=None, max_length=64, description="whose memories to recall")
    limit: int = Field(default=5, ge=0, le=50)
    min_strength: float = Field(default=0.0, ge=0.0, le=1.0)


class AssistantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    role: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="e.g. analyst, risk, support")
    description: str = Field(default="", max_length=2000)
    llm_model: str | None = Field(default=None, description="a registry llm model by name")
    llm_version: int | None = Field(default=None, ge=1, description="pin a version; active if unset")
    memory: MemoryPolicy = Field(default_factory=MemoryPolicy)


class AssistantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    description: str | None = Field(default=None, max_length=2000)
    llm_model: str | None = None
    llm_version: int | None = Field(default=None, ge=1)
    memory: MemoryPolicy | None = None


class MessageTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "system"] = "user"
    template: str = Field(max_length=50_000)


class BehaviourSettings(BaseModel):
    """Sampling settings; part of the prompt version, so a change is a new version."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=DEFAULT_MAX_TOKENS_LIMIT)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list, max_length=4)
    response_format: Literal["text", "json_object"] = "text"


class PromptVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_prompt: str = Field(max_length=50_000)
    messages: list[MessageTemplate] = Field(default_factory=list, max_length=20)
    variables: list[str] = Field(default_factory=list, max_length=50)
    settings: BehaviourSettings = Field(default_factory=BehaviourSettings)
    message: str = Field(default="", max_length=2000, description="what changed, for the history")


class PromptVersionRead(BaseModel):
    id: int
    assistant: str
    version: int
    system_prompt: str
    messages: list[MessageTemplate]
    variables: list[str]
    settings: BehaviourSettings
    message: str
    author: str
    created_at: dt.datetime
    content_hash: str
    labels: list[str] = []


class PromptVersionList(Page[PromptVersionRead]):
    pass


class AssistantRead(BaseModel):
    id: int
    name: str
    role: str
    description: str
    llm_model: str | None
    llm_version: int | None
    memory: MemoryPolicy
    labels: dict[str, int] = Field(default_factory=dict, description="label -> version number")
    latest_version: int | None = None
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime


class AssistantList(Page[AssistantRead]):
    pass


class PromptSummary(BaseModel):
    """One assistant's prompt: the ``{id}`` of ``/prompts/{id}`` is the assistant's name."""

    id: str
    role: str
    latest_version: int | None
    labels: dict[str, int]
    production: PromptVersionRead | None


class PromptList(Page[PromptSummary]):
    pass


class LabelMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    force: bool = Field(default=False, description="admin only: move production past a failing test gate")
    note: str = Field(default="", max_length=500)


class LabelRead(BaseModel):
    label: str
    version: int
    updated_at: dt.datetime
    updated_by: str


class DiffPart(BaseModel):
    part: str = Field(description="system_prompt, messages.N.template, variables or settings")
    unified: str = Field(description="unified diff; empty when the part is unchanged")


class PromptDiff(BaseModel):
    assistant: str
    from_version: int
    to_version: int
    changed: bool
    parts: list[DiffPart]


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="production if unset")
    variables: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(BaseModel):
    role: str
    content: str


class RenderedPrompt(BaseModel):
    version: int
    content_hash: str
    messages: list[ChatMessage]
    settings: BehaviourSettings


class AssistantConfig(BaseModel):
    """Server-wide assistant settings."""

    allow_local_model_servers: bool = Field(
        description="allow model base URLs on loopback, private or link-local addresses (Ollama, vLLM)"
    )
    request_timeout_s: float = Field(ge=0.1, le=600)
    max_retries: int = Field(ge=0, le=10)
    updated_at: dt.datetime | None = None
    updated_by: str | None = None


class AssistantConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_local_model_servers: bool | None = None
    request_timeout_s: float | None = Field(default=None, ge=0.1, le=600)
    max_retries: int | None = Field(default=None, ge=0, le=10)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assistant: str
    variables: dict[str, Any] = Field(default_factory=dict)
    subject: str | None = Field(
        default=None, max_length=128, description="who is asking; sticky experiment assignment"
    )
    tickers: list[str] = Field(default_factory=list, max_length=20)
    stream: bool = False


class ChatResult(BaseModel):
    call_id: int
    outcome: CallOutcome
    answer: str | None = Field(description="the model's answer; null when there was none")
    notice: str | None = Field(default=None, description="why there is no answer, in words")
    prompt_version: int
    content_hash: str
    experiment_id: int | None = None
    variant: str | None = None
    rendered: list[ChatMessage]
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    context: dict[str, str] = Field(
        default_factory=dict, description="what filled memories/predictions, or why they are empty"
    )


class CallRead(BaseModel):
    id: int
    assistant: str
    prompt_version: int
    content_hash: str
    experiment_id: int | None
    variant_id: int | None
    subject: str | None
    outcome: CallOutcome
    error: str | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tickers: list[str]
    prediction_ids: list[int]
    created_at: dt.datetime
    created_by: str


class CallList(Page[CallRead]):
    pass
