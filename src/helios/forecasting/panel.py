"""Long-format panels (``unique_id, ds, y``) split into one series each, and forecasts put back
together in the long format every family returns (``unique_id, ds, mean, lo-L, hi-L``).

``ds`` may be timestamps (the usual case) or integers (a step counter, e.g. M4 data whose dates
are unknown); future stamps follow the same kind. Also the input checks every family shares:
horizon, interval levels, and configs of families wrapped by others (auto, conformal).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd
from pydantic import ValidationError

from helios.forecasting.base import ForecastingError, Hyperparameters, ModelFamily
from helios.forecasting.stamps import future_stamps as shared_future_stamps
from helios.forecasting.stamps import stamp_to_json as shared_stamp_to_json

Stamp: TypeAlias = pd.Timestamp | int


@dataclass(frozen=True)
class Series:
    """One series of a panel, in time order, with finite float values."""

    unique_id: str
    ds: pd.Index
    y: np.ndarray

    @property
    def last_ds(self) -> Stamp:
        return stamp_from_index(self.ds, -1)

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class SeriesForecast:
    """Forecast of one series: the mean path and, per level, the lower and upper bound paths."""

    mean: np.ndarray
    bounds: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def stamp_from_index(ds: pd.Index, position: int) -> Stamp:
    value = ds[position]
    return int(value) if isinstance(ds.dtype, np.dtype) and ds.dtype.kind in "iu" else pd.Timestamp(value)


def split_panel(frame: pd.DataFrame, target: str = "y") -> list[Series]:
    """The series of a long frame, ids as strings, each sorted by ``ds``. Missing, duplicate
    or non-numeric values are refused with the series (and row) named, never silently dropped."""
    missing = {"unique_id", "ds", target} - set(frame.columns)
    if missing:
        names = ", ".join(sorted(missing))
        raise ForecastingError(f"the data lacks column(s) {names}; expected unique_id, ds, {target}")
    if frame.empty:
        raise ForecastingError("the data has no rows")
    values = _numeric_values(frame, target)
    ordered = frame.assign(**{target: values, "unique_id": frame["unique_id"].astype(str)})
    ordered = ordered.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    _refuse_duplicate_stamps(ordered)
    ids = ordered["unique_id"].to_numpy()
    stamps = pd.Index(ordered["ds"].to_numpy())
    y = ordered[target].to_numpy(dtype=float)
    return [Series(str(ids[start]), stamps[start:end], y[start:end]) for start, end in group_bounds(ids)]


def group_bounds(ids: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal ids in an array already grouped by id: slicing arrays
    is far cheaper than a pandas groupby when there are thousands of series."""
    if len(ids) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _numeric_values(frame: pd.DataFrame, target: str) -> pd.Series:
    values = pd.to_numeric(frame[target], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raw = frame[target].iloc[row]
        raise ForecastingError(
            f"series {frame['unique_id'].iloc[row]!s}: value {raw!r} at ds {frame['ds'].iloc[row]!s} "
            f"(row {row + 1}) is not a finite number"
        )
    return values.astype(float)


def _refuse_duplicate_stamps(ordered: pd.DataFrame) -> None:
    duplicated = ordered.duplicated(["unique_id", "ds"])
    if duplicated.any():
        row = ordered[duplicated].iloc[0]
        raise ForecastingError(f"series {row['unique_id']}: ds {row['ds']!s} appears more than once")


def future_stamps(last: Stamp, horizon: int, freq: str) -> pd.Index:
    """The ``horizon`` stamps after ``last``: integer steps, or calendar steps of ``freq``.
    Shared with the neural family (``stamps.py``) so every family labels its steps alike."""
    return pd.Index(shared_future_stamps(stamp_to_json(last), horizon, freq))


def stamp_to_json(stamp: Stamp) -> str | int:
    return shared_stamp_to_json(stamp)


def stamp_from_json(value: str | int) -> Stamp:
    return int(value) if isinstance(value, int) else pd.Timestamp(value)


ConfigType = TypeVar("ConfigType", bound=Hyperparameters)


def own_config(config: Hyperparameters | dict[str, Any] | None, kind: type[ConfigType]) -> ConfigType:
    """The family's own config class, whether given as one, as another ``Hyperparameters``, as a
    plain dict or not at all (the defaults). Every family's ``fit`` starts here."""
    if isinstance(config, kind):
        return config
    raw = config.model_dump() if isinstance(config, Hyperparameters) else config
    return kind.model_validate(raw or {})


def nested_config(family: ModelFamily, raw: dict[str, Any] | None, role: str) -> Hyperparameters:
    """Parse the config of a family wrapped by another (auto's candidates, conformal's inner):
    a mistake there is bad input to the wrapper, reported with the role it plays."""
    try:
        return family.parse_config(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ForecastingError(f"{role} ({family.name}) config: {problems}") from None


def check_horizon(horizon: int) -> int:
    if not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ForecastingError(f"horizon must be a whole number of steps >= 1, got {horizon!r}")
    return int(horizon)


def check_levels(levels: Iterable[int]) -> tuple[int, ...]:
    checked = tuple(int(level) for level in levels)
    if any(not 0 < level < 100 for level in checked):
        raise ForecastingError(f"interval levels must lie strictly between 0 and 100, got {list(checked)}")
    return checked


def interval_columns(levels: Sequence[int]) -> list[str]:
    return [name for level in levels for name in (f"lo-{level}", f"hi-{level}")]


def normal_quantile(level: int) -> float:
    """z such that a normal variable lies within mean +- z sigma with probability ``level``%.
    (The standard library's, not scipy's: importing scipy.stats cost every job process ~0.7 s.)"""
    return NormalDist().inv_cdf(0.5 + level / 200)


def normal_bounds(
    mean: np.ndarray, sigma: np.ndarray, levels: Sequence[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    return {
        level: (mean - normal_quantile(level) * sigma, mean + normal_quantile(level) * sigma)
        for level in levels
    }


def forecast_frame(
    parts: Sequence[tuple[str, pd.Index, SeriesForecast]], levels: Sequence[int]
) -> pd.DataFrame:
    """Long format ``unique_id, ds, mean, lo-L, hi-L...`` from one forecast per series."""
    columns: dict[str, Any] = {
        "unique_id": np.concatenate([np.repeat(uid, len(stamps)) for uid, stamps, _ in parts]),
        "ds": _concat_stamps([stamps for _, stamps, _ in parts]),
        "mean": np.concatenate([forecast.mean for _, _, forecast in parts]),
    }
    for level in levels:
        columns[f"lo-{level}"] = np.concatenate([forecast.bounds[level][0] for _, _, forecast in parts])
        columns[f"hi-{level}"] = np.concatenate([forecast.bounds[level][1] for _, _, forecast in parts])
    return pd.DataFrame(columns)


def _concat_stamps(indexes: list[pd.Index]) -> pd.Index | np.ndarray:
    if not indexes:
        return np.array([], dtype="datetime64[ns]")
    return indexes[0].append(indexes[1:]) if len(indexes) > 1 else indexes[0]


def empty_forecast(levels: Sequence[int]) -> pd.DataFrame:
    return pd.DataFrame(columns=["unique_id", "ds", "mean", *interval_columns(levels)])


def window_rows(
    ids: Sequence[str],
    window: int,
    actual: np.ndarray,
    forecast: np.ndarray,
    bounds: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """One validation window of a panel forecast, from ``(series, horizon)`` arrays, as rows
    ``unique_id, window, step, y, mean`` (and ``lo-L``/``hi-L`` for each level in ``bounds``)."""
    horizon = forecast.shape[1]
    columns: dict[str, Any] = {
        "unique_id": np.repeat(np.asarray(ids, dtype=object), horizon),
        "window": window,
        "step": np.tile(np.arange(1, horizon + 1), len(ids)),
        "y": actual.reshape(-1),
        "mean": forecast.reshape(-1),
    }
    for level, (lo, hi) in (bounds or {}).items():
        columns[f"lo-{level}"], columns[f"hi-{level}"] = lo.reshape(-1), hi.reshape(-1)
    return pd.DataFrame(columns)


def observed_rows(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The windows' rows where there was something to score: an observed value and a forecast."""
    frame = pd.concat(frames, ignore_index=True)
    return frame[np.isfinite(frame["y"]) & np.isfinite(frame["mean"])].reset_index(drop=True)


def columns_before_windows(
    train: pd.DataFrame, window: int | None, offsets: Sequence[int], horizon: int, family: str
) -> int:
    """How many of a left-padded panel's columns (the last ``window`` points of each series at
    most) precede its earliest validation window: what a global model's validation fit may see."""
    if train.empty:
        raise ForecastingError(f"{family}: the data has no rows")
    longest = int(train.groupby("unique_id").size().max())
    seen = min(longest, window or longest) - max(offsets) - horizon
    if seen < 2:
        raise ForecastingError(f"{family}: the series are too short for these validation windows")
    return seen


def flat_series(values: np.ndarray) -> np.ndarray:
    """Which rows never move (spread below a billionth of their level): no units to learn in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no points: not flat
        spread, level = np.nanstd(values, axis=1), np.nanmean(np.abs(values), axis=1)
    return np.isfinite(spread) & (spread <= 1e-9 * np.fmax(level, 1.0))
