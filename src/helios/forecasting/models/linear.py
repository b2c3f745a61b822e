"""``global_ar``: one linear autoregression fitted across every series of a dataset, forecasting
every step of the horizon at once.

Each training row is a window of ``lookback`` points of one series and the ``horizon`` points
after it, both in the series' own units (divided by its seasonal-naive error, MASE's scale) and
taken relative to the mean of the window's last shortest season (its level), so one set of
weights serves series of any scale and level. A ridge regression maps the window to all the
steps at once (one least-squares solve, no recursion), its normal equations accumulated over
blocks of windows so memory does not grow with the panel. Pooled over many series, a long
linear lookback learns each step's weights on the same hour of the last days and weeks without
overfitting one series (Montero-Manso & Hyndman, 2021, "Principles and algorithms for
forecasting groups of time series: locality and globality", where such global AR models were
strong on M4's hourly data). It costs one to a few seconds on 400 hourly series of 1,000 points.

Intervals: the per-step errors of the fit on its own training windows (thousands of windows
for a few hundred weights, so in-sample is close to out-of-sample), calibrated per step
(``step_calibration.py``). Past the horizon it was fitted for, a forecast feeds its own steps
back as inputs. Saved as arrays (weights, scales, the last ``lookback`` points), no pickle.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from helios.forecasting import gbm_features as features
from helios.forecasting.base import (
    DEFAULT_LEVELS,
    DataSpec,
    FitContext,
    Fitted,
    ForecastingError,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.families import register
from helios.forecasting.frequency import candidate_seasons
from helios.forecasting.panel import (
    check_horizon,
    check_levels,
    columns_before_windows,
    flat_series,
    observed_rows,
    own_config,
    split_panel,
    stamp_to_json,
    window_rows,
)
from helios.forecasting.stamps import long_forecast_frame
from helios.forecasting.step_calibration import StepCalibration

# Windows per block of the normal equations: bounds memory at BLOCK_ROWS x (lookback + horizon).
BLOCK_ROWS = 20_000
# Most training windows used; past it the origins are strided (400 x 1,000 h: ~170,000 windows).
MAX_WINDOWS = 200_000
# Residual rows kept to calibrate the intervals.
CALIBRATION_ROWS = 20_000
# The lookback and horizon together take at most this share of the longest series.
LOOKBACK_SHARE = 0.6
# A default lookback needs this many training windows per weight: 7 hourly series of 960 points
# give ~2,900 windows, too few for three weeks' 504 weights, enough for two weeks' 336.
WINDOWS_PER_WEIGHT = 10


class GlobalARConfig(Hyperparameters):
    horizon: int = Field(default=12, ge=1, le=1000, description="Steps ahead the weights forecast at once.")
    lookback: int | None = Field(
        default=None,
        ge=1,
        le=5000,
        json_schema_extra={"empty": "picked from the data"},
        description="Points each forecast reads; empty: the longest of 1-3 cycles of each season "
        f"(3 weeks of hours) that leaves room, with the horizon, in {LOOKBACK_SHARE:.0%} of the "
        f"longest series and gives at least {WINDOWS_PER_WEIGHT} training windows per weight.",
    )
    ridge: float = Field(
        default=1e-3,
        ge=0,
        le=10,
        description="Ridge penalty, as a share of the mean diagonal of the normal equations.",
    )
    window: int | None = Field(
        default=2000,
        ge=8,
        json_schema_extra={"empty": "all points"},
        description="Train on the last N points of each series (empty: all).",
    )
    transform: Literal["none", "log"] = Field(
        default="none",
        description="'log': model the logarithm of every series positive on the points it is fitted "
        "on, so a daily cycle that grows with the level is one shape (forecasts and bounds stay "
        "positive); others as they are.",
    )


def default_lookback(seasons: Sequence[int], horizon: int, lengths: Sequence[int]) -> int:
    """The longest of 1, 2 or 3 cycles of each season (or two horizons) that, with the horizon,
    fits in ``LOOKBACK_SHARE`` of the longest series and leaves ``WINDOWS_PER_WEIGHT`` training
    windows per weight across the series of ``lengths``; the shortest that fits when none
    leaves so many, the room there when none fits."""
    longest = max(lengths)
    room = int(LOOKBACK_SHARE * longest) - horizon
    options = {cycles * m for m in seasons for cycles in (1, 2, 3)} | {2 * horizon}
    fitting = sorted(length for length in options if 1 <= length <= room)
    if not fitting:
        return max(1, min(room, longest - horizon - 1))

    def windows(lookback: int) -> int:
        return sum(max(0, n - lookback - horizon + 1) for n in lengths)

    learnable = [length for length in fitting if windows(length) >= WINDOWS_PER_WEIGHT * (length + 1)]
    return learnable[-1] if learnable else fitting[0]


def centred_inputs(z: np.ndarray, origin: int, lookback: int, anchor: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``lookback`` points before ``origin`` of every series, relative to their level (the
    mean of the last ``anchor`` of them; missing points, before a short series starts, at the
    level), and that level."""
    window = z[:, max(0, origin - lookback) : origin]
    if window.shape[1] < lookback:
        window = np.pad(window, ((0, 0), (lookback - window.shape[1], 0)), constant_values=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series with no recent point: NaN level
        level = np.nanmean(window[:, -anchor:], axis=1)
    centred = window - level[:, None]
    return np.where(np.isfinite(centred), centred, 0.0), level


def ar_forecast(
    weights: np.ndarray, z: np.ndarray, horizon: int, lookback: int, anchor: int, flat: np.ndarray
) -> np.ndarray:
    """(series, horizon) forecasts in the series' units from the end of ``z``; past the steps
    the weights know, their own forecasts are fed back as inputs. A ``flat`` series forecasts
    its level."""
    out = np.empty((z.shape[0], 0))
    while out.shape[1] < horizon:
        x, level = centred_inputs(z, z.shape[1], lookback, anchor)
        step = x @ weights[:-1] + weights[-1] + level[:, None]
        step[flat] = level[flat, None]
        out = np.concatenate([out, step], axis=1)
        z = np.concatenate([z, step], axis=1)
    return out[:, :horizon]


class ARPanel:
    """Left-padded series in their own units (``z``: divided by the seasonal-naive error of the
    points a fit may see), and the layout of a row: ``lookback`` inputs, ``anchor`` points whose
    mean is the level everything is taken relative to."""

    def __init__(
        self,
        ids: list[str],
        last_ds: list[str | int],
        raw: np.ndarray,
        lookback: int,
        anchor: int,
        standardiser: features.Standardiser,
        seen_columns: int | None = None,
    ) -> None:
        self.ids, self.last_ds, self.raw = ids, last_ds, raw
        self.lookback, self.anchor = lookback, anchor
        self.standardiser = standardiser
        self.z = standardiser.logged(raw) / standardiser.scale[:, None]
        self.flat = flat_series(raw[:, :seen_columns])

    @classmethod
    def from_frame(
        cls, train: pd.DataFrame, spec: DataSpec, config: GlobalARConfig, seen_columns: int | None = None
    ) -> ARPanel:
        series = split_panel(train)
        values = [s.y[-config.window :] if config.window else s.y for s in series]
        longest = max(len(y) for y in values)
        # Every season the calendar suggests: the lookback only needs their lengths, and the
        # weights ignore a cycle the data does not have.
        seasons = sorted(
            m for m in {*candidate_seasons(spec.freq), *spec.declared_seasons} if 1 < m < longest
        )
        lookback = config.lookback or default_lookback(seasons, config.horizon, [len(y) for y in values])
        raw = features.pad_left(values, longest)
        season = min(seasons) if seasons else 1
        anchor = min(season, lookback)
        standardiser = features.Standardiser.fit(raw[:, :seen_columns], season, log=config.transform == "log")
        return cls(
            [s.unique_id for s in series],
            [stamp_to_json(s.last_ds) for s in series],
            raw,
            lookback,
            anchor,
            standardiser,
            seen_columns,
        )

    def training_origins(self, columns: int, horizon: int) -> np.ndarray:
        """Every origin with a full window before it and the horizon after it, strided so the
        panel gives at most ``MAX_WINDOWS`` windows."""
        origins = np.arange(self.lookback, columns - horizon + 1)
        stride = max(1, int(np.ceil(len(origins) * len(self.ids) / MAX_WINDOWS)))
        return origins[::-1][::stride][::-1]

    def rows(self, z: np.ndarray, origins: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of every complete window at ``origins``, relative to their level."""
        xs, ys = [], []
        for origin in origins:
            window = z[:, origin - self.lookback : origin + horizon]
            complete = np.isfinite(window).all(axis=1) & ~self.flat
            if not complete.any():
                continue
            window = window[complete]
            level = window[:, self.lookback - self.anchor : self.lookback].mean(axis=1, keepdims=True)
            xs.append(window[:, : self.lookback] - level)
            ys.append(window[:, self.lookback :] - level)
        if not xs:
            return np.empty((0, self.lookback)), np.empty((0, horizon))
        return np.concatenate(xs), np.concatenate(ys)

    def train(
        self, config: GlobalARConfig, z: np.ndarray, horizon: int
    ) -> tuple[np.ndarray, StepCalibration]:
        """Ridge weights ``(lookback + 1, horizon)`` (the last row the intercept) fitted on the
        windows of ``z``, and the per-step calibration of their errors on those windows."""
        origins = self.training_origins(z.shape[1], horizon)
        width = self.lookback + 1
        if self.flat.all():  # nothing moves: every series forecasts its level, with no spread
            return np.zeros((width, horizon)), StepCalibration.from_errors(np.zeros((1, horizon)))
        gram, cross, count = np.zeros((width, width)), np.zeros((width, horizon)), 0
        per_block = max(1, BLOCK_ROWS // max(1, len(self.ids)))
        for start in range(0, len(origins), per_block):
            x, y = self.rows(z, origins[start : start + per_block], horizon)
            x = np.hstack([x, np.ones((len(x), 1))])
            gram += x.T @ x
            cross += x.T @ y
            count += len(x)
        if count < max(20, width):  # fewer windows than weights: fitted to noise, intervals of ~0
            raise ForecastingError(
                f"global_ar: only {count} complete windows of {self.lookback} + {horizon} points for "
                f"{width} weights; set a shorter lookback or bring longer or more series"
            )
        if config.ridge > 0:
            penalty = config.ridge * float(np.mean(np.diag(gram)[:-1])) * np.eye(width)
            penalty[-1, -1] = 0.0  # the intercept is not shrunk
            weights = np.linalg.solve(gram + penalty, cross)
        else:  # unpenalised: the least-norm weights, which exist where windows repeat each other
            weights = np.linalg.lstsq(gram, cross, rcond=None)[0]
        sample = origins[:: max(1, len(origins) * len(self.ids) // CALIBRATION_ROWS)]
        x, y = self.rows(z, sample, horizon)
        if not len(x):  # the sampled origins fell where no window is complete: all of them
            x, y = self.rows(z, origins, horizon)
        errors = y - (x @ weights[:-1] + weights[-1])
        return weights, StepCalibration.from_errors(errors)

    def forecast(self, weights: np.ndarray, z: np.ndarray, horizon: int) -> np.ndarray:
        return ar_forecast(weights, z, horizon, self.lookback, self.anchor, self.flat)


def in_data_units(
    z: np.ndarray,
    scale: np.ndarray,
    floor: np.ndarray | None,
    widths: dict[int, np.ndarray],
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """A forecast in the series' own units (and half-widths per level, already in the scaled
    units) back in the data's: symmetric bounds on levels, wider above than below on logs."""
    centre = z * scale[:, None]
    bounds = {
        level: (features.unlog(centre - width, floor), features.unlog(centre + width, floor))
        for level, width in widths.items()
    }
    return features.unlog(centre, floor), bounds


class GlobalARFitted(Fitted):
    family = "global_ar"

    def __init__(
        self,
        settings: dict[str, Any],
        unique_ids: list[str],
        last_ds: list[str | int],
        history: np.ndarray,
        weights: np.ndarray,
        scale: np.ndarray,
        calibration: StepCalibration,
        flat: np.ndarray,
        floor: np.ndarray | None = None,
    ) -> None:
        self.settings = settings  # freq, lookback, anchor, config
        self.unique_ids, self.last_ds = unique_ids, last_ds
        self.history = history  # the last lookback points of each series, in its own units
        self.weights, self.scale, self.calibration = weights, scale, calibration
        self.flat = flat  # series that never moved: forecast at their level, with no spread
        self.floor = floor  # transform="log": rows with a positive floor are modelled as logs

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        settings = self.settings
        z = ar_forecast(
            self.weights, self.history, horizon, settings["lookback"], settings["anchor"], self.flat
        )
        unit = np.where(self.flat, 0.0, self.scale)[:, None]
        widths = {level: self.calibration.half_width(level, horizon)[None, :] * unit for level in levels}
        mean, bounds = in_data_units(z, self.scale, self.floor, widths)
        columns = {"mean": mean}
        for level, (lo, hi) in bounds.items():
            columns[f"lo-{level}"], columns[f"hi-{level}"] = lo, hi
        return long_forecast_frame(self.unique_ids, self.last_ds, horizon, self.settings["freq"], columns)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"settings": self.settings, "unique_ids": self.unique_ids, "last_ds": self.last_ds}
        arrays = {
            "history": self.history,
            "weights": self.weights,
            "scale": self.scale,
            "flat": self.flat.astype(np.float64),
            **({"floor": self.floor} if self.floor is not None else {}),
            **self.calibration.arrays("calibration/"),
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> GlobalARFitted:
        return cls(
            dict(meta["settings"]),
            [str(uid) for uid in meta["unique_ids"]],
            list(meta["last_ds"]),
            np.asarray(arrays["history"], dtype=float),
            np.asarray(arrays["weights"], dtype=float),
            np.asarray(arrays["scale"], dtype=float),
            StepCalibration.from_arrays(arrays, "calibration/"),
            np.asarray(arrays["flat"]) > 0,
            np.asarray(arrays["floor"], dtype=float) if "floor" in arrays else None,
        )


@register
class GlobalARFamily(ModelFamily):
    name = "global_ar"
    task = "timeseries"
    description = (
        "One linear autoregression over the last weeks of every series (ridge, all steps at once), "
        "fitted across all series; fast, and strong where series share their cycles."
    )
    Config = GlobalARConfig
    FittedType = GlobalARFitted
    learns_across_series = True  # auto fits it on every series, not only those that chose it

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> GlobalARFitted:
        config = own_config(config, GlobalARConfig)
        context = context or FitContext()
        panel = ARPanel.from_frame(train, spec, config)
        weights, calibration = panel.train(config, panel.z, config.horizon)
        context.fitted_without_epochs(self.name, len(panel.ids))
        settings = {
            "freq": spec.freq,
            "lookback": panel.lookback,
            "anchor": panel.anchor,
            "config": config.model_dump(),
        }
        history = panel.z[:, -panel.lookback :]
        return GlobalARFitted(
            settings,
            panel.ids,
            panel.last_ds,
            history,
            weights,
            panel.standardiser.scale,
            calibration,
            panel.flat,
            panel.standardiser.floor,
        )

    def backtest_forecasts(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> pd.DataFrame:
        """Validation forecasts for ``auto`` from one fit on what precedes the earliest window
        (scaling included): ``unique_id, window, step, y, mean`` (and ``lo-L``/``hi-L``)."""
        config = own_config(config, GlobalARConfig)
        seen = columns_before_windows(train, config.window, offsets, horizon, self.name)
        panel = ARPanel.from_frame(train, spec, config, seen_columns=seen)
        weights, calibration = panel.train(config, panel.z[:, :seen], horizon)
        scale, floor = panel.standardiser.scale, panel.standardiser.floor
        unit = np.where(panel.flat, 0.0, scale)[:, None]
        widths = {
            level: calibration.half_width(level, horizon)[None, :] * unit for level in check_levels(levels)
        }
        frames = []
        for window, offset in enumerate(offsets):
            cut = panel.raw.shape[1] - offset - horizon
            z = panel.forecast(weights, panel.z[:, :cut], horizon)
            forecast, bounds = in_data_units(z, scale, floor, widths)
            frames.append(window_rows(panel.ids, window, panel.raw[:, cut : cut + horizon], forecast, bounds))
        return observed_rows(frames)
