"""The panel ``gbm`` (``models/gbm.py``) fits on: every series left-padded to one width and
standardised on its own points (``GBMPanel``), the LightGBM booster trained on the features of
``gbm_features.py``, and its forecasts for all series at once, recursive (each prediction fed
back as the newest lag) or direct (every step from the origin's features). ``validation_panel``
and ``GBMPanel.backtest`` give ``auto``'s validation forecasts from one fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from helios.forecasting import gbm_features as features
from helios.forecasting import phases
from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.frequency import candidate_seasons
from helios.forecasting.panel import (
    columns_before_windows,
    observed_rows,
    split_panel,
    stamp_from_json,
    stamp_to_json,
    window_rows,
)
from helios.forecasting.seasonality import data_seasons
from helios.forecasting.step_calibration import StepCalibration

if TYPE_CHECKING:
    from helios.forecasting.models.gbm import GBMConfig, GBMFitted

MIN_TRAINING_ROWS = 20
# The one-step residual spread is one pooled distribution: the booster predicts an evenly spaced
# sample of at most this many training rows for it. Every row was, on 400 hourly series of 1,000
# points, a 190,000-360,000-row prediction: ~2 s of auto's CPU for a spread that 20,000 give.
RESIDUAL_ROWS = 20_000


def panel_forecast(
    booster: Any, history: np.ndarray, steps: np.ndarray, layout: features.FeatureLayout, horizon: int
) -> np.ndarray:
    """(series, horizon) standardised forecasts from the last columns ``history``, whose column 0
    is at calendar step ``steps`` of each series."""
    if layout.strategy == "direct":
        return direct_forecast(booster, history, steps, layout, horizon)
    return recursive_forecast(booster, history, steps, layout, horizon)


def direct_forecast(
    booster: Any, history: np.ndarray, steps: np.ndarray, layout: features.FeatureLayout, horizon: int
) -> np.ndarray:
    """Every step in one prediction call, each from the origin's own features."""
    rows, level = features.direct_rows(history, steps, layout, history.shape[1], np.arange(horizon))
    out = booster.predict(rows, num_threads=1).reshape(history.shape[0], horizon)
    return out + (level[:, None] if isinstance(level, np.ndarray) else level)


def recursive_forecast(
    booster: Any, history: np.ndarray, steps: np.ndarray, layout: features.FeatureLayout, horizon: int
) -> np.ndarray:
    """One step at a time, each prediction fed back as the newest point."""
    z = history
    out = np.empty((history.shape[0], horizon))
    for h in range(horizon):
        row = features.next_step_features(z, steps, layout)
        out[:, h] = booster.predict(row, num_threads=1) + features.anchor_level(z, layout.anchor)
        if layout.base_lag:
            out[:, h] += z[:, z.shape[1] - layout.base_lag]
        z = np.concatenate([z, out[:, h : h + 1]], axis=1)
    return out


def validation_panel(
    train: pd.DataFrame, config: GBMConfig, spec: DataSpec, horizon: int, offsets: list[int]
) -> GBMPanel:
    """The panel ``auto``'s validation fits: scaled on, and with seasons tested on, only the
    points before the earliest window, so nothing after it leaks into the fit."""
    seen = columns_before_windows(train, config.window, offsets, horizon, "gbm")
    from_end = train.groupby("unique_id", sort=False).cumcount(ascending=False)
    early = train[from_end >= max(offsets) + horizon]
    spec = dataclasses.replace(spec, seasons=data_seasons(early, spec) or (1,))
    return GBMPanel.from_frame(train, spec, config, seen_columns=seen)


def feature_layout(config: GBMConfig, seasons: list[int], usable: int) -> features.FeatureLayout:
    """The features ``config`` asks for on these seasons, for series of ``usable`` points."""
    lags = sorted(set(config.lags)) if config.lags else features.default_lags(seasons, usable)
    shortest = min(seasons) if seasons else 0
    base_lag = shortest if config.target == "seasonal_difference" else 0
    anchor = (shortest or features.SHORT_MEAN) if config.target == "anchored" else 0
    profiles = sorted(set(config.profiles))
    return features.FeatureLayout(
        tuple(lags), tuple(seasons), base_lag, anchor, tuple(profiles), config.strategy
    )


def _has_calendar(series: Sequence[Any]) -> bool:
    return bool(series) and isinstance(stamp_from_json(stamp_to_json(series[0].ds[0])), pd.Timestamp)


def phase_starts(
    config: GBMConfig, seen: np.ndarray, starts: np.ndarray, layout: features.FeatureLayout, calendar: bool
) -> np.ndarray:
    """Each series' step number at column 0 as its phase features will read it: as given, or
    moved so that the series' own profiles over the longest season line up (``phases.py``),
    judged on the columns the fit may see only."""
    if config.phases == "given" or not layout.seasons or (config.phases == "auto" and calendar):
        return starts
    season = max(layout.seasons)
    if config.phases == "aligned":
        return phases.aligned_starts(seen, starts, season, only_if_disagreeing=False)
    return phases.aligned_starts(seen, starts, season)


def scaling_season(config: GBMConfig, seasons: list[int]) -> int:
    """The season whose naive error scales each series (0: scale by the spread)."""
    if config.scaling != "seasonal_error":
        return 0
    return min(seasons) if seasons else 1


class GBMPanel:
    """Left-padded series (``raw``), standardised (``z``) on the columns a fit may see, and
    everything the features need. All series end at the last column, so cutting columns off the
    end puts every series back to the same number of points before its end."""

    def __init__(
        self,
        ids: list[str],
        last_ds: list[str | int],
        raw: np.ndarray,
        steps: np.ndarray,
        layout: features.FeatureLayout,
        standardiser: features.Standardiser,
        horizon: int = 1,
    ) -> None:
        self.ids, self.last_ds, self.raw, self.steps = ids, last_ds, raw, steps
        self.layout, self.horizon = layout, horizon
        self.standardiser = standardiser
        self.z = standardiser.apply(raw)
        self.first_column = min(max(layout.lags), max(1, raw.shape[1] // 2))

    @classmethod
    def from_frame(
        cls, train: pd.DataFrame, spec: DataSpec, config: GBMConfig, seen_columns: int | None = None
    ) -> GBMPanel:
        series = split_panel(train)
        window = config.window
        values = [s.y[-window:] if window else s.y for s in series]
        longest = max(len(y) for y in values)
        usable = longest if seen_columns is None else seen_columns
        found = set(data_seasons(train, spec))
        if config.seasons == "calendar":
            found |= {m for m in candidate_seasons(spec.freq) if 2 * m <= usable}
        seasons = sorted(m for m in found if 1 < m < usable)
        starts = np.array(
            [
                features.step_number(stamp_from_json(stamp_to_json(s.ds[len(s.y) - len(y)])), spec.freq)
                - (longest - len(y))
                for s, y in zip(series, values, strict=True)
            ],
            dtype=np.int64,
        )
        last_ds = [stamp_to_json(s.last_ds) for s in series]
        raw = features.pad_left(values, longest)
        ids = [s.unique_id for s in series]
        layout = feature_layout(config, seasons, usable)
        starts = phase_starts(config, raw[:, :seen_columns], starts, layout, calendar=_has_calendar(series))
        # Scaled on the columns a fit may see only, so validation windows never leak into it.
        standardiser = features.Standardiser.fit(
            raw[:, :seen_columns], scaling_season(config, seasons), log=config.transform == "log"
        )
        return cls(ids, last_ds, raw, starts, layout, standardiser, config.horizon)

    def fitted(self, booster: Any, calibration: StepCalibration, freq: str, config: GBMConfig) -> GBMFitted:
        """``booster`` as a saved model forecasting from the end of every series of the panel."""
        from helios.forecasting.models.gbm import GBMFitted  # that module imports this one

        return GBMFitted(
            booster.model_to_string(),
            {"freq": freq, **self.layout.settings(), "config": config.model_dump()},
            self.ids,
            self.last_ds,
            *self.forecast_start(self.z),
            self.standardiser,
            calibration,
        )

    def forecast_start(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last columns of ``z`` a forecast reads, and the step number of the first of them."""
        start = z[:, -self.layout.memory :]
        return start, self.steps + (z.shape[1] - start.shape[1])

    def train(self, config: GBMConfig, z: np.ndarray) -> Any:
        if self.layout.strategy == "direct":
            x, y = self._direct_matrix(config, z)
            names = features.direct_names(self.layout)
        else:
            x, y = self._one_step_matrix(z)
            names = features.feature_names(self.layout)
        if len(y) < MIN_TRAINING_ROWS:
            raise ForecastingError(
                f"gbm: only {len(y)} training rows; it needs at least {MIN_TRAINING_ROWS} "
                "(longer or more series)"
            )
        return self._boost(config, x, y, names)

    def _one_step_matrix(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return features.training_matrix(z, self.steps, self.layout, self.first_column)

    def _direct_matrix(self, config: GBMConfig, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return features.direct_training_matrix(
            z,
            self.steps,
            self.layout,
            self.first_column,
            self.horizon,
            stride=config.direct_stride,
            steps_per_origin=config.direct_steps,
            seed=config.seed,
        )

    @staticmethod
    def _boost(config: GBMConfig, x: np.ndarray, y: np.ndarray, names: list[str]) -> Any:
        import lightgbm

        params = {
            "objective": {"l2": "regression", "l1": "regression_l1", "huber": "huber"}[config.objective],
            "learning_rate": config.learning_rate,
            "num_leaves": config.num_leaves,
            "min_data_in_leaf": min(config.min_child_samples, max(1, len(y) // 10)),
            "feature_fraction": config.feature_fraction,
            "num_threads": config.threads,
            "seed": config.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        dataset = lightgbm.Dataset(x, y, feature_name=names, free_raw_data=True)
        return lightgbm.train(params, dataset, num_boost_round=config.n_estimators)

    def residual_calibration(
        self, booster: Any, z: np.ndarray, horizon: int, threads: int
    ) -> StepCalibration:
        """One-step residuals of ``booster`` on ``z``, growing like a random walk's over the horizon
        (direct: each step's own residuals on the last origins of ``z``, which it was fitted on:
        in-sample, so narrower than its future errors; ``auto`` recalibrates on its validation
        windows, and a plain fit calibrates on a held-out horizon, ``calibration_windows``)."""
        if self.layout.strategy == "direct":
            return self._direct_residual_calibration(booster, z, horizon, threads)
        x, y = self._one_step_matrix(z)
        every = max(1, -(-len(y) // RESIDUAL_ROWS))  # ceil: at most RESIDUAL_ROWS rows predicted
        residuals = y[::every] - booster.predict(x[::every], num_threads=threads)
        return StepCalibration.from_errors(np.outer(residuals, np.sqrt(np.arange(1, horizon + 1))))

    def _direct_residual_calibration(
        self, booster: Any, z: np.ndarray, horizon: int, threads: int
    ) -> StepCalibration:
        errors = []
        last = z.shape[1] - horizon
        if last < 1:
            raise ForecastingError("gbm: the series are too short to calibrate a direct forecast")
        lowest = max(min(self.first_column, last - 1), last - 8 * horizon)  # at least the last origin
        for origin in range(last, lowest, -max(1, horizon // 2)):
            rows, level = features.direct_rows(z, self.steps, self.layout, origin, np.arange(horizon))
            predicted = booster.predict(rows, num_threads=threads).reshape(z.shape[0], horizon)
            level = level[:, None] if isinstance(level, np.ndarray) else level
            errors.append(z[:, origin : origin + horizon] - (predicted + level))
        return StepCalibration.from_errors(np.concatenate(errors))

    def backtest(
        self, config: GBMConfig, horizon: int, offsets: list[int], levels: Sequence[int] = ()
    ) -> tuple[pd.DataFrame, Any, StepCalibration | None]:
        """One fit on the columns before the earliest test window, then a forecast from every
        origin (``offsets``: points between a window's last test point and the series' end):
        ``unique_id, window, step, y, mean`` (and ``lo-L``/``hi-L`` for ``levels``), observed
        points only; that fit's booster, and its residual calibration where ``levels`` asked
        for one."""
        earliest = self.raw.shape[1] - max(offsets) - horizon
        self.horizon = max(self.horizon, horizon)  # a direct model learns every step it is asked for
        booster = self.train(config, self.z[:, :earliest])
        widths, calibration = {}, None
        if levels:
            calibration = self.residual_calibration(booster, self.z[:, :earliest], horizon, config.threads)
            widths = {level: calibration.half_width(level, horizon) for level in levels}
        frames = []
        for window, offset in enumerate(offsets):
            cut = self.raw.shape[1] - offset - horizon
            start, steps = self.forecast_start(self.z[:, :cut])
            z = panel_forecast(booster, start, steps, self.layout, horizon)
            bounds = {level: self.standardiser.bounds(z, width) for level, width in widths.items()}
            actual = self.raw[:, cut : cut + horizon]
            frames.append(window_rows(self.ids, window, actual, self.standardiser.invert(z), bounds))
        return observed_rows(frames), booster, calibration
