"""Local models: one independent model per series (naive, ETS, ARIMA...).

``LocalFitted`` holds one ``SeriesState`` per series (small JSON parameters plus named arrays)
and does the bookkeeping every local family shares: future stamps, the long output frame and
the ``to_state``/``from_state`` round trip. A family only says how to forecast one series.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd

from helios.forecasting.base import DEFAULT_LEVELS, FitContext, Fitted, ForecastingError
from helios.forecasting.panel import (
    Series,
    SeriesForecast,
    Stamp,
    check_horizon,
    check_levels,
    empty_forecast,
    forecast_frame,
    future_stamps,
    split_panel,
    stamp_from_json,
    stamp_to_json,
)


@dataclass
class SeriesState:
    """Everything needed to forecast one series from the end of its history."""

    unique_id: str
    last_ds: Stamp
    params: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class LocalFitted(Fitted):
    """A fitted local family: ``forecast_series`` per series, the rest is shared."""

    def __init__(self, series: list[SeriesState], freq: str, season_length: int, config: dict[str, Any]):
        self.series = series
        self.freq = freq
        self.season_length = season_length
        self.config = config

    @abc.abstractmethod
    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        """Mean and bounds for ``horizon`` steps after ``state.last_ds``."""

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        if not self.series:
            return empty_forecast(levels)
        parts = [
            (
                state.unique_id,
                future_stamps(state.last_ds, horizon, self.freq),
                self.forecast_series(state, horizon, levels),
            )
            for state in self.series
        ]
        return forecast_frame(parts, levels)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "freq": self.freq,
            "season_length": self.season_length,
            "config": self.config,
            "series": [
                {
                    "unique_id": s.unique_id,
                    "last_ds": stamp_to_json(s.last_ds),
                    "params": s.params,
                    "arrays": sorted(s.arrays),
                }
                for s in self.series
            ],
        }
        arrays = {f"{i}/{name}": value for i, s in enumerate(self.series) for name, value in s.arrays.items()}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        try:
            series = [
                SeriesState(
                    unique_id=entry["unique_id"],
                    last_ds=stamp_from_json(entry["last_ds"]),
                    params=entry["params"],
                    arrays={name: arrays[f"{i}/{name}"] for name in entry["arrays"]},
                )
                for i, entry in enumerate(meta["series"])
            ]
            return cls(series, meta["freq"], int(meta["season_length"]), meta["config"])
        except (KeyError, TypeError) as exc:
            raise ForecastingError(f"{cls.family} state is incomplete: missing {exc}") from None


def fit_each_series(
    train: pd.DataFrame,
    fit_one: Callable[[Series], SeriesState],
    context: FitContext | None,
    family: str,
) -> list[SeriesState]:
    """Fit ``fit_one`` on every series; a cancelled job stops between series. Non-iterative
    families report only the end of training to their callbacks."""
    context = context or FitContext()
    states: list[SeriesState] = []
    for series in split_panel(train):
        if context.control.cancelled:
            raise ForecastingError(f"{family}: fit cancelled after {len(states)} series")
        states.append(fit_one(series))
    context.fitted_without_epochs(family, len(states))
    return states


def require_length(series: Series, minimum: int, family: str, why: str) -> None:
    if len(series) < minimum:
        raise ForecastingError(
            f"series {series.unique_id} has {len(series)} observations; "
            f"{family} needs at least {minimum} ({why})"
        )
