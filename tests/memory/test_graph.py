"""The graph never holds an orphan: after any mix of writes, deletes, restores, edits and purges,
every entity and relation is supported, and every node or edge shown is held up by a live memory."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from helios.agents import service as agents
from helios.core.clock import utcnow
from helios.memory import graph_views, service
from helios.memory.extraction import Lexicon, entities_in
from helios.memory.schemas import MemoryBatch, MemoryUpdate
from helios.memory.tables import Entity, EntitySupport, Memory, Relation, RelationSupport

NAMES = ["AAPL", "Acme", "Bill", "Peter", "rates", "oil"]
triples = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(["owns", "likes"]), st.sampled_from(NAMES)), max_size=3
)
operations = st.lists(
    st.tuples(st.sampled_from(["delete", "restore", "edit", "purge"]), st.integers(0, 7)), max_size=12
)


def walk(session, agent_id: int) -> None:  # type: ignore[no-untyped-def]
    memories = set(session.scalars(select(Memory.id)))
    for (entity_id,) in session.execute(select(Entity.id).where(Entity.agent_id == agent_id)):
        assert session.scalar(select(EntitySupport.memory_id).where(EntitySupport.entity_id == entity_id))
    for relation in session.scalars(select(Relation).where(Relation.agent_id == agent_id)):
        backers = set(
            session.scalars(
                select(RelationSupport.memory_id).where(RelationSupport.relation_id == relation.id)
            )
        )
        assert backers, f"relation {relation.id} has no support"
        for end in (relation.subject_id, relation.object_id):
            ends = set(session.scalars(select(EntitySupport.memory_id).where(EntitySupport.entity_id == end)))
            assert backers <= ends, "a relation's supporters must support both its ends"
    assert set(session.scalars(select(EntitySupport.memory_id))) <= memories
    live = set(
        session.scalars(select(Memory.id).where(Memory.agent_id == agent_id, Memory.deleted_at.is_(None)))
    )
    shown = graph_views.graph_of(session, _runtime(session), agent_id)
    for node in shown.nodes:
        assert set(node.memory_ids) <= live and node.memory_ids
    node_ids = {n.id for n in shown.nodes}
    for edge in shown.edges:
        assert set(edge.memory_ids) <= live and {edge.source, edge.target} <= node_ids


_RUNTIME = {}


def _runtime(session):  # type: ignore[no-untyped-def]
    return _RUNTIME["runtime"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(triples, min_size=1, max_size=8), operations)
def test_no_orphans_after_random_deletes(memory_context, actor, written, ops) -> None:  # type: ignore[no-untyped-def]
    runtime = memory_context.memory
    _RUNTIME["runtime"] = runtime
    name = f"g{uuid.uuid4().hex[:8]}"
    batch = MemoryBatch.model_validate(
        {
            "memories": [
                {
                    "content": f"Note {i} about " + " ".join(s for s, _, _ in ts),
                    "triples": [{"subject": s, "predicate": p, "object": o} for s, p, o in ts],
                }
                for i, ts in enumerate(written)
            ]
        }
    )
    with memory_context.db.transaction() as session:
        agent, _, memories = service.write_memories(session, runtime, None, name, batch, actor)
        ids, agent_id = [m.id for m in memories], agent.id
    for op, index in ops:
        memory_id = ids[index % len(ids)]
        with memory_context.db.transaction() as session:
            memory = session.get(Memory, memory_id)
            if memory is None:
                continue
            if op == "delete" and memory.deleted_at is None:
                service.delete_memory(session, memory, actor)
            elif op == "restore" and memory.deleted_at is not None:
                service.restore_memory(session, memory)
            elif op == "edit" and memory.deleted_at is None:
                service.update_memory(session, runtime, None, memory, MemoryUpdate(content="Peter met Acme"))
            elif op == "purge":
                service.purge_expired(session, runtime, now=utcnow() + dt.timedelta(days=365))
        with memory_context.db.reading() as session:
            walk(session, agent_id)
    with memory_context.db.transaction() as session:
        for memory in session.scalars(
            select(Memory).where(Memory.agent_id == agent_id, Memory.deleted_at.is_(None))
        ):
            service.delete_memory(session, memory, actor)
    with memory_context.db.transaction() as session:
        service.purge_expired(session, runtime, now=utcnow() + dt.timedelta(days=365))
    with memory_context.db.reading() as session:
        walk(session, agent_id)
        assert session.scalar(select(Entity.id).where(Entity.agent_id == agent_id)) is None
        assert agents.get_agent(session, name).id == agent_id


def test_entities_found_by_rules() -> None:
    lexicon = Lexicon(
        tickers=frozenset({"AAPL", "MSFT"}),
        models=frozenset({"nbeats-daily"}),
        datasets=frozenset({"stocks"}),
    )
    found = entities_in(
        "The nbeats-daily model on stocks said AAPL would rise. Later Jane Doe from Goldman Sachs disagreed "
        "about MSFT. it was fine.",
        lexicon,
    )
    assert ("AAPL", "ticker") in found and ("MSFT", "ticker") in found
    assert ("nbeats-daily", "model") in found and ("stocks", "dataset") in found
    assert ("Jane Doe", "concept") in found and ("Goldman Sachs", "concept") in found
    assert not any(name in {"The", "Later"} for name, _ in found)
