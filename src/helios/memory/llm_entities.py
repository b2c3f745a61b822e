"""Entities in free-text memories found by an LLM, after the write: a durable subscriber to
``memory.written`` asks the assistant named by ``HELIOS_MEMORY_LLM_ASSISTANT`` which entities
each new memory names, and links them to the graph with that memory as their support.

Never in the write's way: the write commits and answers first; the LLM call happens on the event
bus's thread, before the delivery transaction opens (so no database lock waits on HTTP). Strict
about what comes back: the answer must be one JSON object of the shape below, each entity's name
must appear in its memory's text, and its type must be one of ``ENTITY_TYPES``; anything else is
logged and dropped (a bad answer never raises, so it cannot stall the events behind it). What
was added is marked on the memory: ``metadata.llm_entities`` holds the entities, the model and
``source: "llm"``. Without the setting nothing is subscribed and nothing changes; configured
later, it starts with the memories written from then on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.core.events import MemoryWritten
from helios.memory import graph
from helios.memory.tables import Memory

log = logging.getLogger(__name__)
SUBSCRIBER = "memory.llm-entities"
NOTES_PER_CALL = 20
ENTITY_TYPES = frozenset(
    ["ticker", "model", "dataset", "person", "organisation", "place", "product", "event", "concept"]
)
SYSTEM_PROMPT = (
    "You find the named entities in short notes, for a knowledge graph. Answer with one JSON object "
    'and nothing else, of this shape: {"memories": [{"id": <the note id>, "entities": [{"name": '
    '"<the entity exactly as written in the note>", "type": "<one of: '
    + ", ".join(sorted(ENTITY_TYPES))
    + '>"}]}]}. '
    "Give every note, with an empty list when it names no entity. Do not invent names."
)


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=32)


class _Note(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: int
    entities: list[_Entity] = Field(max_length=50)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    memories: list[_Note] = Field(max_length=NOTES_PER_CALL)


def subscribe(context: Any) -> None:
    """Subscribe when an assistant is configured for it; from the end of the outbox, so turning
    it on does not send the whole history to the LLM."""
    name = context.settings.memory_llm_assistant
    if not name or SUBSCRIBER in context.events.subscribers:
        return

    def handle(event: MemoryWritten, session: Session) -> None:
        find_entities(context, name, event, session)

    context.events.subscribe(SUBSCRIBER, MemoryWritten, handle, from_start=False)


def find_entities(context: Any, assistant: str, event: MemoryWritten, session: Session) -> int:
    """Ask the LLM about the event's free-text memories and link what it found; links added."""
    from helios.assistants import service as assistants

    with context.db.reading() as reading:  # a read: the delivery transaction is not open yet
        provider = assistants.provider_named(reading, assistant)
        notes = free_text(reading, event.memory_ids)
    if provider is None:
        log.warning("memory entities: assistant %r has no usable LLM model; rules only", assistant)
        return 0
    found: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(notes), NOTES_PER_CALL):
        chunk = dict(list(notes.items())[start : start + NOTES_PER_CALL])
        found |= ask(assistants, provider, chunk)
    if not found:
        return 0
    return link(context, session, event.agent_id, found, provider.model)


def free_text(session: Session, memory_ids: list[int]) -> dict[int, str]:
    """Live memories written as text alone (one written with entities or triples is structured
    already): id -> content."""
    rows = session.execute(
        select(Memory.id, Memory.content, Memory.structure).where(
            Memory.id.in_(memory_ids), Memory.deleted_at.is_(None)
        )
    )
    return {
        id_: content
        for id_, content, structure in rows
        if not (structure or {}).get("entities") and not (structure or {}).get("triples")
    }


def ask(assistants: Any, provider: Any, notes: dict[int, str]) -> dict[int, list[tuple[str, str]]]:
    user = json.dumps({"notes": [{"id": i, "text": text[:4000]} for i, text in notes.items()]})
    try:
        answer = assistants.complete_json(provider, SYSTEM_PROMPT, user)
    except assistants.ProviderProblem as exc:
        log.warning(
            "memory entities: %s did not answer for memories %s: %s", provider.model, list(notes), exc
        )
        return {}
    return parse(answer, notes)


def parse(answer: str, notes: dict[int, str]) -> dict[int, list[tuple[str, str]]]:
    """What the answer says, kept only where it holds: a known memory id, a known type, a name
    that is in that memory's text. A malformed answer yields nothing (and is logged)."""
    try:
        parsed = _Answer.model_validate_json(answer)
    except ValidationError as exc:
        log.warning("memory entities: ignored an answer that is not the asked JSON (%s): %.200r", exc, answer)
        return {}
    found: dict[int, list[tuple[str, str]]] = {}
    for note in parsed.memories:
        text = _folded(notes.get(note.id, ""))
        kept = [
            (e.name.strip(), e.type)
            for e in note.entities
            if e.type in ENTITY_TYPES and _folded(e.name) and _folded(e.name) in text
        ]
        if note.id not in notes or len(kept) < len(note.entities):
            log.warning(
                "memory entities: dropped %d unfounded entities for memory %s",
                len(note.entities) - len(kept),
                note.id,
            )
        if note.id in notes and kept:
            found[note.id] = kept
    return found


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def link(
    context: Any, session: Session, agent_id: int, found: dict[int, list[tuple[str, str]]], model: str
) -> int:
    # Deleted since the read (the graph of a soft-deleted memory is hidden anyway; a purged one is gone).
    live = {m.id: m for m in session.scalars(select(Memory).where(Memory.id.in_(found)))}
    found = {m: names for m, names in found.items() if m in live}
    added = graph.add_entities(session, agent_id, found, context.memory.lexicon(session, context.store))
    for memory_id, names in found.items():
        memory = live[memory_id]
        marked = [{"name": n, "type": t} for n, t in names]
        memory.meta = {
            **(memory.meta or {}),
            "llm_entities": {"source": "llm", "model": model, "entities": marked},
        }
    session.flush()
    return added
