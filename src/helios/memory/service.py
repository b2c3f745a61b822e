"""Memory operations: write (all or nothing), change, soft delete, restore, purge.

Every operation only flushes; the caller's boundary commits. Texts are embedded before the
first database statement so a batch never holds SQLite's write lock while the model runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helios.agents import service as agents
from helios.core import events
from helios.core.artifacts import ArtifactStore
from helios.core.auth import Principal
from helios.core.clock import as_utc, utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound
from helios.core.events import MemoryWritten
from helios.memory import fulltext, graph, search
from helios.memory.embeddings import next_version, to_blob
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import MemoryBatch, MemoryCreate, MemoryUpdate, PurgeResult, SearchResult
from helios.memory.tables import Memory, MemoryDeletion, MemoryEmbedding

if TYPE_CHECKING:
    from helios.agents.tables import Agent
    from helios.db.engine import Database


def write_memories(
    session: Session,
    runtime: MemoryRuntime,
    store: ArtifactStore | None,
    agent_ident: str,
    batch: MemoryBatch,
    actor: Principal,
    vectors: np.ndarray | None = None,
) -> tuple[Agent, bool, list[Memory]]:
    """Store the batch for the agent (created on first write): every item or none. ``vectors``:
    the contents already embedded, by a caller whose transaction is open before it gets here
    (embedding inside it would hold SQLite's write lock for as long as the model runs)."""
    if vectors is None:
        vectors = runtime.embedder.embed([m.content for m in batch.memories])
    elif len(vectors) != len(batch.memories):
        raise ValueError(f"{len(vectors)} vectors for {len(batch.memories)} memories")
    agent, created = agents.ensure_agent(session, agent_ident, actor)
    replaced = _superseded_memories(session, agent.id, batch.memories)
    now = utcnow()
    memories = [_new_memory(agent.id, item, actor, now) for item in batch.memories]
    session.add_all(memories)
    session.flush()
    _supersede(replaced, batch.memories, memories)
    _index(session, runtime, store, agent.id, memories, vectors)
    # Last, so the outbox lock (PostgreSQL) is held only to the commit; subscribers (entities by
    # an LLM) act after the commit and never slow the write down.
    events.publish(
        session, MemoryWritten(agent_id=agent.id, agent=agent.name, memory_ids=[m.id for m in memories])
    )
    return agent, created, memories


def _new_memory(agent_id: int, item: MemoryCreate, actor: Principal, now: dt.datetime) -> Memory:
    return Memory(
        agent_id=agent_id,
        content=item.content,
        kind=item.kind.value,
        importance=item.importance,
        source=item.source.value,
        source_link=item.source_link,
        meta=item.metadata,
        recorded_at=now,
        valid_from=item.valid_from or now,
        valid_until=item.valid_until,
        access_count=0,
        wrong_predictions=0,
        created_by=actor.name,
        structure={
            "entities": [e.model_dump() for e in item.entities],
            "triples": [t.model_dump() for t in item.triples],
        },
    )


def _superseded_memories(session: Session, agent_id: int, items: Sequence[MemoryCreate]) -> dict[int, Memory]:
    wanted = {i for item in items for i in item.supersedes}
    if not wanted:
        return {}
    found = {
        m.id: m
        for m in session.scalars(
            select(Memory).where(
                Memory.id.in_(wanted), Memory.agent_id == agent_id, Memory.deleted_at.is_(None)
            )
        )
    }
    for index, item in enumerate(items):
        for position, memory_id in enumerate(item.supersedes):
            if memory_id not in found:
                raise InvalidInput(
                    f"memories[{index}].supersedes[{position}]: no live memory {memory_id} of this agent",
                    errors=[
                        {"field": f"memories[{index}].supersedes[{position}]", "message": "unknown memory"}
                    ],
                )
    return found


def _supersede(replaced: dict[int, Memory], items: Sequence[MemoryCreate], memories: list[Memory]) -> None:
    # Superseding ends the old fact's valid time; it is kept, readable with as_of, never deleted.
    for item, memory in zip(items, memories, strict=True):
        for old_id in item.supersedes:
            old = replaced[old_id]
            old.superseded_by = memory.id
            if old.valid_until is None or as_utc(old.valid_until) > as_utc(memory.valid_from):
                old.valid_until = memory.valid_from


def _index(
    session: Session,
    runtime: MemoryRuntime,
    store: ArtifactStore | None,
    agent_id: int,
    memories: list[Memory],
    vectors: np.ndarray,
) -> None:
    fulltext.add(session, [(m.id, agent_id, m.content) for m in memories])
    version = next_version()
    session.execute(
        MemoryEmbedding.__table__.insert(),
        [
            {
                "memory_id": m.id,
                "agent_id": agent_id,
                "model": runtime.embedder.name,
                "vector": to_blob(v),
                "version": version,
            }
            for m, v in zip(memories, vectors, strict=True)
        ],
    )
    lexicon = runtime.lexicon(session, store)
    graph.link(session, agent_id, [_linkable(m) for m in memories], lexicon)


def _linkable(memory: Memory) -> graph.Linkable:
    structure = memory.structure or {}
    return graph.Linkable(
        memory.id, memory.content, structure.get("entities", []), structure.get("triples", [])
    )


def get_memory(session: Session, memory_id: int, *, deleted: bool | None = False) -> Memory:
    """The memory; ``deleted=None`` finds it deleted or not."""
    memory = session.get(Memory, memory_id)
    if memory is None or (deleted is not None and (memory.deleted_at is not None) != deleted):
        state = "deleted " if deleted else ""
        raise NotFound(f"no {state}memory {memory_id}")
    return memory


def update_memory(
    session: Session, runtime: MemoryRuntime, store: ArtifactStore | None, memory: Memory, body: MemoryUpdate
) -> Memory:
    changes = body.model_dump(exclude_unset=True)
    for field in ("content", "kind", "importance", "metadata", "valid_from"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be null", errors=[{"field": field, "message": "null"}])
    valid_from = changes.get("valid_from", memory.valid_from)
    valid_until = changes.get("valid_until", memory.valid_until)
    if valid_until is not None and as_utc(valid_until) <= as_utc(valid_from):
        raise InvalidInput(
            "valid_until must be after valid_from",
            errors=[{"field": "valid_until", "message": "before valid_from"}],
        )
    if "metadata" in changes:
        memory.meta = changes.pop("metadata")
    for field, value in changes.items():
        setattr(memory, field, value.value if hasattr(value, "value") else value)
    if "content" in changes:
        _reindex(session, runtime, store, memory)
    session.flush()
    return memory


def _reindex(session: Session, runtime: MemoryRuntime, store: ArtifactStore | None, memory: Memory) -> None:
    vector = runtime.embedder.embed([memory.content])[0]
    fulltext.replace(session, memory.id, memory.agent_id, memory.content)
    session.execute(
        update(MemoryEmbedding)
        .where(MemoryEmbedding.memory_id == memory.id)
        .values(vector=to_blob(vector), model=runtime.embedder.name, version=next_version())
    )
    graph.unlink(session, [memory.id])
    graph.link(session, memory.agent_id, [_linkable(memory)], runtime.lexicon(session, store))
    graph.prune(session)


def soft_delete(
    session: Session, agent_id: int, memories: Sequence[Memory], actor: Principal, reason: str, rule: dict
) -> MemoryDeletion:
    """Delete ``memories`` as one action, undone together by ``undo_deletion``."""
    deletion = MemoryDeletion(
        agent_id=agent_id, reason=reason, rule=rule, memory_count=len(memories), created_by=actor.name
    )
    session.add(deletion)
    session.flush()
    now = utcnow()
    ids = [m.id for m in memories]
    for start in range(0, len(ids), 500):
        session.execute(
            update(Memory)
            .where(Memory.id.in_(ids[start : start + 500]))
            .values(deleted_at=now, deletion_id=deletion.id)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    return deletion


def delete_memory(session: Session, memory: Memory, actor: Principal) -> MemoryDeletion:
    return soft_delete(session, memory.agent_id, [memory], actor, "delete", {"memory_id": memory.id})


def restore_memory(session: Session, memory: Memory) -> Memory:
    if agents.is_deleted(session, memory.agent_id):
        raise Conflict("this memory's agent is deleted; restore the agent first")
    memory.deleted_at = None
    memory.deletion_id = None
    session.flush()
    return memory


def get_deletion(session: Session, deletion_id: int) -> MemoryDeletion:
    deletion = session.get(MemoryDeletion, deletion_id)
    if deletion is None:
        raise NotFound(f"no deletion {deletion_id}")
    return deletion


def undo_deletion(session: Session, deletion: MemoryDeletion) -> int:
    """Restore every memory the action deleted that is still deleted and not yet purged."""
    if deletion.undone_at is not None:
        raise Conflict(f"deletion {deletion.id} was already undone")
    restored = session.execute(
        update(Memory)
        .where(Memory.deletion_id == deletion.id, Memory.deleted_at.is_not(None))
        .values(deleted_at=None, deletion_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    deletion.undone_at = utcnow()
    session.flush()
    session.expire_all()
    return restored or 0


def delete_agent_memories(session: Session, agent_id: int, actor: Principal) -> tuple[int, int | None]:
    live = list(
        session.scalars(select(Memory).where(Memory.agent_id == agent_id, Memory.deleted_at.is_(None)))
    )
    deletion = soft_delete(session, agent_id, live, actor, "agent_deleted", {"agent_id": agent_id})
    return len(live), deletion.id


def restore_agent_memories(session: Session, agent_id: int) -> int:
    last = session.scalar(
        select(MemoryDeletion)
        .where(
            MemoryDeletion.agent_id == agent_id,
            MemoryDeletion.reason == "agent_deleted",
            MemoryDeletion.undone_at.is_(None),
        )
        .order_by(MemoryDeletion.id.desc())
    )
    return undo_deletion(session, last) if last is not None else 0


def purge_expired(session: Session, runtime: MemoryRuntime, now: dt.datetime | None = None) -> PurgeResult:
    """Remove for good memories deleted longer ago than the restore period, with their index
    rows, vectors and every graph node or edge they alone supported."""
    cutoff = (now or utcnow()) - dt.timedelta(days=runtime.purge_after_days)
    ids = list(
        session.scalars(select(Memory.id).where(Memory.deleted_at.is_not(None), Memory.deleted_at < cutoff))
    )
    entities = relations = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        fulltext.remove(session, chunk)
        graph.unlink(session, chunk)
        session.execute(update(Memory).where(Memory.superseded_by.in_(chunk)).values(superseded_by=None))
        session.execute(MemoryEmbedding.__table__.delete().where(MemoryEmbedding.memory_id.in_(chunk)))
        session.execute(Memory.__table__.delete().where(Memory.id.in_(chunk)))
    if ids:
        entities, relations = graph.prune(session)
        runtime.vectors.forget()
    session.expire_all()
    return PurgeResult(purged=len(ids), entities_removed=entities, relations_removed=relations)


def search_and_record(
    db: Database, runtime: MemoryRuntime, query: str, agent: str | None = None, k: int = 10
) -> SearchResult:
    """Hybrid search of one agent's memories (every agent's for ``None``); the memories returned
    count as read. The reads are recorded after the search, in a short write of their own:
    embedding the query inside a write transaction would hold SQLite's write lock for as long as
    the model runs."""
    with db.reading() as session:
        ids = [agents.get_agent(session, agent).id] if agent else agents.list_agent_ids(session)
        names = agents.agent_names(session, set(ids))
        result = search.search(session, runtime, query, ids, k=k, agent_names=names)
    if result.items:
        with db.transaction() as writing:
            record_access(writing, [hit.memory.id for hit in result.items])
    return result


def record_access(session: Session, memory_ids: Sequence[int]) -> None:
    """Reading a memory reinforces it: strength counts reads and decays from the last one."""
    if memory_ids:
        session.execute(
            update(Memory)
            .where(Memory.id.in_(list(memory_ids)))
            .values(last_accessed=utcnow(), access_count=Memory.access_count + 1)
            .execution_options(synchronize_session=False)
        )


def record_wrong_prediction(session: Session, memory_ids: Sequence[int]) -> None:
    if memory_ids:
        session.execute(
            update(Memory)
            .where(Memory.id.in_(list(memory_ids)))
            .values(wrong_predictions=Memory.wrong_predictions + 1)
            .execution_options(synchronize_session=False)
        )
