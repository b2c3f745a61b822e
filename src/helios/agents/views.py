"""Agents as read schemas, and the one agent list order every list of agents pages by."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.agents.schemas import AgentList, AgentRead, WatchedSeries
from helios.agents.tables import Agent
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count

AGENTS = Keyset("agents", (Agent.name,))


def agent_keyset(name: str) -> Keyset:
    """The agent list order under a cursor name of another list's own (memory's agent list)."""
    return Keyset(name, (Agent.name,))


def page_agents(
    session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT, scope: Keyset = AGENTS
) -> tuple[list[Agent], str | None, int]:
    query = select(Agent).where(Agent.deleted_at.is_(None))
    rows, next_cursor = scope.page(session, query, cursor=cursor, limit=limit)
    return rows, next_cursor, count(session, query)


def agent_read(agent: Agent, memory_count: int) -> AgentRead:
    return AgentRead(
        id=agent.id,
        name=agent.name,
        description=agent.description,
        models=list(agent.models or []),
        watches=[WatchedSeries.model_validate(w) for w in agent.watches or []],
        created_at=agent.created_at,
        created_by=agent.created_by,
        updated_at=agent.updated_at,
        deleted_at=agent.deleted_at,
        memory_count=memory_count,
    )


def list_agents(session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> AgentList:
    from helios.memory import views as memory

    agents, next_cursor, total = page_agents(session, cursor=cursor, limit=limit)
    counts = memory.live_counts(session, [a.id for a in agents])
    return AgentList(
        items=[agent_read(a, counts.get(a.id, 0)) for a in agents], next_cursor=next_cursor, total=total
    )


def agent_detail(session: Session, agent: Agent) -> AgentRead:
    from helios.memory import views as memory

    return agent_read(agent, memory.live_counts(session, [agent.id]).get(agent.id, 0))
