"""Agents pages: the list, and one agent in one place: its models and their active versions, its
assistant, the prediction schedules that run its models on its series, the latest predictions
and their accuracy on the series it watches, and its memory (the strongest memories and a
link to its graph on the Memory page)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from nicegui import ui

from helios.agents import service as agents
from helios.agents import views as agent_views
from helios.agents.schemas import AgentAccuracy, AgentForecast, AgentPredictions, AgentRead
from helios.core.errors import HeliosError
from helios.memory import views as memory_views
from helios.memory.schemas import MemoryOrder
from helios.ui.guard import page_principal
from helios.ui.memory_panels import strength_bar
from helios.ui.runtime import context
from helios.ui.shell import frame
from helios.ui.words import counted


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
        models = counted(len(agent.models), "model", "models")
        ui.label(f"{models} · {counted(agent.memory_count, 'memory', 'memories')}").classes("text-sm")
        if agent.assistant:
            ui.label(f"assistant: {agent.assistant.name}").classes("text-sm text-slate-500")


@ui.page("/agents/{name}", title="Agent · Helios")
def agent_page(request: Request, name: str) -> None:
    principal = page_principal(request)
    with frame("Agents", principal.name):
        try:
            with context().db.reading() as session:
                row = agents.get_agent(session, name)
                agent = agent_views.agent_detail(session, row)
                ledger = agent_views.agent_predictions(session, row)
        except HeliosError as exc:
            ui.label(exc.detail).classes("text-lg").props('data-testid="agent-missing"')
            ui.link("← All agents", "/agents")
            return
        with ui.column().classes("gap-0"):
            ui.label(agent.name).classes("text-2xl font-semibold").props('data-testid="agent-name"')
            ui.label(agent.description or "No description.").classes("text-slate-500")
        with ui.row().classes("w-full gap-4 items-stretch flex-col lg:flex-row"):
            models_card(agent)
            assistant_card(agent)
        schedules_card(agent)
        predictions_card(agent, ledger)
        accuracy_card(ledger)
        memory_card(agent)


def card(testid: str, title: str, extra: str = "", filtered: tuple[str, AgentRead] | None = None) -> ui.card:
    """A card of the agent page; ``filtered`` (page, agent) puts the link to that page, filtered
    by the agent (?agent=NAME), beside the title."""
    box = ui.card().classes(f"helios-card p-4 gap-1 w-full {extra}").props(f'data-testid="{testid}"')
    with box, ui.row().classes("w-full items-center gap-2"):
        ui.label(title).classes("text-base font-semibold grow")
        if filtered:
            page, agent = filtered
            ui.link(
                f"{page} for {agent.name} →", f"/{page.lower()}?{urlencode({'agent': agent.name})}"
            ).props(f'data-testid="agent-{page.lower()}-link"')
    return box


def muted(text: str) -> None:
    ui.label(text).classes("text-sm text-slate-500")


def models_card(agent: AgentRead) -> None:
    from helios.registry import service as registry
    from helios.registry import views as registry_views

    with card("agent-models", "Models", "lg:w-auto grow"):
        if not agent.models:
            muted("No models named for this agent.")
        with context().db.reading() as session:
            for model_name in agent.models:
                try:
                    summary = registry_views.summarise(session, [registry.get_model(session, model_name)])[0]
                except HeliosError:
                    muted(f"{model_name}: not in the registry")
                    continue
                active = f"v{summary.active_version} active" if summary.active_version else "nothing deployed"
                with ui.row().classes("items-center gap-2"):
                    ui.link(model_name, f"/models/{model_name}")
                    muted(active)


def assistant_card(agent: AgentRead) -> None:
    with card("agent-assistant", "Assistant", "lg:w-auto grow", ("Assistants", agent)):
        found = agent.assistant
        if found is None:
            muted(f"No assistant explains it. Set one: helios agents update {agent.name} --assistant NAME")
            ui.link("Assistants →", "/assistants")
            return
        if not found.found:
            muted(f"{found.name}: deleted since it was set. Choose another on the Assistants page.")
            ui.link("Assistants →", "/assistants")
            return
        with ui.row().classes("items-center gap-2"):
            ui.link(found.name, f"/assistants/{found.name}").props('data-testid="agent-assistant-link"')
            muted(f"role {found.role}")
        model = f"{found.llm_model}" + (
            f" v{found.llm_version}" if found.llm_version else " (active version)"
        )
        muted(f"talks to {model}" if found.llm_model else "no LLM model set: it cannot answer yet")


def schedules_card(agent: AgentRead) -> None:
    with card("agent-schedules", "Prediction schedules"):
        if not agent.schedules:
            muted("No prediction schedule runs this agent's models on the series it watches.")
            return
        columns = [
            {"name": k, "label": label, "field": k, "align": "left"}
            for k, label in (
                ("name", "Schedule"),
                ("cron", "Cron (UTC)"),
                ("what", "Runs"),
                ("next", "Next run"),
                ("last", "Last run"),
            )
        ]
        rows = [
            {
                "name": s.name + ("" if s.enabled else " (paused)"),
                "cron": s.cron,
                "what": f"{', '.join(s.models)} on {s.dataset}: "
                + ("all series" if s.series == "all" else ", ".join(s.series)),
                "next": f"{s.next_run_at:%Y-%m-%d %H:%M}",
                "last": s.last_status or "not yet",
            }
            for s in agent.schedules
        ]
        with ui.element("div").classes("w-full overflow-x-auto"):
            ui.table(columns=columns, rows=rows, row_key="name").props("dense flat").classes("w-full")


def predictions_card(agent: AgentRead, ledger: AgentPredictions) -> None:
    with card("agent-watches", "Watched series and latest predictions", filtered=("Predictions", agent)):
        if not agent.watches:
            muted("Watches no series yet.")
        for watch in agent.watches:
            muted(
                f"{watch.dataset}: {', '.join(watch.tickers) or 'all series (name tickers to see them here)'}"
            )
        if agent.watches and not ledger.latest:
            muted("No predictions yet from its models on these series.")
        for item in ledger.latest:
            forecast_row(item)


def forecast_row(item: AgentForecast) -> None:
    target = (
        f"/predictions?dataset={item.dataset}&ticker={item.unique_id}&model={item.model}"
        f"&version={item.model_version}&prediction={item.prediction_id}"
    )
    with ui.row().classes("items-center gap-2 pl-3 flex-wrap"):
        ui.link(f"{item.unique_id} · {item.model} v{item.model_version}", target)
        muted(f"from {item.origin:%Y-%m-%d} · {item.horizon} steps · {item.trigger}")


def accuracy_card(ledger: AgentPredictions) -> None:
    with card("agent-accuracy", "Accuracy on its series"):
        if not ledger.accuracy:
            muted("Nothing scored yet: accuracy appears once actuals arrive for its predictions.")
            return
        columns = [
            {"name": k, "label": label, "field": k, "align": "left" if k in ("series", "model") else "right"}
            for k, label in (
                ("series", "Series"),
                ("model", "Model"),
                ("n", "Scored points"),
                ("mae", "MAE"),
                ("mase", "MASE"),
                ("cov", "Inside 95%"),
                ("skill", "vs naive (rel. MAE)"),
            )
        ]
        rows = [accuracy_row(i, a) for i, a in enumerate(ledger.accuracy)]
        with ui.element("div").classes("w-full overflow-x-auto"):
            ui.table(columns=columns, rows=rows, row_key="key").props("dense flat").classes("w-full")
        for a in ledger.accuracy:
            muted(f"{a.unique_id} · {a.model} v{a.model_version}: {a.verdict}")


def accuracy_row(index: int, a: AgentAccuracy) -> dict:
    return {
        "key": index,
        "series": f"{a.dataset}:{a.unique_id}",
        "model": f"{a.model} v{a.model_version}",
        "n": a.scored_points,
        "mae": _number(a.mae),
        "mase": _number(a.mase),
        "cov": "–" if a.coverage_95 is None else f"{a.coverage_95:.0%}",
        "skill": _number(a.relative_mae),
    }


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def memory_card(agent: AgentRead) -> None:
    with context().db.reading() as session:
        strongest = memory_views.list_memories(
            session, context().memory, agent.id, order=MemoryOrder.strength, limit=5
        )
    with ui.card().classes("helios-card w-full p-4 gap-1").props('data-testid="agent-memory"'):
        with ui.row().classes("w-full items-center"):
            total = counted(strongest.total, "memory", "memories")
            ui.label(f"Memory · {total}").classes("text-base font-semibold grow")
            ui.link("Open the memory graph →", f"/memory/{agent.name}").props(
                'data-testid="agent-memory-link"'
            )
        for memory in strongest.items:
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.label(memory.content).classes("grow text-sm truncate")
                strength_bar(memory.strength, f"agent-strength-{memory.id}")
