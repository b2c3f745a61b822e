"""Features of the global gradient-boosted forecaster (``models/gbm.py``), built for all series at
once with numpy: lags, seasonal lags, means over each season and the position in each season.

Every series is first standardised by its own mean and spread (or its seasonal-naive error; over
the points the model is fitted on), so one model learns shapes shared by series of any scale. A
series is a row of a matrix padded with NaN on the left: short series simply have missing far
lags, which LightGBM handles natively, and the recursive forecast extends every series by one
column per step.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd


def default_lags(seasons: Sequence[int], longest_history: int) -> list[int]:
    """Every lag within the shortest season (1..24 for hourly), each multiple of it up to the
    longest season (a week of days' same hour), and two of the longest; never lags the data
    cannot fill (half the longest series at most). Without a season: the last 12 points."""
    reach = max(1, longest_history // 2)
    if not seasons:
        return list(range(1, min(12, reach) + 1))
    short, long = min(seasons), max(seasons)
    lags = set(range(1, short + 1))
    lags |= set(range(short, long + 1, short)) | set(seasons) | {2 * long}
    return sorted(lag for lag in lags if lag <= reach) or [1]


# Recent level, whatever the seasons: a short window the trees can compare lags against.
SHORT_MEAN = 6

Strategy = Literal["recursive", "direct"]


@dataclass(frozen=True)
class FeatureLayout:
    """What a booster's rows hold, fixed at fit time so that training, validation and every
    forecast of a saved model build the same columns: the lags; for each season its mean, the
    position in it and the profiles over the last ``profiles`` cycles; the level every value is
    relative to (the mean of the last ``anchor`` points, 0: none); the seasonal difference the
    target is taken over (``base_lag``, 0: none); and whether a row predicts the next step
    (``recursive``) or any step ahead (``direct``, whose rows add the step and the target
    point's own calendar position and same-position values)."""

    lags: tuple[int, ...]
    seasons: tuple[int, ...]
    base_lag: int = 0
    anchor: int = 0
    profiles: tuple[int, ...] = ()
    strategy: Strategy = "recursive"

    @property
    def memory(self) -> int:
        """How many of the newest points a forecast reads: the history a fitted model keeps."""
        # Direct rows read the target hour's same-hour values at most m x count points back too.
        deepest = [m * count for m in self.seasons for count in self.profiles]
        return max([*self.lags, *self.seasons, SHORT_MEAN, self.anchor, *deepest])

    def settings(self) -> dict[str, Any]:
        """The layout under the keys a saved model's settings have always used (JSON lists)."""
        return {
            "lags": list(self.lags),
            "seasons": list(self.seasons),
            "base_lag": self.base_lag,
            "anchor": self.anchor,
            "profiles": list(self.profiles),
            "strategy": self.strategy,
        }

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FeatureLayout:
        # Models saved before targets, profiles or strategies existed have only lags and seasons.
        return cls(
            tuple(settings["lags"]),
            tuple(settings["seasons"]),
            settings.get("base_lag", 0),
            settings.get("anchor", 0),
            tuple(settings.get("profiles", ())),
            settings.get("strategy", "recursive"),
        )


def feature_names(layout: FeatureLayout) -> list[str]:
    seasons = layout.seasons
    return (
        [f"lag{lag}" for lag in layout.lags]
        + [f"mean{m}" for m in seasons]
        + ["mean_short"]
        + [f"phase{m}" for m in seasons]
        + [f"profile{m}x{count}" for m in seasons for count in layout.profiles]
    )


def profile_lags(season: int, count: int) -> list[int]:
    """The same position in each of the last ``count`` cycles of ``season`` (the same hour on
    each of the last ``count`` days): their mean is the series' recent seasonal profile, which a
    tree cannot average out of single lags."""
    return [season * cycle for cycle in range(1, count + 1)]


def _profile_mean(values: list[np.ndarray]) -> np.ndarray:
    """Mean over the cycles present (NaN only where none is): a short series' profile is the
    mean of the cycles it has."""
    stacked = np.stack(values)
    present = np.isfinite(stacked)
    count = present.sum(axis=0)
    total = np.where(present, stacked, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass
class Standardiser:
    """Per-series location and scale (never zero: a flat series divides by 1), on the series'
    logarithm where ``floor`` is positive.

    The scale is the series' spread, or (``season`` given) its mean absolute change over that
    season: the seasonal-naive error MASE divides by. In spread units a smooth series' next hour
    is a change a hundred times finer than a noisy one's, and one model fitted on both learns
    the noisy series' corrections and applies them to the smooth one (``gbm`` on a smooth
    hourly temperature series in a panel of weather: MASE 3.5 against seasonal naive's 1.4; 1.0
    in seasonal-naive units, 0.9 fitted on the smooth series alone).

    With ``log``, every series positive on the fitted points is taken as its logarithm first
    (``floor``: half its smallest value, below which later values are clipped; 0: kept as it
    is), so a daily cycle that grows with the level is one shape in log units: a model fitted on
    levels learns a busy week's amplitude as a quiet week's."""

    loc: np.ndarray
    scale: np.ndarray
    floor: np.ndarray | None = None

    @classmethod
    def fit(cls, padded: np.ndarray, season: int = 0, log: bool = False) -> Standardiser:
        floor = _log_floor(padded) if log else None
        values = _logged(padded, floor)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            # A series with no points in ``padded`` (it starts later) has no location: NaN, and
            # what it forecasts is dropped; one too short for the season keeps its spread.
            warnings.simplefilter("ignore", RuntimeWarning)
            loc = np.nanmean(values, axis=1)
            scale = np.nanstd(values, axis=1)
            if 0 < season < values.shape[1]:
                seasonal = np.nanmean(np.abs(values[:, season:] - values[:, :-season]), axis=1)
                scale = np.where(np.isfinite(seasonal) & (seasonal > 0), seasonal, scale)
        return cls(loc, np.where(np.isfinite(scale) & (scale > 0), scale, 1.0), floor)

    def apply(self, padded: np.ndarray) -> np.ndarray:
        return (_logged(padded, self.floor) - self.loc[:, None]) / self.scale[:, None]

    def invert(self, z: np.ndarray) -> np.ndarray:
        return unlog(z * self.scale[:, None] + self.loc[:, None], self.floor)

    def logged(self, padded: np.ndarray) -> np.ndarray:
        """The values in the units the scale was measured in: logarithms where ``floor`` says."""
        return _logged(padded, self.floor)

    def unlogged(self, values: np.ndarray) -> np.ndarray:
        """``logged``'s inverse: back to the data's units."""
        return unlog(values, self.floor)

    def bounds(self, z: np.ndarray, half_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval ``z`` +/- ``half_width`` (standardised units, per step) in the data's
        units: symmetric on levels, wider above than below on logged series."""
        return self.invert(z - half_width[None, :]), self.invert(z + half_width[None, :])


def sound_scale(scale: np.ndarray, level: np.ndarray) -> np.ndarray:
    """``scale`` where it measures a spread, 1 where it is rounding noise (a constant log 5 has a
    spread of 2e-16): for a series that never moved in training and moves in newer data, where
    dividing by that noise would turn the move into a value of 1e15."""
    with np.errstate(invalid="ignore"):
        moved = np.isfinite(scale) & (scale > 0) & (scale > 1e-9 * np.abs(np.nan_to_num(level)))
    return np.where(moved, scale, 1.0)


def unlog(values: np.ndarray, floor: np.ndarray | None) -> np.ndarray:
    """Rows whose ``floor`` is positive were logarithms: exponentiated; the others as they are."""
    if floor is None:
        return values
    with np.errstate(over="ignore"):
        return np.where((floor > 0)[:, None], np.exp(values), values)


def _log_floor(padded: np.ndarray) -> np.ndarray:
    """Half of each series' smallest value where every observed value is positive, else 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series with no points: no floor
        smallest = np.nanmin(padded, axis=1)
    return np.where(np.isfinite(smallest) & (smallest > 0), smallest / 2, 0.0)


def _logged(padded: np.ndarray, floor: np.ndarray | None) -> np.ndarray:
    if floor is None or not (floor > 0).any():
        return padded
    positive = floor > 0
    out = padded.copy()
    with np.errstate(invalid="ignore"):
        out[positive] = np.log(np.maximum(padded[positive], floor[positive, None]))  # NaN stays NaN
    return out


def pad_left(series: Sequence[np.ndarray], width: int | None = None) -> np.ndarray:
    """Series as rows of one matrix, right-aligned (all end at the last column), NaN before."""
    width = width or max(len(y) for y in series)
    padded = np.full((len(series), width), np.nan)
    for row, y in enumerate(series):
        tail = y[-width:]
        padded[row, width - len(tail) :] = tail
    return padded


def _window_means(z: np.ndarray, window: int) -> np.ndarray:
    """Mean of the ``window`` points before each column (NaN where any of them is missing)."""
    n = z.shape[1]
    means = np.full(z.shape, np.nan)
    if n <= window:
        return means
    # cumulative[:, k] = sum of the first k points, so columns c-window..c-1 sum to the difference.
    zeros = np.zeros((z.shape[0], 1))
    cumulative = np.concatenate([zeros, np.cumsum(np.nan_to_num(z), axis=1)], axis=1)
    present = np.concatenate([zeros, np.cumsum(~np.isnan(z), axis=1)], axis=1)
    total = cumulative[:, window:n] - cumulative[:, : n - window]
    count = present[:, window:n] - present[:, : n - window]
    means[:, window:] = np.where(count == window, total / window, np.nan)
    return means


def training_matrix(
    z: np.ndarray, steps: np.ndarray, layout: FeatureLayout, first_column: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows for every observed point from ``first_column`` on: (features, target). ``steps`` is
    each series' calendar step number at column 0 (for the phase features). With a ``base_lag``
    the target is the change from ``base_lag`` points before (a seasonal difference): the trees
    then learn corrections to seasonal naive, and shrink towards it where they know nothing.
    With an ``anchor`` every level (lags, means, target) is taken relative to the mean of the
    ``anchor`` points before the row: the trees learn shapes around the recent level, so a
    series that trends or shifts past the levels seen in training is still forecast."""
    lags, seasons, profiles = layout.lags, layout.seasons, layout.profiles
    anchor, base_lag = layout.anchor, layout.base_lag
    columns = np.arange(first_column, z.shape[1])
    level = _window_means(z, anchor)[:, columns] if anchor else 0.0
    blocks = [_lagged(z, columns, lag) - level for lag in lags]
    blocks += [_window_means(z, m)[:, columns] - level for m in seasons]
    blocks.append(_window_means(z, SHORT_MEAN)[:, columns] - level)
    blocks += [np.mod(steps[:, None] + columns[None, :], m).astype(float) for m in seasons]
    blocks += [
        _profile_mean([_lagged(z, columns, lag) for lag in profile_lags(m, count)]) - level
        for m in seasons
        for count in profiles
    ]
    features = np.stack(blocks, axis=-1).reshape(-1, len(blocks))
    target = z[:, columns] - level
    if base_lag:
        target = target - _lagged(z, columns, base_lag)
    target = target.reshape(-1)
    keep = ~np.isnan(target)
    return features[keep].astype(np.float32), target[keep]


def _lagged(z: np.ndarray, columns: np.ndarray, lag: int) -> np.ndarray:
    out = np.full((z.shape[0], len(columns)), np.nan)
    valid = columns - lag >= 0
    out[:, valid] = z[:, columns[valid] - lag]
    return out


def anchor_level(z: np.ndarray, anchor: int) -> np.ndarray | float:
    """The level the next point's features and target are relative to (0 without an anchor)."""
    if not anchor:
        return 0.0
    return z[:, -anchor:].mean(axis=1) if anchor <= z.shape[1] else np.full(z.shape[0], np.nan)


def next_step_features(z: np.ndarray, steps: np.ndarray, layout: FeatureLayout) -> np.ndarray:
    """Features of the point right after the last column of ``z``, for every series."""
    seasons, profiles = layout.seasons, layout.profiles
    n = z.shape[1]
    level = anchor_level(z, layout.anchor)

    def lagged(lag: int) -> np.ndarray:
        return z[:, n - lag] if lag <= n else np.full(z.shape[0], np.nan)

    blocks = [lagged(lag) - level for lag in layout.lags]
    for m in (*seasons, SHORT_MEAN):
        blocks.append((z[:, -m:].mean(axis=1) if m <= n else np.full(z.shape[0], np.nan)) - level)
    blocks += [np.mod(steps + n, m).astype(float) for m in seasons]
    blocks += [
        _profile_mean([lagged(lag) for lag in profile_lags(m, count)]) - level
        for m in seasons
        for count in profiles
    ]
    return np.stack(blocks, axis=-1).astype(np.float32)


_FIXED_UNITS = {"min": "1min", "h": "1h", "D": "1D", "W": "7D"}
_EPOCH = pd.Timestamp("1970-01-05")  # a Monday: weekly phases start on Mondays


def step_number(stamp: pd.Timestamp | int, freq: str) -> int:
    """A stamp as a count of ``freq`` steps since a fixed Monday, so the position in every season
    (hour of day, day of week...) is that count modulo the season, the same in every series."""
    if not isinstance(stamp, pd.Timestamp):
        return int(stamp)
    base = freq.split("-")[0]
    if base in _FIXED_UNITS:
        return int((stamp - _EPOCH) // pd.Timedelta(_FIXED_UNITS[base]))
    if base == "B":
        return int(np.busday_count(_EPOCH.date(), stamp.date()))
    if base in ("MS", "ME"):
        return stamp.year * 12 + stamp.month - 1
    if base in ("QS", "QE"):
        return stamp.year * 4 + (stamp.month - 1) // 3
    return stamp.year


def direct_names(layout: FeatureLayout) -> list[str]:
    """A direct row: the origin's features, the step ahead, and the target point's own calendar
    position, latest same-position value and profiles (what the step cannot read from its lags)."""
    seasons = layout.seasons
    return (
        feature_names(layout)
        + ["step"]
        + [f"target_phase{m}" for m in seasons]
        + [f"target_last{m}" for m in seasons]
        + [f"target_profile{m}x{count}" for m in seasons for count in layout.profiles]
    )


def direct_rows(
    z: np.ndarray, steps: np.ndarray, layout: FeatureLayout, origin: int, ahead: np.ndarray
) -> tuple[np.ndarray, np.ndarray | float]:
    """Features of the points ``ahead`` (0-based steps) after column ``origin`` of ``z``, every
    series, read only from the columns before ``origin``: (series x steps, features) rows,
    series-major, and the level they are relative to."""
    seasons = layout.seasons
    seen = z[:, :origin]
    base = next_step_features(seen, steps, layout)
    level = anchor_level(seen, layout.anchor)
    level_column = level[:, None] if isinstance(level, np.ndarray) else level
    blocks = [np.broadcast_to(ahead[None, :].astype(float), (z.shape[0], len(ahead)))]
    blocks += [np.mod(steps[:, None] + origin + ahead[None, :], m).astype(float) for m in seasons]

    def latest(m: int, cycle: int) -> np.ndarray:
        # The same position ``cycle`` cycles before the newest one already observed.
        columns = origin + ahead - m * (ahead // m + cycle)
        out = np.full((z.shape[0], len(ahead)), np.nan)
        valid = columns >= 0
        out[:, valid] = z[:, columns[valid]]
        return out

    blocks += [latest(m, 1) - level_column for m in seasons]
    blocks += [
        _profile_mean([latest(m, cycle) for cycle in range(1, count + 1)]) - level_column
        for m in seasons
        for count in layout.profiles
    ]
    own = np.stack(blocks, axis=-1)
    repeated = np.repeat(base[:, None, :], len(ahead), axis=1)
    rows = np.concatenate([repeated, own.astype(np.float32)], axis=-1)
    return rows.reshape(-1, rows.shape[-1]), level


def direct_training_matrix(
    z: np.ndarray,
    steps: np.ndarray,
    layout: FeatureLayout,
    first_column: int,
    horizon: int,
    *,
    stride: int,
    steps_per_origin: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows for origins every ``stride`` columns from ``first_column``: each origin's features
    with each step ahead (a random ``steps_per_origin`` of them when set), target the point that
    many steps on, relative to the origin's level."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    last = z.shape[1] - 1
    for origin in range(max(first_column, 1), last + 1, stride):
        ahead = np.arange(min(horizon, last - origin + 1))
        if steps_per_origin and steps_per_origin < len(ahead):
            ahead = np.sort(rng.choice(ahead, steps_per_origin, replace=False))
        rows, level = direct_rows(z, steps, layout, origin, ahead)
        target = z[:, origin + ahead] - (level[:, None] if isinstance(level, np.ndarray) else level)
        xs.append(rows)
        ys.append(target.reshape(-1))
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = np.isfinite(y)
    return x[keep].astype(np.float32), y[keep]
