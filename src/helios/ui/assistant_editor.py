"""The prompt editor (Jinja2 highlighting, a live check of the variables each template uses,
behaviour sliders) and the version history with labels and a diff between any two versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from helios.assistants import prompts, service, views
from helios.assistants.rendering import CONTEXT_VARIABLES, check_template
from helios.assistants.schemas import (
    BehaviourSettings,
    MessageTemplate,
    PromptVersionCreate,
    PromptVersionRead,
)
from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError, InvalidInput
from helios.ui.runtime import context

STARTER = PromptVersionCreate(
    system_prompt=(
        "You are {{ assistant }}, explaining forecasts in plain words.\n"
        "{% for p in predictions %}- {{ p.ticker }} ({{ p.model }})\n{% endfor %}"
    ),
    messages=[MessageTemplate(role="user", template="{{ question }}")],
    variables=["question"],
)


def run_as(principal: Principal, role: Role, action: Callable[[Any], Any], done: str | None = None) -> Any:
    try:
        principal.require(role)
        with context().db.transaction() as session:
            result = action(session)
    except HeliosError as exc:
        ui.notify(exc.detail, type="negative", multi_line=True, timeout=8000)
        return None
    if done:
        ui.notify(done, type="positive")
    return result


def versions_of(name: str) -> list[PromptVersionRead]:
    with context().db.reading() as session:
        return views.list_versions(session, service.get_assistant(session, name), limit=200).items


def editor_box(value: str, testid: str, on_change: Callable[[], None]) -> ui.codemirror:
    box = ui.codemirror(value, language="Jinja2", line_wrapping=True, on_change=lambda _: on_change())
    return box.classes("w-full border rounded min-h-[90px]").props(f'data-testid="{testid}"')


class PromptEditor:
    def __init__(self, principal: Principal, name: str, on_saved: Callable[[], None]) -> None:
        self.principal, self.name, self.on_saved = principal, name, on_saved
        self.messages: list[tuple[ui.select, ui.codemirror]] = []

    def build(self) -> None:
        versions = versions_of(self.name)
        start = _as_create(versions[0]) if versions else STARTER
        with ui.row().classes("w-full gap-6 items-start flex-wrap lg:flex-nowrap"):
            with ui.card().classes("helios-card w-full lg:flex-1 min-w-0"):
                basis = (
                    f"editing from v{versions[0].version}"
                    if versions
                    else "a starter prompt: nothing saved yet"
                )
                self.basis = (
                    ui.label(basis).classes("text-slate-500 text-sm").props('data-testid="editor-basis"')
                )
                ui.label("System prompt").classes("font-medium")
                self.system = editor_box(start.system_prompt, "editor-system", self.check)
                self.message_column = ui.column().classes("w-full gap-2")
                for message in start.messages:
                    self.add_message(message.role, message.template)
                ui.button("Add message", icon="add", on_click=lambda: self.add_message("user", "")).props(
                    "flat dense"
                )
                self.variables = ui.input_chips("Declared variables", value=list(start.variables)).classes(
                    "w-full"
                )
                self.variables.props('data-testid="editor-variables"').on_value_change(lambda _: self.check())
                self.usage = ui.column().classes("gap-1 text-sm").props('data-testid="editor-usage"')
            with ui.card().classes("helios-card w-full lg:w-80 shrink-0"):
                self.settings_form(start.settings)
        self.check()

    def add_message(self, role: str, template: str) -> None:
        with self.message_column, ui.row().classes("w-full items-start gap-2 flex-wrap sm:flex-nowrap"):
            picker = (
                ui.select(["user", "assistant", "system"], value=role).props("dense outlined").classes("w-32")
            )
            box = editor_box(template, f"editor-message-{len(self.messages)}", self.check).classes(
                "flex-1 min-w-0"
            )
            self.messages.append((picker, box))

    def settings_form(self, settings: BehaviourSettings) -> None:
        ui.label("Behaviour").classes("font-medium")
        self.temperature = _slider("Temperature", 0, 2, 0.05, settings.temperature, "slider-temperature")
        limit = self._max_tokens_limit()
        self.max_tokens = _slider(
            "Max tokens", 1, limit, 1, min(settings.max_tokens, limit), "slider-max-tokens"
        )
        self.top_p = _slider("Top-p", 0.05, 1, 0.05, settings.top_p, "slider-top-p")
        self.stop = ui.input_chips("Stop sequences", value=list(settings.stop)).classes("w-full")
        self.response_format = ui.select(
            ["text", "json_object"], value=settings.response_format, label="Response format"
        )
        self.response_format.classes("w-full")
        self.message = ui.input("What changed").classes("w-full").props('data-testid="editor-message"')
        save = ui.button("Save new version", icon="save", on_click=self.save).classes("w-full")
        save.props('data-testid="editor-save"')
        if self.principal.role < Role.editor:
            save.disable()

    def _max_tokens_limit(self) -> int:
        with context().db.reading() as session:
            return service.max_tokens_limit(session, service.get_assistant(session, self.name))

    def check(self) -> None:
        """Show the variables each template uses; unknown ones and syntax errors in red."""
        declared = set(self.variables.value or [])
        self.usage.clear()
        with self.usage:
            for where, source in self._templates():
                try:
                    used = check_template(source, where).variables
                except InvalidInput as exc:
                    ui.label(exc.detail).classes("text-red-600")
                    continue
                unknown = sorted(used - declared - CONTEXT_VARIABLES)
                with ui.row().classes("items-center gap-1"):
                    ui.label(f"{where}:").classes("text-slate-500")
                    for name in sorted(used):
                        ui.badge(name, color="red-7" if name in unknown else "blue-7")
                if unknown:
                    ui.label(f"undeclared: {', '.join(unknown)}").classes("text-red-600")

    def _templates(self) -> list[tuple[str, str]]:
        found = [("system_prompt", self.system.value or "")]
        return found + [
            (f"messages.{i}.template", box.value or "") for i, (_, box) in enumerate(self.messages)
        ]

    def body(self) -> PromptVersionCreate:
        return PromptVersionCreate(
            system_prompt=self.system.value or "",
            messages=[MessageTemplate(role=p.value, template=b.value or "") for p, b in self.messages],
            variables=list(self.variables.value or []),
            settings=BehaviourSettings(
                temperature=self.temperature.value,
                max_tokens=int(self.max_tokens.value),
                top_p=self.top_p.value,
                stop=list(self.stop.value or []),
                response_format=self.response_format.value,
            ),
            message=self.message.value or "",
        )

    def save(self) -> None:
        def saving(session: Any) -> int:
            assistant = service.get_assistant(session, self.name)
            return service.save_version(session, assistant, self.body(), self.principal).version

        number = run_as(self.principal, Role.editor, saving)
        if number is not None:
            ui.notify(f"Saved v{number}", type="positive")
            self.message.value = ""
            self.basis.text = f"editing from v{number}"
            self.on_saved()


def _slider(label: str, low: float, high: float, step: float, value: float, testid: str) -> ui.slider:
    with ui.row().classes("w-full items-center justify-between"):
        ui.label(label).classes("text-sm")
        shown = ui.label().classes("text-sm font-mono")
    slider = ui.slider(min=low, max=high, step=step, value=value).props(f'label data-testid="{testid}"')
    shown.bind_text_from(slider, "value", backward=lambda v: f"{v:g}")
    return slider


def _as_create(version: PromptVersionRead) -> PromptVersionCreate:
    return PromptVersionCreate(
        system_prompt=version.system_prompt,
        messages=version.messages,
        variables=version.variables,
        settings=version.settings,
    )


# --- history, labels, diff --------------------------------------------------------------------------


class HistoryPanel:
    COLUMNS = [
        {"name": "version", "label": "Version", "field": "version", "align": "left"},
        {"name": "labels", "label": "Labels", "field": "labels", "align": "left"},
        {"name": "message", "label": "Message", "field": "message", "align": "left"},
        {"name": "author", "label": "Author", "field": "author", "align": "left"},
        {"name": "created", "label": "Saved", "field": "created", "align": "left"},
        {"name": "hash", "label": "Content hash", "field": "hash", "align": "left"},
    ]

    def __init__(self, principal: Principal, name: str, on_changed: Callable[[], None]) -> None:
        self.principal, self.name, self.on_changed = principal, name, on_changed

    def build(self) -> None:
        with ui.card().classes("helios-card w-full"):
            ui.label("Versions").classes("font-medium")
            self.table = ui.table(columns=self.COLUMNS, rows=[], row_key="version").classes("w-full")
            self.table.props('flat dense data-testid="versions-table"')
            with ui.row().classes("items-end gap-3 flex-wrap"):
                self.label_version = ui.select({}, label="Version").props(
                    'dense outlined data-testid="label-version"'
                )
                self.label_version.classes("w-28")
                self.label_name = ui.select(
                    ["production", "staging"], value="production", label="Label", new_value_mode="add-unique"
                )
                self.label_name.props('dense outlined data-testid="label-name"').classes("w-40")
                self.force = ui.checkbox("force past a failing test gate (admin)")
                if self.principal.role < Role.admin:
                    self.force.disable()
                ui.button("Move label", icon="label", on_click=self.move_label).props(
                    'data-testid="label-move"'
                )
        with ui.card().classes("helios-card w-full"):
            ui.label("Diff").classes("font-medium")
            with ui.row().classes("items-end gap-3"):
                self.diff_from = (
                    ui.select({}, label="From")
                    .props('dense outlined data-testid="diff-from"')
                    .classes("w-28")
                )
                self.diff_to = (
                    ui.select({}, label="To").props('dense outlined data-testid="diff-to"').classes("w-28")
                )
                ui.button("Show diff", icon="difference", on_click=self.show_diff).props(
                    'data-testid="diff-show"'
                )
            self.diff_view = ui.column().classes("w-full gap-2").props('data-testid="diff-view"')
        self.refresh()

    def refresh(self) -> None:
        versions = versions_of(self.name)
        self.table.rows = [
            {
                "version": f"v{v.version}",
                "labels": ", ".join(v.labels),
                "message": v.message,
                "author": v.author,
                "created": v.created_at.strftime("%Y-%m-%d %H:%M"),
                "hash": v.content_hash[:12],
            }
            for v in versions
        ]
        self.table.update()
        options = {v.version: f"v{v.version}" for v in versions}
        for picker in (self.label_version, self.diff_from, self.diff_to):
            picker.set_options(options, value=picker.value if picker.value in options else None)
        if len(versions) >= 2 and self.diff_from.value is None:
            self.diff_from.value, self.diff_to.value = versions[1].version, versions[0].version

    def move_label(self) -> None:
        label, number = (self.label_name.value or "").strip(), self.label_version.value
        if number is None or not label:
            ui.notify("Pick a version and a label", type="warning")
            return

        def moving(session: Any) -> bool:
            assistant = service.get_assistant(session, self.name)
            service.move_label(session, assistant, label, number, self.principal, force=self.force.value)
            return True

        if run_as(self.principal, Role.editor, moving, f"{label} → v{number}"):
            self.refresh()
            self.on_changed()

    def show_diff(self) -> None:
        if self.diff_from.value is None or self.diff_to.value is None:
            ui.notify("Pick two versions", type="warning")
            return
        with context().db.reading() as session:
            assistant = service.get_assistant(session, self.name)
            old = prompts.get_version(session, assistant, self.diff_from.value)
            new = prompts.get_version(session, assistant, self.diff_to.value)
            diff = prompts.diff(assistant, old, new)
        self.diff_view.clear()
        with self.diff_view:
            if not diff.changed:
                ui.label(f"v{diff.from_version} and v{diff.to_version} are the same").classes(
                    "text-slate-500"
                )
            for part in diff.parts:
                if part.unified:
                    ui.label(part.part).classes("text-sm font-medium")
                    ui.code(part.unified, language="diff").classes("w-full text-xs")
