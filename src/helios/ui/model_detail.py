"""One model in the registry: its versions with stages, deploy and rollback (each confirmed in a
dialog), the deployment history, the lineage graph, the metric trend across versions, and delete.

A stage change re-reads the model and re-renders the badges, history and graph in place: the page
is never reloaded, so a person keeps their scroll position and open tab."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from nicegui import events, run, ui
from sqlalchemy.orm import Session

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError, NotFound
from helios.registry import deployments, service, views
from helios.registry.schemas import DeploymentRead, Lineage, ModelDetail, Stage, VersionRead
from helios.training import scoreboard
from helios.ui import registry_charts as charts
from helios.ui.model_choices import ChoicesSlot
from helios.ui.model_forecast import show_forecast_card
from helios.ui.runtime import context, write

KIND_COLORS = {"ml": "indigo-6", "llm": "purple-6"}
STAGE_BADGES = {
    Stage.active: "green-7",
    Stage.staging: "amber-8",
    Stage.archived: "blue-grey-4",
    Stage.none: "grey-5",
}
STAGE_ICONS = {
    Stage.active: "rocket_launch",
    Stage.staging: "science",
    Stage.archived: "inventory_2",
    Stage.none: "remove",
}
ROWS_PER_PAGE = 10
DEPLOY_STAGES = [Stage.active, Stage.staging, Stage.archived]
# Quasar's timeline is sized for long posts; a deployment history wants a compact list.
HISTORY_CSS = (
    # Quasar's dense dots reach 8px left of the timeline: room for them inside the scrolling card.
    ".helios-history.q-timeline{padding-left:10px}"
    ".helios-history .q-timeline__title{display:none}"
    ".helios-history .q-timeline__content{padding-bottom:14px;gap:2px}"
    ".helios-history .q-timeline__subtitle{margin-bottom:2px;letter-spacing:.02em;opacity:.75}"
)


def when_text(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def number_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def kind_badge(kind: str) -> None:
    ui.badge(kind.upper(), color=KIND_COLORS.get(kind, "grey-6")).classes("text-[11px] px-2 py-0.5")


def stage_badge(number: int, stage: str, testid: str) -> None:
    badge = ui.badge(f"v{number} {stage}", color=STAGE_BADGES[stage]).classes("text-xs px-2 py-1")
    badge.props(f'data-testid="{testid}"')


@dataclass
class ModelState:
    detail: ModelDetail
    history: list[DeploymentRead]
    lineage: Lineage

    @property
    def rollback_target(self) -> int | None:
        """The version a rollback would activate: the last one active before the current one."""
        active = self.detail.active_version
        return next(
            (d.version for d in self.history if d.to_stage == Stage.active and d.version != active), None
        )


def load_model(name: str) -> ModelState:
    ctx = context()
    with ctx.db.reading() as session:
        model = service.get_model(session, name)
        detail = views.model_detail(session, ctx.store, model)
        return ModelState(detail, views.deployment_reads(session, model), views.lineage(session, model))


VERSION_COLUMNS: list[dict[str, Any]] = [
    {
        "name": "version",
        "label": "Version",
        "field": "version",
        "align": "left",
        "sortable": True,
        ":format": "value => 'v' + value",
    },
    {"name": "stage", "label": "Stage", "field": "stage", "align": "left", "sortable": True},
    {"name": "aliases", "label": "Aliases", "field": "aliases", "align": "left"},
    {"name": "family", "label": "Family", "field": "family", "align": "left"},
    {"name": "dataset", "label": "Dataset", "field": "dataset", "align": "left"},
    {"name": "job", "label": "Job", "field": "job", "align": "left"},
    {"name": "metrics", "label": "Key metrics", "field": "metrics", "align": "left"},
    {"name": "created", "label": "Created", "field": "created", "align": "left", "sortable": True},
    {"name": "predictions", "label": "Predictions", "field": "predictions", "align": "left"},
    {"name": "actions", "label": "", "field": "version", "align": "right"},
]

STAGE_CELL = """
<q-td :props="props">
  <q-badge :color="props.row.stage_color" :outline="props.value === 'none'" :label="props.value"
           class="px-2 py-1 text-xs" :data-testid="'stage-v' + props.row.version" />
</q-td>"""

# Lineage in the row: the job that trained the version and the dataset it was trained on.
JOB_CELL = """
<q-td :props="props">
  <a v-if="props.value" :href="'/training/' + props.value" class="text-primary no-underline hover:underline"
     :data-testid="'job-v' + props.row.version">#{{ props.value }}</a>
  <span v-else class="text-slate-400">—</span>
</q-td>"""

DATASET_CELL = """
<q-td :props="props">
  <a v-if="props.row.dataset_link" :href="props.row.dataset_link"
     class="text-primary no-underline hover:underline" :data-testid="'dataset-v' + props.row.version">
     {{ props.value }}</a>
  <span v-else class="text-slate-400">{{ props.value }}</span>
</q-td>"""

# A version whose intervals cover far less than claimed carries the warning beside its metrics.
METRICS_CELL = """
<q-td :props="props" style="white-space: normal; min-width: 220px">
  <span>{{ props.value }}</span>
  <q-chip v-if="props.row.warning" dense square icon="warning" color="amber-2" text-color="amber-10"
          label="intervals too narrow" class="q-ml-sm text-xs" :data-testid="'warning-v' + props.row.version">
    <q-tooltip>{{ props.row.warning }}</q-tooltip>
  </q-chip>
</q-td>"""

# Each version's predictions in the ledger, on the Predictions page filtered to it.
PREDICTIONS_CELL = """
<q-td :props="props">
  <a v-if="props.value" :href="props.value" class="text-primary no-underline hover:underline"
     :data-testid="'predictions-v' + props.row.version">predictions</a>
</q-td>"""

# The version a link asked for (``?version=N``, e.g. from a lineage node) stands out in its row.
VERSION_CELL = """
<q-td :props="props" :class="props.row.focus ? 'bg-blue-1 text-weight-bold text-primary' : ''">
  <span :data-testid="props.row.focus ? 'version-focus' : 'version-v' + props.row.version">
    {{ props.value }}</span>
</q-td>"""

ACTIONS_CELL = """
<q-td :props="props">
  <q-btn flat dense no-caps no-wrap size="sm" color="primary" icon="rocket_launch" label="Deploy"
         :data-testid="'deploy-v' + props.row.version"
         @click="() => $parent.$emit('deploy', props.row.version)" />
</q-td>"""


def metrics_text(version: VersionRead, key_metric: str | None) -> str:
    names = sorted(version.metrics, key=lambda n: (n != key_metric, n))
    numeric = [(n, v) for n in names if isinstance(v := version.metrics[n], int | float)]
    return " · ".join(f"{n} {number_text(v)}" for n, v in numeric[:3]) or "—"


def dataset_link(label: str | None) -> str | None:
    """``name@v3`` -> the address of that dataset version's own page."""
    name, _, number = (label or "").partition("@")
    number = number.removeprefix("v")
    if not name:
        return None
    return f"/datasets/{quote(name)}" + (f"?version={number}" if number.isdecimal() else "")


def predictions_link(model: str, version: int | None = None) -> str:
    query = {"model": model, **({"version": version} if version else {})}
    return f"/predictions?{urlencode(query)}"


def version_row(version: VersionRead, key_metric: str | None, ml_model: str | None = None) -> dict[str, Any]:
    """``ml_model``: the model's name when it forecasts, so the row links to its predictions."""
    family = version.family or "—"
    if version.llm_config and version.llm_config.get("model_name"):
        family = f"{family} · {version.llm_config['model_name']}"
    return {
        "version": version.version,
        "stage": version.stage,
        "stage_color": STAGE_BADGES[version.stage],
        "aliases": ", ".join(version.aliases) or "—",
        "family": family,
        "dataset": version.dataset or "—",
        "dataset_link": dataset_link(version.dataset),
        "job": version.training_job_id,
        "metrics": metrics_text(version, key_metric),
        "warning": scoreboard.interval_warning(version.metrics),
        "created": when_text(version.created_at),
        "predictions": predictions_link(ml_model, version.version) if ml_model else None,
    }


class ModelPage:
    def __init__(self, principal: Principal, state: ModelState, focus: int | None = None) -> None:
        self.focus = focus  # the version the address names, shown picked out in the table
        self.principal = principal
        self.can_edit = principal.role >= Role.editor
        self.state = state
        self.name = state.detail.name
        self.dialog = ui.dialog()  # one dialog, refilled for deploy, rollback and delete

    def build(self) -> None:
        ui.add_css(HISTORY_CSS)
        back = ui.link("← All models", "/models")
        back.classes("text-sm text-slate-500 no-underline hover:underline -mb-3")
        self.header = ui.column().classes("w-full gap-4")
        with ui.card().classes("w-full helios-card p-0"):
            ui.label("Versions").classes("px-4 pt-3 font-semibold")
            columns = VERSION_COLUMNS if self.can_edit else VERSION_COLUMNS[:-1]
            self.table = ui.table(rows=[], columns=columns, row_key="version", pagination=ROWS_PER_PAGE)
            self.table.classes("w-full").props('flat data-testid="versions-table"')
            self.table.add_slot("body-cell-version", VERSION_CELL)
            self.table.add_slot("body-cell-stage", STAGE_CELL)
            self.table.add_slot("body-cell-job", JOB_CELL)
            self.table.add_slot("body-cell-dataset", DATASET_CELL)
            self.table.add_slot("body-cell-metrics", METRICS_CELL)
            self.table.add_slot("body-cell-predictions", PREDICTIONS_CELL)
            self.table.add_slot("body-cell-actions", ACTIONS_CELL)
            self.table.on("deploy", lambda e: self.open_deploy(int(e.args)))
        with ui.row().classes("w-full gap-6 items-start lg:flex-nowrap"):
            with ui.card().classes("helios-card w-full lg:w-96 shrink-0 gap-2"):
                ui.label("Deployment history").classes("font-semibold")
                self.timeline = ui.column().classes("w-full max-h-[560px] overflow-y-auto pr-1")
            with ui.card().classes("helios-card grow min-w-0 w-full lg:w-auto p-0"):
                self.charts()
        self.choices = ChoicesSlot()
        show_forecast_card(self.principal, self.state.detail)
        self.render()

    def render(self) -> None:
        self.header.clear()
        with self.header:
            self.heading()
            self.stats()
        detail = self.state.detail
        ml_model = detail.name if detail.kind == "ml" else None
        rows = [
            version_row(v, detail.key_metric, ml_model) | {"focus": v.version == self.focus}
            for v in detail.versions
        ]
        self.table.rows = rows
        picked = next((i for i, row in enumerate(rows) if row["focus"]), None)
        if picked is not None:  # open the table on the page that holds the version asked for
            self.table.pagination = {**self.table.pagination, "page": picked // ROWS_PER_PAGE + 1}
        self.table.update()
        self.history()
        self.lineage_chart.options.clear()
        self.lineage_chart.options.update(charts.lineage_graph(self.state.lineage))
        self.lineage_chart.style(f"height: {charts.lineage_height(self.state.lineage)}px")
        self.lineage_chart.update()
        self.choices.show(detail, self.focus)

    def refresh(self) -> None:
        try:
            self.state = load_model(self.name)
        except NotFound:
            ui.navigate.to("/models")
            return
        self.render()

    # --- header -----------------------------------------------------------------------------------

    def heading(self) -> None:
        detail = self.state.detail
        with ui.row().classes("w-full items-start justify-between gap-4 flex-wrap sm:flex-nowrap"):
            with ui.column().classes("gap-1 min-w-0"):
                with ui.row().classes("items-center gap-3"):
                    ui.label(detail.name).classes("text-2xl font-semibold").props('data-testid="model-name"')
                    kind_badge(detail.kind)
                    ui.badge(detail.task).props("outline color=blue-grey-5").classes("text-xs px-2 py-0.5")
                ui.label(detail.description or f"An {detail.kind.upper()} model for {detail.task}.").classes(
                    "text-slate-500"
                )
                if detail.tags:
                    with ui.row().classes("gap-1"):
                        for tag in detail.tags:
                            ui.chip(tag, icon="sell").props("dense outline color=grey-7").classes("text-xs")
            with ui.row().classes("items-center gap-2 sm:shrink-0"):
                if detail.kind == "ml":
                    ui.button("Predictions", icon="insights").props(
                        f'flat no-caps href="{predictions_link(detail.name)}" data-testid="model-predictions"'
                    ).tooltip("This model's predictions in the ledger")
                if self.state.rollback_target is not None:
                    self._editor_only(
                        ui.button(
                            f"Roll back to v{self.state.rollback_target}",
                            icon="undo",
                            on_click=self.open_rollback,
                        ).props('outline no-caps data-testid="rollback-open"')
                    )
                self._editor_only(
                    ui.button("Delete", icon="delete", on_click=self.open_delete).props(
                        'flat color=negative data-testid="delete-open"'
                    )
                )

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
            (detail.key_metric or "Key metric", number_text(detail.key_metric_value), "metric"),
            ("Last change", when_text(last.at) if last else "never", "last"),
        ]
        with ui.row().classes("w-full gap-3"):
            for label, value, key in facts:
                with ui.card().classes("helios-card px-4 py-2 gap-0 min-w-[120px]"):
                    ui.label(label).classes("text-[11px] uppercase tracking-wide text-slate-500")
                    ui.label(value).classes("text-lg font-semibold tabular-nums").props(
                        f'data-testid="stat-{key}"'
                    )

    # --- history and charts -------------------------------------------------------------------------

    def history(self) -> None:
        self.timeline.clear()
        with self.timeline:
            if not self.state.history:
                ui.label("Nothing deployed yet. Use Deploy on a version to stage or activate it.").classes(
                    "text-sm text-slate-500"
                )
                return
            timeline = ui.timeline(side="right", layout="dense").classes("w-full helios-history")
            with timeline.props('data-testid="deploy-history"'):
                for change in self.state.history:  # newest first
                    stage = change.to_stage
                    with ui.timeline_entry(
                        subtitle=f"{when_text(change.at)} · {change.actor}",
                        icon=STAGE_ICONS[stage],
                        color=STAGE_BADGES[stage],
                    ):
                        ui.label(f"v{change.version} {change.from_stage} → {change.to_stage}").classes(
                            "font-medium"
                        )
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
                # The raw click: NiceGUI's on_point_click expects a value, which graph nodes lack.
                self.lineage_chart.on("componentClick", self.open_node, ["dataType", "data"])
                ui.label(
                    "Scroll to zoom, drag to pan; hover a node for details, click it to open it."
                ).classes("text-xs text-slate-500 px-2")
            with ui.tab_panel("metrics").classes("p-2"):
                self.metric_chart()

    def open_node(self, event: events.GenericEventArguments) -> None:
        """A lineage node leads to what it stands for: a dataset version, a job, a model version."""
        args = event.args if isinstance(event.args, dict) else {}
        data = args.get("data")
        link = data.get("link") if isinstance(data, dict) else None
        if args.get("dataType") == "node" and isinstance(link, str) and link.startswith("/"):
            ui.navigate.to(link)

    def metric_chart(self) -> None:
        versions = self.state.detail.versions
        if not charts.numeric_metrics(versions):
            ui.label(
                "No metrics recorded on these versions yet (LLM endpoints carry none until "
                "they are evaluated)."
            ).classes("text-sm text-slate-500 p-4")
            return
        chart = ui.echart(charts.metric_trend(versions, self.state.detail.key_metric)).classes("w-full h-96")
        chart.props('data-testid="metric-chart"')

    # --- actions ------------------------------------------------------------------------------------

    def open_deploy(self, number: int) -> None:
        version = next(v for v in self.state.detail.versions if v.version == number)
        active = self.state.detail.active_version
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[460px] gap-3"):
            ui.label(f"Deploy {self.name} v{number}").classes("text-lg font-semibold")
            ui.label(f"v{number} is {version.stage} now.").classes("text-slate-500 -mt-2")
            stage = ui.select(
                DEPLOY_STAGES,
                label="Move to stage",
                value=Stage.archived if version.stage == Stage.active else Stage.active,
            )
            stage.classes("w-full").props('outlined data-testid="deploy-stage"')
            if active is not None and active != number:
                warning = ui.label(f"Making it active archives v{active}.").classes("text-sm text-amber-700")
                warning.bind_visibility_from(stage, "value", value=Stage.active)
            note = ui.input("Note — why this change?").classes("w-full")
            note.props('outlined data-testid="deploy-note"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button(
                    "Deploy",
                    icon="rocket_launch",
                    on_click=lambda: self.deploy(number, stage.value, note.value),
                ).props('data-testid="deploy-confirm"')
        self.dialog.open()

    async def deploy(self, number: int, stage: str, note: str) -> None:
        def change(session: Session) -> None:
            deployments.deploy(session, self.name, number, stage, (note or "").strip(), self.principal)

        if await self._write(change):
            ui.notify(f"{self.name} v{number} is now {stage}", type="positive")

    def open_rollback(self) -> None:
        target, current = self.state.rollback_target, self.state.detail.active_version
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[460px] gap-3"):
            ui.label(f"Roll {self.name} back to v{target}?").classes("text-lg font-semibold")
            ui.label(
                f"v{target} becomes active again" + (f"; v{current} is archived." if current else ".")
            ).classes("text-slate-500")
            note = ui.input("Note — why roll back?").classes("w-full")
            note.props('outlined data-testid="rollback-note"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Roll back", icon="undo", on_click=lambda: self.rollback(note.value)).props(
                    'color=warning data-testid="rollback-confirm"'
                )
        self.dialog.open()

    async def rollback(self, note: str) -> None:
        def change(session: Session) -> None:
            deployments.rollback(session, self.name, (note or "").strip(), self.principal)

        if await self._write(change):
            ui.notify(f"Rolled {self.name} back to v{self.state.detail.active_version}", type="positive")

    async def _write(self, change: Callable[[Session], None]) -> bool:
        """A stage change, then the page shown again."""
        if not await self._transact(change):
            return False
        self.dialog.close()
        self.refresh()
        return True

    async def _transact(self, change: Callable[[Session], None]) -> bool:
        """Run ``change`` in one transaction off the event loop (it may wait for the model's lock);
        the role is re-checked there, not only by the button."""
        try:
            await run.io_bound(write, change, self.principal)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return False
        return True

    def open_delete(self) -> None:
        active = self.state.detail.active_version
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[480px] gap-3"):
            ui.label(f"Delete model {self.name}?").classes("text-lg font-semibold")
            ui.label(
                f"Its {self.state.detail.version_count} versions, their artifacts and the deployment "
                "history go with it; an audit entry stays."
            ).classes("text-slate-500")
            force = None
            if active is not None:
                force = ui.checkbox(f"v{active} is active — delete anyway (admin only)")
                force.props('data-testid="delete-force"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button(
                    "Delete",
                    color="negative",
                    icon="delete",
                    on_click=lambda: self.delete(bool(force and force.value)),
                ).props('data-testid="delete-confirm"')
        self.dialog.open()

    async def delete(self, force: bool) -> None:
        ctx = context()

        def change(session: Session) -> None:
            service.delete_model(session, ctx.store, ctx.inference, self.name, self.principal, force=force)

        if not await self._transact(change):
            return
        self.dialog.close()
        ui.notify(f"Deleted {self.name}")
        ui.navigate.to("/models")
