"""/api/v1/agents: agents as first-class entities. ``{agent_id}`` is a name or a numeric id."""

from __future__ import annotations

from fastapi import APIRouter, status

from helios.agents import service, views
from helios.agents.schemas import (
    AgentCreate,
    AgentDeleted,
    AgentList,
    AgentPredictions,
    AgentRead,
    AgentUpdate,
)
from helios.api.deps import Cursor, Editor, Limit, ReadSessionDep, SessionDep, Viewer
from helios.core.pagination import DEFAULT_LIMIT

router = APIRouter(prefix="/agents", tags=["agents"])
PROBLEMS = {404: {"description": "no such agent"}, 422: {"description": "invalid input, field named"}}


@router.get("", response_model=AgentList)
def list_agents(
    session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> AgentList:
    return views.list_agents(session, cursor=cursor, limit=limit)


@router.post(
    "",
    response_model=AgentRead,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "name taken"}, 422: {"description": "invalid input, field named"}},
)
def create_agent(body: AgentCreate, session: SessionDep, actor: Editor) -> AgentRead:
    """``assistant`` names an existing assistant (name or id); ``schedules`` in the answer are the
    prediction schedules that run its models on the series it watches."""
    return views.agent_detail(session, service.create_agent(session, body, actor))


@router.get("/{agent_id}", response_model=AgentRead, responses=PROBLEMS)
def get_agent(agent_id: str, session: ReadSessionDep, _: Viewer) -> AgentRead:
    return views.agent_detail(session, service.get_agent(session, agent_id))


@router.get("/{agent_id}/predictions", response_model=AgentPredictions, responses=PROBLEMS)
def agent_predictions(agent_id: str, session: ReadSessionDep, _: Viewer) -> AgentPredictions:
    """The newest prediction per model for each series the agent watches, and each model
    version's accuracy there (scored points, MAE, MASE, 95% coverage, skill against naive)."""
    return views.agent_predictions(session, service.get_agent(session, agent_id))


@router.patch("/{agent_id}", response_model=AgentRead, responses=PROBLEMS)
def update_agent(agent_id: str, body: AgentUpdate, session: SessionDep, _: Editor) -> AgentRead:
    agent = service.update_agent(session, service.get_agent(session, agent_id), body)
    return views.agent_detail(session, agent)


@router.delete("/{agent_id}", response_model=AgentDeleted, responses=PROBLEMS)
def delete_agent(agent_id: str, session: SessionDep, actor: Editor) -> AgentDeleted:
    """Soft-deletes the agent and its memories as one action; ``POST .../restore`` undoes it."""
    agent = service.get_agent(session, agent_id)
    count, deletion_id = service.delete_agent(session, agent, actor)
    return AgentDeleted(agent=agent.name, memories_deleted=count, deletion_id=deletion_id)


@router.post("/{agent_id}/restore", response_model=AgentRead, responses=PROBLEMS)
def restore_agent(agent_id: str, session: SessionDep, _: Editor) -> AgentRead:
    agent, _count = service.restore_agent(session, agent_id)
    return views.agent_detail(session, agent)
