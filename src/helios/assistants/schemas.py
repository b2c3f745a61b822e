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
    remember: bool = Field(
        default=False,
        description="write each answered exchange to the agent's memory, carrying the prompt version hash",
    )


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
    memory_ids: list[int] = Field(
        default_factory=list, description="memories this exchange was written as (memory policy remember)"
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


# --- A/B experiments ---------------------------------------------------------------------------


class ExperimentStatus(enum.StrEnum):
    running = "running"
    stopped = "stopped"
    promoted = "promoted"


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    version: int = Field(ge=1, description="the prompt version this variant serves")
    weight: float = Field(ge=0, description="share of new subjects, relative to the other weights")


class Guardrails(BaseModel):
    """A variant that crosses one of these (over at least ``min_calls`` calls) is paused."""

    model_config = ConfigDict(extra="forbid")

    max_error_rate: float | None = Field(default=0.2, ge=0, le=1)
    max_p95_latency_ms: float | None = Field(default=None, gt=0)
    max_tokens_per_call: float | None = Field(default=None, gt=0, description="mean tokens: the cost")
    min_calls: int = Field(default=20, ge=1)


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assistant: str
    name: str = Field(pattern=NAME)
    variants: list[VariantIn] = Field(min_length=2, max_length=8)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=128)
    thumbs: Literal["up", "down"] | None = None
    score: float | None = Field(default=None, ge=0, le=1, description="a score scaled to 0..1")
    variant: str | None = Field(default=None, description="checked against the subject's assignment")
    call_id: int | None = None


class OutcomeBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=50_000)


class OutcomesAccepted(BaseModel):
    accepted: int


class Assignment(BaseModel):
    experiment_id: int
    subject: str
    variant: str
    version: int


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=128)


class VariantResult(BaseModel):
    name: str
    version: int
    weight: float
    paused_reason: str | None
    exposures: int
    calls: int
    error_rate: float | None
    p95_latency_ms: float | None
    tokens_per_call: float | None
    outcomes: int
    mean: float | None
    low: float | None = Field(description="95% interval of the mean")
    high: float | None
    prob_best: float | None
    p_value: float | None = Field(description="always-valid p-value against the first (control) variant")
    difference: float | None = Field(description="mean minus the control's mean")


class ExperimentRead(BaseModel):
    id: int
    assistant: str
    name: str
    status: ExperimentStatus
    alpha: float
    guardrails: Guardrails
    winner: str | None
    created_at: dt.datetime
    created_by: str
    stopped_at: dt.datetime | None
    variants: list[VariantResult]
    verdict: str = Field(description="the sequential test's verdict in words")


class ExperimentList(Page[ExperimentRead]):
    pass


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: str | None = Field(default=None, description="the winner; the leading variant if unset")
    force: bool = Field(default=False, description="admin only: past a failing test gate")
    note: str = Field(default="", max_length=500)


# --- prompt tests ------------------------------------------------------------------------------


class AssertionKind(enum.StrEnum):
    contains = "contains"
    not_contains = "not_contains"
    regex = "regex"
    json_valid = "json_valid"
    max_length = "max_length"
    llm_judge = "llm_judge"


class TestAssertion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AssertionKind
    value: str | None = Field(
        default=None, max_length=2000, description="text, RE2 pattern (no look-around) or judge criterion"
    )
    max_chars: int | None = Field(default=None, ge=1)


class TestCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variables: dict[str, Any] = Field(default_factory=dict)
    assertions: list[TestAssertion] = Field(min_length=1, max_length=20)


class TestSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    cases: list[TestCase] = Field(min_length=1, max_length=200)
    gates_production: bool = False
    min_pass_rate: float = Field(default=1.0, ge=0, le=1)
    repeats: int = Field(default=1, ge=1, le=20)


class TestSetRead(BaseModel):
    id: int
    assistant: str
    name: str
    cases: list[TestCase]
    gates_production: bool
    min_pass_rate: float
    repeats: int
    created_at: dt.datetime
    created_by: str


class TestSetList(Page[TestSetRead]):
    pass


class TestRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    versions: list[int] = Field(min_length=1, max_length=2, description="one version, or two side by side")
    repeats: int | None = Field(default=None, ge=1, le=20, description="the set's own if unset")


class CaseResult(BaseModel):
    case: int
    passes: int
    repeats: int
    pass_rate: float
    low: float
    high: float
    all_passed: bool = Field(description="pass^N: every repeat passed")
    outputs: list[str | None]
    failures: list[str]


class VersionRunResult(BaseModel):
    version: int
    version_id: int
    passed: bool
    pass_rate: float
    pass_all: float = Field(description="share of rows where every repeat passed (pass^N)")
    cases: list[CaseResult]
    notice: str | None = None


class TestRunRead(BaseModel):
    id: int
    test_set: str
    assistant: str
    status: str = Field(description="queued | running | passed | failed | unavailable | error")
    finished: bool = Field(description="true once the status will not change again")
    versions: list[int]
    repeats: int
    calls_done: int = Field(description="attempts (case x repeat x version) finished so far")
    calls_total: int
    results: list[VersionRunResult] = Field(description="per version, once the run is finished")
    error: str | None = Field(default=None, description="why a run with status error broke off")
    created_at: dt.datetime
    created_by: str
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class TestRunList(Page[TestRunRead]):
    pass
