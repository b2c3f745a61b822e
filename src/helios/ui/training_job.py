"""One training job, live: status, progress and the loss curves as epochs end, stop or cancel,
the early-stopping rule while it runs, the journal, and the holdout scores when it is done.

The page is built once; a timer polls the job, its new metric points and new journal lines in
one read and updates those elements in place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from nicegui import run, ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError, NotFound
from helios.training import scoreboard, service, views
from helios.training.schemas import JobRead, JobStatus, JournalLine, MetricPoint
from helios.ui import training_charts as charts
from helios.ui.runtime import context
from helios.ui.training_notes import NotesCard, rerun_button
from helios.ui.training_rule import RuleEditor, stop_reason, write
from helios.ui.training_validation import ValidationCard

POLL_S = 0.5
JOURNAL_LINES = 2000
LEVEL_CLASSES = {"warning": "text-amber-600 dark:text-amber-400", "error": "text-red-600 dark:text-red-400"}
LOG_CSS = (
    ".helios-journal{font-size:12px;line-height:1.55}"
    ".helios-journal .q-scrollarea__content{white-space:pre-wrap;word-break:break-word;width:100%}"
    ".body--dark .helios-journal{color:#cbd5e1}"
)


def load_job(raw_id: str) -> tuple[JobRead, bool]:
    """The job and whether its family trains in epochs; NotFound for anything that is not a job."""
    try:
        job_id = int(raw_id)
    except ValueError:
        raise NotFound(f"“{raw_id}” is not a job number") from None
    with context().db.reading() as session:
        job = views.get_job_read(session, job_id)
    family = next((f for f in views.families().items if f.slug == job.family), None)
    return job, bool(family and family.iterative)


@dataclass
class Snapshot:
    job: JobRead
    points: list[MetricPoint]
    journal: list[JournalLine]


def _poll(job_id: int, since_point: int, since_line: int) -> Snapshot:
    # One read transaction: a job seen finished comes with every point and line it wrote.
    with context().db.reading() as session:
        job = views.get_job_read(session, job_id)
        points = views.metrics(session, job_id, since_point)
        lines = views.journal_lines(session, job_id, since_line)
    return Snapshot(job, points, lines)


def unknown_job(raw_id: str, detail: str) -> None:
    with ui.card().classes("w-full helios-card items-center py-12 gap-2").props('data-testid="job-missing"'):
        ui.icon("search_off", size="48px").classes("text-slate-400")
        ui.label(f"There is no training job “{raw_id}”").classes("text-lg font-medium")
        ui.label(detail).classes("text-slate-500")
        ui.link("← All training jobs", "/training").classes("mt-2")


def _stat(label: str, testid: str) -> ui.label:
    with ui.card().classes("helios-card px-4 py-2 gap-0 min-w-[130px]"):
        ui.label(label).classes("text-[11px] uppercase tracking-wide text-slate-500")
        return ui.label("—").classes("text-lg font-semibold tabular-nums").props(f'data-testid="{testid}"')


class JobPage:
    def __init__(self, principal: Principal, job: JobRead, iterative: bool) -> None:
        self.principal = principal
        self.can_edit = principal.role >= Role.editor
        self.job = job
        self.iterative = iterative
        self.last_point = 0
        self.last_line = 0
        self.epochs_seen = 0
        self.finished_shown = False
        self.best_marked: tuple | None = None
        self.result_shown: tuple | None = None
        self.rule: RuleEditor | None = None
        self.dialog = ui.dialog()

    def build(self) -> None:
        ui.add_css(LOG_CSS)
        ui.link("← All training jobs", "/training").classes(
            "text-sm text-slate-500 no-underline hover:underline -mb-3"
        )
        self.heading()
        self.stats()
        self.notice = ui.column().classes("w-full")
        self.notice.set_visibility(False)  # empty columns would still take a gap in the page
        with ui.row().classes("w-full gap-6 items-start lg:flex-nowrap"):
            with ui.card().classes("helios-card grow min-w-0 w-full lg:w-auto gap-1") as chart_card:
                self.chart_card()
            chart_card.set_visibility(self.iterative)
            # A one-pass family has no curve: once it is done, its validation plot takes that place.
            self.one_pass = ui.column().classes("grow min-w-0 w-full lg:w-auto gap-6")
            self.one_pass.set_visibility(not self.iterative)
            if not self.iterative:
                with self.one_pass:
                    self.one_pass_card()
            with ui.column().classes("w-full lg:w-80 shrink-0 gap-6"):
                self.rule = RuleEditor(self.job, self.principal) if self.iterative else None
                self.config_card()
                NotesCard(self.principal, self.job).build()
        self.outcome = ui.column().classes("w-full gap-6")
        self.outcome.set_visibility(False)
        with ui.card().classes("helios-card w-full gap-2"):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Journal").classes("font-semibold")
                ui.label("what happened, as it happened").classes("text-xs text-slate-500")
            self.journal = (
                ui.log(max_lines=JOURNAL_LINES)
                .classes("helios-journal w-full h-72")
                .props('data-testid="job-journal"')
            )
        self.render(self.job)
        self.timer = ui.timer(POLL_S, self.poll)

    # --- header ------------------------------------------------------------------------------------

    def heading(self) -> None:
        job = self.job
        with ui.row().classes("w-full items-start justify-between no-wrap gap-4"):
            with ui.column().classes("gap-1 min-w-0"):
                with ui.row().classes("items-center gap-3"):
                    ui.label(f"Job #{job.id}").classes("text-2xl font-semibold").props(
                        'data-testid="job-title"'
                    )
                    self.status = charts.status_chip(job.status)
                    ui.badge(job.family, color="indigo-6").classes("text-xs px-2 py-1")
                with ui.row().classes("items-center gap-1 text-slate-500 text-sm"):
                    ui.icon("dataset", size="16px")
                    dataset_page = f"/datasets/{quote(job.dataset)}?version={job.dataset_version}"
                    ui.link(f"{job.dataset} v{job.dataset_version}", dataset_page).classes(
                        "text-slate-500 no-underline hover:underline"
                    )
                    if job.series:
                        ui.label(f"· {len(job.series)} series")
                    ui.icon("arrow_forward", size="16px").classes("mx-1")
                    ui.icon("model_training", size="16px")
                    ui.link(job.target_model, f"/models/{job.target_model}").classes(
                        "text-slate-500 no-underline hover:underline"
                    )
                    ui.label(f"· created by {job.created_by} {job.created_at:%Y-%m-%d %H:%M}")
            with ui.row().classes("items-center gap-2 shrink-0"):
                rerun_button(self.principal, job)
                self.stop = ui.button("Stop", icon="stop_circle", on_click=self.confirm_stop).props(
                    'outline color=warning data-testid="job-stop"'
                )
                self.stop.tooltip("Stop now and keep the best epoch as a model version")
                self.cancel = ui.button("Cancel", icon="block", on_click=self.confirm_cancel).props(
                    'flat color=negative data-testid="job-cancel"'
                )
                self.cancel.tooltip("Stop and discard: nothing is registered")

    def stats(self) -> None:
        with ui.row().classes("w-full gap-3"):
            with ui.card().classes("helios-card px-4 py-2 gap-1 min-w-[200px]"):
                ui.label("Progress").classes("text-[11px] uppercase tracking-wide text-slate-500")
                with ui.row().classes("items-center gap-2 no-wrap"):
                    self.progress = (
                        ui.linear_progress(value=0, show_value=False, size="8px")
                        .props('rounded track-color=grey-4 data-testid="job-progress"')
                        .classes("w-28")
                    )
                    self.progress_text = ui.label().classes("text-lg font-semibold tabular-nums")
            self.epoch = _stat("Epoch", "stat-epoch")
            self.epoch.parent_slot.parent.set_visibility(self.iterative)  # type: ignore[union-attr]
            with ui.card().classes("helios-card px-4 py-2 gap-0 min-w-[150px]") as best_card:
                self.best_name = ui.label("Best").classes(
                    "text-[11px] uppercase tracking-wide text-slate-500"
                )
                self.best = (
                    ui.label("—")
                    .classes("text-lg font-semibold tabular-nums")
                    .props('data-testid="stat-best"')
                )
            self.best.tooltip("Lowest value so far @ its epoch")
            best_card.set_visibility(self.iterative)
            self.duration = _stat("Duration", "stat-duration")
            with ui.card().classes("helios-card px-4 py-2 gap-0 min-w-[160px]"):
                ui.label("Model version").classes("text-[11px] uppercase tracking-wide text-slate-500")
                self.result = ui.row().classes("items-center min-h-[28px]")

    # --- chart -------------------------------------------------------------------------------------

    def chart_card(self) -> None:
        with ui.row().classes("w-full items-center justify-between px-1"):
            ui.label("Loss by epoch").classes("font-semibold")
            with ui.row().classes("items-center gap-3"):
                self.epochs_label = (
                    ui.label()
                    .classes("text-xs text-slate-500 tabular-nums")
                    .props('data-testid="chart-epochs"')
                )
                ui.switch("log scale", on_change=lambda e: self.set_log(e.value)).props(
                    "dense size=sm"
                ).classes("text-xs text-slate-500")
        self.chart = ui.echart(charts.live_chart()).classes("w-full h-80").props('data-testid="loss-chart"')
        self.chart_empty = ui.label().classes("text-sm text-slate-500 px-1")

    def one_pass_card(self) -> None:
        with ui.card().classes("helios-card w-full items-center py-10 gap-2"):
            ui.icon("bolt", size="40px").classes("text-slate-400")
            ui.label(f"{self.job.family} fits in one pass").classes("text-base font-medium")
            ui.label(
                "No epochs and no loss curve: its holdout scores appear below when it finishes."
            ).classes("text-sm text-slate-500")

    def set_log(self, log: bool) -> None:
        charts.set_log_scale(self.chart.options, log)
        self.chart.update()

    def add_points(self, points: list[MetricPoint]) -> None:
        if not points:
            return
        charts.add_points(self.chart.options, [(p.name, p.step, p.value) for p in points])
        self.last_point = points[-1].id
        self.epochs_seen = max(self.epochs_seen, *(p.step for p in points))
        self.chart.update()

    # --- side cards --------------------------------------------------------------------------------

    def config_card(self) -> None:
        job = self.job
        shown = {**job.hyperparameters, "validation horizon": job.validation.get("horizon")}
        shown.setdefault("seed", job.seed)
        expansion_props = 'dense header-class="px-0 font-semibold"'
        # A scroll box of its own only beside the chart (lg): on a phone the rows flow with the page.
        grid_classes = "grid grid-cols-2 gap-x-3 gap-y-0.5 text-sm pt-1 lg:max-h-72 lg:overflow-y-auto pr-1"
        with (
            ui.card().classes("helios-card w-full gap-1"),
            ui.expansion("Configuration", icon="tune", value=True).classes("w-full").props(expansion_props),
            ui.element("div").classes(grid_classes),
        ):
            for key, value in shown.items():
                ui.label(key.replace("_", " ")).classes("text-slate-500 truncate")
                text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else charts.number(value)
                ui.label(text).classes("tabular-nums text-right truncate")

    # --- updating ----------------------------------------------------------------------------------

    async def poll(self) -> None:
        snapshot = await run.io_bound(_poll, self.job.id, self.last_point, self.last_line)
        if snapshot is None:
            return
        self.add_points(snapshot.points)
        for line in snapshot.journal[-JOURNAL_LINES:]:  # a long job's first load shows its recent past
            self.journal.push(
                f"{line.at:%H:%M:%S}  {line.message}", classes=LEVEL_CLASSES.get(line.level, "")
            )
            self.last_line = line.id
        self.render(snapshot.job)
        if snapshot.job.status in charts.FINISHED:
            self.timer.cancel()

    def render(self, job: JobRead) -> None:
        self.job = job
        finished = job.status in charts.FINISHED
        charts.set_status(self.status, job.status)
        if charts.set_epochs(self.chart.options, None if finished else job.epochs_total):
            self.chart.update()
        self.progress.value = job.progress
        self.progress.props(f"color={charts.STATUS.get(job.status, ('primary',))[0]}")
        self.progress_text.text = f"{job.progress:.0%}"
        self.epoch.text = f"{job.epoch} / {job.epochs_total}" if job.epochs_total else (str(job.epoch or "—"))
        monitor, best = self._best(job)
        self.best.text = f"{charts.number(best[0])} @ {best[1]}" if best else "—"
        self.best_name.text = f"Best {monitor}"
        self.duration.text = charts.duration(job.duration_s)
        self.epochs_label.text = f"{self.epochs_seen} epoch{'s' * (self.epochs_seen != 1)} recorded"
        self.chart_empty.text = self._chart_hint(job)
        self.chart_empty.set_visibility(not self.chart.options["series"])
        marked = (monitor, best, len(self.chart.options["series"]))
        if marked != self.best_marked:  # the monitored line may arrive after its best is known
            self.best_marked = marked
            charts.mark_best(self.chart.options, monitor, best[1] if best else None)
            self.chart.update()
        for button in (self.stop, self.cancel):  # a finished job has nothing left to stop
            button.set_visibility(not finished)
            button.set_enabled(self.can_edit)
        if self.rule:
            self.rule.render(job)
        self.render_result(job)
        if finished and not self.finished_shown:
            self.finished_shown = True
            self.render_outcome(job)

    def _best(self, job: JobRead) -> tuple[str, tuple[float, int] | None]:
        """The early-stopping rule's best when it has one, else the lowest val_loss (or train_loss) so far."""
        if job.early_stopping and job.best_metric is not None and job.best_epoch is not None:
            return job.early_stopping.get("monitor", "val_loss"), (job.best_metric, job.best_epoch)
        names = {s["name"] for s in self.chart.options["series"]}
        monitor = "val_loss" if "val_loss" in names or not names else next(iter(sorted(names)))
        return monitor, charts.best_point(self.chart.options, monitor)

    def _chart_hint(self, job: JobRead) -> str:
        if not self.iterative:
            return f"{job.family} does not train in epochs: no curve to draw, only the scores below."
        if job.status == JobStatus.queued:
            return "Waiting for a worker to pick this job up…"
        return (
            "The first epoch has not ended yet."
            if job.status == JobStatus.running
            else "No epochs were recorded."
        )

    def render_result(self, job: JobRead) -> None:
        shown = (job.result_version, job.status in charts.FINISHED)
        if shown == self.result_shown:
            return
        self.result_shown = shown
        self.result.clear()
        with self.result:
            if job.result_version:
                # The version this job made, picked out on its model's page.
                version_page = f"/models/{job.target_model}?{urlencode({'version': job.result_version})}"
                ui.link(f"{job.target_model} v{job.result_version}", version_page).classes(
                    "text-lg font-semibold text-primary no-underline hover:underline"
                ).props('data-testid="job-result"')
                if job.family == "auto":  # its page says what it chose for each series, and why
                    ui.link("what it chose per series →", version_page).classes(
                        "text-xs text-primary no-underline hover:underline"
                    ).props('data-testid="job-result-choices"')
            else:
                ui.label("pending" if job.status not in charts.FINISHED else "none").classes(
                    "text-lg font-semibold text-slate-400"
                ).props('data-testid="job-result-none"')

    def render_outcome(self, job: JobRead) -> None:
        self.notice.set_visibility(bool(job.error or job.stop_reason))
        self.outcome.set_visibility(bool(job.final_metrics))
        self.notice.clear()
        with self.notice:
            if job.error or job.stop_reason:
                failed = job.status == JobStatus.failed
                tone = (
                    "bg-red-50 dark:bg-red-950/40 text-red-800 dark:text-red-200"
                    if failed
                    else "bg-amber-50 dark:bg-amber-950/30 text-amber-900 dark:text-amber-200"
                )
                with (
                    ui.card()
                    .classes(f"helios-card w-full gap-1 {tone}")
                    .props('flat data-testid="job-outcome"')
                ):
                    with ui.row().classes("items-center gap-2"):
                        ui.icon("error" if failed else "info", size="20px")
                        ui.label("Failed" if failed else "Why it ended").classes("font-semibold")
                    ui.label(job.error or stop_reason(job)).classes("text-sm whitespace-pre-wrap break-words")
        self.outcome.clear()
        if job.result_version is not None:  # only a job that registered a model kept its forecast
            if not self.iterative:
                self.one_pass.clear()
            with self.outcome if self.iterative else self.one_pass:
                plot = ValidationCard(job.id)
                ui.timer(0, plot.load, once=True)
        with self.outcome:
            if job.final_metrics:
                with ui.card().classes("helios-card w-full gap-2").props('data-testid="final-metrics"'):
                    ui.label("Holdout scores").classes("font-semibold")
                    ui.label(
                        f"the last {job.validation.get('horizon')} steps of each series, unseen in training"
                    ).classes("text-xs text-slate-500 -mt-2")
                    with ui.row().classes("w-full gap-3"):
                        for name, value in job.final_metrics.items():
                            with (
                                ui.card()
                                .classes("helios-card px-4 py-2 gap-0 min-w-[110px]")
                                .props("flat bordered")
                            ):
                                ui.label(name).classes("text-[11px] uppercase tracking-wide text-slate-500")
                                ui.label(charts.number(value)).classes(
                                    "text-lg font-semibold tabular-nums"
                                ).props(f'data-testid="final-{name}"')
                    for name, words in scoreboard.explain(job.final_metrics).items():
                        ui.label(words).classes("text-sm text-slate-600 dark:text-slate-300").props(
                            f'data-testid="final-meaning-{name}"'
                        )

    # --- actions -----------------------------------------------------------------------------------

    def confirm_stop(self) -> None:
        self._confirm(
            f"Stop job #{self.job.id}?",
            "It stops after the current epoch; the best epoch so far is scored and "
            "registered as a model version (status: stopped early).",
            "Stop and keep best",
            "warning",
            lambda s: service.request_stop(s, self.job.id, self.principal),
            "Stop requested",
            "stop-confirm",
        )

    def confirm_cancel(self) -> None:
        self._confirm(
            f"Cancel job #{self.job.id}?",
            "It stops and nothing is registered.",
            "Cancel job",
            "negative",
            lambda s: service.request_cancel(s, self.job.id, self.principal),
            "Cancel requested",
            "cancel-confirm",
        )

    def _confirm(
        self,
        title: str,
        text: str,
        action: str,
        color: str,
        change: Callable[[Any], Any],
        done: str,
        testid: str,
    ) -> None:
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[440px] gap-3"):
            ui.label(title).classes("text-lg font-semibold")
            ui.label(text).classes("text-slate-500")
            with ui.row().classes("w-full justify-end"):
                ui.button("Keep training", on_click=self.dialog.close).props("flat")
                ui.button(action, color=color, on_click=lambda: self._act(change, done)).props(
                    f'data-testid="{testid}"'
                )
        self.dialog.open()

    async def _act(self, change: Callable[[Any], Any], done: str) -> None:
        self.dialog.close()
        try:
            await run.io_bound(write, change, self.principal)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        ui.notify(done, type="info")
