"""Agents as read schemas, and the one agent list order every list of agents pages by.

An agent's schedules and predictions are not stored with it: they are what the predictions
ledger holds for its models on the series it watches (``serves``), so they can never disagree
with the agent's own models and watches, and a deleted schedule leaves nothing dangling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.agents.schemas import (
    AgentAccuracy,
    AgentAssistant,
    AgentForecast,
    AgentList,
    AgentPredictions,
    AgentRead,
    AgentSchedule,
    WatchedSeries,
)
from helios.agents.tables import Agent
from helios.core.clock import as_utc
from helios.core.errors import NotFound
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count

if TYPE_CHECKING:
    from helios.predictions.tables import PredictionSchedule

SERIES_SHOWN = 20  # watched series whose latest predictions an agent's overview reads

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


def agent_read(
    agent: Agent,
    memory_count: int,
    assistant: AgentAssistant | None = None,
    schedules: list[AgentSchedule] | None = None,
) -> AgentRead:
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
        assistant=assistant,
        schedules=schedules or [],
    )


def list_agents(session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> AgentList:
    from helios.memory import views as memory

    agents, next_cursor, total = page_agents(session, cursor=cursor, limit=limit)
    counts = memory.live_counts(session, [a.id for a in agents])
    schedules = _all_schedules(session) if agents else []
    items = [
        agent_read(a, counts.get(a.id, 0), assistant_of(session, a), schedules_of(a, schedules))
        for a in agents
    ]
    return AgentList(items=items, next_cursor=next_cursor, total=total)


def agent_detail(session: Session, agent: Agent) -> AgentRead:
    from helios.memory import views as memory

    count_ = memory.live_counts(session, [agent.id]).get(agent.id, 0)
    return agent_read(
        agent, count_, assistant_of(session, agent), schedules_of(agent, _all_schedules(session))
    )


def assistant_of(session: Session, agent: Agent) -> AgentAssistant | None:
    if agent.assistant is None:
        return None
    from helios.assistants import service as assistants

    try:
        found = assistants.get_assistant(session, agent.assistant)
    except NotFound:
        return AgentAssistant(name=agent.assistant, found=False)
    return AgentAssistant(
        name=found.name, found=True, role=found.role, llm_model=found.llm_model, llm_version=found.llm_version
    )


# --- what the ledger holds for the agent ---------------------------------------------------------


def _all_schedules(session: Session) -> list[PredictionSchedule]:
    from helios.predictions import schedules

    return schedules.list_schedules(session)


def _model_name(ref: Any) -> str:
    return ref if isinstance(ref, str) else str(ref.get("name", ""))


def serves(agent: Agent, dataset: str, series: str | list[str], models: list[str]) -> bool:
    """Whether forecasting ``models`` on ``series`` of ``dataset`` is this agent's work: the
    dataset is one it watches, the series overlap what it watches there (a watch without
    tickers, or a run over ``all``, covers every series), and a model is one of its own (an
    agent that names no model takes any)."""
    if agent.models and not set(models) & set(agent.models):
        return False
    for watch in agent.watches or []:
        if watch["dataset"] != dataset:
            continue
        tickers = watch.get("tickers") or []
        if not tickers or series == "all":
            return True
        if set([series] if isinstance(series, str) else series) & set(tickers):
            return True
    return False


def schedules_of(agent: Agent, schedules: list[PredictionSchedule]) -> list[AgentSchedule]:
    found = []
    for schedule in schedules:
        request = schedule.request or {}
        models = [_model_name(m) for m in request.get("models", [])]
        series = request.get("series", [])
        if not serves(agent, request.get("dataset", ""), series, models):
            continue
        found.append(
            AgentSchedule(
                name=schedule.name,
                cron=schedule.cron,
                enabled=schedule.enabled,
                dataset=request.get("dataset", ""),
                series="all" if series == "all" else ([series] if isinstance(series, str) else list(series)),
                models=models,
                next_run_at=as_utc(schedule.next_run_at),
                last_run_at=as_utc(schedule.last_run_at) if schedule.last_run_at else None,
                last_status=schedule.last_status,
            )
        )
    return found


def watched_series(agent: Agent) -> list[tuple[str, str]]:
    """(dataset, ticker) pairs the agent names, first ``SERIES_SHOWN``."""
    pairs = [(w["dataset"], t) for w in agent.watches or [] for t in w.get("tickers") or []]
    return pairs[:SERIES_SHOWN]


def agent_predictions(session: Session, agent: Agent) -> AgentPredictions:
    """The newest prediction per model for each watched series, and how each model version did
    there, from the predictions ledger (its views and its accuracy function)."""
    from helios.predictions import accuracy
    from helios.predictions import views as predictions

    latest: list[AgentForecast] = []
    scored: list[AgentAccuracy] = []
    for dataset, ticker in watched_series(agent):
        for item in predictions.list_predictions(session, ticker, latest=True, limit=50).items:
            if item.dataset == dataset and serves(agent, dataset, ticker, [item.model]):
                latest.append(_forecast(item))
        report = accuracy.accuracy(session, unique_id=ticker, dataset=dataset, per_series=True)
        scored.extend(
            _accuracy(dataset, g) for g in report.groups if serves(agent, dataset, ticker, [g.model])
        )
    return AgentPredictions(latest=latest, accuracy=scored)


def _forecast(item: Any) -> AgentForecast:
    return AgentForecast(
        prediction_id=item.id,
        dataset=item.dataset,
        unique_id=item.unique_id,
        model=item.model,
        model_version=item.model_version,
        origin=item.origin,
        horizon=item.horizon,
        trigger=item.trigger,
        created_at=item.created_at,
    )


def _accuracy(dataset: str, group: Any) -> AgentAccuracy:
    inside_95 = next((c.observed for c in group.coverage if c.level == 95), None)
    return AgentAccuracy(
        dataset=dataset,
        unique_id=group.unique_id or "",
        model=group.model,
        model_version=group.version,
        scored_points=group.n,
        mae=group.mae,
        mase=group.mase,
        coverage_95=inside_95,
        relative_mae=group.skill.relative_mae,
        verdict=group.skill.verdict,
    )
