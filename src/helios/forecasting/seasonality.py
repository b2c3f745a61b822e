"""Classical seasonal adjustment as the M4 benchmarks do it: a 90% autocorrelation test at lag m,
then a multiplicative decomposition (R's ``decompose``) whose seasonal figure divides the series.

Used by Naive2, and by ETS/ARIMA for seasons longer than they model natively (weekly data's 52).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# A 90% two-sided test on the lag-m autocorrelation, as in the M4 benchmark code.
_SEASONALITY_Z = 1.645


def autocorrelations(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..max_lag, as R's ``acf`` computes them."""
    centred = y - y.mean()
    total = centred @ centred
    if total == 0:
        return np.full(max_lag, np.nan)
    return np.array([centred[lag:] @ centred[:-lag] / total for lag in range(1, max_lag + 1)])


def is_seasonal(y: np.ndarray, season_length: int, min_seasons: int = 3) -> bool:
    """The M4 benchmarks' test: the lag-m autocorrelation exceeds its 90% limit (Bartlett's
    variance from the lower lags). Needs ``min_seasons`` full seasons (M4: 3); a constant
    series is not seasonal."""
    m, n = season_length, len(y)
    if m <= 1 or n < min_seasons * m:
        return False
    acf = autocorrelations(y, m)
    if np.isnan(acf).any():
        return False
    limit = _SEASONALITY_Z / np.sqrt(n) * np.sqrt(1 + 2 * np.sum(acf[: m - 1] ** 2))
    return bool(abs(acf[m - 1]) > limit)


def multiplicative_seasonal_indices(y: np.ndarray, season_length: int) -> np.ndarray:
    """Seasonal figure of R's ``decompose(type="multiplicative")``: ratios to a centred moving
    average (2xm for even m), averaged per position in the season counted from the first
    observation, normalised to mean 1."""
    m = season_length
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(len(y), np.nan)
    trend[half : len(y) - half] = np.convolve(y, weights, mode="valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = y / trend
    figure = np.array([np.nanmean(ratios[position::m]) for position in range(m)])
    return figure / figure.mean()


@dataclass(frozen=True)
class SeasonalAdjustment:
    """Seasonal indices (all ones when not seasonal) with the phase of the first observation."""

    indices: np.ndarray
    n: int  # length of the adjusted history: future step j sits at position (n + j - 1) mod m

    @classmethod
    def none(cls, n: int) -> SeasonalAdjustment:
        return cls(np.ones(1), n)

    @classmethod
    def fit(cls, y: np.ndarray, season_length: int, min_seasons: int = 3) -> SeasonalAdjustment:
        """Multiplicative indices when the test finds seasonality and the data allow dividing
        by them (positive values, no index near zero); otherwise no adjustment."""
        if y.min() <= 0 or not is_seasonal(y, season_length, min_seasons):
            return cls.none(len(y))
        indices = multiplicative_seasonal_indices(y, season_length)
        if not np.isfinite(indices).all() or indices.min() < 0.01:
            return cls.none(len(y))
        return cls(indices, len(y))

    @property
    def seasonal(self) -> bool:
        return len(self.indices) > 1

    def adjust(self, y: np.ndarray) -> np.ndarray:
        return y / self.indices[np.arange(len(y)) % len(self.indices)]

    def future_indices(self, horizon: int) -> np.ndarray:
        return self.indices[(self.n + np.arange(horizon)) % len(self.indices)]


# --- which cycles a panel has ---------------------------------------------------------------------

# A cycle is kept for the panel when at least this share of the series long enough to show it
# pass the test: one noisy series should not add (or remove) a season for all of them.
CONFIRMING_SHARE = 0.5
# Two full cycles are the least that can tell a cycle from noise.
MIN_CYCLES = 2


def shows_cycle(y: np.ndarray, season: int, shorter: tuple[int, ...] = ()) -> bool | None:
    """Whether one series shows a cycle of ``season`` points; ``None`` when it is too short to
    say. A cycle that is a multiple of an already confirmed shorter one (a week of hours over a
    day) must show up *beyond* it: the series differenced at the shorter cycle still has a
    significant autocorrelation at the longer lag (otherwise the daily cycle alone would pass)."""
    if season <= 1 or len(y) < MIN_CYCLES * season + 1:
        return None
    base = max((s for s in shorter if season % s == 0), default=None)
    if base is None:
        return is_seasonal(y, season, MIN_CYCLES)
    differenced = y[base:] - y[:-base]
    if len(differenced) < MIN_CYCLES * season + 1:
        return None
    return is_seasonal(differenced, season, MIN_CYCLES)


def confirm_seasons(
    series: list[np.ndarray], candidates: tuple[int, ...], declared: tuple[int, ...] = ()
) -> tuple[int, ...]:
    """The candidate cycles the panel really shows, shortest first, plus the ``declared`` ones
    (a season someone stated is kept without a test). Each candidate is tested on every series
    long enough for it and kept when at least half of them show it."""
    confirmed = sorted({s for s in declared if s > 1})
    for season in sorted({s for s in candidates if s > 1} - set(confirmed)):
        shorter = tuple(s for s in confirmed if s < season)
        votes = [v for y in series if (v := shows_cycle(y, season, shorter)) is not None]
        if votes and np.mean(votes) >= CONFIRMING_SHARE:
            confirmed = sorted({*confirmed, season})
    return tuple(confirmed)


# A cycle must correlate the series' changes this much on average to name the steps' unit.
CLEAR_CYCLE = 0.2


def lag_correlation(y: np.ndarray, lag: int) -> float:
    """Pearson correlation of ``y`` with itself ``lag`` steps back (NaN where undefined)."""
    ahead, behind = y[lag:], y[:-lag]
    if len(ahead) < 3 or ahead.std() == 0 or behind.std() == 0:
        return float("nan")
    return float(np.corrcoef(ahead, behind)[0, 1])


def strongest_cycle(series: list[np.ndarray], cycles: tuple[int, ...]) -> int | None:
    """The cycle among ``cycles`` at whose lag the series' step-to-step changes correlate most
    (mean over the series that hold two cycles), for data whose steps carry no calendar: hourly
    changes repeat after 24 steps and not after 7, daily ones after 7 and not after 24. Changes,
    not levels, since a trending series correlates with itself at every lag; and only a lag that
    correlates more than the lags a quarter of a cycle either side is a cycle (smooth changes
    correlate most at the shortest lag without repeating there). None where no cycle reaches
    ``CLEAR_CYCLE``."""
    changes = [np.diff(np.asarray(y, dtype=float)) for y in series]
    scores = {}
    for cycle in sorted({c for c in cycles if c > 1}):
        # A quarter of the cycle either side: a smooth cycle's peak is broad, a decay is not one.
        side = max(1, cycle // 4)
        long_enough = [c for c in changes if len(c) > MIN_CYCLES * cycle + side]
        lags = (cycle - side, cycle, cycle + side)
        around = np.array([[lag_correlation(c, lag) for lag in lags] for c in long_enough])
        if not len(around) or np.isnan(around).all(axis=0).any():
            continue
        before, at, after = np.nanmean(around, axis=0)
        if at > before and at > after and at >= CLEAR_CYCLE:
            scores[cycle] = at
    return max(scores, key=lambda cycle: scores[cycle]) if scores else None


def data_seasons(train: Any, spec: Any) -> tuple[int, ...]:
    """The seasons a family should model for ``train`` (long ``unique_id, ds, y``): those the
    spec lists, or else the frequency's candidates confirmed on the data, with the spec's main
    season always among them."""
    from helios.forecasting.frequency import candidate_seasons
    from helios.forecasting.panel import split_panel

    if spec.seasons:
        return spec.declared_seasons
    values = [s.y for s in split_panel(train)]
    return confirm_seasons(values, candidate_seasons(spec.freq), spec.declared_seasons)
