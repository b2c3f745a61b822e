"""Model Registry page: model cards with filters, and per model its versions and stages, deploy and
rollback, the deployment history, a lineage graph and the metric trend across versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import Request
from nicegui import ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError, NotFound
from helios.registry import deployments, service, views
from helios.registry.schemas import STAGES, DeploymentRead, Lineage, ModelDetail, ModelSummary, VersionRead
from helios.ui import registry_charts as charts
from helios.ui.guard import page_principal
from helios.ui.runtime import context
from helios.ui.shell import frame

KIND_COLORS = {"ml": "indigo-6", "llm": "purple-6"}
STAGE_BADGES = {"active": "green-7", "staging": "amber-8", "archived": "blue-grey-4", "none": "grey-5"}
STAGE_ICONS = {"active": "rocket_launch", "staging": "science", "archived": "inventory_2", "none": "remove"}
DEPLOY_STAGES = ("active", "staging", "archived")
# Quasar's timeline is sized for long posts; a deployment history wants a compact list.
HISTORY_CSS = (".helios-history .q-timeline__title{display:none}"
               ".helios-history .q-timeline__content{padding-bottom:14px;gap:2px}"
               ".helios-history .q-timeline__subtitle{margin-bottom:2px;letter-spacing:.02em;opacity:.75}")


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def _kind_badge(kind: str) -> None:
    ui.badge(kind.upper(), color=KIND_COLORS.get(kind, "grey-6")).classes("text-[11px] px-2 py-0.5")


def _stage_badge(number: int, stage: str, testid: str) -> None:
    badge = ui.badge(f"v{number} {stage}", color=STAGE_BADGES[stage]).classes("text-xs px-2 py-1")
    badge.props(f'data-testid="{testid}"')


# --- the list -------------------------------------------------------------------------------------


class ModelListPage:
    def __init__(self) -> None:
        self.text, self.kind, self.task, self.stage = "", "", "", ""

    def build(self) -> None:
        with ui.column().classes("gap-0"):
            ui.label("Models").classes("text-2xl font-semibold")
            ui.label("Every trained model and LLM endpoint, its versions, stages and where it came from.").classes(
                "text-slate-500")
        with ui.row().classes("w-full items-center gap-3"):
            search = ui.input(placeholder="Search name or description", on_change=lambda e: self.set("text", e.value))
            search.props('outlined dense clearable debounce=300 data-testid="models-search"').classes("w-72")
            with search.add_slot("prepend"):
                ui.icon("search")
            self.select("kind", {"": "All kinds", "ml": "ML", "llm": "LLM"}, "w-36")
            self.task_select = self.select("task", {"": "All tasks"}, "w-40")
            self.select("stage", {"": "Any stage", **{s: f"has {s}" for s in STAGES if s != "none"}}, "w-40")
            self.count = ui.label().classes("text-slate-500 text-sm ml-auto")
        self.grid = ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-3")
        self.grid.props('data-testid="model-grid"')
        self.empty = ui.column().classes("w-full")
        self.refresh()

    def select(self, field: str, options: dict[str, str], width: str) -> ui.select:
        widget = ui.select(options, value="", on_change=lambda e: self.set(field, e.value or ""))
        return widget.props(f'outlined dense options-dense data-testid="models-{field}"').classes(width)

    def set(self, field: str, value: str | None) -> None:
        setattr(self, field, (value or "").strip())
        self.refresh()

    def refresh(self) -> None:
        with context().db.reading() as session:
            items = views.list_models(session, kind=self.kind or None, task=self.task or None,
                                      stage=self.stage or None, text=self.text or None, limit=200).items
            tasks = sorted({m.task for m in views.list_models(session, limit=200).items})
        self.task_select.set_options({"": "All tasks", **{t: t for t in tasks}}, value=self.task)
        self.count.text = f"{len(items)} model{'s' * (len(items) != 1)}"
        self.grid.clear()
        with self.grid:
            for item in items:
                model_card(item)
        self.empty.clear()
        if not items:
            with self.empty:
                if any((self.text, self.kind, self.task, self.stage)):
                    no_match()
                else:
                    no_models()


def model_card(model: ModelSummary) -> None:
    card = ui.card().classes("helios-card p-4 gap-2 cursor-pointer hover:shadow-lg transition-shadow")
    card.props(f'data-testid="model-card-{model.name}"').on("click", lambda: ui.navigate.to(f"/models/{model.name}"))
    with card:
        with ui.row().classes("w-full items-center no-wrap gap-2"):
            ui.label(model.name).classes("text-base font-semibold truncate grow min-w-0")
            _kind_badge(model.kind)
        with ui.row().classes("w-full items-center gap-2 text-sm text-slate-500"):
            ui.icon("category", size="16px")
            ui.label(model.task)
            ui.label("·")
            ui.label(f"{model.version_count} version{'s' * (model.version_count != 1)}")
        with ui.row().classes("w-full items-center gap-2 min-h-[26px]"):
            if model.active_version is not None:
                _stage_badge(model.active_version, "active", f"card-active-{model.name}")
            if model.staging_version is not None:
                _stage_badge(model.staging_version, "staging", f"card-staging-{model.name}")
            if model.active_version is None and model.staging_version is None:
                ui.label("nothing deployed").classes("text-xs text-slate-400 italic")
        with ui.row().classes("w-full items-end no-wrap gap-3"):
            with ui.column().classes("gap-0 shrink-0"):
                ui.label(model.key_metric or "key metric").classes("text-[11px] uppercase tracking-wide text-slate-500")
                ui.label(_number(model.key_metric_value)).classes("text-xl font-semibold tabular-nums")
            trend = model.key_metric_trend
            if any(v is not None for v in trend):
                ui.echart(charts.sparkline(trend)).classes("grow h-12 min-w-0")
            else:
                ui.label("no metrics recorded").classes("grow text-right text-xs text-slate-400 pb-1")
        if model.description:
            ui.label(model.description).classes("text-sm text-slate-500 line-clamp-2")


def no_models() -> None:
    with ui.card().classes("w-full helios-card items-center py-12 gap-2").props('data-testid="models-empty"'):
        ui.icon("model_training", size="52px").classes("text-slate-400")
        ui.label("No models yet").classes("text-lg font-medium")
        ui.label("A model appears here when a training job finishes, or when you register one:").classes(
            "text-slate-500")
        with ui.column().classes("gap-1 mt-2 font-mono text-sm"):
            ui.label("helios models register ./saved-model --name my-forecaster")
            ui.label("helios models create-llm explainer --base-url http://127.0.0.1:11434/v1 --model-name llama3")


def no_match() -> None:
    with ui.card().classes("w-full helios-card items-center py-10 gap-1").props('data-testid="models-no-match"'):
        ui.icon("filter_alt_off", size="40px").classes("text-slate-400")
        ui.label("No model matches these filters").classes("text-base font-medium")


# --- one model ------------------------------------------------------------------------------------


@dataclass
class ModelState:
    detail: ModelDetail
    history: list[DeploymentRead]
    lineage: Lineage

    @property
    def can_roll_back(self) -> bool:
        active = self.detail.active_version
        return any(d.to_stage == "active" and d.version != active for d in self.history)


def load_model(name: str) -> ModelState:
    ctx = context()
    with ctx.db.reading() as session:
        model = service.get_model(session, name)
        return ModelState(views.model_detail(session, ctx.store, model), views.deployment_reads(session, model),
                          views.lineage(session, model))


VERSION_COLUMNS = [
    {"name": "version", "label": "Version", "field": "version", "align": "left", "sortable": True,
     ":format": "value => 'v' + value"},
    {"name": "stage", "label": "Stage", "field": "stage", "align": "left", "sortable": True},
    {"name": "aliases", "label": "Aliases", "field": "aliases", "align": "left"},
    {"name": "family", "label": "Family", "field": "family", "align": "left"},
    {"name": "dataset", "label": "Dataset", "field": "dataset", "align": "left"},
    {"name": "metrics", "label": "Key metrics", "field": "metrics", "align": "left"},
    {"name": "created", "label": "Created", "field": "created", "align": "left", "sortable": True},
    {"name": "actions", "label": "", "field": "version", "align": "right"},
]

STAGE_CELL = """
<q-td :props="props">
  <q-badge :color="props.row.stage_color" :outline="props.value === 'none'" :label="props.value"
           class="px-2 py-1 text-xs" :data-testid="'stage-v' + props.row.version" />
</q-td>"""

ACTIONS_CELL = """
<q-td :props="props">
  <q-btn flat dense no-caps size="sm" color="primary" icon="rocket_launch" label="Deploy"
         :data-testid="'deploy-v' + props.row.version" @click="() => $parent.$emit('deploy', props.row.version)" />
</q-td>"""


def _metrics_text(version: VersionRead, key_metric: str | None) -> str:
    names = sorted(version.metrics, key=lambda n: (n != key_metric, n))
    shown = [f"{n} {_number(v)}" for n in names if isinstance(v := version.metrics[n], int | float)][:3]
    return " · ".join(shown) or "—"


def _version_row(version: VersionRead, key_metric: str | None) -> dict:
    family = version.family or "—"
    if version.llm_config and version.llm_config.get("model_name"):
        family = f"{family} · {version.llm_config['model_name']}"
    return {
        "version": version.version, "stage": version.stage, "stage_color": STAGE_BADGES[version.stage],
        "aliases": ", ".join(version.aliases) or "—", "family": family, "dataset": version.dataset or "—",
        "metrics": _metrics_text(version, key_metric), "created": _when(version.created_at),
    }


class ModelPage:
    def __init__(self, principal: Principal, state: ModelState) -> None:
        self.principal = principal
        self.can_edit = principal.role >= Role.editor
        self.state = state
        self.name = state.detail.name
        self.dialog = ui.dialog()

    def build(self) -> None:
        ui.add_css(HISTORY_CSS)
        ui.link("← All models", "/models").classes("text-sm text-slate-500 no-underline hover:underline -mb-3")
        self.header = ui.column().classes("w-full gap-4")
        with ui.card().classes("w-full helios-card p-0"):
            ui.label("Versions").classes("px-4 pt-3 font-semibold")
            columns = VERSION_COLUMNS if self.can_edit else VERSION_COLUMNS[:-1]
            self.table = ui.table(rows=[], columns=columns, row_key="version", pagination=10).classes("w-full")
            self.table.props('flat data-testid="versions-table"')
            self.table.add_slot("body-cell-stage", STAGE_CELL)
            self.table.add_slot("body-cell-actions", ACTIONS_CELL)
            self.table.on("deploy", lambda e: self.open_deploy(int(e.args)))
        with ui.row().classes("w-full gap-6 items-start lg:flex-nowrap"):
            with ui.card().classes("helios-card w-full lg:w-96 shrink-0 gap-2"):
                ui.label("Deployment history").classes("font-semibold")
                self.timeline = ui.column().classes("w-full max-h-[560px] overflow-y-auto pr-1")
            with ui.card().classes("helios-card grow min-w-0 w-full lg:w-auto p-0"):
                self.charts()
        self.render()

    def render(self) -> None:
        self.header.clear()
        with self.header:
            self.heading()
            self.stats()
        self.table.rows = [_version_row(v, self.state.detail.key_metric) for v in self.state.detail.versions]
        self.table.update()
        self.history()
        self.lineage_chart.options.clear()
        self.lineage_chart.options.update(charts.lineage_graph(self.state.lineage))
        self.lineage_chart.style(f"height: {charts.lineage_height(self.state.lineage)}px")
        self.lineage_chart.update()

    def refresh(self) -> None:
        try:
            self.state = load_model(self.name)
        except NotFound:
            ui.navigate.to("/models")
            return
        self.render()

    # --- header ---------------------------------------------------------------------------------

    def heading(self) -> None:
        detail = self.state.detail
        with ui.row().classes("w-full items-start justify-between no-wrap gap-4"):
            with ui.column().classes("gap-1 min-w-0"):
                with ui.row().classes("items-center gap-3"):
                    ui.label(detail.name).classes("text-2xl font-semibold").props('data-testid="model-name"')
                    _kind_badge(detail.kind)
                    ui.badge(detail.task, color="grey-3", text_color="grey-9").classes("text-xs px-2 py-0.5")
                ui.label(detail.description or f"An {detail.kind.upper()} model for {detail.task}.").classes(
                    "text-slate-500")
                if detail.tags:
                    with ui.row().classes("gap-1"):
                        for tag in detail.tags:
                            ui.chip(tag, icon="sell").props("dense outline color=grey-7").classes("text-xs")
            with ui.row().classes("items-center gap-2 shrink-0"):
                if self.state.can_roll_back:
                    rollback = ui.button("Roll back", icon="undo", on_click=self.open_rollback).props(
                        'outline data-testid="rollback-open"')
                    self._editor_only(rollback)
                delete = ui.button("Delete", icon="delete", on_click=self.open_delete).props(
                    'flat color=negative data-testid="delete-open"')
                self._editor_only(delete)

    def _editor_only(self, button: ui.button) -> None:
        if not self.can_edit:
            button.disable()
            button.tooltip("This needs the editor role")

    def stats(self) -> None:
        detail, last = self.state.detail, (self.state.history[0] if self.state.history else None)
        facts = [
            ("Active", f"v{detail.active_version}" if detail.active_version else "none", "active"),
            ("Staging", f"v{detail.staging_version}" if detail.staging_version else "none", "staging"),
            ("Versions", str(detail.version_count), "versions"),
            (detail.key_metric or "Key metric", _number(detail.key_metric_value), "metric"),
            ("Last change", _when(last.at) if last else "never", "last"),
        ]
        with ui.row().classes("w-full gap-3"):
            for label, value, key in facts:
                with ui.card().classes("helios-card px-4 py-2 gap-0 min-w-[120px]"):
                    ui.label(label).classes("text-[11px] uppercase tracking-wide text-slate-500")
                    ui.label(value).classes("text-lg font-semibold tabular-nums").props(f'data-testid="stat-{key}"')

    # --- history and charts -----------------------------------------------------------------------

    def history(self) -> None:
        self.timeline.clear()
        with self.timeline:
            if not self.state.history:
                ui.label("Nothing deployed yet. Use Deploy on a version to stage or activate it.").classes(
                    "text-sm text-slate-500")
                return
            with ui.timeline(side="right", layout="dense").classes("w-full helios-history").props(
                    'data-testid="deploy-history"'):
                for change in self.state.history:
                    with ui.timeline_entry(subtitle=f"{_when(change.at)} · {change.actor}",
                                           icon=STAGE_ICONS[change.to_stage], color=STAGE_BADGES[change.to_stage]):
                        ui.label(f"v{change.version} {change.from_stage} → {change.to_stage}").classes(
                            "font-medium")
                        if change.note:
                            ui.label(change.note).classes("text-sm text-slate-500 break-words")

    def charts(self) -> None:
        with ui.tabs().classes("w-full px-2").props("align=left inline-label no-caps") as tabs:
            lineage = ui.tab("lineage", "Lineage", icon="account_tree").props('data-testid="tab-lineage"')
            ui.tab("metrics", "Metric trend", icon="show_chart").props('data-testid="tab-metrics"')
        ui.separator()
        with ui.tab_panels(tabs, value=lineage).classes("w-full bg-transparent"):
            with ui.tab_panel("lineage").classes("p-2"):
                self.lineage_chart = ui.echart({}).classes("w-full").props('data-testid="lineage-chart"')
                ui.label("Scroll to zoom, drag to pan; hover a node for details.").classes(
                    "text-xs text-slate-500 px-2")
            with ui.tab_panel("metrics").classes("p-2"):
                versions = self.state.detail.versions
                if charts.numeric_metrics(versions):
                    ui.echart(charts.metric_trend(versions, self.state.detail.key_metric)).classes(
                        "w-full h-96").props('data-testid="metric-chart"')
                else:
                    ui.label("No metrics recorded on these versions yet (LLM endpoints carry none until "
                             "they are evaluated).").classes("text-sm text-slate-500 p-4")

    # --- actions ----------------------------------------------------------------------------------

    def open_deploy(self, number: int) -> None:
        version = next(v for v in self.state.detail.versions if v.version == number)
        active = self.state.detail.active_version
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[460px] gap-3"):
            ui.label(f"Deploy {self.name} v{number}").classes("text-lg font-semibold")
            ui.label(f"v{number} is {version.stage} now.").classes("text-slate-500 -mt-2")
            stage = ui.select(list(DEPLOY_STAGES), label="Move to stage",
                              value="archived" if version.stage == "active" else "active")
            stage.classes("w-full").props('outlined data-testid="deploy-stage"')
            if active is not None and active != number:
                ui.label(f"Making it active archives v{active}.").classes("text-sm text-amber-700").bind_visibility_from(
                    stage, "value", value="active")
            note = ui.input("Note — why this change?").classes("w-full").props('outlined data-testid="deploy-note"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Deploy", icon="rocket_launch", on_click=lambda: self.deploy(number, stage.value, note.value)
                          ).props('data-testid="deploy-confirm"')
        self.dialog.open()

    def deploy(self, number: int, stage: str, note: str) -> None:
        if self._write(lambda s: deployments.deploy(s, self.name, number, stage, (note or "").strip(), self.principal)):
            ui.notify(f"{self.name} v{number} is now {stage}", type="positive")

    def open_rollback(self) -> None:
        target = next(d.version for d in self.state.history
                      if d.to_stage == "active" and d.version != self.state.detail.active_version)
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[460px] gap-3"):
            ui.label(f"Roll {self.name} back to v{target}?").classes("text-lg font-semibold")
            current = self.state.detail.active_version
            ui.label(f"v{target} becomes active again" + (f"; v{current} is archived." if current else ".")).classes(
                "text-slate-500")
            note = ui.input("Note — why roll back?").classes("w-full").props('outlined data-testid="rollback-note"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Roll back", icon="undo", on_click=lambda: self.rollback(note.value)).props(
                    'color=warning data-testid="rollback-confirm"')
        self.dialog.open()

    def rollback(self, note: str) -> None:
        if self._write(lambda s: deployments.rollback(s, self.name, (note or "").strip(), self.principal)):
            ui.notify(f"Rolled {self.name} back to v{self.state.detail.active_version}", type="positive")

    def _write(self, change) -> bool:  # type: ignore[no-untyped-def]
        try:
            self.principal.require(Role.editor)
            with context().db.transaction() as session:
                change(session)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return False
        self.dialog.close()
        self.refresh()
        return True

    def open_delete(self) -> None:
        active = self.state.detail.active_version
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[480px] gap-3"):
            ui.label(f"Delete model {self.name}?").classes("text-lg font-semibold")
            ui.label(f"Its {self.state.detail.version_count} versions, their artifacts and the deployment history "
                     "go with it; an audit entry stays.").classes("text-slate-500")
            force = ui.checkbox(f"v{active} is active — delete anyway (admin only)").props(
                'data-testid="delete-force"') if active else None
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Delete", color="negative", icon="delete",
                          on_click=lambda: self.delete(bool(force and force.value))).props(
                    'data-testid="delete-confirm"')
        self.dialog.open()

    def delete(self, force: bool) -> None:
        ctx = context()
        try:
            self.principal.require(Role.editor)
            with ctx.db.transaction() as session:
                model = service.get_model(session, self.name, lock=True)
                service.delete_model(session, ctx.store, model, self.principal, force=force)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        ctx.inference.forget(self.name)
        self.dialog.close()
        ui.notify(f"Deleted {self.name}")
        ui.navigate.to("/models")


def unknown_model(name: str, detail: str) -> None:
    with ui.card().classes("w-full helios-card items-center py-12 gap-2").props('data-testid="model-missing"'):
        ui.icon("search_off", size="48px").classes("text-slate-400")
        ui.label(f"There is no model named “{name}”").classes("text-lg font-medium")
        ui.label(detail).classes("text-slate-500")
        ui.link("← Back to all models", "/models").classes("mt-2")


# --- routes ---------------------------------------------------------------------------------------


@ui.page("/models", title="Models · Helios")
def models_page(request: Request) -> None:
    principal = page_principal(request)
    with frame("Models", principal.name):
        ModelListPage().build()


@ui.page("/models/{name}", title="Model · Helios")
def model_page(request: Request, name: str) -> None:
    principal = page_principal(request)
    with frame("Models", principal.name):
        try:
            state = load_model(name)
        except NotFound as exc:
            unknown_model(name, exc.detail)
            return
        ui.page_title(f"{state.detail.name} · Models · Helios")
        ModelPage(principal, state).build()
