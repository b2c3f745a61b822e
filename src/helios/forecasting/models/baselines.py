"""Benchmark families every forecast should beat: naive, seasonal naive, drift, mean and the M4
``Naive2`` (naive on the seasonally adjusted series).

Intervals are the textbook normal ones (Hyndman & Athanasopoulos, FPP3 5.5): sigma is the
residual standard deviation of the one-step fitted values, corrected for the parameters fitted,
and grows with the horizon as each method implies (random walk: sigma * sqrt(h)).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from helios.forecasting.base import DataSpec, FitContext, ForecastingError, Hyperparameters, ModelFamily
from helios.forecasting.families import register
from helios.forecasting.local import LocalFitted, SeriesState, fit_each_series, require_length
from helios.forecasting.panel import Series, SeriesForecast, normal_bounds, own_config, split_panel
from helios.forecasting.seasonality import SeasonalAdjustment


class BaselineConfig(Hyperparameters):
    season_length: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        json_schema_extra={"empty": "the data's season"},
        description="Seasonal period; empty uses the data's (e.g. 7 for daily).",
    )


def residual_sigma(residuals: np.ndarray, fitted_params: int) -> float:
    """Standard deviation of one-step residuals, with ``fitted_params`` degrees of freedom
    spent; NaN when there are too few residuals to say (intervals are then NaN, not zero-wide)."""
    dof = len(residuals) - fitted_params
    return float(np.sqrt(residuals @ residuals / dof)) if dof > 0 else float("nan")


def _steps(horizon: int) -> np.ndarray:
    return np.arange(1, horizon + 1, dtype=float)


class _BaselineFamily(ModelFamily):
    task = "timeseries"
    Config = BaselineConfig
    FittedType: ClassVar[type[LocalFitted]]

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> LocalFitted:
        config = own_config(config, self.Config)
        states = fit_each_series(train, self.series_fitter(config, spec), context, self.name)
        return self.FittedType(states, spec.freq, self.season(config, spec), config.model_dump())

    @staticmethod
    def season(config: BaselineConfig, spec: DataSpec) -> int:
        return config.season_length or spec.season_length

    def series_fitter(self, config: BaselineConfig, spec: DataSpec) -> Callable[[Series], SeriesState]:
        season = self.season(config, spec)
        return lambda series: self.fit_series(series, season)

    @abc.abstractmethod
    def fit_series(self, series: Series, season_length: int) -> SeriesState:
        """Each baseline's own per-series fit."""

    def backtest_forecasts(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> pd.DataFrame:
        """``auto``'s validation forecasts (``unique_id, window, step, y, mean`` and bounds for
        ``levels``): the same per-series fits the generic backtest makes at each origin, on
        slices of each series split once, instead of rebuilding and refitting the panel per
        window (on 400 hourly series that cost 2.6-4 s per baseline candidate)."""
        config = own_config(config, self.Config)
        fit_one = self.series_fitter(config, spec)
        forecaster = self.FittedType([], spec.freq, self.season(config, spec), config.model_dump())
        series = split_panel(train)
        frames = []
        for window, offset in enumerate(offsets):
            columns: dict[str, list[np.ndarray]] = {"unique_id": [], "step": [], "y": [], "mean": []}
            bounds: dict[str, list[np.ndarray]] = {
                f"{side}-{level}": [] for level in levels for side in ("lo", "hi")
            }
            for one in series:
                cut = len(one) - offset - horizon
                if cut < 2:  # as the generic backtest's min_train_size: too short for this origin
                    continue
                actual = one.y[cut : cut + horizon]
                state = fit_one(Series(one.unique_id, one.ds[:cut], one.y[:cut]))
                forecast = forecaster.forecast_series(state, len(actual), levels)
                columns["unique_id"].append(np.full(len(actual), one.unique_id, dtype=object))
                columns["step"].append(np.arange(1, len(actual) + 1))
                columns["y"].append(actual)
                columns["mean"].append(forecast.mean)
                for level, (lo, hi) in forecast.bounds.items():
                    bounds[f"lo-{level}"].append(lo)
                    bounds[f"hi-{level}"].append(hi)
            if columns["y"]:
                joined = {name: np.concatenate(parts) for name, parts in (columns | bounds).items()}
                frames.append(pd.DataFrame(joined).assign(window=window))
        if not frames:
            raise ForecastingError(
                "no series is long enough for any backtest window; shorten horizon or n_windows"
            )
        return pd.concat(frames, ignore_index=True)


# --- naive ---------------------------------------------------------------------------------------


class NaiveFitted(LocalFitted):
    family = "naive"

    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        mean = np.full(horizon, state.params["last"])
        sigma = state.params["sigma"] * np.sqrt(_steps(horizon))
        return SeriesForecast(mean, normal_bounds(mean, sigma, levels))


@register
class Naive(_BaselineFamily):
    name = "naive"
    description = "Last value carried forward (random walk); intervals widen with sqrt(h)."
    FittedType = NaiveFitted

    def fit_series(self, series: Series, season_length: int) -> SeriesState:
        require_length(series, 1, self.name, "a last value")
        sigma = residual_sigma(np.diff(series.y), 0)
        return SeriesState(series.unique_id, series.last_ds, {"last": float(series.y[-1]), "sigma": sigma})


# --- seasonal naive ------------------------------------------------------------------------------


class SeasonalNaiveConfig(BaselineConfig):
    average: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Average the same point of the last N seasons (1 = plain seasonal naive); "
        "averaging a few weeks smooths the noise of any single one.",
    )


def seasonal_average(y: np.ndarray, season_length: int, average: int) -> np.ndarray:
    """For every point from ``average`` seasons in: the mean of the same point of the
    ``average`` seasons before it (the in-sample forecast whose errors set sigma)."""
    m, k = season_length, average
    return np.mean([y[(k - j) * m : len(y) - j * m] for j in range(1, k + 1)], axis=0)


class SeasonalNaiveFitted(LocalFitted):
    family = "seasonal_naive"

    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        last_season = state.arrays["last_season"]
        m = len(last_season)
        mean = last_season[np.arange(horizon) % m]
        completed_seasons = np.floor((_steps(horizon) - 1) / m)
        sigma = state.params["sigma"] * np.sqrt(completed_seasons + 1)
        return SeriesForecast(mean, normal_bounds(mean, sigma, levels))


@register
class SeasonalNaive(_BaselineFamily):
    name = "seasonal_naive"
    description = (
        "Value of the same season one period ago, or the mean of the last few (naive when the "
        "season length is 1)."
    )
    Config = SeasonalNaiveConfig
    FittedType = SeasonalNaiveFitted

    def series_fitter(self, config: BaselineConfig, spec: DataSpec) -> Callable[[Series], SeriesState]:
        season, average = self.season(config, spec), own_config(config, SeasonalNaiveConfig).average
        return lambda series: self.fit_averaged(series, season, average)

    def fit_series(self, series: Series, season_length: int) -> SeriesState:
        return self.fit_averaged(series, season_length, 1)

    def fit_averaged(self, series: Series, season_length: int, average: int) -> SeriesState:
        require_length(series, season_length, self.name, f"one full season of {season_length}")
        y, m = series.y, season_length
        k = max(1, min(average, len(y) // m))  # a short series averages the seasons it has
        if k == 1:
            sigma = residual_sigma(y[m:] - y[:-m], 0)
        else:
            sigma = residual_sigma(y[k * m :] - seasonal_average(y, m, k), 0)
        last_season = np.mean([y[len(y) - j * m : len(y) - (j - 1) * m] for j in range(1, k + 1)], axis=0)
        return SeriesState(series.unique_id, series.last_ds, {"sigma": sigma}, {"last_season": last_season})


# --- drift ---------------------------------------------------------------------------------------


class DriftFitted(LocalFitted):
    family = "drift"

    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        p = state.params
        h = _steps(horizon)
        mean = p["last"] + p["slope"] * h
        # The slope is estimated too: its error adds h^2/(T-1) to the random walk's h.
        sigma = p["sigma"] * np.sqrt(h * (1 + h / max(p["n"] - 1, 1)))
        return SeriesForecast(mean, normal_bounds(mean, sigma, levels))


@register
class Drift(_BaselineFamily):
    name = "drift"
    description = "Random walk with drift: the line from the first to the last observation, extended."
    FittedType = DriftFitted

    def fit_series(self, series: Series, season_length: int) -> SeriesState:
        require_length(series, 2, self.name, "a first and a last value to draw the line")
        steps = np.diff(series.y)
        slope = float(steps.mean())
        params = {
            "last": float(series.y[-1]),
            "slope": slope,
            "sigma": residual_sigma(steps - slope, 1),
            "n": len(series),
        }
        return SeriesState(series.unique_id, series.last_ds, params)


# --- mean ----------------------------------------------------------------------------------------


class MeanFitted(LocalFitted):
    family = "mean"

    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        p = state.params
        mean = np.full(horizon, p["mean"])
        sigma = np.full(horizon, p["sigma"] * np.sqrt(1 + 1 / p["n"]))
        return SeriesForecast(mean, normal_bounds(mean, sigma, levels))


@register
class Mean(_BaselineFamily):
    name = "mean"
    description = "Historical average of the series."
    FittedType = MeanFitted

    def fit_series(self, series: Series, season_length: int) -> SeriesState:
        require_length(series, 1, self.name, "a value to average")
        y = series.y
        params = {"mean": float(y.mean()), "sigma": residual_sigma(y - y.mean(), 1), "n": len(y)}
        return SeriesState(series.unique_id, series.last_ds, params)


# --- Naive2 (M4) ---------------------------------------------------------------------------------


class Naive2Fitted(LocalFitted):
    family = "naive2"

    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        p = state.params
        future_index = SeasonalAdjustment(state.arrays["seasonal_indices"], p["n"]).future_indices(horizon)
        adjusted_mean = np.full(horizon, p["last_adjusted"])
        bounds = normal_bounds(adjusted_mean, p["sigma"] * np.sqrt(_steps(horizon)), levels)
        reseasoned = {level: (lo * future_index, hi * future_index) for level, (lo, hi) in bounds.items()}
        return SeriesForecast(adjusted_mean * future_index, reseasoned)


@register
class Naive2(_BaselineFamily):
    name = "naive2"
    description = "M4 Naive2: naive on the series adjusted by a multiplicative decomposition when seasonal."
    FittedType = Naive2Fitted

    def fit_series(self, series: Series, season_length: int) -> SeriesState:
        require_length(series, 1, self.name, "a last value")
        adjustment = SeasonalAdjustment.fit(series.y, season_length)
        adjusted = adjustment.adjust(series.y)
        params = {
            "last_adjusted": float(adjusted[-1]),
            "sigma": residual_sigma(np.diff(adjusted), 0),
            "n": len(adjusted),
            "seasonal": adjustment.seasonal,
        }
        return SeriesState(series.unique_id, series.last_ds, params, {"seasonal_indices": adjustment.indices})
