"""Memory Graph page: pick an agent; see its knowledge graph (node size = strength, colour = type,
click a node for its memories), search with highlighted matches and the reasons, a timeline,
strength bars with their parts, delete/restore, and forgetting through a review queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from nicegui import run, ui
from sqlalchemy.orm import Session

from helios.agents import service as agents
from helios.agents import views as agent_views
from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.memory import forget, graph_views, service, views
from helios.memory.schemas import (
    AgentMemorySummary,
    ForgetRequest,
    Graph,
    MemoryBatch,
    MemoryKind,
    MemoryOrder,
    MemoryRead,
    TimelineDay,
)
from helios.ui import memory_charts as charts
from helios.ui.guard import page_principal
from helios.ui.memory_panels import memory_row, search_hit
from helios.ui.memory_review import ForgetPanel
from helios.ui.runtime import context
from helios.ui.shell import frame
from helios.ui.words import counted

LISTED = 100
ENTITY_CHIPS = 30


class MemoryPage:
    def __init__(self, agent: str, principal: Principal) -> None:
        self.agent, self.principal = agent, principal
        self.can_edit = principal.role >= Role.editor
        self.order = MemoryOrder.time
        self.graph: Graph | None = None
        self.summary: AgentMemorySummary | None = None

    # --- layout ---------------------------------------------------------------------------

    def build(self) -> None:
        self.header = ui.row().classes("w-full items-center gap-4")
        if self.can_edit:
            self.add_form()
        self.search_box()
        with ui.row().classes("w-full gap-4 items-stretch flex-col lg:flex-row"):
            with ui.card().classes("helios-card grow min-w-0 p-3 gap-1"):
                ui.label("Knowledge graph").classes("text-base font-semibold")
                ui.label("Node size = strength, colour = type; click a node for its memories.").classes(
                    "text-xs text-slate-500"
                )
                self.legend = ui.row().classes("w-full gap-1 items-center")
                self.legend.props('data-testid="graph-legend"')
                self.chart = ui.echart(
                    charts.graph_options(Graph(as_of=None, nodes=[], edges=[])),
                    on_point_click=self.node_clicked,
                )
                self.chart.classes("w-full h-[460px]").props('data-testid="memory-graph"')
                self.entities = ui.row().classes("w-full gap-1").props('data-testid="graph-entities"')
            with ui.card().classes("helios-card w-full lg:w-[380px] p-3 gap-1"):
                self.selected_title = ui.label("Select a node or a day").classes("text-base font-semibold")
                self.selected = ui.column().classes("w-full gap-0 max-h-[520px] overflow-auto")
                self.selected.props('data-testid="selected-memories"')
        with ui.card().classes("helios-card w-full p-3 gap-1"):
            ui.label("Timeline").classes("text-base font-semibold")
            self.timeline_chart = ui.echart(charts.timeline_options([]), on_point_click=self.day_clicked)
            self.timeline_chart.classes("w-full h-48").props('data-testid="timeline"')
            self.days = ui.row().classes("w-full gap-1").props('data-testid="timeline-days"')
        self.memory_lists()
        if self.can_edit:
            self.forget_panel = ForgetPanel(self.agent, self.principal, on_change=self.refresh)
            self.forget_panel.build()
        self.refresh()

    def add_form(self) -> None:
        with ui.card().classes("helios-card w-full p-3 gap-2"):
            ui.label("Add a memory").classes("text-base font-semibold")
            with ui.row().classes("w-full items-start gap-3 flex-col md:flex-row"):
                self.content = (
                    ui.textarea(placeholder="What should the agent remember?")
                    .props('outlined dense autogrow data-testid="memory-content"')
                    .classes("grow w-full md:w-auto")
                )
                self.kind = (
                    ui.select([k.value for k in MemoryKind], value="fact", label="kind")
                    .props('outlined dense data-testid="memory-kind"')
                    .classes("w-36")
                )
                self.importance = (
                    ui.number("importance", value=0.5, min=0, max=1, step=0.1)
                    .props('outlined dense data-testid="memory-importance"')
                    .classes("w-32")
                )
                ui.button("Remember", icon="add", on_click=self.add).props('data-testid="memory-add"')

    def search_box(self) -> None:
        with ui.card().classes("helios-card w-full p-3 gap-2"):
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.query = (
                    ui.input(placeholder="Search memories: words, meaning or names")
                    .props('outlined dense clearable data-testid="memory-search"')
                    .classes("grow")
                )
                self.query.on("keydown.enter", self.search)
                ui.button("Search", icon="search", on_click=self.search).props(
                    'data-testid="memory-search-go"'
                )
            self.results = ui.column().classes("w-full gap-0").props('data-testid="search-results"')

    def memory_lists(self) -> None:
        with ui.card().classes("helios-card w-full p-3 gap-1"):
            with ui.row().classes("w-full items-center"):
                ui.label("Memories").classes("text-base font-semibold grow")
                ui.toggle(
                    {"time": "newest", "strength": "strongest"}, value="time", on_change=self.set_order
                ).props('dense data-testid="memory-order"')
            with ui.tabs().classes("w-full") as tabs:
                live = ui.tab("Live").props('data-testid="tab-live"')
                deleted = ui.tab("Deleted").props('data-testid="tab-deleted"')
            with ui.tab_panels(tabs, value=live).classes("w-full"):
                with ui.tab_panel(live):
                    self.live = ui.column().classes("w-full gap-0").props('data-testid="live-memories"')
                with ui.tab_panel(deleted):
                    self.deleted = ui.column().classes("w-full gap-0").props('data-testid="deleted-memories"')

    # --- data -----------------------------------------------------------------------------

    def refresh(self) -> None:
        runtime = context().memory
        with context().db.reading() as session:
            agent = agents.get_agent(session, self.agent)
            self.summary = views.agent_summary(session, agent)
            self.graph = graph_views.graph_of(session, runtime, agent.id, max_nodes=500)
            days = views.timeline(session, agent.id)
            live = views.list_memories(session, runtime, agent.id, order=self.order, limit=LISTED)
            gone = views.list_memories(session, runtime, agent.id, deleted=True, limit=LISTED)
        self.show_header()
        self.show_graph(self.graph)
        self.show_timeline(days)
        self.show_rows(self.live, live.items, "No memories yet.")
        self.show_rows(self.deleted, gone.items, "Nothing deleted.")
        if self.can_edit:
            self.forget_panel.refresh_history()

    def show_header(self) -> None:
        summary = self.summary
        assert summary is not None
        self.header.clear()
        with self.header:
            with ui.column().classes("gap-0 grow"):
                ui.label(f"Memory of {self.agent}").classes("text-2xl font-semibold")
                ui.label(
                    f"{counted(summary.memory_count, 'memory', 'memories')} · "
                    f"{counted(summary.entity_count, 'entity', 'entities')} · "
                    f"{summary.deleted_count} deleted (restorable)"
                ).classes("text-slate-500").props('data-testid="memory-summary"')
            agent_picker(self.agent)
            ui.link("Agent page", f"/agents/{self.agent}").classes("text-sm")

    def show_graph(self, graph: Graph) -> None:
        self.chart.options.clear()
        self.chart.options.update(charts.graph_options(graph))
        self.chart.update()
        self.show_legend(graph)
        self.entities.clear()
        with self.entities:
            shown = f"{counted(len(graph.nodes), 'entity', 'entities')}, "
            shown += f"{counted(len(graph.edges), 'relation', 'relations')}:"
            ui.label(shown).classes("text-xs text-slate-500")
            for node in sorted(graph.nodes, key=lambda n: -len(n.memory_ids))[:ENTITY_CHIPS]:
                chip = ui.chip(node.name, on_click=lambda n=node: self.show_node(n.id))
                chip.props("dense clickable")
                # Assigned, not parsed from a props string: an entity's name is text a writer chose.
                chip.props["data-testid"] = f"entity-{node.name}"

    def show_legend(self, graph: Graph) -> None:
        """Node types in their colours; a click hides or shows a type (ECharts' hidden legend)."""
        self.legend.clear()
        with self.legend:
            for name, colour in charts.type_colours(graph).items():
                chip = ui.chip(name, color=colour, text_color="white")
                chip.on_click(lambda _, n=name, c=chip: self.toggle_type(n, c))
                chip.props(f'dense clickable data-testid="legend-{name}"')
                chip.tooltip("Click to hide or show this type")

    def toggle_type(self, name: str, chip: ui.chip) -> None:
        self.chart.run_chart_method("dispatchAction", {"type": "legendToggleSelect", "name": name})
        chip.classes(toggle="opacity-40 line-through")

    def show_timeline(self, days: list[TimelineDay]) -> None:
        self.timeline = {d.day.isoformat(): d for d in days}
        self.timeline_chart.options.clear()
        self.timeline_chart.options.update(charts.timeline_options(days))
        self.timeline_chart.update()
        self.days.clear()
        with self.days:
            for day in days[:14]:
                ui.chip(
                    f"{day.day.isoformat()} · {day.count}", on_click=lambda d=day: self.show_day(d)
                ).props(f'dense clickable outline data-testid="day-{day.day.isoformat()}"')

    def show_rows(self, target: ui.column, items: list[MemoryRead], empty: str) -> None:
        target.clear()
        with target:
            if not items:
                ui.label(empty).classes("text-slate-500 text-sm py-2")
            for memory in items:
                memory_row(memory, **self.row_actions())

    def row_actions(self) -> dict[str, Any]:
        return {"can_edit": self.can_edit, "on_delete": self.delete, "on_restore": self.restore}

    # --- actions --------------------------------------------------------------------------

    def node_clicked(self, event: Any) -> None:
        data = getattr(event, "data", None) or {}
        if "id" in data and "source" not in data:
            self.show_node(int(data["id"]))

    def show_node(self, entity_id: int) -> None:
        node = next((n for n in (self.graph.nodes if self.graph else []) if n.id == entity_id), None)
        if node is None:
            return
        self.show_selected(f"{node.name} ({node.type})", node.memory_ids)

    def day_clicked(self, event: Any) -> None:
        day = self.timeline.get(getattr(event, "name", ""))
        if day:
            self.show_day(day)

    def show_day(self, day: TimelineDay) -> None:
        self.show_selected(
            f"{day.day.isoformat()}: {counted(day.count, 'memory', 'memories')}", [m.id for m in day.memories]
        )

    def show_selected(self, title: str, memory_ids: list[int]) -> None:
        with context().db.reading() as session:
            found = [service.get_memory(session, i, deleted=None) for i in memory_ids[:50]]
            reads = views.memory_reads(session, context().memory, found)
        self.selected_title.text = title
        self.show_rows(self.selected, reads, "No memories.")

    async def search(self) -> None:
        text = self.query.value or ""
        runtime = context().memory

        def find() -> Any:
            return service.search_and_record(context().db, runtime, text, self.agent, k=10)

        result = await run.io_bound(find)
        self.results.clear()
        with self.results:
            if text.strip() and not result.items:
                ui.label("Nothing matches.").classes("text-slate-500 text-sm")
            for hit in result.items:
                search_hit(hit, **self.row_actions())

    async def add(self) -> None:
        content = (self.content.value or "").strip()
        if not content:
            ui.notify("Write what the agent should remember first", type="warning")
            return
        item = {"content": content, "kind": self.kind.value, "importance": self.importance.value}
        try:
            batch = MemoryBatch.model_validate({"memories": [item]})
        except ValueError as exc:
            ui.notify(f"Not stored: {exc}", type="negative", multi_line=True)
            return

        def store(session: Session) -> None:
            service.write_memories(
                session, context().memory, context().store, self.agent, batch, self.principal
            )

        if await run.io_bound(self._write, store):
            self.content.value = ""
            ui.notify("Remembered", type="positive")
            self.refresh()

    def delete(self, memory_id: int) -> None:
        if self._write(lambda s: service.delete_memory(s, service.get_memory(s, memory_id), self.principal)):
            ui.notify(f"Deleted memory #{memory_id}; restore it from the Deleted tab")
            self.refresh()

    def restore(self, memory_id: int) -> None:
        if self._write(lambda s: service.restore_memory(s, service.get_memory(s, memory_id, deleted=True))):
            ui.notify(f"Restored memory #{memory_id}", type="positive")
            self.refresh()

    def set_order(self, event: Any) -> None:
        self.order = MemoryOrder(event.value)
        self.refresh()

    def _write(self, change: Callable[[Session], Any]) -> bool:
        """One transaction, the role re-checked here and not only by which buttons are shown."""
        try:
            self.principal.require(Role.editor)
            with context().db.transaction() as session:
                change(session)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return False
        return True


def agent_picker(current: str | None) -> None:
    with context().db.reading() as session:
        names = [a.name for a in agent_views.list_agents(session, limit=200).items]
    picker = ui.select(
        names,
        value=current if current in names else None,
        label="agent",
        on_change=lambda e: e.value and ui.navigate.to(f"/memory/{e.value}"),
    )
    picker.props('outlined dense data-testid="agent-picker"').classes("w-56")


def forget_request(rule: dict, dry_run: bool, memory_ids: list[int] | None = None) -> ForgetRequest:
    return ForgetRequest.model_validate({"rule": rule, "dry_run": dry_run, "memory_ids": memory_ids})


def run_forget(agent: str, request: ForgetRequest, principal: Principal) -> Any:
    with context().db.transaction() as session:
        return forget.forget(
            session, context().memory, agents.get_agent(session, agent).id, request, principal
        )


@ui.page("/memory", title="Memory · Helios")
def memory_index(request: Request) -> None:
    principal = page_principal(request)
    with frame("Memory", principal.name):
        ui.label("Memory").classes("text-2xl font-semibold")
        with context().db.reading() as session:
            summaries = views.agent_summaries(session, limit=200).items
        if not summaries:
            ui.label(
                "No agent remembers anything yet. Write a memory with "
                '`helios memory add AGENT "text"` or POST /api/v1/memory/agents/AGENT/memories.'
            ).classes("text-slate-500").props('data-testid="memory-empty"')
            return
        agent_picker(None)
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-3"):
            for summary in summaries:
                card = ui.card().classes("helios-card p-4 gap-1 cursor-pointer hover:shadow-lg")
                card.on("click", lambda s=summary: ui.navigate.to(f"/memory/{s.agent}"))
                with card.props(f'data-testid="memory-agent-{summary.agent}"'):
                    ui.label(summary.agent).classes("text-base font-semibold")
                    memories = counted(summary.memory_count, "memory", "memories")
                    entities = counted(summary.entity_count, "entity", "entities")
                    ui.label(f"{memories} · {entities}").classes("text-sm text-slate-500")


@ui.page("/memory/{agent}", title="Memory · Helios")
def memory_page(request: Request, agent: str) -> None:
    principal = page_principal(request)
    with frame("Memory", principal.name):
        try:
            with context().db.reading() as session:
                name = agents.get_agent(session, agent).name
        except HeliosError as exc:
            ui.label(exc.detail).classes("text-lg").props('data-testid="memory-missing"')
            ui.link("← All agents' memory", "/memory")
            return
        MemoryPage(name, principal).build()
