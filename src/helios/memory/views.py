"""Memories as read schemas, with their strength parts; lists, summaries and the timeline."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.agents import service as agents
from helios.agents import views as agent_views
from helios.core.clock import as_utc, utcnow
from helios.core.pagination import DEFAULT_LIMIT, Keyset, decode_cursor, encode_cursor
from helios.db.lists import one_of
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import (
    AgentMemory,
    AgentMemoryList,
    AgentMemorySummary,
    DeletionList,
    DeletionRead,
    MemoryList,
    MemoryOrder,
    MemoryRead,
    StrengthParts,
    TimelineDay,
    TimelineEntry,
)
from helios.memory.strength import strength_parts
from helios.memory.tables import Entity, EntitySupport, Memory, MemoryDeletion, RelationSupport

if TYPE_CHECKING:
    from helios.agents.tables import Agent

BY_TIME = Keyset("memories.time", (Memory.id,), descending=True)
STRENGTH_SCOPE = "memories.strength"
DELETIONS = Keyset("memory.deletions", (MemoryDeletion.id,), descending=True)
TIMELINE_DAY_ITEMS = 20
TIMELINE_MEMORIES = 5_000


def corroborations(session: Session, memory_ids: Sequence[int]) -> dict[int, int]:
    """For each memory, how many other live memories support one of the same relations.

    Three indexed lookups rather than one join: given a long ``IN`` list and no statistics, SQLite
    planned the join from ``memories`` (every live row through ``ix_memories_deleted_at``), 9 ms at
    100k memories even with no relations at all, and most candidates of a search support none."""
    if not memory_ids:
        return {}
    relations: dict[int, set[int]] = defaultdict(set)  # memory -> its relations
    for start in range(0, len(memory_ids), 500):
        chunk = list(memory_ids[start : start + 500])
        rows = session.execute(
            select(RelationSupport.memory_id, RelationSupport.relation_id).where(
                one_of(session, RelationSupport.memory_id, chunk)
            )
        )
        for memory_id, relation_id in rows:
            relations[memory_id].add(relation_id)
    if not relations:
        return {}
    supporters: dict[int, set[int]] = defaultdict(set)  # relation -> every memory supporting it
    wanted = sorted({r for held in relations.values() for r in held})
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(RelationSupport.relation_id, RelationSupport.memory_id).where(
                one_of(session, RelationSupport.relation_id, wanted[start : start + 500])
            )
        )
        for relation_id, memory_id in rows:
            supporters[relation_id].add(memory_id)
    others = sorted({m for held in supporters.values() for m in held})
    live: set[int] = set()
    for start in range(0, len(others), 500):
        chunk = others[start : start + 500]
        live.update(
            session.scalars(
                select(Memory.id).where(one_of(session, Memory.id, chunk), Memory.deleted_at.is_(None))
            )
        )
    found: dict[int, int] = {}
    for memory_id, held in relations.items():
        backing = {m for r in held for m in supporters[r] if m in live and m != memory_id}
        if backing:
            found[memory_id] = len(backing)
    return found


def strength_of(memory: Memory, runtime: MemoryRuntime, corroborated: int, now: dt.datetime) -> StrengthParts:
    return strength_parts(
        importance=memory.importance,
        last_used=memory.last_accessed or memory.recorded_at,
        now=now,
        half_life_days=runtime.half_life_days,
        access_count=memory.access_count,
        corroborations=corroborated,
        wrong_predictions=memory.wrong_predictions,
    )


def memory_reads(
    session: Session, runtime: MemoryRuntime, memories: Sequence[Memory], now: dt.datetime | None = None
) -> list[MemoryRead]:
    now = now or utcnow()
    names = agents.agent_names(session, {m.agent_id for m in memories})
    backing = corroborations(session, [m.id for m in memories])
    return [
        memory_read(m, names.get(m.agent_id, ""), strength_of(m, runtime, backing.get(m.id, 0), now))
        for m in memories
    ]


def memory_read(memory: Memory, agent: str, strength: StrengthParts) -> MemoryRead:
    return MemoryRead(
        id=memory.id,
        agent=agent,
        content=memory.content,
        kind=memory.kind,  # type: ignore[arg-type]
        importance=memory.importance,
        source=memory.source,  # type: ignore[arg-type]
        source_link=memory.source_link,
        metadata=memory.meta or {},
        recorded_at=as_utc(memory.recorded_at),
        valid_from=as_utc(memory.valid_from),
        valid_until=as_utc(memory.valid_until) if memory.valid_until else None,
        superseded_by=memory.superseded_by,
        last_accessed=as_utc(memory.last_accessed) if memory.last_accessed else None,
        access_count=memory.access_count,
        deleted_at=as_utc(memory.deleted_at) if memory.deleted_at else None,
        strength=strength,
    )


def live_counts(session: Session, agent_ids: Sequence[int]) -> dict[int, int]:
    if not agent_ids:
        return {}
    rows = session.execute(
        select(Memory.agent_id, func.count())
        .where(Memory.agent_id.in_(list(agent_ids)), Memory.deleted_at.is_(None))
        .group_by(Memory.agent_id)
    )
    return {a: int(n) for a, n in rows}


def list_memories(
    session: Session,
    runtime: MemoryRuntime,
    agent_id: int,
    *,
    order: MemoryOrder = MemoryOrder.time,
    deleted: bool = False,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> MemoryList:
    query = select(Memory).where(
        Memory.agent_id == agent_id,
        Memory.deleted_at.is_not(None) if deleted else Memory.deleted_at.is_(None),
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if order == MemoryOrder.strength:
        return _by_strength(session, runtime, query, cursor, limit, total)
    rows, next_cursor = BY_TIME.page(session, query, cursor=cursor, limit=limit)
    return MemoryList(items=memory_reads(session, runtime, rows), next_cursor=next_cursor, total=total)


def _by_strength(session, runtime, query, cursor, limit, total) -> MemoryList:  # type: ignore[no-untyped-def]
    # Strength depends on "now", so it is computed, not stored: rank every match, then seek past
    # the cursor's (strength in millionths, id) position. Fine for an agent's memories (tens of
    # thousands); a stored, periodically refreshed strength would be the next step past that.
    now = utcnow()
    memories = list(session.scalars(query))
    backing = corroborations(session, [m.id for m in memories])
    ranked = sorted(
        ((round(strength_of(m, runtime, backing.get(m.id, 0), now).total * 1e6), m.id, m) for m in memories),
        key=lambda r: (-r[0], -r[1]),
    )
    if cursor:
        at, after_id = decode_cursor(STRENGTH_SCOPE, cursor, (int, int))
        ranked = [r for r in ranked if (r[0], r[1]) < (at, after_id)]
    page = ranked[:limit]
    next_cursor = encode_cursor(STRENGTH_SCOPE, page[-1][:2]) if len(ranked) > limit else None
    return MemoryList(
        items=memory_reads(session, runtime, [r[2] for r in page], now), next_cursor=next_cursor, total=total
    )


AGENT_MEMORY = agent_views.agent_keyset("memory.agents")


def agent_summaries(
    session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> AgentMemoryList:
    found, next_cursor, total = agent_views.page_agents(
        session, cursor=cursor, limit=limit, scope=AGENT_MEMORY
    )
    return AgentMemoryList(
        items=[agent_summary(session, a) for a in found], next_cursor=next_cursor, total=total
    )


def agent_summary(session: Session, agent: Agent) -> AgentMemorySummary:
    live, deleted, last = session.execute(
        select(
            func.count().filter(Memory.deleted_at.is_(None)),
            func.count().filter(Memory.deleted_at.is_not(None)),
            func.max(Memory.recorded_at),
        ).where(Memory.agent_id == agent.id)
    ).one()
    entities = session.scalar(
        select(func.count(func.distinct(EntitySupport.entity_id)))
        .join(Entity, Entity.id == EntitySupport.entity_id)
        .join(Memory, (Memory.id == EntitySupport.memory_id) & Memory.deleted_at.is_(None))
        .where(Entity.agent_id == agent.id)
    )
    return AgentMemorySummary(
        agent_id=agent.id,
        agent=agent.name,
        memory_count=live or 0,
        deleted_count=deleted or 0,
        entity_count=entities or 0,
        last_recorded_at=as_utc(last) if last else None,
    )


def timeline(session: Session, agent_id: int) -> list[TimelineDay]:
    """Live memories per day of ``valid_from`` (when it happened), newest day first."""
    rows = session.execute(
        select(Memory.id, Memory.kind, Memory.content, Memory.valid_from)
        .where(Memory.agent_id == agent_id, Memory.deleted_at.is_(None))
        .order_by(Memory.valid_from.desc(), Memory.id.desc())
        .limit(TIMELINE_MEMORIES)
    )
    days: dict[dt.date, list[TimelineEntry]] = defaultdict(list)
    counts: dict[dt.date, int] = defaultdict(int)
    for memory_id, kind, content, valid_from in rows:
        day = as_utc(valid_from).date()
        counts[day] += 1
        if len(days[day]) < TIMELINE_DAY_ITEMS:
            days[day].append(TimelineEntry(id=memory_id, kind=kind, content=content[:200]))
    return [TimelineDay(day=d, count=counts[d], memories=days[d]) for d in sorted(counts, reverse=True)]


def agent_memory(
    session: Session,
    runtime: MemoryRuntime,
    agent: Agent,
    *,
    order: MemoryOrder,
    cursor: str | None,
    limit: int,
    as_of: dt.datetime | None,
) -> AgentMemory:
    from helios.memory.graph_views import graph_of

    return AgentMemory(
        summary=agent_summary(session, agent),
        memories=list_memories(session, runtime, agent.id, order=order, cursor=cursor, limit=limit),
        graph=graph_of(session, runtime, agent.id, as_of=as_of),
        timeline=timeline(session, agent.id),
    )


def deletion_read(session: Session, deletion: MemoryDeletion) -> DeletionRead:
    names = agents.agent_names(session, {deletion.agent_id})
    return DeletionRead(
        id=deletion.id,
        agent=names.get(deletion.agent_id, ""),
        reason=deletion.reason,
        rule=deletion.rule or {},
        memory_count=deletion.memory_count,
        created_at=as_utc(deletion.created_at),
        created_by=deletion.created_by,
        undone_at=as_utc(deletion.undone_at) if deletion.undone_at else None,
    )


def deletions(session: Session, agent: Agent, *, cursor: str | None, limit: int) -> DeletionList:
    query = select(MemoryDeletion).where(MemoryDeletion.agent_id == agent.id)
    rows, next_cursor = DELETIONS.page(session, query, cursor=cursor, limit=limit)
    return DeletionList(items=[deletion_read(session, d) for d in rows], next_cursor=next_cursor)
