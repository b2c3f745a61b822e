"""The Forecast card on a model's page: forecast one series of any dataset version with one version
of this model, from the last observation of that data (``forecasting.forward.advance``: a local
model keeps its fitted parameters and runs its state forward, a neural one reads the new window;
nothing is re-estimated), shown as history, mean and 80/95% bands, with the CSV beside it.

Running it stores the forecast in the ledger like any other prediction (trigger ``on_demand``,
who ran it), because the ledger keeps every prediction Helios makes: the card links to it on
/predictions and the CSV is that stored prediction, served by the API behind the same auth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from nicegui import run, ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.datasets import service as datasets
from helios.datasets import views as dataset_views
from helios.predictions import service as predictions
from helios.predictions import views as prediction_views
from helios.predictions.schemas import SUPPORTED_LEVELS, ModelRef, PredictionRead, RunRequest, Trigger
from helios.registry.schemas import ModelDetail
from helios.ui import prediction_charts as charts
from helios.ui.runtime import context

HISTORY_POINTS = 120
LATEST = "latest"
START_MODES = {
    "state_updated": "state updated: the fitted parameters were kept and the model's state was run "
    "forward over this data; nothing was re-estimated",
    "window_input": "window input: the model read the newest window of this data as its input; "
    "its weights (or trees) were not retrained",
    "history_input": "history input: the newer draws were read as context; nothing was re-estimated",
}


@dataclass
class Choice:
    """What the card forecasts: the model version, the data version and the series."""

    version: int
    dataset: str
    data_version: int | Literal["latest"]
    series: str | None
    horizon: int
    levels: list[int]


def default_version(detail: ModelDetail) -> int | None:
    """The active version, else the staging one, else the newest."""
    if detail.active_version is not None:
        return detail.active_version
    if detail.staging_version is not None:
        return detail.staging_version
    return max((v.version for v in detail.versions), default=None)


def trained_on(detail: ModelDetail, version: int) -> str | None:
    """The dataset a version was trained on (``name@v3`` -> ``name``), where it is known."""
    found = next((v for v in detail.versions if v.version == version), None)
    return (found.dataset or "").partition("@")[0] or None if found else None


def history_frame(frame: pd.DataFrame, task: str) -> tuple[pd.DataFrame, str]:
    """The history to draw and its axis: a volatility model forecasts returns, not the level."""
    frame = frame.sort_values("ds")
    if task != "volatility":
        return frame[["ds", "y"]].tail(HISTORY_POINTS), "value (units of the data)"
    returns = 100 * np.log(frame["y"].astype(float)).diff()
    out = pd.DataFrame({"ds": frame["ds"], "y": returns}).dropna()
    return out.tail(HISTORY_POINTS), "return (% log)"


def predictions_link(prediction: PredictionRead) -> str:
    query = {
        "dataset": prediction.dataset,
        "ticker": prediction.unique_id,
        "model": prediction.model,
        "version": prediction.model_version,
        "prediction": prediction.id,
    }
    return f"/predictions?{urlencode(query)}"


def caption(prediction: PredictionRead) -> str:
    mode = START_MODES.get(prediction.start_mode, prediction.start_mode)
    return (
        f"{prediction.model} v{prediction.model_version} on {prediction.unique_id}, from the last "
        f"observation of {prediction.dataset} v{prediction.dataset_version} "
        f"({prediction.origin:%Y-%m-%d %H:%M} UTC), "
        f"{prediction.horizon} step(s) ahead. Start: {mode}. Kept in the ledger as prediction "
        f"#{prediction.id} ({prediction.trigger}, by {prediction.created_by})."
    )


class ForecastCard:
    def __init__(self, principal: Principal, detail: ModelDetail) -> None:
        self.principal = principal
        self.detail = detail
        self.made: PredictionRead | None = None

    # --- layout -----------------------------------------------------------------------------------

    def build(self) -> None:
        card = ui.card().classes("helios-card w-full gap-3").props('data-testid="forecast-card"')
        with card:
            with ui.row().classes("w-full items-baseline justify-between gap-2"):
                ui.label("Forecast").classes("font-semibold")
                ui.label(
                    "From the last observation of the data you pick, with the model's fitted "
                    "parameters kept: the state is updated, never re-estimated."
                ).classes("text-xs text-slate-500")
            names = self._names()
            if not names or default_version(self.detail) is None:
                ui.label("Import a dataset to forecast with this model.").classes("text-sm text-slate-500")
                return
            self.controls(names)
            self.status = ui.label().classes("text-sm text-slate-600").props('data-testid="forecast-status"')
            self.chart = ui.echart(charts.price_chart(charts_empty(), [])).classes("w-full h-96")
            self.chart.props('data-testid="forecast-chart"')
            with ui.row().classes("w-full items-center gap-3") as self.result:
                self.link = ui.link("Open in Predictions", "/predictions").props(
                    'data-testid="forecast-link"'
                )
                self.download = ui.button("Download CSV", icon="download", on_click=self.download_csv)
                self.download.props('flat dense no-caps data-testid="forecast-csv"')
            self.result.visible = False
        self.pick_dataset(self.dataset.value)

    def _names(self) -> list[str]:
        with context().db.reading() as session:
            return [d.name for d in dataset_views.all_datasets(session)]

    def controls(self, names: list[str]) -> None:
        version = default_version(self.detail)
        dataset = trained_on(self.detail, version or 0)
        with ui.row().classes("w-full items-end gap-3 flex-wrap"):
            versions = {v.version: f"v{v.version} {v.stage}" for v in self.detail.versions}
            self.version = ui.select(versions, value=version, label="Model version")
            self.version.props('outlined dense data-testid="forecast-version"').classes("w-full sm:w-40")
            self.dataset = ui.select(
                names,
                value=dataset if dataset in names else names[0],
                label="Dataset",
                on_change=lambda e: self.pick_dataset(e.value),
            )
            self.dataset.props('outlined dense data-testid="forecast-dataset"').classes("w-full sm:w-44")
            self.data_version = ui.select(
                {LATEST: "latest"}, value=LATEST, label="Data version", on_change=self.show_history
            )
            self.data_version.props('outlined dense data-testid="forecast-data-version"').classes(
                "w-full sm:w-36"
            )
            self.series = ui.select([], label="Series", with_input=True, on_change=self.show_history)
            self.series.props('outlined dense data-testid="forecast-series"').classes("w-full sm:w-40")
            self.horizon = ui.number("Horizon (steps)", value=14, min=1, max=366, precision=0)
            self.horizon.props('outlined dense data-testid="forecast-horizon"').classes("w-full sm:w-32")
            self.levels = ui.select(list(SUPPORTED_LEVELS), value=[80, 95], multiple=True, label="Levels (%)")
            self.levels.props('outlined dense use-chips data-testid="forecast-levels"').classes(
                "w-full sm:w-48"
            )
            self.button = ui.button("Forecast", icon="insights", on_click=self.forecast)
            self.button.props('data-testid="forecast-run"')
            if self.principal.role < Role.editor:
                self.button.disable()
                self.button.tooltip("Forecasting stores a prediction; this needs the editor role")

    # --- choices ----------------------------------------------------------------------------------

    def pick_dataset(self, name: str) -> None:
        ctx = context()
        with ctx.db.reading() as session:
            versions = [v.version for v in dataset_views.all_versions(session, name)]
            latest = datasets.get_version(session, name, LATEST)
            kind = datasets.dataset_of(session, latest).kind
            series = datasets.series_names(session, ctx.store, name, latest.version)
        if kind == "draws":
            series = [(latest.rules or {}).get("name", name)]
        self.kind = kind
        options: dict[int | str, str] = {
            LATEST: f"latest (v{latest.version})",
            **{v: f"v{v}" for v in sorted(versions, reverse=True)},
        }
        self.data_version.set_options(options, value=LATEST)
        self.series.set_options(series, value=series[0] if series else None)
        self.show_history()

    def choice(self) -> Choice:
        return Choice(
            version=int(self.version.value),
            dataset=self.dataset.value,
            data_version=self.data_version.value,
            series=self.series.value,
            horizon=int(self.horizon.value or 0),
            levels=list(self.levels.value or []),
        )

    def _history(self, choice: Choice) -> pd.DataFrame:
        ctx = context()
        with ctx.db.reading() as session:
            number = datasets.get_version(session, choice.dataset, choice.data_version).version
            series = None if self.kind == "draws" else choice.series
            return datasets.series_frame(session, ctx.store, choice.dataset, number, series)

    def show_history(self) -> None:
        """Before a forecast, the chart shows the data it would start from."""
        choice = self.choice()
        self.result.visible = False
        self.levels.visible = self.kind != "draws"  # a draw forecast is probabilities, not intervals
        self.chart.visible = self.kind != "draws"  # ...drawn once there are some
        if self.kind == "draws":
            last = pd.Timestamp(self._history(choice)["ds"].max())
            self.status.text = (
                f"Last draw in this version: {last:%Y-%m-%d}. The forecast gives every number's "
                "probability for each of the next draws, beside fair chance."
            )
            return
        if choice.series is None:
            return
        history, unit = history_frame(self._history(choice), self.detail.task)
        self._draw(charts.price_chart(history, [], unit=unit))
        self.status.text = (
            f"Last observation of {choice.series}: {pd.Timestamp(history['ds'].iloc[-1]):%Y-%m-%d}"
            if len(history)
            else f"{choice.series} has no observations in this version"
        )

    # --- forecasting --------------------------------------------------------------------------------

    async def forecast(self) -> None:
        choice = self.choice()
        try:
            request = RunRequest(
                dataset=choice.dataset,
                dataset_version=choice.data_version,
                series=choice.series or "",
                models=[ModelRef(name=self.detail.name, version=choice.version)],
                horizon=choice.horizon,
                levels=choice.levels,
            )
        except ValueError as exc:
            self.status.text = f"Not run: {_first_problem(exc)}"
            return
        self.button.disable()
        self.status.text = "forecasting…"
        try:
            made = await run.io_bound(self._run, request)
        except HeliosError as exc:
            self.status.text = f"Not run: {exc.detail}"
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        finally:
            self.button.enable()
        if made is not None:  # None: the server is shutting down
            self.show(made, choice)

    def _run(self, request: RunRequest) -> PredictionRead:
        self.principal.require(Role.editor)
        ctx = context()
        with ctx.db.transaction() as session:
            [stored] = predictions.run_inline(
                session, ctx.store, ctx.inference, request, self.principal, trigger=Trigger.on_demand
            )
            [read] = prediction_views.prediction_reads(session, [stored])
            return read

    def show(self, made: PredictionRead, choice: Choice) -> None:
        self.made = made
        self.chart.visible = True
        if made.task == "draws":
            self._draw(charts.probability_chart(made))
        else:
            history, unit = history_frame(self._history(choice), self.detail.task)
            self._draw(charts.price_chart(history, [made], unit=unit))
        self.status.text = caption(made)
        self.link.text = f"Prediction #{made.id} on the Predictions page"
        self.link.props(f'href="{predictions_link(made)}"')
        self.result.visible = True

    def _draw(self, options: dict[str, Any]) -> None:
        self.chart.options.clear()
        self.chart.options.update(options)
        self.chart.update()

    def download_csv(self) -> None:
        if self.made is not None:
            ui.download.from_url(f"/api/v1/predictions/by-id/{self.made.id}/csv")


def charts_empty() -> pd.DataFrame:
    return pd.DataFrame({"ds": [], "y": []})


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return str(exc)


def show_forecast_card(principal: Principal, detail: ModelDetail) -> None:
    """Only a model that forecasts (kind ml) with at least one version gets the card."""
    if detail.kind == "ml" and detail.versions:
        ForecastCard(principal, detail).build()
