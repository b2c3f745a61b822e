"""Conformal prediction intervals for any family (split conformal on rolling origins).

The inner family is backtested on ``n_windows`` origins inside the training data; the absolute
errors at each horizon step are the calibration set. An interval at level L for step h is the
forecast +- the conformal L-quantile of those errors (the ceil((n+1)L)/n-th order statistic, so
coverage holds in finite samples when errors are exchangeable). The inner model is then refitted
on all the data for the point forecast.

``scope="pooled"`` (default) divides each error by a scale and pools all series: many series
calibrate each other, and each gets intervals in its own units. ``normalise`` picks the scale:
``"naive"`` is the series' in-sample MAE of the naive forecast up to that origin (as in MASE);
``"native"`` is the half-width of the inner family's own 80% interval for that step, so the
intervals keep the model's sense of which series and steps are harder and conformal only fixes
their calibration (normalised conformal prediction). ``scope="series"`` uses each series' own errors,
which needs many windows (19 or more for a 95% interval) to mean anything; series without
errors of their own fall back to the pooled ones.

The wrapper is a family (``conformal``) whose state nests the inner family's state, so it saves
through ``artifacts`` like any other. The inner family's own intervals stay available:
``ConformalFitted.inner`` is the refitted inner model, and ``native_intervals=True`` adds its
bounds as ``native-lo-L``/``native-hi-L`` columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from helios.forecasting.backtest import backtest
from helios.forecasting.base import (
    DEFAULT_LEVELS,
    DataSpec,
    FitContext,
    Fitted,
    ForecastingError,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.families import get_family
from helios.forecasting.panel import check_horizon, check_levels, nested_config, own_config, split_panel


class ConformalConfig(Hyperparameters):
    inner: str = Field(default="naive", description="Family whose forecasts get conformal intervals.")
    inner_config: dict[str, Any] = Field(
        default_factory=dict, description="Hyperparameters of the inner family."
    )
    horizon: int = Field(
        default=12, ge=1, le=1000, description="Longest horizon the intervals are calibrated for."
    )
    n_windows: int = Field(default=3, ge=1, le=200, description="Rolling origins whose errors calibrate.")
    step: int | None = Field(
        default=None,
        ge=1,
        json_schema_extra={"empty": "the horizon"},
        description="Points between origins; empty means the horizon.",
    )
    scope: Literal["pooled", "series"] = Field(
        default="pooled", description="Calibrate on all series' scaled errors together, or per series."
    )
    normalise: Literal["naive", "native"] = Field(
        default="naive",
        description="Pooled errors are divided by the naive MAE of the series, or by the inner "
        "family's own 80% half-width (needs a family with intervals).",
    )
    native_intervals: bool = Field(
        default=False, description="Also return the inner family's own bounds as native-lo-L / native-hi-L."
    )


def naive_scale(y: np.ndarray) -> float:
    """In-sample MAE of the one-step naive forecast: a unit of "typical change" per series."""
    return float(np.mean(np.abs(np.diff(y)))) if len(y) > 1 else float("nan")


def conformal_quantile(errors: np.ndarray, level: int) -> float:
    """The ceil((n+1)L)/n empirical quantile of absolute errors (NaNs ignored). With fewer than
    100/(100-L) - 1 errors that rank does not exist and the largest error is used: the interval
    is then narrower than the guarantee asks, which is why per-series calibration wants many windows."""
    finite = np.sort(errors[np.isfinite(errors)])
    if finite.size == 0:
        return float("nan")
    rank = math.ceil((finite.size + 1) * level / 100)
    return float(finite[min(rank, finite.size) - 1])


# The inner interval whose half-width is the unit of "native" normalisation.
REFERENCE_LEVEL = 80


class ConformalFitted(Fitted):
    family = "conformal"

    def __init__(
        self,
        inner: Fitted,
        horizon: int,
        scope: str,
        series_ids: list[str],
        scales: np.ndarray,
        pooled_errors: np.ndarray,
        series_errors: np.ndarray,
        native_intervals: bool = False,
        normalise: str = "naive",
    ):
        self.inner = inner
        self.horizon = horizon
        self.scope = scope
        self.series_ids = series_ids
        self.scales = scales  # per series, from the full training data
        self.pooled_errors = pooled_errors  # (samples, horizon), scaled
        self.series_errors = series_errors  # (series, windows, horizon), in the series' units
        self.native_intervals = native_intervals
        self.normalise = normalise

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        if horizon > self.horizon:
            raise ForecastingError(
                f"these conformal intervals are calibrated up to {self.horizon} steps; "
                f"refit with horizon >= {horizon} to forecast that far"
            )
        inner_levels = sorted({*levels, REFERENCE_LEVEL}) if self.normalise == "native" else levels
        native = self.inner.predict(horizon, inner_levels)
        frame = native[["unique_id", "ds", "mean"]].copy()
        half_widths = self._half_widths(native, horizon, levels)
        for level, width in zip(levels, half_widths, strict=True):
            frame[f"lo-{level}"] = frame["mean"] - width
            frame[f"hi-{level}"] = frame["mean"] + width
        if self.native_intervals:
            for level in levels:
                frame[f"native-lo-{level}"] = native[f"lo-{level}"]
                frame[f"native-hi-{level}"] = native[f"hi-{level}"]
        return frame

    def _row_scales(self, native: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        if self.normalise == "native":
            return (native[f"hi-{REFERENCE_LEVEL}"] - native[f"lo-{REFERENCE_LEVEL}"]).to_numpy() / 2
        return self.scales[rows]

    def _half_widths(self, native: pd.DataFrame, horizon: int, levels: Sequence[int]) -> list[np.ndarray]:
        unique_ids = native["unique_id"].astype(str)
        position = {uid: i for i, uid in enumerate(self.series_ids)}
        rows = unique_ids.map(position).to_numpy()
        steps = unique_ids.groupby(unique_ids, sort=False).cumcount().to_numpy()
        row_scales = self._row_scales(native, rows)
        widths = []
        for level in levels:
            pooled = np.array([conformal_quantile(self.pooled_errors[:, h], level) for h in range(horizon)])
            width = pooled[steps] * row_scales
            if self.scope == "series":
                own = np.array(
                    [
                        [conformal_quantile(errors[:, h], level) for h in range(horizon)]
                        for errors in self.series_errors
                    ]
                )
                width = np.where(np.isfinite(own[rows, steps]), own[rows, steps], width)
            widths.append(width)
        return widths

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        inner_meta, inner_arrays = self.inner.to_state()
        meta = {
            "inner_family": self.inner.family,
            "inner": inner_meta,
            "horizon": self.horizon,
            "scope": self.scope,
            "series_ids": self.series_ids,
            "native_intervals": self.native_intervals,
            "normalise": self.normalise,
        }
        arrays = {f"inner/{name}": value for name, value in inner_arrays.items()}
        arrays |= {
            "scales": self.scales,
            "pooled_errors": self.pooled_errors,
            "series_errors": self.series_errors,
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ConformalFitted:
        inner_type = get_family(meta["inner_family"]).FittedType
        inner_arrays = {
            name[len("inner/") :]: value for name, value in arrays.items() if name.startswith("inner/")
        }
        inner = inner_type.from_state(meta["inner"], inner_arrays)
        return cls(
            inner,
            int(meta["horizon"]),
            meta["scope"],
            list(meta["series_ids"]),
            arrays["scales"],
            arrays["pooled_errors"],
            arrays["series_errors"],
            bool(meta["native_intervals"]),
            meta.get("normalise", "naive"),
        )


def calibration_errors(
    train: pd.DataFrame,
    inner: ModelFamily,
    inner_config: Hyperparameters,
    spec: DataSpec,
    config: ConformalConfig,
) -> pd.DataFrame:
    """Backtest errors of the inner family: ``unique_id, window, step, error, scale`` where
    ``scale`` is the series' naive scale up to that window's origin (no peeking past it) or the
    inner interval's half-width at that step."""
    levels = (REFERENCE_LEVEL,) if config.normalise == "native" else ()
    result = backtest(
        train,
        inner,
        spec,
        config.horizon,
        config.n_windows,
        config.step,
        inner_config,
        levels,
        min_train_size=2,
    )
    forecasts = result.forecasts
    errors = (forecasts["y"] - forecasts["mean"]).abs()
    if config.normalise == "native":
        half_width = (forecasts[f"hi-{REFERENCE_LEVEL}"] - forecasts[f"lo-{REFERENCE_LEVEL}"]) / 2
        return forecasts.assign(error=errors, scale=half_width)
    cutoffs = forecasts.groupby("unique_id", sort=False)["cutoff"].unique().to_dict()
    scales = {}
    for series in split_panel(train):
        for cutoff in cutoffs.get(series.unique_id, ()):
            known = series.ds.searchsorted(cutoff, side="right")  # points up to the origin, no further
            scales[(series.unique_id, cutoff)] = naive_scale(series.y[:known])
    keys = zip(forecasts["unique_id"], forecasts["cutoff"], strict=True)
    return forecasts.assign(error=errors, scale=[scales[key] for key in keys])


def _pooled_matrix(errors: pd.DataFrame, horizon: int) -> np.ndarray:
    scaled = errors.assign(scaled=errors["error"] / errors["scale"].where(errors["scale"] > 0))
    table = scaled.pivot_table(index=["unique_id", "window"], columns="step", values="scaled", dropna=False)
    return table.reindex(columns=range(1, horizon + 1)).to_numpy(dtype=float)


def _series_tensor(errors: pd.DataFrame, series_ids: list[str], n_windows: int, horizon: int) -> np.ndarray:
    tensor = np.full((len(series_ids), n_windows, horizon), np.nan)
    position = {uid: i for i, uid in enumerate(series_ids)}
    for uid, window, step, error in errors[["unique_id", "window", "step", "error"]].itertuples(index=False):
        tensor[position[uid], window, step - 1] = error
    return tensor


class Conformal(ModelFamily):
    """Registered from ``models/conformal.py``, where the catalogue discovers families."""

    name = "conformal"
    task = "timeseries"
    description = "Any family's forecasts with conformal intervals calibrated on rolling-origin backtests."
    Config = ConformalConfig
    FittedType = ConformalFitted

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> ConformalFitted:
        config = own_config(config, ConformalConfig)
        if config.inner == self.name:
            raise ForecastingError("conformal cannot wrap itself; choose another inner family")
        inner = get_family(config.inner)
        inner_config = nested_config(inner, config.inner_config, "inner family")
        errors = calibration_errors(train, inner, inner_config, spec, config)
        fitted = inner.fit(train, inner_config, spec, context)
        series = split_panel(train)
        series_ids = [s.unique_id for s in series]
        return ConformalFitted(
            fitted,
            config.horizon,
            config.scope,
            series_ids,
            np.array([naive_scale(s.y) for s in series]),
            _pooled_matrix(errors, config.horizon),
            _series_tensor(errors, series_ids, config.n_windows, config.horizon),
            config.native_intervals,
            config.normalise,
        )
