"""Forecasting from newer data than a model was trained on, without training it again.

``advance(fitted, history)`` returns a ``Fitted`` whose ``predict`` starts after the last
observation of ``history`` (long format ``unique_id, ds, y``) and says how it got there:

- ``state_updated``: a local model kept its fitted parameters and ran its state forward over the
  new data (statsforecast's ``forward`` for ETS/ARIMA/Theta/MSTL; the last value, last season or
  seasonal phase for the baselines; the GARCH variance recursion over the new returns).
- ``window_input``: a global model (N-BEATS, gbm, global_ar) read the new last window as its
  input, each series in the scale it was trained in.
- ``history_input``: a draws model read the newer draws as context (``DrawFitted.observe``).

Nothing here re-estimates a parameter. A series the model never saw cannot be advanced: a local
model has no parameters for it, so it is refused with its name rather than silently fitted.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from helios.forecasting.base import DEFAULT_LEVELS, Fitted, ForecastingError
from helios.forecasting.local import LocalFitted, SeriesState
from helios.forecasting.panel import (
    Series,
    SeriesForecast,
    check_horizon,
    check_levels,
    forecast_frame,
    future_stamps,
    split_panel,
    stamp_from_json,
    stamp_to_json,
)


class StartMode(StrEnum):
    state_updated = "state_updated"
    window_input = "window_input"
    history_input = "history_input"


def advance(fitted: Fitted, history: pd.DataFrame) -> tuple[Fitted, StartMode]:
    """``fitted`` moved to the end of ``history`` with its parameters unchanged."""
    from helios.forecasting.conformal import ConformalFitted
    from helios.forecasting.draw_forecast import DrawFitted
    from helios.forecasting.models.auto import AutoFitted
    from helios.forecasting.models.gbm import GBMFitted
    from helios.forecasting.models.linear import GlobalARFitted
    from helios.forecasting.models.neural import NBeatsFitted
    from helios.forecasting.models.statistical import StatisticalFitted
    from helios.forecasting.models.volatility import GarchFitted, RealizedVolFitted

    if isinstance(fitted, DrawFitted):
        return _observe_draws(fitted, history), StartMode.history_input
    if isinstance(fitted, ConformalFitted):
        inner, mode = advance(fitted.inner, history)
        moved = copy.copy(fitted)
        moved.inner = inner
        return moved, mode
    if isinstance(fitted, AutoFitted):
        parts = {name: _known(member, history) for name, member in fitted.members.items()}
        members = {name: advance(fitted.members[name], part)[0] for name, part in parts.items() if len(part)}
        # Everything but the members moves as it is: the calibration, units and floors the
        # validation set are what make its intervals cover (a new AutoFitted without them fell
        # back to averaging the members' own, uncalibrated bounds).
        moved_auto = copy.copy(fitted)
        moved_auto.members = members
        return moved_auto, StartMode.state_updated
    if isinstance(fitted, NBeatsFitted):
        return _new_window(fitted, history), StartMode.window_input
    if isinstance(fitted, GBMFitted):
        return _gbm_window(fitted, history), StartMode.window_input
    if isinstance(fitted, GlobalARFitted):
        return _ar_window(fitted, history), StartMode.window_input
    if isinstance(fitted, GarchFitted | RealizedVolFitted):
        return _volatility_forward(fitted, history), StartMode.state_updated
    if isinstance(fitted, StatisticalFitted):
        return StatisticalForward(fitted, _series_for(fitted, history)), StartMode.state_updated
    if isinstance(fitted, LocalFitted):
        return _baseline_forward(fitted, history), StartMode.state_updated
    raise ForecastingError(
        f"{fitted.family} models cannot yet forecast from newer data than they were trained on"
    )


# --- which series -----------------------------------------------------------------------------------


def trained_series(fitted: Fitted) -> list[str]:
    """The series a model has parameters (or, for a global model, a scale) for."""
    from helios.forecasting.conformal import ConformalFitted
    from helios.forecasting.draw_forecast import DrawFitted
    from helios.forecasting.models.auto import AutoFitted

    if isinstance(fitted, ConformalFitted):
        return trained_series(fitted.inner)
    if isinstance(fitted, AutoFitted):
        return list(map(str, fitted.choices))
    if isinstance(fitted, DrawFitted):
        return [fitted.rules.name]
    if isinstance(fitted, LocalFitted):
        return [s.unique_id for s in fitted.series]
    return [str(uid) for uid in getattr(fitted, "unique_ids", [])]


def _known(fitted: Fitted, history: pd.DataFrame) -> pd.DataFrame:
    """Only the series ``fitted`` knows (an auto member holds the series that chose it)."""
    ids = set(trained_series(fitted))
    return history[history["unique_id"].astype(str).isin(ids)]


def _series_for(fitted: LocalFitted, history: pd.DataFrame) -> dict[str, tuple[SeriesState, Series]]:
    states = {s.unique_id: s for s in fitted.series}
    pairs = {}
    for series in split_panel(history):
        if series.unique_id not in states:
            raise ForecastingError(
                f"series {series.unique_id}: this {fitted.family} model has no parameters for it "
                f"(it was trained on {', '.join(sorted(states)[:5])}{'...' if len(states) > 5 else ''})"
            )
        pairs[series.unique_id] = (states[series.unique_id], series)
    return pairs


def steps_between(old: Any, new: Any, freq: str) -> int:
    """How many ``freq`` steps ``new`` lies after ``old`` (negative when before)."""
    if isinstance(old, int | np.integer) and isinstance(new, int | np.integer):
        return int(new) - int(old)
    old, new = pd.Timestamp(old), pd.Timestamp(new)
    if new == old:
        return 0
    span = len(pd.date_range(min(old, new), max(old, new), freq=freq)) - 1
    return span if new > old else -span


# --- baselines ------------------------------------------------------------------------------------


def _baseline_forward(fitted: LocalFitted, history: pd.DataFrame) -> LocalFitted:
    moved = [
        _baseline_state(fitted, state, series) for state, series in _series_for(fitted, history).values()
    ]
    return type(fitted)(moved, fitted.freq, fitted.season_length, fitted.config)


def _baseline_state(fitted: LocalFitted, state: SeriesState, series: Series) -> SeriesState:
    params, arrays = dict(state.params), dict(state.arrays)
    y = series.y
    if "last" in params:  # naive, drift: the slope and sigma stay; only where the walk starts moves
        params["last"] = float(y[-1])
    if "last_season" in arrays:
        m = len(arrays["last_season"])
        if len(y) < m:
            raise ForecastingError(f"series {series.unique_id}: seasonal naive needs the last {m} values")
        arrays["last_season"] = y[-m:].copy()
    if "last_adjusted" in params:  # naive2: keep the seasonal figure, carry its phase forward
        n = params["n"] + steps_between(state.last_ds, series.last_ds, fitted.freq)
        indices = arrays["seasonal_indices"]
        params["last_adjusted"] = float(y[-1] / indices[(n - 1) % len(indices)])
        params["n"] = n
    return SeriesState(series.unique_id, series.last_ds, params, arrays)


# --- statistical (statsforecast forward) -----------------------------------------------------------


class StatisticalForward(Fitted):
    """A statistical model's members with their fitted parameters, filtered over newer data by
    statsforecast's ``forward``: the state moves, the parameters do not. In memory only."""

    family = "statistical-forward"

    def __init__(self, fitted: Any, pairs: dict[str, tuple[SeriesState, Series]]) -> None:
        self.fitted, self.pairs = fitted, pairs

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        parts = [
            (
                series.unique_id,
                future_stamps(series.last_ds, horizon, self.fitted.freq),
                self._series(state, series, horizon, levels),
            )
            for state, series in self.pairs.values()
        ]
        return forecast_frame(parts, levels)

    def _series(
        self, state: SeriesState, series: Series, horizon: int, levels: Sequence[int]
    ) -> SeriesForecast:
        from helios.forecasting.models.statistical import _quiet, combine_forecasts

        window = self.fitted.config.get("window")
        y = series.y[-window:] if window else series.y
        indices = state.arrays["seasonal_indices"]
        # Position of y's first value in the seasonal cycle counted from the training window's start.
        end = len(state.arrays["y"]) + steps_between(state.last_ds, series.last_ds, self.fitted.freq)
        first = end - len(y)
        forecasts = []
        for member in self.fitted._member_fits(state):  # noqa: SLF001 - the fitted members, parameters pinned
            adjusted = member.season_length != self.fitted.season_length
            cycle = indices[(first + np.arange(len(y))) % len(indices)] if adjusted else 1.0
            try:
                with _quiet():
                    raw = member.model.forward(y=y / cycle, h=horizon, level=list(levels))
            except Exception as exc:  # statsforecast raises bare Exceptions on degenerate input
                raise ForecastingError(
                    f"series {series.unique_id}: {member.method} could not run forward ({exc})"
                ) from None
            scale = indices[(end + np.arange(horizon)) % len(indices)] if adjusted else 1.0
            bounds = {level: (raw[f"lo-{level}"] * scale, raw[f"hi-{level}"] * scale) for level in levels}
            forecasts.append(SeriesForecast(raw["mean"] * scale, bounds))
        return combine_forecasts(forecasts, levels, self.fitted.config.get("combination", "mean"))

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise ForecastingError("a forwarded model lives in memory only; save the model it came from")

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Fitted:
        raise ForecastingError("a forwarded model lives in memory only")


# --- global and volatility models ------------------------------------------------------------------


def _by_series(fitted: Any, history: pd.DataFrame) -> list[tuple[int, Series]]:
    index = {str(uid): i for i, uid in enumerate(fitted.unique_ids)}
    found = []
    for series in split_panel(history):
        if series.unique_id not in index:
            raise ForecastingError(
                f"series {series.unique_id}: this {fitted.family} model was not trained on it"
            )
        found.append((index[series.unique_id], series))
    return found


def _new_window(fitted: Any, history: pd.DataFrame) -> Fitted:
    from helios.forecasting.models.neural import NBeatsFitted
    from helios.forecasting.nn.windows import Panel, last_windows

    found = _by_series(fitted, history)
    panel = Panel.from_series([s.y for _, s in found], fitted.config.input_size)
    values, observed = last_windows(panel)
    rows = [i for i, _ in found]
    return NBeatsFitted(
        fitted.config,
        [fitted.unique_ids[i] for i in rows],
        [stamp_to_json(s.last_ds) for _, s in found],
        fitted.freq,
        fitted.weights,
        training=fitted.training,
        last_values=values,
        last_observed=observed,
        series_scale=fitted.series_scale[rows],
    )


def _gbm_window(fitted: Any, history: pd.DataFrame) -> Fitted:
    """gbm: the same trees and each series' saved scale, its lags read from the end of the new
    history (as ``auto`` forecasts from its validation booster). Calendar steps count rows, as
    the fit counted them: the saved first step moved on by the rows after the old last stamp
    (a step number read off the new stamp would disagree wherever rows are not one calendar
    step apart: gaps, business days over holidays, 15-minute data)."""
    from helios.forecasting.gbm_features import Standardiser

    moved, found, raw = _moved_to_window(fitted, history)
    rows = [i for i, _ in found]
    saved = fitted.standardiser
    loc = saved.loc[rows]
    moved.standardiser = Standardiser(
        loc, _scale_now(saved.scale[rows], loc, raw), _rows_of(saved.floor, rows)
    )
    moved.history = moved.standardiser.apply(raw)
    moved.steps = np.array(
        [fitted.steps[i] + _rows_after(s, fitted.last_ds[i]) for i, s in found], dtype=np.int64
    )
    return moved


def _ar_window(fitted: Any, history: pd.DataFrame) -> Fitted:
    """global_ar: the same weights and each series' saved scale, over the last ``lookback``
    points of the new history. A series that never moved in training is forecast at its level
    only while it still has not moved."""
    from helios.forecasting.gbm_features import Standardiser
    from helios.forecasting.panel import flat_series

    moved, found, raw = _moved_to_window(fitted, history)
    rows = [i for i, _ in found]
    moved.floor = _rows_of(fitted.floor, rows)
    logged = Standardiser(np.zeros(len(rows)), np.ones(len(rows)), moved.floor).logged(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no points has no level
        level = np.nanmean(logged, axis=1)
    moved.scale = _scale_now(fitted.scale[rows], level, raw)
    moved.history = logged / moved.scale[:, None]
    moved.flat = fitted.flat[rows] & flat_series(raw)
    return moved


def _moved_to_window(fitted: Any, history: pd.DataFrame) -> tuple[Any, list[tuple[int, Series]], np.ndarray]:
    """A copy of a global model naming the series of ``history`` it knows, and their last
    points as wide as the window it saved (left-padded)."""
    from helios.forecasting.gbm_features import pad_left

    found = _by_series(fitted, history)
    moved = copy.copy(fitted)
    moved.unique_ids = [fitted.unique_ids[i] for i, _ in found]
    moved.last_ds = [stamp_to_json(s.last_ds) for _, s in found]
    return moved, found, pad_left([s.y for _, s in found], fitted.history.shape[1])


def _scale_now(saved: np.ndarray, level: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """The saved scales, but 1 for a series that never moved in training (its scale is rounding
    noise) and moves in ``raw``: divided by that noise, the move would read as 1e15."""
    from helios.forecasting.gbm_features import sound_scale
    from helios.forecasting.panel import flat_series

    return np.where(flat_series(raw), saved, sound_scale(saved, level))


def _rows_of(values: np.ndarray | None, rows: list[int]) -> np.ndarray | None:
    return values[rows] if values is not None else None


def _rows_after(series: Series, last: Any) -> int:
    """How many rows of ``series`` come after the stamp ``last`` (negative: it ends before it)."""
    return len(series.y) - int(series.ds.searchsorted(stamp_from_json(last), side="right"))


def _volatility_forward(fitted: Any, history: pd.DataFrame) -> Fitted:
    """GARCH: the same parameters, the variance recursion run over the new returns. Realised
    volatility is by definition the window's standard deviation: the window moves."""
    from helios.forecasting.models.volatility import GarchFitted, RealizedVolFitted, _percent_returns

    found = _by_series(fitted, history)
    ids = [fitted.unique_ids[i] for i, _ in found]
    last = [stamp_to_json(s.last_ds) for _, s in found]
    returns = [_percent_returns(s.unique_id, s.y, fitted.config.y_kind) for _, s in found]
    if isinstance(fitted, GarchFitted):
        params = fitted.params[[i for i, _ in found]]
        return GarchFitted(
            fitted.config, ids, last, fitted.freq, params, returns, [fitted.converged[i] for i, _ in found]
        )
    window = fitted.config.window
    short = [uid for uid, r in zip(ids, returns, strict=True) if len(r) < 2]
    if short:
        raise ForecastingError(f"series {short[0]}: realised volatility needs at least 2 returns")
    recent = [r[-window:] for r in returns]
    sigma = np.array([r.std(ddof=1) for r in recent])
    mean = np.array([r.mean() for r in recent]) if fitted.config.mean == "window" else np.zeros(len(recent))
    return RealizedVolFitted(fitted.config, ids, last, fitted.freq, mean, sigma)


def _observe_draws(fitted: Any, history: pd.DataFrame) -> Fitted:
    seen_until = pd.Timestamp(fitted.history.ds[-1])
    newer = history[pd.to_datetime(history["ds"]) > seen_until]
    return fitted.observe(newer) if len(newer) else fitted


def last_stamp(fitted: Fitted) -> Any:
    """Where a model's forecast starts from now (for people: "trained up to")."""
    if isinstance(fitted, LocalFitted) and fitted.series:
        return max(s.last_ds for s in fitted.series)
    stamps = getattr(fitted, "last_ds", None)
    return stamp_from_json(max(stamps)) if stamps else None
