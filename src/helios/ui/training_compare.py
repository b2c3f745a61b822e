"""Runs side by side: each metric's curves overlaid (one chart per metric, one line per run), the
hyperparameters that differ, and the holdout scores with the best run marked (``training.scoreboard``)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from helios.core.errors import HeliosError, InvalidInput
from helios.training import scoreboard, views
from helios.training.schemas import Comparison, JobRead
from helios.ui import training_charts as charts
from helios.ui.runtime import context

RUN_COLORS = ["#2563eb", "#f59e0b", "#16a34a", "#db2777", "#0891b2", "#7c3aed", "#dc2626", "#65a30d"]
METRIC_ORDER = {"train_loss": 0, "val_loss": 1}


def parse_ids(raw: str) -> list[int] | str:
    """Job ids from ``?ids=1,2``, or what is wrong with them."""
    try:
        ids = list(dict.fromkeys(int(part) for part in raw.split(",") if part.strip()))
    except ValueError:
        return f"“{raw}” is not a list of job numbers, e.g. ?ids=3,4"
    return ids if len(ids) >= 2 else "Pick at least two runs: select them in the job table and press Compare."


def _load(ids: list[int]) -> tuple[Comparison, dict[int, JobRead]]:
    with context().db.reading() as session:
        comparison = views.compare(session, ids)
        jobs = [views.get_job_read(session, i) for i in ids]
    return comparison, {j.id: j for j in jobs}


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return charts.number(value)


class ComparePage:
    def __init__(self, ids: list[int] | str) -> None:
        self.ids = ids

    def build(self) -> None:
        ui.link("← All training jobs", "/training").classes(
            "text-sm text-slate-500 no-underline hover:underline -mb-3"
        )
        try:
            if isinstance(self.ids, str):
                raise InvalidInput(self.ids)
            comparison, jobs = _load(self.ids)
        except HeliosError as exc:
            self.problem(exc.detail)
            return
        self.comparison, self.jobs = comparison, jobs
        self.colors = {run.job_id: RUN_COLORS[i % len(RUN_COLORS)] for i, run in enumerate(comparison.runs)}
        with ui.column().classes("gap-0"):
            ui.label(f"Comparing {len(comparison.runs)} runs").classes("text-2xl font-semibold")
            ui.label(
                "Curves overlaid per metric, what differs between the runs, and how each scored."
            ).classes("text-slate-500")
        self.run_cards()
        self.curves()
        with ui.row().classes("w-full gap-6 items-start lg:flex-nowrap"):
            self.params_table()
            self.scores_table()

    def problem(self, detail: str) -> None:
        with (
            ui.card()
            .classes("w-full helios-card items-center py-12 gap-2")
            .props('data-testid="compare-problem"')
        ):
            ui.icon("compare_arrows", size="48px").classes("text-slate-400")
            ui.label("Nothing to compare").classes("text-lg font-medium")
            ui.label(detail).classes("text-slate-500")

    def run_cards(self) -> None:
        with ui.row().classes("w-full gap-3"):
            for run in self.comparison.runs:
                job = self.jobs[run.job_id]
                card = ui.card().classes(
                    "helios-card px-4 py-3 gap-1 cursor-pointer hover:shadow-lg min-w-[220px]"
                )
                card.style(f"border-left: 4px solid {self.colors[run.job_id]}")
                card.on("click", lambda _, i=run.job_id: ui.navigate.to(f"/training/{i}"))
                with card:
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        ui.label(f"#{job.id}").classes("font-semibold")
                        ui.label(job.family).classes("text-slate-500")
                        charts.status_chip(job.status, f"compare-status-{job.id}")
                    ui.label(
                        f"{job.dataset} v{job.dataset_version} · {job.epoch} epochs · "
                        f"{charts.duration(job.duration_s)}"
                    ).classes("text-xs text-slate-500")

    def curves(self) -> None:
        metrics = sorted(
            {name for run in self.comparison.runs for name in run.curves},
            key=lambda n: (METRIC_ORDER.get(n, 9), n),
        )
        if not metrics:
            with ui.card().classes("helios-card w-full"):
                ui.label(
                    "None of these runs recorded curves (their families do not train in epochs)."
                ).classes("text-sm text-slate-500")
            return
        grid = "lg:grid-cols-2" if len(metrics) > 1 else ""
        with ui.element("div").classes(f"w-full grid grid-cols-1 {grid} gap-6"):
            for metric in metrics:
                runs = [(run.label, run.curves.get(metric, [])) for run in self.comparison.runs]
                colors = [self.colors[run.job_id] for run in self.comparison.runs]
                with ui.card().classes("helios-card w-full min-w-0 p-2"):
                    ui.echart(charts.comparison_chart(metric, runs, colors)).classes("w-full h-72").props(
                        f'data-testid="compare-chart-{metric}"'
                    )

    def _run_columns(self, first: str) -> list[dict]:
        return [{"name": "name", "label": first, "field": "name", "align": "left"}] + [
            {"name": f"r{run.job_id}", "label": run.label, "field": f"r{run.job_id}", "align": "right"}
            for run in self.comparison.runs
        ]

    def params_table(self) -> None:
        diff, same = self.comparison.params_diff, self.comparison.params_same
        rows = [
            {
                "name": key,
                **{f"r{run.job_id}": _cell(values.get(str(run.job_id))) for run in self.comparison.runs},
            }
            for key, values in diff.items()
        ]
        with ui.card().classes("helios-card w-full lg:w-1/2 min-w-0 p-0 gap-0"):
            ui.label("What differs").classes("px-4 pt-3 font-semibold")
            if rows:
                ui.table(rows=rows, columns=self._run_columns("Parameter"), row_key="name").classes(
                    "w-full"
                ).props('flat dense data-testid="params-diff"')
            else:
                ui.label("Nothing: the runs share every hyperparameter.").classes(
                    "px-4 py-3 text-sm text-slate-500"
                )
            if same:
                shared = ui.expansion(f"{len(same)} shared parameters").classes("w-full text-sm")
                with shared.props("dense"), ui.element("div").classes("grid grid-cols-2 gap-x-4 px-2 pb-2"):
                    for key, value in same.items():
                        ui.label(key.replace("_", " ")).classes("text-slate-500")
                        ui.label(_cell(value)).classes("tabular-nums text-right")

    def scores_table(self) -> None:
        runs = self.comparison.runs
        names = sorted({name for run in runs for name in run.final_metrics})
        datasets = {
            run.job_id: f"{self.jobs[run.job_id].dataset} v{self.jobs[run.job_id].dataset_version}"
            for run in runs
        }
        comparable = scoreboard.same_data(datasets)
        with ui.card().classes("helios-card w-full lg:w-1/2 min-w-0 p-0 gap-0 overflow-x-auto"):
            ui.label("Holdout scores").classes("px-4 pt-3 font-semibold")
            if not names:
                ui.label("No run has finished with scores yet.").classes("px-4 py-3 text-sm text-slate-500")
                return
            if not comparable:
                ui.label(scoreboard.different_data_notice(datasets)).classes(
                    "px-4 pt-1 text-sm text-amber-700 dark:text-amber-400"
                ).props('data-testid="compare-not-comparable"')
            rows = []
            for name in names:
                values = {run.job_id: run.final_metrics.get(name) for run in runs}
                best = scoreboard.best_run(name, values) if comparable else None
                cells = {f"r{i}": charts.number(v) + (" ★" if i == best else "") for i, v in values.items()}
                rows.append({"name": name, "better": scoreboard.direction(name) or "", **cells})
            columns = [
                *self._run_columns("Metric"),
                {"name": "better", "label": "Reading", "field": "better", "align": "left"},
            ]
            ui.table(rows=rows, columns=columns, row_key="name").classes("w-full").props(
                'flat dense data-testid="final-metrics-table"'
            )
            if comparable:
                ui.label("★ best of these runs, read as the last column says").classes(
                    "px-4 pb-2 text-xs text-slate-500"
                )
