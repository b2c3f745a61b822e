"""``gbm``: one LightGBM model trained across every series of a dataset, forecasting recursively.

Features (``gbm_features.py``): the lags within the shortest season, its multiples up to the
longest season, means over each season, the position in each season (hour of day, day of week),
on each series standardised by its own mean and spread (``scaling``). The seasons
are every one the calendar suggests that fits twice in the history (``seasons="calendar"``, the
default: hour of week for hourly data even where the test does not confirm it; the trees ignore
what does not help), and every level is taken relative to the mean of the last shortest season
before the point (``target="anchored"``, the default), so a series trending past the levels seen
in training is still followed. On 135 windows of 700-960 hours cut from ETTh1 these took OWA
from 0.655 to 0.637, on ETTh1's 7 series at 8 origins from 0.611 to 0.602. The model predicts
one step; the forecast feeds each prediction back as the newest lag, ``horizon`` times, for all
series at once.

Intervals: the model is fitted once more without the last ``horizon`` points of each series and
its forecasts of those points give per-step errors (``step_calibration.py``); ``calibration_windows
= 0`` skips that fit (``auto`` calibrates its own intervals) and falls back to the one-step
residual spread growing like a random walk's.

Saved without pickle: LightGBM's own text model string goes into the JSON state; the history
the forecast starts from and the scaling go into the arrays. LightGBM is imported lazily.

Here: the configuration, the saved model and the family. The panel the family fits on (series
padded and standardised, the booster's training, the recursive and direct forecasts, the
validation backtest) is in ``gbm_panel.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from helios.forecasting import gbm_features as features
from helios.forecasting.base import (
    DEFAULT_LEVELS,
    DataSpec,
    FitContext,
    Fitted,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.families import register
from helios.forecasting.gbm_panel import MIN_TRAINING_ROWS, GBMPanel, panel_forecast, validation_panel
from helios.forecasting.panel import check_horizon, check_levels, own_config
from helios.forecasting.stamps import long_forecast_frame
from helios.forecasting.step_calibration import StepCalibration

# A series is scaled on at least this many of its own points (a spread needs a few).
MIN_SCALING_POINTS = 2
# From this many points in the panel, auto forecasts with gbm's validation booster instead of
# training a second one on all the data (validation_fit): on 400 hourly series of 1,000 points
# the refit was a fifth of auto's CPU (50.2 -> 40.5 s), while below this size it costs seconds.
# Reused everywhere, the booster that has not learnt the last points scored level on the four
# hourly choice sets but 0.2-0.6% worse OWA on four holdouts (ETTh2's coverage 93.0% -> 92.6%;
# BENCHMARKS.md, 2026-12-04): seen after the choice, so this size is set by cost, and those
# holdouts (all below it) are forecast as before.
REUSE_FROM_POINTS = 250_000


class GBMConfig(Hyperparameters):
    lags: list[int] | None = Field(
        default=None,
        json_schema_extra={"empty": "the shortest season's"},
        description="Lags to use; empty: every lag of the shortest season and its multiples.",
    )
    window: int | None = Field(
        default=2000,
        ge=8,
        json_schema_extra={"empty": "all points"},
        description="Train on the last N points of each series (empty: all).",
    )
    n_estimators: int = Field(default=300, ge=1, le=10_000, description="Boosting rounds.")
    learning_rate: float = Field(default=0.05, gt=0, le=1.0, description="Shrinkage per round.")
    num_leaves: int = Field(default=31, ge=2, le=1024, description="Leaves per tree.")
    min_child_samples: int = Field(default=20, ge=1, description="Fewest rows a leaf may hold.")
    feature_fraction: float = Field(default=0.9, gt=0, le=1.0, description="Share of features per tree.")
    objective: Literal["l2", "l1", "huber"] = Field(default="l2", description="Loss the trees minimise.")
    target: Literal["level", "seasonal_difference", "anchored"] = Field(
        default="anchored",
        description="Learn the (standardised) value itself, or its change over the shortest season "
        "(corrections to seasonal naive), or the value relative to the mean of the last shortest "
        "season before it ('anchored': lags and means too, so trends and level shifts carry over). "
        "On ETTh1 the level scored OWA 0.611 against 0.626 (seasonal difference).",
    )
    seasons: Literal["data", "calendar"] = Field(
        default="calendar",
        description="Seasons the lags and phases follow: those confirmed on the data, or also every one "
        "the calendar suggests (hour of week for hourly data) that fits twice in the history.",
    )
    phases: Literal["auto", "given", "aligned"] = Field(
        default="auto",
        description="Where each point is in its seasons (the phase features): as the timestamps or "
        "step numbers give it ('given'); from each series' own seasonal profile, lined up across "
        "the panel ('aligned'); 'auto': aligned where ds are integer steps whose given phases "
        "disagree across the series (each counted from its own start), given otherwise. On four "
        "hourly choice sets as integer steps auto's OWA gained on three (demand 0.519 -> 0.513, "
        "extra 0.830 -> 0.822, synthetic 0.517 -> 0.513) and lost on ETTh1's windows (0.631 -> 0.637).",
    )
    scaling: Literal["spread", "seasonal_error"] = Field(
        default="spread",
        description="Divide each series by its standard deviation, or by its mean absolute change over "
        "the shortest season ('seasonal_error': the seasonal-naive error, MASE's scale; the last "
        "point's change without a season), which keeps smooth series apart from noisy ones. Better "
        "on every choice set (OWA ETTh1 windows 0.633 vs 0.637, extra hourly choice half 0.884 vs "
        "0.965, M4 weekly choice half 0.856 vs 0.877, synthetic 0.594 both) but on the holdouts "
        "only the extra hourly half (0.854 vs 0.917; ETTh2 windows 1.202 vs 1.151, M4 weekly "
        "0.873 vs 0.836), so not the default.",
    )
    transform: Literal["none", "log"] = Field(
        default="none",
        description="'log': model the logarithm of every series positive on the points it is fitted "
        "on (a cycle whose amplitude grows with the level becomes one shape; forecasts and bounds "
        "stay positive); others as they are. Alone, OWA on the hourly choice sets: demand 0.574 -> "
        "0.570, extra 0.965 -> 0.948, synthetic 0.594 -> 0.615, ETTh1 windows 0.637 -> 0.643; as a "
        "second gbm among auto's candidates, worse (demand 0.514 -> 0.524, extra 0.840 -> 0.847).",
    )
    profiles: list[Annotated[int, Field(ge=1, le=52)]] = Field(
        default_factory=list,
        max_length=4,
        description="Seasonal profiles as features: for each season and each count here, the mean "
        "of the same position over the last that many cycles (4: the same hour on the last 4 days, "
        "and in the last 4 weeks). Empty: none.",
    )
    strategy: Literal["recursive", "direct"] = Field(
        default="recursive",
        description="Predict one step and feed it back, horizon times ('recursive'), or learn every "
        "step ahead at once from the origin's features, the step and the target hour's own "
        "calendar position and latest same-hour values ('direct': no errors fed back, one "
        "prediction call; past the horizon it was trained for, the last step's trees answer; "
        "learns levels, so not with target='seasonal_difference').",
    )
    direct_stride: int = Field(
        default=4, ge=1, le=1000, description="Direct: points between the training origins."
    )
    direct_steps: int = Field(
        default=12, ge=1, le=1000, description="Direct: steps ahead drawn at each training origin."
    )
    horizon: int = Field(default=12, ge=1, le=1000, description="Steps the intervals are calibrated for.")
    calibration_windows: int = Field(
        default=1,
        ge=0,
        le=1,
        description="1: calibrate intervals on a refit without the last horizon; 0: one-step residuals.",
    )
    threads: int = Field(
        default=1, ge=1, le=64, description="CPU threads for LightGBM (more can be slower on a busy machine)."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed for feature sampling.")

    @model_validator(mode="after")
    def _direct_learns_levels(self) -> GBMConfig:
        if self.strategy == "direct" and self.target == "seasonal_difference":
            raise ValueError("strategy 'direct' learns levels: use target 'anchored' or 'level' with it")
        return self


class GBMFitted(Fitted):
    family = "gbm"

    def __init__(
        self,
        booster_text: str,
        settings: dict[str, Any],
        unique_ids: list[str],
        last_ds: list[str | int],
        history: np.ndarray,
        steps: np.ndarray,
        standardiser: features.Standardiser,
        calibration: StepCalibration,
    ) -> None:
        self.booster_text = booster_text
        self.settings = settings  # freq, the feature layout's keys, config: saved as they are
        self.layout = features.FeatureLayout.from_settings(settings)
        self.unique_ids, self.last_ds = unique_ids, last_ds
        self.history = history  # standardised, padded: the last points each forecast starts from
        self.steps = steps  # calendar step number of each series' history column 0
        self.standardiser = standardiser
        self.calibration = calibration  # in standardised units
        self._booster: Any = None

    def _model(self) -> Any:
        if self._booster is None:
            import lightgbm

            self._booster = lightgbm.Booster(model_str=self.booster_text)
        return self._booster

    def forecast_z(self, horizon: int) -> np.ndarray:
        """(series, horizon) standardised forecasts from the saved history."""
        return panel_forecast(self._model(), self.history, self.steps, self.layout, horizon)

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        z = self.forecast_z(horizon)
        columns = {"mean": self.standardiser.invert(z)}
        for level in levels:
            bounds = self.standardiser.bounds(z, self.calibration.half_width(level, horizon))
            columns[f"lo-{level}"], columns[f"hi-{level}"] = bounds
        return long_forecast_frame(self.unique_ids, self.last_ds, horizon, self.settings["freq"], columns)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "booster": self.booster_text,
            "settings": self.settings,
            "unique_ids": self.unique_ids,
            "last_ds": self.last_ds,
        }
        arrays = {
            "history": self.history,
            "steps": self.steps,
            "loc": self.standardiser.loc,
            "scale": self.standardiser.scale,
            **({"floor": self.standardiser.floor} if self.standardiser.floor is not None else {}),
            **self.calibration.arrays("calibration/"),
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> GBMFitted:
        return cls(
            str(meta["booster"]),
            dict(meta["settings"]),
            [str(uid) for uid in meta["unique_ids"]],
            list(meta["last_ds"]),
            arrays["history"],
            arrays["steps"].astype(np.int64),
            features.Standardiser(arrays["loc"], arrays["scale"], arrays.get("floor")),
            StepCalibration.from_arrays(arrays, "calibration/"),
        )


@register
class GBMFamily(ModelFamily):
    name = "gbm"
    task = "timeseries"
    description = (
        "Global LightGBM over lags, seasonal lags, season means and calendar position, trained "
        "across all series; recursive forecasts, intervals calibrated on a held-out horizon."
    )
    Config = GBMConfig
    FittedType = GBMFitted
    learns_across_series = True  # auto fits it on every series, not only those that chose it

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> GBMFitted:
        config = own_config(config, GBMConfig)
        context = context or FitContext()
        panel = GBMPanel.from_frame(train, spec, config)
        booster = panel.train(config, panel.z)
        calibration = self._calibrate(panel, booster, config)
        context.fitted_without_epochs(self.name, len(panel.ids))
        return panel.fitted(booster, calibration, spec.freq, config)

    def backtest_forecasts(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> pd.DataFrame:
        """Validation forecasts for ``auto`` without a refit per origin: fitted once on what
        precedes the earliest window (scaling included), forecasting from each origin. ``levels``
        adds the bounds a fit with ``calibration_windows=0`` gives (one-step residuals of that
        fit, growing like a random walk's), so ``auto`` can measure errors in the model's own
        interval widths."""
        config = own_config(config, GBMConfig)
        panel = validation_panel(train, config, spec, horizon, offsets)
        return panel.backtest(config, horizon, offsets, check_levels(levels) if levels else ())[0]

    def validation_fit(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> tuple[pd.DataFrame, GBMFitted | None]:
        """``backtest_forecasts``, and, on a panel of ``REUSE_FROM_POINTS`` points or more, that
        same booster ready to forecast from the end of every series (its inputs slid forward,
        as ``calibration_windows=0`` would calibrate it), so ``auto`` need not train a second
        one on all the data (``reuse_validation_fit``); None on smaller panels, where the refit
        is cheap. The trees have not learnt from the last ``max(offsets) + horizon`` points,
        only read them: a global model learns its shapes from every series, and with levels
        taken relative to the recent mean (``target="anchored"``) the last points move the
        forecast without a refit."""
        config = own_config(config, GBMConfig)
        panel = validation_panel(train, config, spec, horizon, offsets)
        frame, booster, calibration = panel.backtest(
            config, horizon, offsets, check_levels(levels) if levels else ()
        )
        seen = panel.raw.shape[1] - max(offsets) - horizon
        if not self._reusable(panel, config, seen):
            return frame, None
        if calibration is None or config.horizon != horizon:
            calibration = panel.residual_calibration(
                booster, panel.z[:, :seen], config.horizon, config.threads
            )
        return frame, panel.fitted(booster, calibration, spec.freq, config)

    @staticmethod
    def _reusable(panel: GBMPanel, config: GBMConfig, seen: int) -> bool:
        """Whether the validation booster may forecast the end: a large panel (the points the
        trees read, ``window`` per series at most), every series scaled on points of its own
        before the earliest window (a series that starts later was scaled on nothing), and no
        held-out calibration asked for (``calibration_windows=1`` needs its own fit)."""
        before = np.isfinite(panel.raw[:, :seen]).sum(axis=1)
        return (
            int(np.isfinite(panel.raw).sum()) >= REUSE_FROM_POINTS
            and bool((before >= MIN_SCALING_POINTS).all())
            and not config.calibration_windows
        )

    def _calibrate(self, panel: GBMPanel, booster: Any, config: GBMConfig) -> StepCalibration:
        horizon = config.horizon
        if config.calibration_windows and panel.z.shape[1] - horizon > panel.first_column + MIN_TRAINING_ROWS:
            early = panel.train(config, panel.z[:, :-horizon])
            start, steps = panel.forecast_start(panel.z[:, :-horizon])
            forecast = panel_forecast(early, start, steps, panel.layout, horizon)
            return StepCalibration.from_errors(panel.z[:, -horizon:] - forecast)
        return panel.residual_calibration(booster, panel.z, horizon, config.threads)
