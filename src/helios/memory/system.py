"""Memories the system writes itself, from events: a training job finished, a model was
deployed or rolled back, a prediction scored outside its interval (which also weakens the
memories that fed it).

A memory about a model goes to every agent that forecasts with that model, or to the ``helios``
agent (Helios's own memory) when none does. Delivery is at least once, so each memory carries the
event id in its metadata and a redelivered event writes nothing twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.agents import service as agents
from helios.core.auth import Principal, Role
from helios.core.events import ModelDeployed, PredictionScored, TrainingFinished
from helios.memory import service
from helios.memory.schemas import MemoryBatch
from helios.memory.tables import Memory

SUBSCRIBER = "memory.system-memories"
SYSTEM_AGENT = "helios"
SYSTEM = Principal(name="system", role=Role.admin)


def subscribe(context: Any) -> None:
    def handle(event: Any, session: Session) -> None:
        remember_event(session, context.memory, context.store, event)

    if SUBSCRIBER not in context.events.subscribers:
        context.events.subscribe(SUBSCRIBER, (TrainingFinished, ModelDeployed, PredictionScored), handle)


def schedule_purge(context: Any) -> None:
    """A running server purges, once an hour, what was deleted longer ago than the restore period
    (``memory_purge_after_days``), as ``helios memory purge`` does by hand."""

    def purge(session: Session) -> str:
        result = service.purge_expired(session, context.memory)
        if not result.purged:
            return ""
        return (
            f"purged {result.purged} memory(ies), {result.entities_removed} entity(ies), "
            f"{result.relations_removed} relation(s)"
        )

    if "memory purge" not in context.housekeeper.chores:
        context.housekeeper.add("memory purge", purge)


def remember_event(session: Session, runtime: Any, store: Any, event: Any) -> None:
    # Everything is embedded before the first statement: that statement opens the delivery
    # transaction, and on SQLite the write lock is held from there to the commit, so loading the
    # model (seconds) or running it must not happen in between.
    planned = memories_for(event)
    vectors = runtime.embedder.embed([item["content"] for _, item in planned])
    for (model, item), vector in zip(planned, vectors, strict=True):
        _remember(session, runtime, store, event, model, item, vector)
    if isinstance(event, PredictionScored):
        for scored in event.predictions:
            if scored.missed_levels:
                service.record_wrong_prediction(session, _fed(session, scored.prediction_id))


def memories_for(event: Any) -> list[tuple[str, dict[str, Any]]]:
    """(model, memory) pairs the event makes; no database needed."""
    if isinstance(event, TrainingFinished):
        return [(event.model, training_memory(event))]
    if isinstance(event, ModelDeployed):
        return [(event.model, deployment_memory(event))]
    if isinstance(event, PredictionScored):
        return [(s.model, missed_memory(s, event.source)) for s in event.predictions if s.missed_levels]
    return []


def training_memory(event: TrainingFinished) -> dict[str, Any]:
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in sorted(event.metrics.items())[:6])
    made = f"; registered {event.model} v{event.version}" if event.version else ""
    why = f" ({event.reason})" if event.reason else ""
    return {
        "content": f"Training job {event.job_id} ({event.family} for model {event.model}) {event.status}{why}"
        f"{made}{'; ' + metrics if metrics else ''}.",
        "kind": "lesson" if event.status == "failed" else "episode",
        "importance": 0.6 if event.status in ("failed", "succeeded") else 0.4,
        "source_link": {"type": "training_job", "id": event.job_id},
        "entities": [{"name": event.model, "type": "model"}],
        "triples": [
            {
                "subject": event.model,
                "predicate": "trained with",
                "object": event.family,
                "subject_type": "model",
                "object_type": "family",
            }
        ],
    }


def deployment_memory(event: ModelDeployed) -> dict[str, Any]:
    verb = "rolled back to" if event.action == "rollback" else f"deployed to {event.stage}:"
    before = f" (replacing v{event.from_version})" if event.from_version else ""
    note = f" Note: {event.note}" if event.note else ""
    return {
        "content": f"Model {event.model} {verb} v{event.to_version}{before} by {event.actor}.{note}",
        "kind": "episode",
        "importance": 0.7 if event.stage == "active" else 0.4,
        "source_link": {"type": "model_version", "model": event.model, "version": event.to_version},
        "entities": [{"name": event.model, "type": "model"}],
    }


def missed_memory(scored: Any, source: str) -> dict[str, Any]:
    levels = ", ".join(f"{level}%" for level in scored.missed_levels)
    error = f" (mean absolute error {scored.mean_abs_error:.4g})" if scored.mean_abs_error is not None else ""
    return {
        "content": f"Prediction {scored.prediction_id} of {scored.model} v{scored.model_version} for "
        f"{scored.unique_id} fell outside its {levels} interval{error} when scored against {source}.",
        "kind": "lesson",
        "importance": 0.6,
        "source_link": {"type": "prediction", "id": scored.prediction_id},
        "entities": [{"name": scored.model, "type": "model"}, {"name": scored.unique_id, "type": "ticker"}],
    }


def _remember(
    session: Session, runtime: Any, store: Any, event: Any, model: str, item: dict, vector: np.ndarray
) -> None:
    key = f"{event.type_name}:{event.event_id}"
    for agent in _agents_for(session, model):
        if _already(session, agent, key):
            continue
        batch = MemoryBatch.model_validate(
            {"memories": [{**item, "source": "system", "metadata": {"event": key}}]}
        )
        service.write_memories(session, runtime, store, agent, batch, SYSTEM, vectors=vector[None, :])


def _agents_for(session: Session, model: str) -> list[str]:
    users = [a.name for a in agents.live_agents(session) if model in (a.models or [])]
    return users or [SYSTEM_AGENT]


def _already(session: Session, agent: str, key: str) -> bool:
    found = agents.find_agent(session, agent)
    if found is None:
        return False
    query = select(Memory.id).where(Memory.agent_id == found.id, Memory.meta["event"].as_string() == key)
    return session.scalar(query.limit(1)) is not None


def _fed(session: Session, prediction_id: int) -> list[int]:
    """Live memories that fed this prediction: those whose source link names it."""
    query = select(Memory.id).where(
        Memory.deleted_at.is_(None),
        Memory.source_link["type"].as_string() == "prediction",
        Memory.source_link["id"].as_integer() == prediction_id,
        Memory.source != "system",
    )
    return list(session.scalars(query))
