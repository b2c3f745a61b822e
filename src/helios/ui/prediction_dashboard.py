"""Prediction Dashboard: pick a dataset and ticker, run a prediction now, and watch it against what
happens — price chart with 80/95% bands and a volatility overlay, accuracy tracker (rolling
coverage against nominal, skill against naive), model comparison, schedules, and for draw
datasets the probabilities beside fair chance. Every read and write goes through the
predictions, datasets and registry services; slow work runs off the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from nicegui import run, ui
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError, NotFound
from helios.datasets import service as datasets
from helios.datasets import views as dataset_views
from helios.predictions import accuracy, schedules, service, views
from helios.predictions.schemas import PredictionRead, RunRequest, ScheduleCreate, Trigger
from helios.registry import views as registry_views
from helios.ui import prediction_charts as charts
from helios.ui.agent_filter import AgentScope, agent_banner, agent_scope, unknown_agent
from helios.ui.guard import page_principal
from helios.ui.runtime import context
from helios.ui.shell import frame

HISTORY_POINTS = 120
WIDE = "w-full sm:w-48"  # a field: the phone's full width, a fixed width beside the others above it


@dataclass
class Filters:
    """What the page's address asks for:
    /predictions?dataset=&ticker=&model=&version=&prediction=&agent=."""

    dataset: str | None = None
    ticker: str | None = None
    model: str | None = None
    version: int | None = None
    prediction: int | None = None
    agent: str | None = None


class Dashboard:
    def __init__(self, principal: Principal, filters: Filters, scope: AgentScope | None = None) -> None:
        self.principal = principal
        self.filters = filters
        self.scope = scope  # ?agent=: only the datasets, tickers and models the agent works with
        self.dataset, self.ticker = filters.dataset, filters.ticker
        if not (self.dataset and self.ticker):
            self._open_where_last_predicted(filters.model, filters.version)
        self._shown: tuple | None = None  # what the page shows now; the poll redraws only on change

    def _open_where_last_predicted(self, model: str | None, version: int | None) -> None:
        """Without a dataset and ticker in the address, the page opens on the newest prediction
        (of the model asked for), not on whichever dataset sorts first."""
        with context().db.reading() as session:
            subject = views.newest_subject(session, model, version)
        if subject is not None and not self.dataset:
            self.dataset, self.ticker = subject
        elif subject is not None and subject[0] == self.dataset:
            self.ticker = subject[1]

    # --- layout -----------------------------------------------------------------------------------

    def build(self) -> None:
        with ui.column().classes("gap-0"):
            ui.label("Predictions").classes("text-2xl font-semibold")
            ui.label(
                "Every prediction Helios made, from the last observation it saw, scored as actuals arrive."
            ).classes("text-slate-500")
        names = [d.name for d in self._datasets()]
        if self.scope and names and not self.scope.datasets(names):
            agent_banner(self.scope, "watches none of the datasets Helios holds", "/predictions")
            ui.label(
                f"Name a dataset it watches: helios agents update {self.scope.name} --watch DATASET:TICKERS"
            ).classes("text-slate-500").props('data-testid="predictions-agent-empty"')
            return
        names = self.scope.datasets(names) if self.scope else names
        if not names:
            ui.label(
                "No datasets yet: import one on the Datasets page, train a model, then come back."
            ).props('data-testid="predictions-empty"')
            return
        self.dataset = self.dataset if self.dataset in names else names[0]
        self.filter_note()
        with ui.row().classes("w-full items-end gap-3 flex-wrap"):
            self.dataset_select = ui.select(
                names, value=self.dataset, label="Dataset", on_change=lambda e: self.pick_dataset(e.value)
            )
            self.dataset_select.props('outlined dense data-testid="dataset-select"').classes(WIDE)
            self.ticker_select = ui.select([], label="Ticker", on_change=lambda e: self.pick_ticker(e.value))
            self.ticker_select.props('outlined dense data-testid="ticker-select"').classes("w-full sm:w-40")
            self.models = self._models()
            self.models_select = ui.select([], multiple=True, label="Models")
            self.models_select.props('outlined dense use-chips data-testid="models-select"').classes(
                "w-full sm:w-72"
            )
            volatility = {"": "none", **{m.name: m.name for m in self.models if m.task == "volatility"}}
            self.vol_select = ui.select(volatility, value="", label="Volatility overlay")
            self.vol_select.props('outlined dense data-testid="volatility-select"').classes(WIDE)
            self.horizon = ui.number("Horizon (steps)", value=7, min=1, max=366, precision=0)
            self.horizon.props('outlined dense data-testid="horizon"').classes("w-full sm:w-32")
            self.run_button = ui.button("Run prediction now", icon="play_arrow", on_click=self.run_now)
            self.run_button.props('data-testid="run-now"')
        self.progress = (
            ui.linear_progress(value=0, show_value=False).classes("w-full").props("instant-feedback")
        )
        self.progress.visible = False
        self.status = ui.label().classes("text-slate-600").props('data-testid="run-status"')
        with ui.card().classes("w-full"):
            self.chart_title = ui.label().classes("text-lg font-medium")
            self.chart = ui.echart(charts.price_chart(_empty_history(), [])).classes("w-full h-96")
            self.chart.props('data-testid="price-chart"')
        with ui.card().classes("w-full"):
            ui.label("Accuracy tracker").classes("text-lg font-medium")
            self.accuracy_box = ui.column().classes("w-full").props('data-testid="accuracy"')
            self.coverage_chart = ui.echart(charts.coverage_chart([])).classes("w-full h-72")
            self.coverage_chart.props('data-testid="coverage-chart"')
        with ui.card().classes("w-full"):
            ui.label("Schedules").classes("text-lg font-medium")
            self.schedule_box = ui.column().classes("w-full").props('data-testid="schedules"')
            with ui.row().classes("w-full items-end gap-3"):
                self.schedule_name = ui.input("Name").props('outlined dense data-testid="schedule-name"')
                self.schedule_name.classes(WIDE)
                self.schedule_cron = ui.input("Cron (UTC)", value="30 21 * * 1-5")
                self.schedule_cron.props('outlined dense data-testid="schedule-cron"').classes(WIDE)
                ui.button("Schedule this prediction", on_click=self.add_schedule).props(
                    'data-testid="add-schedule"'
                )
        self.pick_dataset(self.dataset)
        ui.timer(3.0, self.poll)

    def filter_note(self) -> None:
        """A page opened for one agent or one model (their pages link here) says so, with the way
        back to all."""
        if self.scope:
            rest = {"dataset": self.dataset, "ticker": self.ticker or ""}
            agent_banner(
                self.scope,
                "only the series it watches and the models it forecasts with",
                f"/predictions?{urlencode(rest)}",
            )
        model, version = self.filters.model, self.filters.version
        if not model:
            return
        with ui.row().classes("items-center gap-2 -mt-3").props('data-testid="predictions-filter"'):
            ui.chip(f"{model} v{version}" if version else model, icon="filter_alt", color="blue-1").props(
                "dense square text-color=blue-9"
            )
            ui.label("only this model's predictions and accuracy are shown").classes("text-sm text-slate-500")
            everything = {"dataset": self.dataset, "ticker": self.ticker or ""}
            ui.link("show every model", f"/predictions?{urlencode(everything)}").classes("text-sm")

    # --- choices ----------------------------------------------------------------------------------

    def _datasets(self) -> list[Any]:
        with context().db.reading() as session:
            return dataset_views.all_datasets(session)

    def _models(self) -> list[Any]:
        with context().db.reading() as session:
            return registry_views.list_models(session, kind="ml", stage="active", limit=200).items

    def pick_dataset(self, name: str) -> None:
        self.dataset = name
        with context().db.reading() as session:
            version = datasets.get_version(session, name, "latest")
            self.kind = datasets.dataset_of(session, version).kind
            series = datasets.series_names(session, context().store, name, version.version)
        if self.kind == "draws":
            series = [(version.rules or {}).get("name", name)]
        elif self.scope:
            series = self.scope.series(name, series)
        if not series:  # the agent's tickers are not in this dataset (yet)
            self.ticker_select.set_options([], value=None)
            self.ticker = None
            self.status.text = f"{self.scope.name if self.scope else 'It'} watches no series of {name} yet"
            return
        self.ticker_select.set_options(series, value=self.ticker if self.ticker in series else series[0])
        self.offer_models(self.ticker_select.value)
        self.pick_ticker(self.ticker_select.value)

    def offer_models(self, ticker: str | None) -> None:
        """Only models that forecast this kind of data (draw models for draws); chosen: the one the
        address names, else those that last predicted this ticker here, else the first."""
        fits = [
            m.name
            for m in self.models
            if m.task != "volatility" and (m.task == "draws") == (self.kind == "draws")
        ]
        fits = self.scope.models(fits) if self.scope else fits
        with context().db.reading() as session:
            latest = views.list_predictions(session, ticker, latest=True, limit=20).items if ticker else []
        predicted = [p.model for p in latest if p.dataset == self.dataset and p.model in fits]
        asked = [self.filters.model] if self.filters.model in fits else []
        chosen = asked or sorted(set(predicted)) or fits[:1]
        self.models_select.set_options(fits, value=chosen)

    def pick_ticker(self, ticker: str | None) -> None:
        self.ticker = ticker
        self.refresh()
        ui.navigate.history.replace(self.address())

    def address(self) -> str:
        """What the page shows, as its address: a reload or a shared link opens the same view."""
        f = self.filters
        query = {
            "dataset": self.dataset,
            "ticker": self.ticker,
            "model": f.model,
            "version": f.version,
            "prediction": f.prediction,
            "agent": f.agent,
        }
        return "/predictions?" + urlencode({k: v for k, v in query.items() if v})

    # --- running ----------------------------------------------------------------------------------

    async def run_now(self) -> None:
        try:
            request = RunRequest(
                dataset=self.dataset,
                series=self.ticker,
                models=list(self.models_select.value or []),
                horizon=int(self.horizon.value or 7),
                volatility_model=self.vol_select.value or None,
            )
        except ValueError as exc:
            ui.notify(f"Cannot run: {exc}", type="negative")
            return
        self.run_button.disable()
        self.progress.visible, self.progress.value = True, 0.1
        self.status.text = "predicting…"
        try:
            made = await run.io_bound(self._run, request)
        except HeliosError as exc:
            self.status.text = f"Not run: {exc.detail}"
            ui.notify(exc.detail, type="negative")
            self.progress.visible = False
            return
        except OperationalError as exc:  # the database was busy past its timeout: say so, try again
            self.status.text = f"Not run, the database is busy ({exc.orig}); try again in a moment"
            self.progress.visible = False
            return
        finally:
            self.run_button.enable()
        self.progress.value = 1.0
        self.filters.prediction = None  # what was just run is the newest: show it
        self.status.text = f"{len(made)} prediction(s) stored from {made[0].origin:%Y-%m-%d}" if made else ""
        self.progress.visible = False
        self._shown = None
        self.refresh()

    def _run(self, request: RunRequest) -> list[PredictionRead]:
        self.principal.require(Role.editor)
        ctx = context()
        with ctx.db.transaction() as session:
            stored, _ = service.run_or_enqueue(
                session, ctx.store, ctx.inference, request, self.principal, trigger=Trigger.on_demand
            )
            return views.prediction_reads(session, stored)

    def poll(self) -> None:
        """Scores arrive in the background (a new dataset version): keep the page current."""
        if self.ticker:
            self.refresh()

    # --- showing ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        ctx = context()
        with ctx.db.reading() as session:
            model, model_version = self.filters.model, self.filters.version
            latest = views.list_predictions(
                session, self.ticker, model=model, version=model_version, latest=True, limit=20
            ).items
            latest = self._pinned(session, latest)
            report = accuracy.accuracy(session, unique_id=self.ticker, model=model, version=model_version)
            found = schedules.list_schedules(session)
            version = datasets.get_version(session, self.dataset, "latest")
            history = datasets.series_frame(
                session,
                ctx.store,
                self.dataset,
                version.version,
                None if self.kind == "draws" else self.ticker,
            )
        latest = [p for p in latest if p.dataset == self.dataset]
        if self.scope:
            latest, report = self._agents_own(latest, report)
        signature = (
            self.dataset,
            self.ticker,
            version.version,
            report.scored_points,
            tuple(p.id for p in latest),
            tuple((f.name, f.last_run_at) for f in found),
        )
        if signature == self._shown:
            return  # nothing new: keep the reader's zoom and hover
        self._shown = signature
        self._chart(history, latest)
        self._accuracy(report)
        self._schedules([views.schedule_read(s) for s in found])

    def _agents_own(self, latest: list[PredictionRead], report: Any) -> tuple[list[PredictionRead], Any]:
        """Filtered by agent, the chart and the tracker show its models' work only."""
        assert self.scope is not None
        own = self.scope.forecasts_with
        report = report.model_copy(
            update={
                "groups": [g for g in report.groups if own(g.model)],
                "draws": [d for d in report.draws if own(d.model)],
            }
        )
        return [p for p in latest if own(p.model)], report

    def _pinned(self, session: Any, latest: list[PredictionRead]) -> list[PredictionRead]:
        """A link to one prediction (?prediction=ID) shows it in place of its model's newest."""
        if self.filters.prediction is None:
            return latest
        try:
            [pinned] = views.prediction_reads(
                session, [service.get_prediction(session, self.filters.prediction)]
            )
        except HeliosError:
            return latest
        if pinned.unique_id != self.ticker:
            return latest
        same = (pinned.model, pinned.model_version)
        return [pinned, *(p for p in latest if (p.model, p.model_version) != same)]

    def _chart(self, history: Any, latest: list[PredictionRead]) -> None:
        price = [p for p in latest if p.task != "draws"]
        if self.kind == "draws":
            if latest:
                self.chart.options.clear()
                self.chart.options.update(charts.probability_chart(latest[0]))
                self.chart_title.text = (
                    f"Next draw {latest[0].points[0].ds:%Y-%m-%d}: probabilities beside fair chance"
                )
            self.chart.update()
            return
        recent = history.tail(HISTORY_POINTS)
        self.chart.options.clear()
        self.chart.options.update(charts.price_chart(recent, price))
        self.chart.update()
        what = (
            ", ".join(f"{p.model} v{p.model_version} ({p.start_mode})" for p in price) or "no prediction yet"
        )
        self.chart_title.text = f"{self.ticker}: {what}"

    def _accuracy(self, report: Any) -> None:
        self.accuracy_box.clear()
        with self.accuracy_box:
            if not report.groups and not report.draws:
                ui.label("Nothing scored yet: predictions are scored when newer data arrives.").classes(
                    "text-slate-500"
                ).props('data-testid="accuracy-empty"')
            if report.groups:
                # "best" only means something beside another model version
                maes = [g.mae for g in report.groups if g.mae is not None]
                best = min(maes) if len(maes) > 1 else None
                rows = [_accuracy_row(g, best) for g in report.groups]
                columns = [{"name": k, "label": k, "field": k, "align": "left"} for k in rows[0]]
                ui.table(columns=columns, rows=rows).classes("w-full").props(
                    'dense flat data-testid="accuracy-table"'
                )
            for draw in report.draws:
                ui.label(f"{draw.model} v{draw.version}: {draw.verdict}").props('data-testid="draw-verdict"')
        self.coverage_chart.visible = bool(report.groups)  # an empty chart says less than the line above
        self.coverage_chart.options.clear()
        self.coverage_chart.options.update(charts.coverage_chart(report.groups))
        self.coverage_chart.update()

    def _schedules(self, found: list[Any]) -> None:
        self.schedule_box.clear()
        with self.schedule_box:
            for schedule in found:
                with ui.row().classes("items-center gap-3"):
                    when = f"next {schedule.next_run_at:%Y-%m-%d %H:%M} UTC"
                    ui.label(f"{schedule.name}: '{schedule.cron}' ({schedule.missed}); {when}")
                    ui.label(schedule.last_status or "not run yet").classes("text-slate-500")
                    ui.button(icon="delete", on_click=lambda s=schedule.name: self.delete_schedule(s)).props(
                        f'flat dense round data-testid="delete-schedule-{schedule.name}"'
                    )

    async def add_schedule(self) -> None:
        try:
            body = ScheduleCreate(
                name=(self.schedule_name.value or "").strip(),
                cron=(self.schedule_cron.value or "").strip(),
                request=RunRequest(
                    dataset=self.dataset,
                    series=self.ticker,
                    models=list(self.models_select.value or []),
                    horizon=int(self.horizon.value or 7),
                ),
            )
            await run.io_bound(self._write, lambda s: schedules.create_schedule(s, body, self.principal))
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative")
            return
        except ValidationError as exc:
            ui.notify(
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
                type="negative",
            )
            return
        ui.notify(f"Scheduled {body.name}", type="positive")
        self._shown = None
        self.refresh()

    async def delete_schedule(self, name: str) -> None:
        await run.io_bound(self._write, lambda s: schedules.delete_schedule(s, name, self.principal))
        self._shown = None
        self.refresh()

    def _write(self, change: Any) -> None:
        from helios.ui.runtime import write

        write(change, self.principal)


def _accuracy_row(group: Any, best: float | None) -> dict[str, Any]:
    coverage = {f"{c.level}% coverage": f"{c.observed:.0%} [{c.lo:.0%}–{c.hi:.0%}]" for c in group.coverage}
    return {
        "model": f"{group.model} v{group.version}" + (" ★ best" if group.mae == best else ""),
        "n": group.n,
        "MAE": _fmt(group.mae),
        "MASE": _fmt(group.mase),
        **coverage,
        "direction": f"{group.directional_accuracy:.0%}" if group.directional_accuracy is not None else "—",
        "vs naive": group.skill.verdict,
    }


def _fmt(value: float | None) -> str:
    return f"{value:.4g}" if value is not None else "—"


def _empty_history() -> Any:
    import pandas as pd

    return pd.DataFrame({"ds": [], "y": []})


def _whole(value: str | None) -> int | None:
    """An id or version from the address; anything else is ignored rather than an error page."""
    return int(value) if value and value.isdecimal() else None


@ui.page("/predictions", title="Predictions · Helios")
def predictions_page(
    request: Request,
    dataset: str | None = None,
    ticker: str | None = None,
    model: str | None = None,
    version: str | None = None,
    prediction: str | None = None,
    agent: str | None = None,
) -> None:
    principal = page_principal(request)
    filters = Filters(dataset, ticker, model or None, _whole(version), _whole(prediction), agent or None)
    with frame("Predictions", principal.name):
        scope = None
        if filters.agent:
            try:
                scope = agent_scope(filters.agent)
            except NotFound as exc:
                unknown_agent(filters.agent, exc, "/predictions")
                return
        Dashboard(principal, filters, scope).build()
