"""/api/v1/memory: per-agent memories, their graph and timeline, hybrid search, forgetting.
``{agent_id}`` is an agent's name or numeric id; writing to an unknown one creates it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from pydantic import ValidationError

from helios.agents import service as agents
from helios.api.deps import Admin, ContextDep, Cursor, Editor, Limit, ReadSessionDep, SessionDep, Viewer
from helios.core.errors import InvalidInput
from helios.core.pagination import DEFAULT_LIMIT
from helios.memory import forget, graph_views, service, views
from helios.memory.schemas import (
    AgentMemory,
    AgentMemoryList,
    DeletionList,
    DeletionRead,
    ForgetRequest,
    ForgetResult,
    Graph,
    MemoryBatch,
    MemoryList,
    MemoryOrder,
    MemoryRead,
    MemoryUpdate,
    MemoryWriteResult,
    PurgeResult,
    RestoreResult,
    SearchResult,
)

router = APIRouter(prefix="/memory", tags=["memory"])
NOT_FOUND = {404: {"description": "no such agent or memory"}}
INVALID = {422: {"description": "invalid input; errors[].field names it, e.g. memories[3].importance"}}
AsOf = Annotated[dt.datetime | None, Query(description="what the agent believed at this time")]
Order = Annotated[MemoryOrder, Query(description="time: newest first; strength: strongest first")]


@router.get("/agents", response_model=AgentMemoryList)
def list_agents(
    session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> AgentMemoryList:
    return views.agent_summaries(session, cursor=cursor, limit=limit)


@router.get("/agents/{agent_id}", response_model=AgentMemory, responses=NOT_FOUND)
def agent_memory(
    agent_id: str,
    session: ReadSessionDep,
    context: ContextDep,
    _: Viewer,
    order: Order = MemoryOrder.time,
    as_of: AsOf = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> AgentMemory:
    """The agent's memories (paged), its graph (optionally as of a time) and its timeline."""
    agent = agents.get_agent(session, agent_id)
    return views.agent_memory(
        session, context.memory, agent, order=order, cursor=cursor, limit=limit, as_of=as_of
    )


@router.get("/agents/{agent_id}/memories", response_model=MemoryList, responses=NOT_FOUND)
def list_memories(
    agent_id: str,
    session: ReadSessionDep,
    context: ContextDep,
    _: Viewer,
    order: Order = MemoryOrder.time,
    deleted: Annotated[bool, Query(description="list deleted (restorable) memories instead")] = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> MemoryList:
    agent = agents.get_agent(session, agent_id)
    return views.list_memories(
        session, context.memory, agent.id, order=order, deleted=deleted, cursor=cursor, limit=limit
    )


@router.get("/agents/{agent_id}/graph", response_model=Graph, responses=NOT_FOUND)
def agent_graph(
    agent_id: str, session: ReadSessionDep, context: ContextDep, _: Viewer, as_of: AsOf = None
) -> Graph:
    return graph_views.graph_of(session, context.memory, agents.get_agent(session, agent_id).id, as_of=as_of)


@router.post(
    "/agents/{agent_id}/memories",
    response_model=MemoryWriteResult,
    status_code=status.HTTP_201_CREATED,
    responses=INVALID,
)
def write_memories(
    agent_id: str,
    body: Annotated[dict[str, Any], Body(description='{"memories": [MemoryCreate, ...]}: 1 to 1,000')],
    session: SessionDep,
    context: ContextDep,
    actor: Editor,
) -> MemoryWriteResult:
    """Store 1 to 1,000 memories, all or none; an unknown agent is created on this first write."""
    batch = _batch(body)
    agent, created, memories = service.write_memories(
        session, context.memory, context.store, agent_id, batch, actor
    )
    return MemoryWriteResult(
        agent=agent.name, agent_created=created, items=views.memory_reads(session, context.memory, memories)
    )


def _batch(body: dict[str, Any]) -> MemoryBatch:
    try:
        return MemoryBatch.model_validate(body)
    except ValidationError as exc:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
        raise InvalidInput(f"nothing was stored: {detail}", errors=errors) from None


def _field(loc: tuple[Any, ...]) -> str:
    """('memories', 3, 'importance') -> 'memories[3].importance'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@router.post("/agents/{agent_id}/forget", response_model=ForgetResult, responses={**NOT_FOUND, **INVALID})
def forget_memories(
    agent_id: str, body: ForgetRequest, session: SessionDep, context: ContextDep, actor: Editor
) -> ForgetResult:
    """``dry_run`` (the default) returns the review queue; applying deletes it as one undoable action."""
    agent = agents.get_agent(session, agent_id)
    return forget.forget(session, context.memory, agent.id, body, actor)


@router.get("/agents/{agent_id}/deletions", response_model=DeletionList, responses=NOT_FOUND)
def list_deletions(
    agent_id: str, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> DeletionList:
    agent = agents.get_agent(session, agent_id)
    return views.deletions(session, agent, cursor=cursor, limit=limit)


@router.post("/deletions/{deletion_id}/undo", response_model=RestoreResult, responses=NOT_FOUND)
def undo_deletion(deletion_id: int, session: SessionDep, _: Editor) -> RestoreResult:
    """Restore, as one action, every memory a delete or forget took (those not yet purged)."""
    return RestoreResult(restored=service.undo_deletion(session, service.get_deletion(session, deletion_id)))


@router.get("/search", response_model=SearchResult)
def search_memories(
    context: ContextDep,
    _: Viewer,
    q: Annotated[str, Query(max_length=20_000, description="any text; empty gives no results")] = "",
    agent_id: Annotated[str | None, Query(description="one agent's memories; all agents if unset")] = None,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SearchResult:
    """Hybrid search: full text + semantic similarity + shared graph entities (+ the time window
    the query names, e.g. "last week"), fused by weighted relevance and scaled by strength.
    Returned memories count as read (strength is reinforced by use)."""
    return service.search_and_record(context.db, context.memory, q, agent_id, k)


@router.post("/purge", response_model=PurgeResult)
def purge(session: SessionDep, context: ContextDep, _: Admin) -> PurgeResult:
    """Remove for good what was deleted longer ago than HELIOS_MEMORY_PURGE_AFTER_DAYS."""
    return service.purge_expired(session, context.memory)


@router.get("/{memory_id}", response_model=MemoryRead, responses=NOT_FOUND)
def get_memory(memory_id: int, session: ReadSessionDep, context: ContextDep, _: Viewer) -> MemoryRead:
    memory = service.get_memory(session, memory_id, deleted=None)
    return views.memory_reads(session, context.memory, [memory])[0]


@router.patch("/{memory_id}", response_model=MemoryRead, responses={**NOT_FOUND, **INVALID})
def update_memory(
    memory_id: int, body: MemoryUpdate, session: SessionDep, context: ContextDep, _: Editor
) -> MemoryRead:
    memory = service.get_memory(session, memory_id)
    memory = service.update_memory(session, context.memory, context.store, memory, body)
    return views.memory_reads(session, context.memory, [memory])[0]


@router.delete("/{memory_id}", response_model=DeletionRead, responses=NOT_FOUND)
def delete_memory(memory_id: int, session: SessionDep, actor: Editor) -> DeletionRead:
    """Soft delete: restorable until purged (HELIOS_MEMORY_PURGE_AFTER_DAYS)."""
    deletion = service.delete_memory(session, service.get_memory(session, memory_id), actor)
    return views.deletion_read(session, deletion)


@router.post("/{memory_id}/restore", response_model=MemoryRead, responses=NOT_FOUND)
def restore_memory(memory_id: int, session: SessionDep, context: ContextDep, _: Editor) -> MemoryRead:
    memory = service.restore_memory(session, service.get_memory(session, memory_id, deleted=True))
    return views.memory_reads(session, context.memory, [memory])[0]
