"""Agents: found by name or id, made on first memory write, deleted and restored with their memories."""

from __future__ import annotations

import pytest

from helios.agents import service, views
from helios.agents.schemas import AgentCreate, AgentUpdate, WatchedSeries
from helios.core.errors import Conflict, InvalidInput, NotFound
from helios.memory import service as memory
from helios.memory.schemas import MemoryBatch
from tests.memory.fakes import fake_runtime


def test_find_by_name_or_id_and_update(context, actor) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        agent = service.create_agent(
            session,
            AgentCreate(name="desk", models=["nb"], watches=[WatchedSeries(dataset="stocks", tickers=["A"])]),
            actor,
        )
        assert service.get_agent(session, str(agent.id)).name == "desk"
        service.update_agent(session, agent, AgentUpdate(description="watches A"))
        with pytest.raises(InvalidInput):  # a list cannot be set to null, only replaced
            service.update_agent(session, agent, AgentUpdate.model_validate({"models": None}))
    with context.db.reading() as session:
        read = views.agent_detail(session, service.get_agent(session, "desk"))
        assert read.description == "watches A" and read.watches[0].tickers == ["A"] and read.memory_count == 0
        with pytest.raises(NotFound):
            service.get_agent(session, "nobody")


def test_first_write_creates_and_delete_restore_round_trip(context, actor) -> None:  # type: ignore[no-untyped-def]
    context.memory = fake_runtime()
    batch = MemoryBatch.model_validate({"memories": [{"content": "one"}, {"content": "two"}]})
    with context.db.transaction() as session:
        agent, created, _ = memory.write_memories(session, context.memory, None, "fresh", batch, actor)
        assert created
        with pytest.raises(InvalidInput):
            service.ensure_agent(session, "bad name", actor)
    with context.db.transaction() as session:
        count, deletion = service.delete_agent(session, service.get_agent(session, "fresh"), actor)
        assert count == 2 and deletion
    with context.db.transaction() as session:
        with pytest.raises(Conflict):
            service.ensure_agent(session, "fresh", actor)
        with pytest.raises(Conflict):
            service.create_agent(session, AgentCreate(name="fresh"), actor)
    with context.db.transaction() as session:
        restored, memories = service.restore_agent(session, "fresh")
        assert memories == 2
    with context.db.reading() as session:
        assert views.list_agents(session).items[0].memory_count == 2
