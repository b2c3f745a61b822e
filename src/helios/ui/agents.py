"""Agents pages: the list, and one agent in one place: its models and their active versions, the
series it watches with their latest predictions, and its memory (strongest memories, a link to
the graph)."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from helios.agents import service as agents
from helios.agents import views as agent_views
from helios.agents.schemas import AgentRead
from helios.core.errors import HeliosError
from helios.memory import views as memory_views
from helios.memory.schemas import MemoryOrder
from helios.ui.guard import page_principal
from helios.ui.memory_panels import strength_bar
from helios.ui.runtime import context
from helios.ui.shell import frame

PREDICTIONS_SHOWN = 10


@ui.page("/agents", title="Agents · Helios")
def agents_page(request: Request) -> None:
    principal = page_principal(request)
    with frame("Agents", principal.name):
        ui.label("Agents").classes("text-2xl font-semibold")
        ui.label("What forecasts, watches series, remembers and explains itself.").classes("text-slate-500")
        with context().db.reading() as session:
            items = agent_views.list_agents(session, limit=200).items
        if not items:
            ui.label(
                "No agents yet. Create one with `helios agents create NAME`, or write a memory for one: "
                "an agent named in a memory write is created on first write."
            ).classes("text-slate-500").props('data-testid="agents-empty"')
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-3"):
            for agent in items:
                agent_card(agent)


def agent_card(agent: AgentRead) -> None:
    card = ui.card().classes("helios-card p-4 gap-1 cursor-pointer hover:shadow-lg")
    card.on("click", lambda: ui.navigate.to(f"/agents/{agent.name}"))
    with card.props(f'data-testid="agent-card-{agent.name}"'):
        ui.label(agent.name).classes("text-base font-semibold")
        if agent.description:
            ui.label(agent.description).classes("text-sm text-slate-500 line-clamp-2")
        ui.label(f"{len(agent.models)} models · {agent.memory_count} memories").classes("text-sm")


@ui.page("/agents/{name}", title="Agent · Helios")
def agent_page(request: Request, name: str) -> None:
    principal = page_principal(request)
    with frame("Agents", principal.name):
        try:
            with context().db.reading() as session:
                agent = agent_views.agent_detail(session, agents.get_agent(session, name))
        except HeliosError as exc:
            ui.label(exc.detail).classes("text-lg").props('data-testid="agent-missing"')
            ui.link("← All agents", "/agents")
            return
        with ui.column().classes("gap-0"):
            ui.label(agent.name).classes("text-2xl font-semibold").props('data-testid="agent-name"')
            ui.label(agent.description or "No description.").classes("text-slate-500")
        with ui.row().classes("w-full gap-4 items-stretch flex-col lg:flex-row"):
            models_card(agent)
            watches_card(agent)
        memory_card(agent)


def models_card(agent: AgentRead) -> None:
    from helios.registry import service as registry
    from helios.registry import views as registry_views

    with ui.card().classes("helios-card grow p-4 gap-1").props('data-testid="agent-models"'):
        ui.label("Models").classes("text-base font-semibold")
        if not agent.models:
            ui.label("No models named for this agent.").classes("text-sm text-slate-500")
        with context().db.reading() as session:
            for model_name in agent.models:
                try:
                    summary = registry_views.summarise(session, [registry.get_model(session, model_name)])[0]
                except HeliosError:
                    ui.label(f"{model_name}: not in the registry").classes("text-sm text-slate-500")
                    continue
                active = f"v{summary.active_version} active" if summary.active_version else "nothing deployed"
                with ui.row().classes("items-center gap-2"):
                    ui.link(model_name, f"/models/{model_name}")
                    ui.label(active).classes("text-sm text-slate-500")


def watches_card(agent: AgentRead) -> None:
    with ui.card().classes("helios-card grow p-4 gap-1").props('data-testid="agent-watches"'):
        ui.label("Watched series and latest predictions").classes("text-base font-semibold")
        if not agent.watches:
            ui.label("Watches no series yet.").classes("text-sm text-slate-500")
        for watch in agent.watches:
            ui.label(f"{watch.dataset}: {', '.join(watch.tickers) or 'all series'}").classes("text-sm")
            for ticker in watch.tickers[:PREDICTIONS_SHOWN]:
                latest_predictions(agent, ticker)


def latest_predictions(agent: AgentRead, ticker: str) -> None:
    from helios.predictions import views as predictions

    with context().db.reading() as session:
        found = predictions.list_predictions(session, ticker, latest=True, limit=PREDICTIONS_SHOWN).items
    for item in found:
        if agent.models and item.model not in agent.models:
            continue
        ui.label(
            f"{ticker} · {item.model} v{item.model_version} · "
            f"from {item.origin:%Y-%m-%d} · {item.horizon} steps"
        ).classes("text-xs text-slate-500 pl-3")


def memory_card(agent: AgentRead) -> None:
    with context().db.reading() as session:
        strongest = memory_views.list_memories(
            session, context().memory, agent.id, order=MemoryOrder.strength, limit=5
        )
    with ui.card().classes("helios-card w-full p-4 gap-1").props('data-testid="agent-memory"'):
        with ui.row().classes("w-full items-center"):
            ui.label(f"Memory · {strongest.total} memories").classes("text-base font-semibold grow")
            ui.link("Open the memory graph →", f"/memory/{agent.name}").props(
                'data-testid="agent-memory-link"'
            )
        for memory in strongest.items:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.label(memory.content).classes("grow text-sm truncate")
                strength_bar(memory.strength, f"agent-strength-{memory.id}")
