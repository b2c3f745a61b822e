"""The agent filter that the Predictions and Assistants pages share (``?agent=NAME``): the agent as
its service describes it, the banner that names it with the way to its page and back to
everything, and the message an unknown name gets in place of an error page."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from nicegui import ui

from helios.agents import service as agents
from helios.agents import views as agent_views
from helios.agents.schemas import AgentRead
from helios.core.errors import NotFound
from helios.ui.runtime import context


@dataclass(frozen=True)
class AgentScope:
    """What an agent narrows a page to: the models it forecasts with (none named: any model, as
    ``agents.views.serves`` reads it) and the series it watches (a watch without tickers: all)."""

    agent: AgentRead

    @property
    def name(self) -> str:
        return self.agent.name

    def datasets(self, names: list[str]) -> list[str]:
        watched = {w.dataset for w in self.agent.watches}
        return [n for n in names if n in watched]

    def series(self, dataset: str, series: list[str]) -> list[str]:
        tickers: set[str] = set()
        for watch in self.agent.watches:
            if watch.dataset == dataset:
                if not watch.tickers:
                    return series
                tickers.update(watch.tickers)
        return [s for s in series if s in tickers]

    def models(self, names: list[str]) -> list[str]:
        return [n for n in names if n in self.agent.models] if self.agent.models else names

    def forecasts_with(self, model: str) -> bool:
        return not self.agent.models or model in self.agent.models


def agent_scope(name: str) -> AgentScope:
    """The agent named in the address; ``NotFound`` for a name no live agent has."""
    with context().db.reading() as session:
        return AgentScope(agent_views.agent_detail(session, agents.get_agent(session, name)))


def agent_link(name: str) -> str:
    return f"/agents/{quote(name, safe='')}"


def unknown_agent(name: str, error: NotFound, everything: str) -> None:
    """An address naming no agent says so, with the ways on, rather than failing."""
    with ui.card().classes("helios-card w-full p-4 gap-1").props('data-testid="agent-filter-unknown"'):
        ui.label(f"No agent named “{name}”.").classes("text-lg font-medium")
        ui.label(error.detail).classes("text-sm text-slate-500")
        with ui.row().classes("gap-4"):
            ui.link("All agents", "/agents")
            ui.link("Show everything", everything).props('data-testid="agent-filter-clear"')


def agent_banner(scope: AgentScope, what: str, everything: str) -> None:
    """The page's filter, said in words: which agent, what it narrows, the way back to all."""
    with ui.row().classes("items-center gap-2 flex-wrap").props('data-testid="agent-filter"'):
        ui.chip(f"Agent {scope.name}", icon="smart_toy", color="indigo-1").props(
            "dense square text-color=indigo-9"
        )
        ui.label(what).classes("text-sm text-slate-500")
        ui.link(f"{scope.name}'s page", agent_link(scope.name)).classes("text-sm").props(
            'data-testid="agent-filter-agent-link"'
        )
        ui.link("show everything", everything).classes("text-sm").props('data-testid="agent-filter-clear"')
