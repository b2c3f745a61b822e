"""A chat call in three steps, so no database transaction stays open while a model thinks:

1. ``prepare`` (reads only): the assistant, its experiment variant for the subject (a pure function
   of the stored assignments and weights) or its production prompt, the grounding, the rendered
   messages and the provider;
2. ``answer`` / ``stream_answer`` (no session): the provider call;
3. ``record`` (one short write transaction): the call log row, whatever happened, and the
   subject's assignment on first exposure. One commit per call; an assistant whose memory policy
   remembers answers writes the exchange to its agent's memory in a second (see remembering.py).

``run_chat`` is the boundary that strings them together for the API, the UI and the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from helios.assistants import experiments, grounding, prompts, providers, remembering, service
from helios.assistants.providers import Completion, Provider, ProviderProblem
from helios.assistants.schemas import CallOutcome, ChatRequest, ChatResult, RenderedPrompt
from helios.assistants.tables import AssistantCall
from helios.core.auth import Principal
from helios.db.engine import Database


@dataclass
class ChatPlan:
    assistant_id: int
    assistant: str
    version_id: int
    rendered: RenderedPrompt
    provider: Provider | None
    subject: str | None
    tickers: list[str]
    experiment_id: int | None = None
    variant_id: int | None = None
    variant: str | None = None
    prediction_ids: list[int] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    question: str = ""
    memory_agent: str | None = None
    remember: bool = False


@dataclass
class Reply:
    outcome: CallOutcome
    answer: str | None = None
    notice: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def prepare(session: Session, app: Any, body: ChatRequest) -> ChatPlan:
    assistant = service.get_assistant(session, body.assistant)
    chosen = experiments.variant_for(session, assistant, body.subject, store=False) if body.subject else None
    version = chosen.version if chosen else prompts.labelled_version(session, assistant)
    question = str(body.variables.get("question") or " ".join(str(v) for v in body.variables.values()))
    found = grounding.ground(session, app, assistant, question, body.tickers)
    context = {
        "memories": found.memories,
        "predictions": found.predictions,
        "tickers": body.tickers,
        "assistant": assistant.name,
    }
    rendered = prompts.render_version(version, body.variables, context)
    return ChatPlan(
        assistant_id=assistant.id,
        assistant=assistant.name,
        version_id=version.id,
        rendered=rendered,
        provider=service.provider_for(session, assistant),
        subject=body.subject,
        tickers=list(body.tickers),
        experiment_id=chosen.experiment_id if chosen else None,
        variant_id=chosen.variant_id if chosen else None,
        variant=chosen.variant if chosen else None,
        prediction_ids=found.prediction_ids,
        notes=found.notes,
        question=question,
        memory_agent=assistant.memory_agent,
        remember=assistant.memory_remember,
    )


def no_provider_notice(plan: ChatPlan) -> str:
    return (
        f"assistant {plan.assistant!r} has no model provider configured (set its llm_model to a registry "
        "llm model with an active version); nothing was sent to any model. The rendered prompt is shown."
    )


def answer(plan: ChatPlan) -> Reply:
    if plan.provider is None:
        return Reply(CallOutcome.no_provider, notice=no_provider_notice(plan))
    try:
        done: Completion = providers.complete(plan.provider, plan.rendered.messages, plan.rendered.settings)
    except ProviderProblem as problem:
        return Reply(problem.outcome, notice=_notice(plan, problem))
    return Reply(
        CallOutcome.answered, done.text, None, done.latency_ms, done.prompt_tokens, done.completion_tokens
    )


def stream_answer(plan: ChatPlan, reply: Reply) -> Iterator[str]:
    """Text deltas; ``reply`` is filled in as the stream goes (and when it fails)."""
    if plan.provider is None:
        reply.outcome, reply.notice = CallOutcome.no_provider, no_provider_notice(plan)
        return
    started, parts = time.perf_counter(), []
    try:
        for item in providers.stream(plan.provider, plan.rendered.messages, plan.rendered.settings):
            if isinstance(item, dict):
                reply.prompt_tokens = item.get("prompt_tokens")
                reply.completion_tokens = item.get("completion_tokens")
                continue
            parts.append(item)
            yield item
    except ProviderProblem as problem:
        reply.outcome, reply.notice = problem.outcome, _notice(plan, problem)
        reply.answer = "".join(parts) or None
        return
    finally:
        reply.latency_ms = (time.perf_counter() - started) * 1000
    reply.outcome, reply.answer = CallOutcome.answered, "".join(parts)


def _notice(plan: ChatPlan, problem: ProviderProblem) -> str:
    return f"no answer from {plan.provider.model if plan.provider else 'the model'}: {problem}"


def record(session: Session, plan: ChatPlan, reply: Reply, actor: Principal) -> AssistantCall:
    call = AssistantCall(
        assistant_id=plan.assistant_id,
        prompt_version_id=plan.version_id,
        content_hash=plan.rendered.content_hash,
        experiment_id=plan.experiment_id,
        variant_id=plan.variant_id,
        subject=plan.subject,
        outcome=reply.outcome.value,
        error=reply.notice if reply.outcome != CallOutcome.answered else None,
        latency_ms=reply.latency_ms,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        tickers=plan.tickers,
        prediction_ids=plan.prediction_ids,
        created_by=actor.name,
    )
    session.add(call)
    if plan.experiment_id is not None and plan.variant_id is not None and plan.subject is not None:
        experiments.remember(session, plan.experiment_id, plan.subject, plan.variant_id)
    session.flush()
    if plan.experiment_id is not None:
        experiments.check_guardrails(session, plan.experiment_id, plan.variant_id)
    return call


def result(plan: ChatPlan, reply: Reply, call_id: int, memory_ids: list[int] | None = None) -> ChatResult:
    return ChatResult(
        call_id=call_id,
        outcome=reply.outcome,
        answer=reply.answer if reply.outcome == CallOutcome.answered else None,
        notice=reply.notice,
        prompt_version=plan.rendered.version,
        content_hash=plan.rendered.content_hash,
        experiment_id=plan.experiment_id,
        variant=plan.variant,
        rendered=plan.rendered.messages,
        latency_ms=reply.latency_ms,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        context=plan.notes,
        memory_ids=memory_ids or [],
    )


# --- the boundary ------------------------------------------------------------------------------


def plan_chat(db: Database, app: Any, body: ChatRequest) -> ChatPlan:
    with db.reading() as session:
        return prepare(session, app, body)


def finish_chat(app: Any, plan: ChatPlan, reply: Reply, actor: Principal) -> ChatResult:
    """Log the call (one commit), then remember the exchange when the policy says so (another)."""
    with app.db.transaction() as session:
        call_id = record(session, plan, reply, actor).id
    memory_ids, note = remembering.remember_exchange(app, plan, reply, call_id, actor)
    if plan.remember:
        plan.notes["remembered"] = note
    return result(plan, reply, call_id, memory_ids)


def run_chat(db: Database, app: Any, body: ChatRequest, actor: Principal) -> ChatResult:
    plan = plan_chat(db, app, body)
    return finish_chat(app, plan, answer(plan), actor)
