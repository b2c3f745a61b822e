"""Model Training page: the job table (live), the launch form, one job's live page and the
comparison of runs. The job and comparison views live in ``training_job`` and ``training_compare``;
this module holds the list and every route."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import Request
from nicegui import run, ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.training import views
from helios.training.schemas import JobRead
from helios.ui import training_charts as charts
from helios.ui.guard import page_principal
from helios.ui.runtime import context
from helios.ui.shell import frame
from helios.ui.training_compare import ComparePage, parse_ids
from helios.ui.training_job import JobPage, load_job, unknown_job
from helios.ui.training_launch import LaunchDialog

LIST_LIMIT = 200
REFRESH_S = 1.0

COLUMNS: list[dict] = [
    {"name": "id", "label": "Job", "field": "id", "align": "left", "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {"name": "progress", "label": "Progress", "field": "progress", "align": "left"},
    {"name": "dataset", "label": "Dataset", "field": "dataset", "align": "left", "sortable": True},
    {"name": "family", "label": "Family", "field": "family", "align": "left", "sortable": True},
    {"name": "best", "label": "Best in training", "field": "best", "align": "right"},
    *(
        {"name": name, "label": label, "field": name, "align": "right", "sortable": True}
        for name, label in (("mase", "MASE"), ("smape", "sMAPE"), ("coverage_95", "95% coverage"))
    ),
    {"name": "epoch", "label": "Epoch", "field": "epoch", "align": "right", "classes": "whitespace-nowrap"},
    {"name": "duration", "label": "Duration", "field": "duration", "align": "right"},
    {"name": "result", "label": "Model version", "field": "model", "align": "left"},
]
HOLDOUT_METRICS = ("mase", "smape", "coverage_95")
# Columns a person may hide; the job, its status and its result always show.
OPTIONAL_COLUMNS = {
    "progress": "Progress",
    "dataset": "Dataset",
    "family": "Family",
    "best": "Best in training",
    "mase": "MASE",
    "smape": "sMAPE",
    "coverage_95": "95% coverage",
    "epoch": "Epoch",
    "duration": "Duration",
}

# Every column fits a laptop (1440 px): headers and words wrap at their spaces ("Best in training",
# "synthetic-powerball v1") instead of pushing the table sideways; numbers never wrap.
JOBS_CSS = (
    ".helios-jobs .q-table th,.helios-jobs .q-table td{white-space:normal;padding-left:8px;padding-right:8px}"
)

JOB_CELL = """
<q-td :props="props">
  <div class="font-medium">#{{ props.value }}</div>
  <div class="text-[11px] text-slate-500 whitespace-nowrap">{{ props.row.created }}</div>
</q-td>"""

STATUS_CELL = """
<q-td :props="props">
  <q-chip square dense text-color="white" :color="props.row.status_color" :icon="props.row.status_icon"
          :label="props.row.status_label" class="text-xs font-medium q-ma-none"
          :data-testid="'status-' + props.row.id" />
</q-td>"""

PROGRESS_CELL = """
<q-td :props="props">
  <div class="flex items-center no-wrap" style="gap:6px;min-width:92px">
    <q-linear-progress :value="props.value" rounded size="8px" :color="props.row.status_color"
                       track-color="grey-4" style="width:56px" :data-testid="'progress-' + props.row.id" />
    <span class="text-xs tabular-nums text-slate-500">{{ Math.round(props.value * 100) }}%</span>
  </div>
</q-td>"""

RESULT_CELL = """
<q-td :props="props">
  <a v-if="props.row.result" :href="'/models/' + props.row.model" @click.stop
     class="text-primary font-medium no-underline hover:underline" :data-testid="'result-' + props.row.id">
     {{ props.row.model }} v{{ props.row.result }}</a>
  <span v-else class="text-slate-400" :title="'registers into ' + props.row.model">—</span>
</q-td>"""


def _epoch(job: JobRead) -> str:
    if not job.epochs_total and not job.epoch:
        return "—"
    return f"{job.epoch} / {job.epochs_total}" if job.epochs_total else str(job.epoch)


def _created(value: dt.datetime) -> str:
    return value.strftime("%b %d, %H:%M")


def _best(job: JobRead) -> str:
    """The training metric's best, named: "val_loss 0.0123" (one-pass families have none)."""
    if job.best_metric is None:
        return "—"
    monitor = (job.early_stopping or {}).get("monitor", "val_loss")
    return f"{monitor} {charts.number(job.best_metric)}"


def _score(job: JobRead, name: str) -> float | None:
    """A holdout score as a number (sortable), to four significant figures."""
    value = job.final_metrics.get(name)
    return float(f"{value:.4g}") if isinstance(value, int | float) else None


def job_row(job: JobRead) -> dict:
    color, icon, words = charts.STATUS.get(job.status, ("grey-6", "help", job.status))
    return {
        "id": job.id,
        "status": job.status,
        "status_color": color,
        "status_icon": icon,
        "status_label": words,
        "progress": round(job.progress, 4),
        "dataset": f"{job.dataset} v{job.dataset_version}",
        "family": job.family,
        "best": _best(job),
        **{name: _score(job, name) for name in HOLDOUT_METRICS},
        "epoch": _epoch(job),
        "duration": charts.duration(job.duration_s),
        "model": job.target_model,
        "result": job.result_version,
        "created": _created(job.created_at),
    }


def _load_rows(status: str | None, family: str | None, q: str | None) -> tuple[list[dict], int]:
    with context().db.reading() as session:
        page = views.list_jobs(
            session, status=status or None, family=family or None, q=q or None, limit=LIST_LIMIT
        )
        return [job_row(j) for j in page.items], page.total or 0


class JobListPage:
    """Search, filters and the shown columns live in the URL, so a link shares the same view."""

    def __init__(
        self, principal: Principal, status: str = "", family: str = "", q: str = "", hide: str = ""
    ) -> None:
        self.principal = principal
        self.can_edit = principal.role >= Role.editor
        self.status = status if status in charts.STATUS else ""
        self.family = family
        self.q = q
        self.hidden = [c for c in hide.split(",") if c in OPTIONAL_COLUMNS]

    def build(self) -> None:
        with ui.row().classes("w-full items-center justify-between"):
            with ui.column().classes("gap-0"):
                ui.label("Training").classes("text-2xl font-semibold")
                ui.label(
                    "Train forecasting models on a dataset version; each finished run becomes a model "
                    "version."
                ).classes("text-slate-500")
            launch = ui.button("New training job", icon="add", on_click=self.open_launch)
            launch.props('data-testid="launch-open"')
            if not self.can_edit:
                launch.disable()
                launch.tooltip("Launching needs the editor role")
        self.toolbar()
        with ui.card().classes("w-full helios-card p-0") as self.table_card:
            self.table = ui.table(
                rows=[],
                columns=COLUMNS,
                row_key="id",
                selection="multiple",
                pagination={"rowsPerPage": 15, "sortBy": "id", "descending": True},
            )
            ui.add_css(JOBS_CSS)
            self.table.classes("w-full helios-jobs").props(
                'flat dense data-testid="jobs-table" table-class="cursor-pointer"'
            )
            self.show_columns()
            self.table.add_slot("body-cell-id", JOB_CELL)
            self.table.add_slot("body-cell-status", STATUS_CELL)
            self.table.add_slot("body-cell-progress", PROGRESS_CELL)
            self.table.add_slot("body-cell-result", RESULT_CELL)
            self.table.on("rowClick", lambda e: ui.navigate.to(f"/training/{e.args[1]['id']}"))
            self.table.on_select(lambda _: self.selection_changed())
        with ui.card().classes("w-full helios-card items-center py-12 gap-2") as self.empty:
            ui.icon("model_training", size="52px").classes("text-slate-400")
            self.empty_title = ui.label("No training jobs yet").classes("text-lg font-medium")
            self.empty_hint = ui.label(
                "Launch one with “New training job”: pick a dataset, a model family and its hyperparameters."
            ).classes("text-slate-500")
        self.table_card.set_visibility(False)
        self.empty.set_visibility(False)
        self.launcher: LaunchDialog | None = None
        self.rows_seen: list[dict] | None = None
        ui.timer(REFRESH_S, self.refresh)

    def toolbar(self) -> None:
        families = {"": "All families", **{f.slug: f.slug for f in views.families().items}}
        statuses = {"": "Any status", **{s: words for s, (_, _, words) in charts.STATUS.items()}}
        if self.family not in families:
            self.family = ""
        with ui.row().classes("w-full items-center gap-3"):
            search = ui.input(
                placeholder="Search model, family, tag, note or #id",
                value=self.q,
                on_change=lambda e: self.set_filter("q", (e.value or "").strip()),
            )
            search.props('outlined dense clearable debounce=300 data-testid="filter-search"').classes("w-64")
            with search.add_slot("prepend"):
                ui.icon("search", size="18px")
            status = ui.select(
                statuses, value=self.status, on_change=lambda e: self.set_filter("status", e.value)
            )
            status.props('outlined dense options-dense data-testid="filter-status"').classes("w-44")
            family = ui.select(
                families, value=self.family, on_change=lambda e: self.set_filter("family", e.value)
            )
            family.props('outlined dense options-dense data-testid="filter-family"').classes("w-48")
            shown = [c for c in OPTIONAL_COLUMNS if c not in self.hidden]
            columns = ui.select(
                OPTIONAL_COLUMNS, value=shown, multiple=True, label="Columns", on_change=self.columns_changed
            )
            columns.props('outlined dense options-dense data-testid="filter-columns"').classes("w-40")
            self.count = ui.label().classes("text-slate-500 text-sm").props('data-testid="jobs-count"')
            ui.space()
            self.selected_label = ui.label().classes("text-sm text-slate-500")
            self.compare = ui.button("Compare", icon="compare_arrows", on_click=self.open_compare)
            self.compare.props('outline data-testid="compare-open"').disable()
            self.compare.tooltip("Select two or more runs in the table")

    def set_filter(self, field: str, value: str | None) -> None:
        setattr(self, field, value or "")
        self.rows_seen = None  # redraw now, even if the same rows come back
        self.remember()

    def columns_changed(self, event) -> None:  # type: ignore[no-untyped-def]
        chosen = set(event.value or [])
        self.hidden = [c for c in OPTIONAL_COLUMNS if c not in chosen]
        self.show_columns()
        self.remember()

    def show_columns(self) -> None:
        visible = [c["name"] for c in COLUMNS if c["name"] not in self.hidden]
        self.table.props["visible-columns"] = visible
        self.table.update()

    def remember(self) -> None:
        """The view in the address bar (replacing, not pushing: the back button leaves the page)."""
        state = {"q": self.q, "status": self.status, "family": self.family, "hide": ",".join(self.hidden)}
        query = urlencode({k: v for k, v in state.items() if v})
        ui.navigate.history.replace("/training" + (f"?{query}" if query else ""))

    async def refresh(self) -> None:
        loaded = await run.io_bound(_load_rows, self.status or None, self.family or None, self.q or None)
        if loaded is None:
            return
        rows, total = loaded
        self.count.text = f"{total} job{'s' * (total != 1)}" + (
            f" · newest {LIST_LIMIT} shown" if total > LIST_LIMIT else ""
        )
        if rows == self.rows_seen:
            return
        self.rows_seen = rows
        self.table.rows = rows  # Quasar keeps the selection and the page: rows are matched by id
        filtered = bool(self.status or self.family or self.q)
        self.table_card.set_visibility(bool(rows))
        self.empty.set_visibility(not rows)
        self.empty_title.text = "No job matches these filters" if filtered else "No training jobs yet"
        self.empty_hint.set_visibility(not filtered)

    def selected_ids(self) -> list[int]:
        return sorted(int(row["id"]) for row in self.table.selected)

    def selection_changed(self) -> None:
        ids = self.selected_ids()
        self.selected_label.text = f"{len(ids)} selected" if ids else ""
        self.compare.set_enabled(len(ids) >= 2)

    def open_compare(self) -> None:
        ids = self.selected_ids()
        if len(ids) >= 2:
            ui.navigate.to(f"/training/compare?ids={','.join(map(str, ids))}")

    def open_launch(self) -> None:
        if self.launcher is None:
            self.launcher = LaunchDialog(self.principal, on_launched=lambda _: self.launched())
        self.launcher.open()

    def launched(self) -> None:
        self.rows_seen = None


# --- routes: compare before the job page, so "compare" is not read as a job id -----------------------


@ui.page("/training", title="Training · Helios")
def training_page(request: Request, q: str = "", status: str = "", family: str = "", hide: str = "") -> None:
    principal = page_principal(request)
    with frame("Training", principal.name):
        JobListPage(principal, status=status, family=family, q=q, hide=hide).build()


@ui.page("/training/compare", title="Compare runs · Training · Helios")
def compare_page(request: Request, ids: str = "") -> None:
    principal = page_principal(request)
    with frame("Training", principal.name):
        ComparePage(parse_ids(ids)).build()


@ui.page("/training/{job_id}", title="Training job · Helios")
def job_page(request: Request, job_id: str) -> None:
    principal = page_principal(request)
    with frame("Training", principal.name):
        try:
            job, iterative = load_job(job_id)
        except HeliosError as exc:
            unknown_job(job_id, exc.detail)
            return
        ui.page_title(f"Job #{job.id} · Training · Helios")
        JobPage(principal, job, iterative).build()
