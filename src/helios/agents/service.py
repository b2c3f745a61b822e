"""Agent operations. An agent is found by name or by numeric id; deleting one soft-deletes its
memories in one action that ``restore_agent`` undoes."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.agents.schemas import AGENT_NAME, AgentCreate, AgentUpdate
from helios.agents.tables import Agent
from helios.core.auth import Principal
from helios.core.clock import utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound

_NAME = re.compile(AGENT_NAME)


def find_agent(session: Session, ident: str | int, *, deleted: bool = False) -> Agent | None:
    query = select(Agent).where(Agent.deleted_at.is_not(None) if deleted else Agent.deleted_at.is_(None))
    by_name = session.scalar(query.where(Agent.name == str(ident)))
    if by_name is not None or not str(ident).isdecimal():
        return by_name
    return session.scalar(query.where(Agent.id == int(ident)))


def is_deleted(session: Session, agent_id: int) -> bool:
    return session.scalar(select(Agent.deleted_at).where(Agent.id == agent_id)) is not None


def get_agent(session: Session, ident: str | int) -> Agent:
    agent = find_agent(session, ident)
    if agent is None:
        raise NotFound(f"no agent {str(ident)!r}; create it with POST /api/v1/agents")
    return agent


def create_agent(session: Session, body: AgentCreate, actor: Principal) -> Agent:
    if session.scalar(select(Agent.id).where(Agent.name == body.name)) is not None:
        raise Conflict(f"an agent named {body.name!r} exists (it may be deleted: restore it instead)")
    agent = Agent(
        name=body.name,
        description=body.description,
        models=body.models,
        watches=[w.model_dump() for w in body.watches],
        assistant=assistant_name(session, body.assistant),
        created_by=actor.name,
    )
    session.add(agent)
    session.flush()
    return agent


def assistant_name(session: Session, ident: str | None) -> str | None:
    """The name of the assistant ``ident`` names (by name or id), checked by the assistants service."""
    if ident is None:
        return None
    from helios.assistants import service as assistants

    try:
        return assistants.get_assistant(session, ident).name
    except NotFound:
        detail = f"no assistant {ident!r}; create it on the Assistants page or with helios assistants create"
        raise InvalidInput(
            f"assistant: {detail}", errors=[{"field": "assistant", "message": detail}]
        ) from None


def ensure_agent(session: Session, ident: str, actor: Principal) -> tuple[Agent, bool]:
    """The agent named ``ident``, created on first use: memory works before anything is set up."""
    agent = find_agent(session, ident)
    if agent is not None:
        return agent, False
    if not _NAME.match(ident):
        raise InvalidInput(
            f"agent name {ident!r} is not valid: letters, digits, _ . - and up to 64 characters",
            errors=[{"field": "agent_id", "message": "not a valid agent name"}],
        )
    if find_agent(session, ident, deleted=True) is not None:
        raise Conflict(f"agent {ident!r} is deleted; restore it first (POST /api/v1/agents/{ident}/restore)")
    return create_agent(session, AgentCreate(name=ident), actor), True


def update_agent(session: Session, agent: Agent, body: AgentUpdate) -> Agent:
    changes = body.model_dump(exclude_unset=True)
    if "assistant" in changes:  # null is a value here: the agent has no assistant any more
        agent.assistant = assistant_name(session, changes.pop("assistant"))
    for field, value in changes.items():
        if value is None:
            raise InvalidInput(f"{field} cannot be null", errors=[{"field": field, "message": "null"}])
        setattr(agent, field, value)
    agent.updated_at = utcnow()
    session.flush()
    return agent


def delete_agent(session: Session, agent: Agent, actor: Principal) -> tuple[int, int | None]:
    """Soft-delete the agent and its memories as one action: (memories deleted, deletion id)."""
    from helios.memory import service as memory

    count, deletion_id = memory.delete_agent_memories(session, agent.id, actor)
    agent.deleted_at = utcnow()
    session.flush()
    return count, deletion_id


def restore_agent(session: Session, ident: str) -> tuple[Agent, int]:
    """Undo ``delete_agent``: the agent comes back with the memories its deletion took."""
    from helios.memory import service as memory

    agent = find_agent(session, ident, deleted=True)
    if agent is None:
        raise NotFound(f"no deleted agent {ident!r}")
    agent.deleted_at = None
    session.flush()
    return agent, memory.restore_agent_memories(session, agent.id)


def live_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).where(Agent.deleted_at.is_(None)).order_by(Agent.name)))


def list_agent_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Agent.id).where(Agent.deleted_at.is_(None))))


def agent_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))}
