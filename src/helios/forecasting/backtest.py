"""Rolling-origin (walk-forward) backtests: refit at each origin, forecast the next ``horizon``
steps, compare with what happened.

Origins are counted per series from its end: window ``w`` of ``n_windows`` (0 = oldest) tests
the ``horizon`` points that end ``(n_windows - 1 - w) * step`` points before the series ends, and
the model is fitted only on the points before them. Nothing at or after an origin's first test
point is ever passed to ``fit`` for that window.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helios.forecasting.base import DEFAULT_LEVELS, DataSpec, ForecastingError, Hyperparameters, ModelFamily
from helios.forecasting.families import get_family
from helios.forecasting.metrics import score_forecast
from helios.forecasting.panel import check_horizon, check_levels


@dataclass(frozen=True)
class WindowSplit:
    window: int  # 0 = oldest origin
    train: pd.DataFrame
    test: pd.DataFrame
    skipped: tuple[str, ...]  # series too short to have a training part at this origin


@dataclass
class BacktestResult:
    """``forecasts``: one row per window, series and step (``unique_id, window, cutoff, step, ds,
    y, mean, lo-L, hi-L``; ``cutoff`` is the last training stamp). ``metrics``: one row per
    window and series. ``skipped``: series left out of a window for being too short."""

    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    skipped: dict[int, tuple[str, ...]]

    def summary(self) -> dict[str, float]:
        """Mean of every metric over all windows and series (NaNs, e.g. MAPE at zero, ignored)."""
        numeric = self.metrics.drop(columns=["unique_id", "window"], errors="ignore")
        return {name: float(np.nanmean(values)) for name, values in numeric.items()} if len(numeric) else {}


def _with_positions(panel: pd.DataFrame) -> pd.DataFrame:
    ordered = panel.assign(unique_id=panel["unique_id"].astype(str)).sort_values(
        ["unique_id", "ds"], kind="stable"
    )
    # 0 = last point of its series: origins are placed from each series' own end.
    return ordered.assign(_from_end=ordered.groupby("unique_id", sort=False).cumcount(ascending=False))


def rolling_origin_splits(
    panel: pd.DataFrame, horizon: int, n_windows: int, step: int | None = None, min_train_size: int = 1
) -> Iterator[WindowSplit]:
    """Train/test pairs for each origin, oldest first. Series with fewer than ``min_train_size``
    points before an origin are left out of that window (and named in ``skipped``)."""
    horizon = check_horizon(horizon)
    if n_windows < 1:
        raise ForecastingError(f"a backtest needs at least one window, got n_windows={n_windows}")
    step = horizon if step is None else step
    if step < 1:
        raise ForecastingError(f"the step between origins must be >= 1, got {step}")
    positioned = _with_positions(panel)
    for window in range(n_windows):
        offset = (n_windows - 1 - window) * step
        from_end = positioned["_from_end"]
        train = positioned[from_end >= offset + horizon]
        test = positioned[(from_end >= offset) & (from_end < offset + horizon)]
        sizes = train.groupby("unique_id", sort=False).size()
        tested = test["unique_id"].unique()
        too_short = tuple(uid for uid in tested if sizes.get(uid, 0) < min_train_size)
        keep_train = ~train["unique_id"].isin(too_short)
        keep_test = ~test["unique_id"].isin(too_short)
        yield WindowSplit(
            window,
            train[keep_train].drop(columns="_from_end").reset_index(drop=True),
            test[keep_test].drop(columns="_from_end").reset_index(drop=True),
            too_short,
        )


def backtest(
    panel: pd.DataFrame,
    family: ModelFamily | str,
    spec: DataSpec,
    horizon: int,
    n_windows: int = 3,
    step: int | None = None,
    config: Hyperparameters | dict[str, Any] | None = None,
    levels: Sequence[int] = DEFAULT_LEVELS,
    min_train_size: int = 1,
    mase_season: int | None = None,
) -> BacktestResult:
    """Walk-forward evaluation of ``family`` on ``panel`` (long ``unique_id, ds, y``).

    ``step`` defaults to ``horizon`` (test windows side by side, no overlap). MASE and MSIS are
    scaled with ``mase_season`` (default: the spec's season length)."""
    model = get_family(family) if isinstance(family, str) else family
    parsed = config if isinstance(config, Hyperparameters) else model.parse_config(config)
    levels = check_levels(levels)
    forecasts, metrics, skipped = [], [], {}
    for split in rolling_origin_splits(panel, horizon, n_windows, step, min_train_size):
        skipped[split.window] = split.skipped
        if split.train.empty:
            continue
        forecast = model.fit(split.train, parsed, spec).predict(horizon, levels)
        aligned = align_with_actuals(forecast, split.test, split.train)
        forecasts.append(aligned.assign(window=split.window))
        season = mase_season or spec.season_length
        scores = score_forecast(forecast, split.test, split.train, season)
        metrics.append(scores.assign(window=split.window))
    if not forecasts:
        raise ForecastingError(
            "no series is long enough for any backtest window; shorten horizon or n_windows"
        )
    return BacktestResult(
        _ordered(pd.concat(forecasts, ignore_index=True)), pd.concat(metrics, ignore_index=True), skipped
    )


def align_with_actuals(forecast: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Forecast rows next to the actuals they predict, matched per series by step number; the
    stamps are the actuals' own, and ``cutoff`` is the series' last training stamp."""
    numbered = forecast.assign(step=forecast.groupby("unique_id", sort=False).cumcount() + 1)
    actual = test[["unique_id", "ds", "y"]].assign(step=test.groupby("unique_id", sort=False).cumcount() + 1)
    cutoffs = train.groupby("unique_id", sort=False)["ds"].max().rename("cutoff")
    joined = numbered.drop(columns="ds").merge(actual, on=["unique_id", "step"], how="inner")
    return joined.merge(cutoffs, left_on="unique_id", right_index=True, how="left")


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    first = ["unique_id", "window", "cutoff", "step", "ds", "y", "mean"]
    return frame[first + [c for c in frame.columns if c not in first]]
