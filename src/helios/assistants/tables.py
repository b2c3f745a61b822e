"""Assistants, their immutable prompt versions and labels, test sets and runs, A/B experiments
and the log of every chat call.

A prompt version is never updated: a save is a new row, and a label (``production``, ``staging``,
any name) is the only thing that moves. Experiment assignments are stored on first exposure so a
subject stays in its variant even when weights change or a variant is paused later.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helios.core.clock import utcnow
from helios.db.base import Base


class Assistant(Base):
    __tablename__ = "assistants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    # A registry ``llm`` model by name; its active version unless ``llm_version`` pins one.
    llm_model: Mapped[str | None] = mapped_column(String(64))
    llm_version: Mapped[int | None] = mapped_column(Integer)
    memory_agent: Mapped[str | None] = mapped_column(String(64))
    memory_limit: Mapped[int] = mapped_column(Integer, default=5)
    memory_min_strength: Mapped[float] = mapped_column(Float, default=0.0)
    # Write each answered exchange to ``memory_agent`` as a memory carrying the prompt version hash.
    memory_remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PromptVersion(Base):
    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("assistant_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assistant_id: Mapped[int] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    system_prompt: Mapped[str] = mapped_column(Text)
    messages: Mapped[list] = mapped_column(JSON, default=list)  # [{"role", "template"}]
    variables: Mapped[list] = mapped_column(JSON, default=list)  # declared names
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # temperature, max_tokens, ...
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)


class PromptLabel(Base):
    __tablename__ = "prompt_labels"
    __table_args__ = (UniqueConstraint("assistant_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assistant_id: Mapped[int] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))


class AssistantSettings(Base):
    """The one row of server-wide assistant settings (id = 1)."""

    __tablename__ = "assistant_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    allow_local_model_servers: Mapped[bool] = mapped_column(Boolean, default=False)
    request_timeout_s: Mapped[float] = mapped_column(Float, default=30.0)
    max_retries: Mapped[int] = mapped_column(Integer, default=2)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="local")


class PromptTestSet(Base):
    __tablename__ = "prompt_test_sets"
    __table_args__ = (UniqueConstraint("assistant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assistant_id: Mapped[int] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    cases: Mapped[list] = mapped_column(JSON, default=list)  # [{"variables", "assertions"}]
    # A gating set must pass (every row's pass rate >= min_pass_rate) before production moves.
    gates_production: Mapped[bool] = mapped_column(Boolean, default=False)
    min_pass_rate: Mapped[float] = mapped_column(Float, default=1.0)
    repeats: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class PromptTestRun(Base):
    """A run is a job: queued by the API, claimed by one worker (a conditional UPDATE), its
    progress and heartbeat written as calls finish, its results stored when it is done."""

    __tablename__ = "prompt_test_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    test_set_id: Mapped[int] = mapped_column(
        ForeignKey("prompt_test_sets.id", ondelete="CASCADE"), index=True
    )
    version_ids: Mapped[list] = mapped_column(JSON)
    repeats: Mapped[int] = mapped_column(Integer)
    # queued | running | passed | failed | unavailable (no model to call) | error (the run broke)
    status: Mapped[str] = mapped_column(String(16), index=True)
    results: Mapped[list] = mapped_column(JSON)  # per version: rows, pass rates, outputs
    calls_total: Mapped[int] = mapped_column(Integer, default=0)  # case x repeat x version
    calls_done: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True)
    assistant_id: Mapped[int] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | stopped | promoted
    guardrails: Mapped[dict] = mapped_column(JSON, default=dict)
    alpha: Mapped[float] = mapped_column(Float, default=0.05)
    winner_variant_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    stopped_at: Mapped[dt.datetime | None]


class ExperimentVariant(Base):
    __tablename__ = "experiment_variants"
    __table_args__ = (UniqueConstraint("experiment_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    weight: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer)
    paused_reason: Mapped[str | None] = mapped_column(Text)


class ExperimentAssignment(Base):
    __tablename__ = "experiment_assignments"
    __table_args__ = (UniqueConstraint("experiment_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(128))
    variant_id: Mapped[int] = mapped_column(ForeignKey("experiment_variants.id", ondelete="CASCADE"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExperimentOutcome(Base):
    __tablename__ = "experiment_outcomes"
    __table_args__ = (Index("ix_experiment_outcomes_variant", "experiment_id", "variant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("experiment_variants.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)  # 0..1: thumbs up = 1, a score scaled to 0..1
    source: Mapped[str] = mapped_column(String(16))  # api | ledger
    call_id: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AssistantCall(Base):
    """Every chat call, answered or not: what was sent, with which version, and what came back."""

    __tablename__ = "assistant_calls"
    __table_args__ = (Index("ix_assistant_calls_assistant", "assistant_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assistant_id: Mapped[int] = mapped_column(ForeignKey("assistants.id", ondelete="CASCADE"))
    prompt_version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(64))
    experiment_id: Mapped[int | None] = mapped_column(Integer)
    variant_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))  # answered | no_provider | unreachable | error
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    tickers: Mapped[list] = mapped_column(JSON, default=list)
    prediction_ids: Mapped[list] = mapped_column(JSON, default=list)  # the outcome link to the ledger
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
