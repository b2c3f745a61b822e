"""Assistant Configuration page: the assistant list, and per assistant a prompt editor (Jinja2
highlighting, live variable check, behaviour sliders), version history with labels and a diff
view, tests on sample inputs side by side, and A/B experiments with live results and Promote.

Every action calls the same services as the API, re-checks the role, and shows a refused input
as a message naming the field; nothing is stored then.
"""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from helios.assistants import service, views
from helios.assistants.schemas import AssistantCreate, AssistantRead, MemoryPolicy
from helios.core.auth import Principal, Role
from helios.core.errors import NotFound
from helios.registry import views as registry_views
from helios.ui.agent_filter import AgentScope, agent_banner, agent_link, agent_scope, unknown_agent
from helios.ui.assistant_editor import HistoryPanel, PromptEditor, run_as
from helios.ui.assistant_quality import ExperimentPanel, TestPanel
from helios.ui.guard import page_principal
from helios.ui.runtime import context
from helios.ui.shell import frame


def llm_models() -> list[str]:
    with context().db.reading() as session:
        return [m.name for m in registry_views.list_models(session, kind="llm", limit=200).items]


# --- the list ---------------------------------------------------------------------------------------


class AssistantList:
    def __init__(self, principal: Principal, scope: AgentScope | None = None) -> None:
        self.principal = principal
        self.scope = scope  # ?agent=: the agent's assistant only

    def build(self) -> None:
        with ui.row().classes("w-full items-end justify-between"):
            with ui.column().classes("gap-0"):
                ui.label("Assistants").classes("text-2xl font-semibold")
                ui.label(
                    "LLM assistants that explain forecasts: their prompts, tests and A/B experiments."
                ).classes("text-slate-500")
            create = ui.button("New assistant", icon="add", on_click=self.open_create)
            create.props('data-testid="assistant-new"')
            if self.principal.role < Role.editor:
                create.disable()
        if self.scope:
            agent_banner(self.scope, "the assistant that explains its forecasts", "/assistants")
        self.grid = ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-3")
        self.refresh()

    def refresh(self) -> None:
        with context().db.reading() as session:
            items = views.list_assistants(session, limit=200).items
        if self.scope:
            items = self._agents_own(items)
        self.grid.clear()
        with self.grid:
            for item in items:
                assistant_card(item)
            if not items and self.scope:
                self._no_assistant()
            elif not items:
                with ui.card().classes("helios-card col-span-full items-center p-8"):
                    ui.icon("support_agent").classes("text-5xl text-slate-400")
                    ui.label("No assistants yet. Create one, write its prompt, label a version production.")

    def _agents_own(self, items: list[AssistantRead]) -> list[AssistantRead]:
        assert self.scope is not None
        own = self.scope.agent.assistant
        return [i for i in items if own is not None and own.found and i.name == own.name]

    def _no_assistant(self) -> None:
        assert self.scope is not None
        name, own = self.scope.name, self.scope.agent.assistant
        why = (
            f"{name}'s assistant {own.name} has been deleted since it was set."
            if own is not None
            else f"No assistant explains {name}'s forecasts yet."
        )
        with (
            ui.card().classes("helios-card col-span-full p-6 gap-1").props('data-testid="agent-no-assistant"')
        ):
            ui.label(why)
            ui.label(f"Set one: helios agents update {name} --assistant NAME").classes("text-slate-500")
            ui.link(f"← {name}'s page", agent_link(name))

    def open_create(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-96"):
            ui.label("New assistant").classes("text-lg font-semibold")
            name = ui.input("Name (slug)").props('data-testid="assistant-name"').classes("w-full")
            role = ui.input("Role", value="analyst").props('data-testid="assistant-role"').classes("w-full")
            model = ui.select(
                {"": "no model yet", **{m: m for m in llm_models()}}, value="", label="LLM model"
            )
            model.props('data-testid="assistant-model"').classes("w-full")

            def create() -> None:
                body = _assistant_body(name.value, role.value, model.value)
                if body is None:
                    return
                if run_as(
                    self.principal, Role.editor, lambda s: service.create_assistant(s, body, self.principal)
                ):
                    dialog.close()
                    ui.navigate.to(f"/assistants/{body.name}")

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create", on_click=create).props('data-testid="assistant-create"')
        dialog.open()


def _assistant_body(name: str, role: str, model: str) -> AssistantCreate | None:
    try:
        return AssistantCreate(name=(name or "").strip(), role=(role or "").strip(), llm_model=model or None)
    except ValueError as exc:
        field = exc.errors()[0]["loc"][0] if hasattr(exc, "errors") else "input"  # type: ignore[attr-defined]
        ui.notify(f"{field}: {exc.errors()[0]['msg']}", type="negative")  # type: ignore[attr-defined]
        return None


def assistant_card(item: AssistantRead) -> None:
    with ui.card().classes("helios-card cursor-pointer hover:shadow-lg") as card:
        card.props(f'data-testid="assistant-card-{item.name}"')
        card.on("click", lambda: ui.navigate.to(f"/assistants/{item.name}"))
        with ui.row().classes("w-full items-center justify-between"):
            ui.label(item.name).classes("text-lg font-semibold")
            ui.badge(item.role, color="indigo-6")
        ui.label(item.description or "—").classes("text-slate-500 text-sm")
        with ui.row().classes("gap-2 text-sm"):
            ui.label(f"model: {item.llm_model or 'none'}")
            production = item.labels.get("production")
            ui.badge(
                f"production v{production}" if production else "no production",
                color="green-7" if production else "grey-6",
            )
            ui.label(f"{item.latest_version or 0} version(s)").classes("text-slate-500")


# --- one assistant ----------------------------------------------------------------------------------


class AssistantPage:
    def __init__(self, principal: Principal, name: str) -> None:
        self.principal, self.name = principal, name

    def build(self) -> None:
        self.header = ui.column().classes("w-full gap-1")
        self.refresh_header()
        with ui.tabs().classes("w-full") as tabs:
            prompt = ui.tab("Prompt", icon="edit_note").props('data-testid="tab-prompt"')
            history = ui.tab("History & diff", icon="history").props('data-testid="tab-history"')
            tests = ui.tab("Test", icon="fact_check").props('data-testid="tab-test"')
            experiments = ui.tab("Experiments", icon="science").props('data-testid="tab-experiments"')
        with ui.tab_panels(tabs, value=prompt, animated=False).classes("w-full bg-transparent"):
            with ui.tab_panel(prompt).classes("p-0"):
                self.editor = PromptEditor(self.principal, self.name, on_saved=self.changed)
                self.editor.build()
            with ui.tab_panel(history).classes("p-0"):
                self.history = HistoryPanel(self.principal, self.name, on_changed=self.changed)
                self.history.build()
            with ui.tab_panel(tests).classes("p-0"):
                self.tests = TestPanel(self.principal, self.name)
                self.tests.build()
            with ui.tab_panel(experiments).classes("p-0"):
                self.experiments = ExperimentPanel(self.principal, self.name, on_changed=self.changed)
                self.experiments.build()

    def changed(self) -> None:
        self.refresh_header()
        self.history.refresh()
        self.tests.refresh_versions()
        self.experiments.refresh_versions()

    def refresh_header(self) -> None:
        with context().db.reading() as session:
            item = views.assistant_read(session, service.get_assistant(session, self.name))
        self.header.clear()
        with self.header, ui.row().classes("w-full items-center gap-3"):
            ui.label(item.name).classes("text-2xl font-semibold").props('data-testid="assistant-title"')
            ui.badge(item.role, color="indigo-6")
            ui.label(f"model: {item.llm_model or 'none configured'}").classes("text-slate-500")
            ui.label(memory_words(item.memory)).classes("text-slate-500").props('data-testid="memory-policy"')
            for label, number in sorted(item.labels.items()):
                color = "green-7" if label == "production" else "amber-8"
                badge = ui.badge(f"{label} → v{number}", color=color)
                badge.props["data-testid"] = f"label-{label}"  # a value, not parsed from a props string


def memory_words(policy: MemoryPolicy) -> str:
    if not policy.agent:
        return "memory: none"
    words = f"memory: recalls {policy.limit} of {policy.agent}'s"
    return words + (", remembers its answers (with the prompt hash)" if policy.remember else "")


@ui.page("/assistants", title="Assistants · Helios")
def assistants_page(request: Request, agent: str | None = None) -> None:
    principal = page_principal(request)
    with frame("Assistants", principal.name):
        scope = None
        if agent:
            try:
                scope = agent_scope(agent)
            except NotFound as exc:
                unknown_agent(agent, exc, "/assistants")
                return
        AssistantList(principal, scope).build()


@ui.page("/assistants/{name}", title="Assistant · Helios")
def assistant_page(request: Request, name: str) -> None:
    principal = page_principal(request)
    with frame("Assistants", principal.name):
        try:
            with context().db.reading() as session:
                service.get_assistant(session, name)
        except NotFound as exc:
            ui.label(exc.detail).classes("text-lg")
            ui.link("All assistants", "/assistants")
            return
        ui.page_title(f"{name} · Assistants · Helios")
        AssistantPage(principal, name).build()
