"""What grounds an answer: the assistant's memories (its memory policy) and the latest predictions
for the tickers asked about. Both come from other domains' services, which may not be installed
or ready; then the template gets an empty list and the call says why, never invented content."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from helios.assistants.tables import Assistant

PREDICTIONS_PER_TICKER = 3


@dataclass
class Grounding:
    memories: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def prediction_ids(self) -> list[int]:
        return [p["id"] for p in self.predictions]


def ground(session: Session, app: Any, assistant: Assistant, question: str, tickers: list[str]) -> Grounding:
    grounding = Grounding()
    _recall(session, app, assistant, question, grounding)
    _predictions(session, tickers, grounding)
    return grounding


def _recall(session: Session, app: Any, assistant: Assistant, question: str, grounding: Grounding) -> None:
    if not assistant.memory_agent or assistant.memory_limit == 0:
        grounding.notes["memories"] = "this assistant's memory policy names no agent"
        return
    try:
        from helios.agents import service as agents
        from helios.memory import search
    except ImportError:
        grounding.notes["memories"] = "agent memory is not part of this install"
        return
    agent = agents.find_agent(session, assistant.memory_agent)
    if agent is None:
        grounding.notes["memories"] = f"no agent {assistant.memory_agent!r}"
        return
    if not question.strip():
        grounding.notes["memories"] = "no question to recall memories for"
        return
    hits = search.search(session, app.memory, question, [agent.id], k=assistant.memory_limit).items
    kept = [h for h in hits if h.strength >= assistant.memory_min_strength]
    grounding.memories = [
        {
            "id": h.memory.id,
            "content": h.memory.content,
            "kind": str(h.memory.kind),
            "strength": round(h.strength, 3),
        }
        for h in kept
    ]
    grounding.notes["memories"] = f"{len(kept)} of {assistant.memory_agent}'s memories"


def _predictions(session: Session, tickers: list[str], grounding: Grounding) -> None:
    if not tickers:
        grounding.notes["predictions"] = "no tickers asked about"
        return
    try:
        from helios.predictions import views as ledger
    except ImportError:
        grounding.notes["predictions"] = "the forecast ledger is not part of this install"
        return
    for ticker in tickers:
        found = ledger.list_predictions(session, ticker, latest=True, limit=PREDICTIONS_PER_TICKER).items
        grounding.predictions.extend(_prediction(p) for p in found)
    grounding.notes["predictions"] = (
        f"{len(grounding.predictions)} latest prediction(s) for {', '.join(tickers)}"
    )


def _prediction(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "ticker": p.unique_id,
        "model": f"{p.model} v{p.model_version}",
        "origin": p.origin.isoformat(),
        "horizon": p.horizon,
        "points": [point.model_dump(mode="json") for point in p.points],
    }
