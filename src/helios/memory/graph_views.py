"""The graph as an agent believes it now, or believed it at ``as_of``: only nodes and edges held
up by memories that were recorded, valid and not deleted at that time."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from helios.core.clock import as_utc, utcnow
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import Graph, GraphEdge, GraphNode
from helios.memory.tables import Entity, EntitySupport, Memory, Relation, RelationSupport

MAX_NODES = 1_000


def believed(agent_id: int, at: dt.datetime, *, history: bool) -> Select:
    """Ids of the agent's memories held true at ``at``; ``history`` also counts memories deleted
    since (what the agent believed then), where the present view counts only live ones."""
    query = select(Memory.id).where(
        Memory.agent_id == agent_id,
        Memory.valid_from <= at,
        or_(Memory.valid_until.is_(None), Memory.valid_until > at),
    )
    if history:
        return query.where(Memory.recorded_at <= at, or_(Memory.deleted_at.is_(None), Memory.deleted_at > at))
    return query.where(Memory.deleted_at.is_(None))


def graph_of(
    session: Session,
    runtime: MemoryRuntime,
    agent_id: int,
    *,
    as_of: dt.datetime | None = None,
    max_nodes: int = MAX_NODES,
) -> Graph:
    at = as_utc(as_of) if as_of else utcnow()
    held = believed(agent_id, at, history=as_of is not None).subquery()
    node_support = _supports(session, EntitySupport.entity_id, EntitySupport.memory_id, held)
    edge_support = _supports(session, RelationSupport.relation_id, RelationSupport.memory_id, held)
    strengths = _strengths(session, runtime, {m for ms in node_support.values() for m in ms}, at)
    kept = sorted(node_support, key=lambda e: (-len(node_support[e]), e))[:max_nodes]
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(kept)))} if kept else {}
    nodes = [
        GraphNode(
            id=e,
            name=entities[e].name,
            type=entities[e].type,
            strength=max(strengths.get(m, 0.0) for m in node_support[e]),
            memory_ids=sorted(node_support[e]),
        )
        for e in kept
    ]
    return Graph(as_of=as_of, nodes=nodes, edges=_edges(session, edge_support, set(kept)))


def _supports(session: Session, owner, memory, held) -> dict[int, set[int]]:  # type: ignore[no-untyped-def]
    found: dict[int, set[int]] = defaultdict(set)
    for owner_id, memory_id in session.execute(select(owner, memory).where(memory.in_(select(held.c.id)))):
        found[owner_id].add(memory_id)
    return found


def _strengths(session: Session, runtime: MemoryRuntime, ids: set[int], at: dt.datetime) -> dict[int, float]:
    from helios.memory.views import corroborations, strength_of

    found: dict[int, float] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        backing = corroborations(session, chunk)
        for memory in session.scalars(select(Memory).where(Memory.id.in_(chunk))):
            found[memory.id] = strength_of(memory, runtime, backing.get(memory.id, 0), at).total
    return found


def _edges(session: Session, support: dict[int, set[int]], nodes: set[int]) -> list[GraphEdge]:
    if not support:
        return []
    relations = session.scalars(select(Relation).where(Relation.id.in_(list(support))))
    windows = _windows(session, {m for ms in support.values() for m in ms})
    edges = []
    for relation in relations:
        if relation.subject_id not in nodes or relation.object_id not in nodes:
            continue
        memory_ids = sorted(support[relation.id])
        starts = [windows[m][0] for m in memory_ids]
        ends = [windows[m][1] for m in memory_ids]
        edges.append(
            GraphEdge(
                id=relation.id,
                source=relation.subject_id,
                target=relation.object_id,
                predicate=relation.predicate,
                weight=len(memory_ids),
                memory_ids=memory_ids,
                valid_from=min(starts),
                valid_until=None if any(e is None for e in ends) else max(e for e in ends if e),
            )
        )
    return sorted(edges, key=lambda e: e.id)


def _windows(session: Session, ids: set[int]) -> dict[int, tuple[dt.datetime, dt.datetime | None]]:
    found = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        rows = session.execute(
            select(Memory.id, Memory.valid_from, Memory.valid_until).where(
                Memory.id.in_(ordered[start : start + 500])
            )
        )
        found.update({m: (as_utc(f), as_utc(u) if u else None) for m, f, u in rows})
    return found
