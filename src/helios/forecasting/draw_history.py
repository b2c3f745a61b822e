"""Lottery draw histories: the draws frame (``ds, n1..nK, bonus``) as arrays checked against the game's rules.

The datasets layer hands draw families a frame sorted by ``ds`` with main numbers ``n1..nK`` and the bonus
ball as ``bonus`` (``bonus1..bonusM`` when a game draws several, absent when it draws none). Every draw is
checked here against the era in force on its date, so a model never learns from, or scores against, a number
the rules did not allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helios.forecasting.base import ForecastingError
from helios.forecasting.rules import GameRules, RuleEra

# How many recent draws decide the draw weekdays: enough to see a schedule, recent enough to follow a change
# (Powerball went from Wednesday/Saturday to Monday/Wednesday/Saturday in 2021).
_SCHEDULE_WINDOW = 30


def main_columns(count: int) -> list[str]:
    return [f"n{i}" for i in range(1, count + 1)]


def bonus_columns(count: int) -> list[str]:
    if count == 1:
        return ["bonus"]
    return [f"bonus{i}" for i in range(1, count + 1)]


@dataclass(frozen=True)
class NumberSpace:
    """Every number one kind of ball has taken in any era, ``low..high``; arrays index it by number - low."""

    low: int
    high: int

    @property
    def size(self) -> int:
        return max(self.high - self.low + 1, 0)

    @property
    def numbers(self) -> np.ndarray:
        return np.arange(self.low, self.high + 1, dtype=np.int64)

    def allowed(self, low: int, high: int) -> np.ndarray:
        """Boolean mask of the numbers ``low..high`` the rules of one era allow."""
        numbers = self.numbers
        return (numbers >= low) & (numbers <= high)


def main_space(rules: GameRules) -> NumberSpace:
    return NumberSpace(min(e.main_min for e in rules.eras), rules.max_main)


def bonus_space(rules: GameRules) -> NumberSpace:
    if rules.bonus_count == 0:
        return NumberSpace(1, 0)
    return NumberSpace(min(e.bonus_min for e in rules.eras), rules.max_bonus)


def main_allowed(rules: GameRules, era: RuleEra) -> np.ndarray:
    return main_space(rules).allowed(era.main_min, era.main_max)


def bonus_allowed(rules: GameRules, era: RuleEra) -> np.ndarray:
    if rules.bonus_count == 0:
        return np.zeros(0, dtype=bool)
    return bonus_space(rules).allowed(era.bonus_min, era.bonus_max)


def era_in_force(rules: GameRules, day: pd.Timestamp) -> RuleEra:
    era = rules.era_on(pd.Timestamp(day).date())
    if era is None:
        raise ForecastingError(f"no rules of {rules.name!r} are in force on {pd.Timestamp(day).date()}")
    return era


@dataclass(frozen=True)
class DrawHistory:
    """Draws in date order: ``ds`` (datetime64[ns]), ``main`` (T, K), ``bonus`` (T, M), ascending per row."""

    ds: np.ndarray
    main: np.ndarray
    bonus: np.ndarray

    def __len__(self) -> int:
        return len(self.ds)

    def head(self, count: int) -> DrawHistory:
        return DrawHistory(self.ds[:count], self.main[:count], self.bonus[:count])

    def tail(self, count: int) -> DrawHistory:
        start = max(len(self) - count, 0)
        return DrawHistory(self.ds[start:], self.main[start:], self.bonus[start:])

    def append(self, newer: DrawHistory) -> DrawHistory:
        if len(self) and len(newer) and newer.ds[0] <= self.ds[-1]:
            raise ForecastingError(
                f"new draws must come after {pd.Timestamp(self.ds[-1]).date()}, "
                f"got {pd.Timestamp(newer.ds[0]).date()}"
            )
        return DrawHistory(
            np.concatenate([self.ds, newer.ds]),
            np.concatenate([self.main, newer.main]),
            np.concatenate([self.bonus, newer.bonus]),
        )

    def era_index(self, rules: GameRules) -> np.ndarray:
        """Position in ``rules.eras`` of the era each draw was played under."""
        eras = [rules.eras.index(era_in_force(rules, day)) for day in pd.DatetimeIndex(self.ds)]
        return np.asarray(eras, dtype=np.int64)

    def to_frame(self, rules: GameRules) -> pd.DataFrame:
        frame = pd.DataFrame({"ds": pd.DatetimeIndex(self.ds)})
        for column, values in zip(main_columns(rules.main_count), self.main.T, strict=True):
            frame[column] = values
        for column, values in zip(bonus_columns(rules.bonus_count), self.bonus.T, strict=True):
            frame[column] = values
        return frame


def draw_history(draws: pd.DataFrame, rules: GameRules) -> DrawHistory:
    """Check a draws frame against ``rules`` and turn it into arrays.

    Rows are put in date order and the numbers of each row in ascending order (exports do not always keep
    them sorted); a missing column, a repeated number, a duplicate date or a number outside the era in force
    on its date is an error naming the draw.
    """
    main_cols, bonus_cols = main_columns(rules.main_count), bonus_columns(rules.bonus_count)
    missing = [c for c in ["ds", *main_cols, *bonus_cols] if c not in draws.columns]
    if missing:
        raise ForecastingError(
            f"draws lack column(s) {', '.join(missing)} required by the rules of {rules.name!r}"
        )
    ordered = draws.sort_values("ds", kind="stable")
    ds = pd.to_datetime(ordered["ds"]).dt.normalize().to_numpy(dtype="datetime64[ns]")
    if len(ds) > 1 and (np.diff(ds) <= np.timedelta64(0)).any():
        raise ForecastingError("draws contain the same date twice")
    main = _number_block(ordered, main_cols)
    bonus = _number_block(ordered, bonus_cols)
    history = DrawHistory(ds, main, bonus)
    _check_against_rules(history, rules)
    return history


def _number_block(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros((len(frame), 0), dtype=np.int64)
    values = frame[columns]
    if values.isna().to_numpy().any():
        raise ForecastingError(f"draws have empty cells in {', '.join(columns)}")
    return np.sort(values.to_numpy(dtype=np.int64), axis=1)


def _check_against_rules(history: DrawHistory, rules: GameRules) -> None:
    eras = history.era_index(rules)
    for era_position in np.unique(eras):
        era, rows = rules.eras[era_position], eras == era_position
        _check_block(history.ds[rows], history.main[rows], era.main_min, era.main_max, "main")
        _check_block(history.ds[rows], history.bonus[rows], era.bonus_min, era.bonus_max, "bonus")


def _check_block(ds: np.ndarray, block: np.ndarray, low: int, high: int, kind: str) -> None:
    """``block`` rows are sorted, so a repeated number shows as a zero step between neighbours."""
    if block.shape[1] == 0:
        return
    out_of_range = ((block < low) | (block > high)).any(axis=1)
    repeated = (np.diff(block, axis=1) == 0).any(axis=1)
    for problem, flags in (("outside the rules in force", out_of_range), ("repeated", repeated)):
        if flags.any():
            day = pd.Timestamp(ds[flags.argmax()]).date()
            raise ForecastingError(
                f"draw of {day} has a {kind} number {problem} ({kind} numbers {low}-{high} then)"
            )


def next_draw_dates(ds: np.ndarray, horizon: int) -> pd.DatetimeIndex:
    """The next ``horizon`` draw dates after the last one, on the weekdays the game has recently drawn.

    A weekday counts when it held at least a tenth of the recent draws, so one rescheduled draw does not
    add a day to the schedule. With fewer than three draws the last gap (or a week) is repeated.
    """
    if horizon < 1:
        raise ForecastingError(f"horizon must be at least 1, got {horizon}")
    stamps = pd.DatetimeIndex(ds)
    if len(stamps) == 0:
        raise ForecastingError("no draws to continue from")
    if len(stamps) < 3:
        step = stamps[-1] - stamps[-2] if len(stamps) == 2 else pd.Timedelta(days=7)
        return pd.DatetimeIndex([stamps[-1] + step * (i + 1) for i in range(horizon)])
    weekdays = _draw_weekdays(stamps[-_SCHEDULE_WINDOW:])
    dates: list[pd.Timestamp] = []
    day = stamps[-1]
    while len(dates) < horizon:
        day = day + pd.Timedelta(days=1)
        if day.dayofweek in weekdays:
            dates.append(day)
    return pd.DatetimeIndex(dates)


def _draw_weekdays(recent: pd.DatetimeIndex) -> set[int]:
    counts = pd.Series(recent.dayofweek).value_counts()
    threshold = max(2, len(recent) // 10)
    regular = set(counts[counts >= threshold].index.tolist())
    return regular or set(counts.index.tolist())
