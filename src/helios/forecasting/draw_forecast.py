"""What every fitted draws model offers: probabilities per number, sample tickets, forecasts by date.

A draws model believes something about the next draw: for each main number, the probability that it is among
the main balls (these marginals sum to the number of main balls drawn), and likewise for the bonus balls.
``DrawFitted`` turns that belief into frames and tickets, and guarantees the rules: a number the era in force
on the target date does not allow gets probability zero, whatever the model behind it says.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from helios.forecasting.base import DEFAULT_LEVELS, Fitted, ForecastingError
from helios.forecasting.draw_history import (
    DrawHistory,
    NumberSpace,
    bonus_allowed,
    bonus_columns,
    bonus_space,
    draw_history,
    era_in_force,
    main_allowed,
    main_columns,
    main_space,
    next_draw_dates,
)
from helios.forecasting.rules import GameRules, RuleEra


@dataclass(frozen=True)
class DrawDistribution:
    """A model's belief about one coming draw.

    ``main[i]`` is the probability that ``main_space.low + i`` is among the main balls (sums to the number of
    main balls); ``bonus`` likewise for the bonus balls. Numbers the ``era`` does not allow hold zero.
    """

    ds: pd.Timestamp
    era: RuleEra
    main_space: NumberSpace
    bonus_space: NumberSpace
    main: np.ndarray
    bonus: np.ndarray


def respect_rules(weights: np.ndarray, allowed: np.ndarray, total: int) -> np.ndarray:
    """Appearance probabilities summing to ``total`` over the allowed numbers, zero elsewhere, none above 1.

    ``weights`` are any non-negative scores; with none on an allowed number the result is uniform chance.
    """
    if total == 0 or not allowed.any():
        return np.zeros_like(weights, dtype=np.float64)
    scores = np.where(allowed, np.clip(np.asarray(weights, dtype=np.float64), 0.0, None), 0.0)
    if not np.isfinite(scores).all() or scores.sum() <= 0:
        scores = allowed.astype(np.float64)
    return _cap_at_one(scores / scores.sum() * total, allowed, total)


def _cap_at_one(probabilities: np.ndarray, allowed: np.ndarray, total: int) -> np.ndarray:
    # A number cannot appear with probability above 1; what a confident model puts beyond that is spread over
    # the other allowed numbers in proportion, which keeps the total (water-filling, at most `total` rounds).
    p = probabilities.copy()
    for _ in range(total + 1):
        if not (p > 1.0 + 1e-12).any():
            break
        capped = p >= 1.0
        p[capped] = 1.0
        free = allowed & ~capped
        room = total - int(capped.sum())
        mass = p[free].sum()
        p[free] = p[free] * (room / mass) if mass > 0 else room / max(int(free.sum()), 1)
    return np.minimum(p, 1.0)


def appearance_from_slots(slot_probabilities: np.ndarray) -> np.ndarray:
    """Marginal appearance probabilities from per-slot distributions (slot i = the i-th smallest number).

    The slots of one draw hold different numbers, so "number j appears" is the disjoint union of "slot i is
    j" over the slots, and its probability is the sum over slots.
    """
    return np.asarray(slot_probabilities, dtype=np.float64).sum(axis=0)


class DrawFitted(Fitted):
    """A fitted draws model: its game's rules and the draws it has seen, up to the last one.

    Subclasses say what they believe about a draw on a given date after a given history
    (``_appearance_weights``); everything else (rules, frames, tickets, dates, state) lives here.
    """

    # Two years of twice-weekly draws; every step re-weighs the whole ball set (a 1,000-step
    # forecast took 6-8 s and 7 MB).
    max_horizon: ClassVar[int] = 208

    def __init__(self, rules: GameRules, history: DrawHistory) -> None:
        if len(history) == 0:
            raise ForecastingError("a draws model needs at least one draw")
        self.rules = rules
        self.history = history

    @abc.abstractmethod
    def _appearance_weights(
        self, history: DrawHistory, era: RuleEra, day: pd.Timestamp
    ) -> tuple[np.ndarray, np.ndarray]:
        """Non-negative scores for each main and each bonus number (over ``main_space``/``bonus_space``),
        proportional to how likely each is to appear in the draw of ``day``, after ``history``."""

    # --- beliefs --------------------------------------------------------------------------------------

    def next_date(self) -> pd.Timestamp:
        return next_draw_dates(self.history.ds, 1)[0]

    def distribution(self, next_date: pd.Timestamp | str | None = None) -> DrawDistribution:
        """The model's belief about the draw of ``next_date`` (default: the next scheduled draw)."""
        day = self.next_date() if next_date is None else pd.Timestamp(next_date).normalize()
        era = era_in_force(self.rules, day)
        main_weights, bonus_weights = self._appearance_weights(self.history, era, day)
        main = respect_rules(main_weights, main_allowed(self.rules, era), self.rules.main_count)
        bonus = respect_rules(bonus_weights, bonus_allowed(self.rules, era), self.rules.bonus_count)
        return DrawDistribution(day, era, main_space(self.rules), bonus_space(self.rules), main, bonus)

    def probabilities(self, next_date: pd.Timestamp | str | None = None) -> pd.DataFrame:
        """One row per number of the game (every era's range): ``slot`` ('main' or 'bonus'), ``number``,
        ``probability`` that it appears in the draw of ``next_date``. Main probabilities sum to the number of
        main balls, bonus ones to the number of bonus balls (1 for Powerball); numbers outside the rules in
        force that day have probability 0."""
        return _distribution_frame(self.distribution(next_date))

    def tickets(self, n: int, seed: int = 0, next_date: pd.Timestamp | str | None = None) -> pd.DataFrame:
        """``n`` sample tickets for the draw of ``next_date``: ``ticket, n1..nK`` (and ``bonus`` or
        ``bonus1..bonusM``), valid under the rules in force that day, distinct numbers sorted ascending per
        ticket. Numbers are drawn without replacement in proportion to the model's probabilities; the same
        seed gives the same tickets."""
        if n < 0:
            raise ForecastingError(f"number of tickets must not be negative, got {n}")
        dist = self.distribution(next_date)
        rng = np.random.default_rng(seed)
        main = sample_numbers(rng, dist.main, dist.main_space, self.rules.main_count, n)
        bonus = sample_numbers(rng, dist.bonus, dist.bonus_space, self.rules.bonus_count, n)
        frame = pd.DataFrame({"ticket": np.arange(n, dtype=np.int64)})
        for column, values in zip(main_columns(self.rules.main_count), main.T, strict=True):
            frame[column] = values
        for column, values in zip(bonus_columns(self.rules.bonus_count), bonus.T, strict=True):
            frame[column] = values
        return frame

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        """Probabilities for each of the next ``horizon`` draws, in long format.

        Columns ``unique_id`` (the game), ``ds`` (draw date, inferred from the weekdays the game draws on),
        ``step`` (1..horizon), ``slot`` ('main'/'bonus'), ``number``, ``probability``: one row per number
        of the game per draw, as ``probabilities`` gives them. Draws after the next are forecast from the
        same known history (the unknown draws in between are not guessed) under the rules in force on their
        own date. ``levels`` is accepted for the common interface and ignored: a full distribution over the
        numbers leaves no interval to draw.
        """
        frames = []
        for step, day in enumerate(next_draw_dates(self.history.ds, horizon), start=1):
            frame = self.probabilities(day)
            frame.insert(0, "step", step)
            frame.insert(0, "ds", day)
            frames.append(frame)
        result = pd.concat(frames, ignore_index=True)
        result.insert(0, "unique_id", self.rules.name)
        return result

    def observe(self, draws: pd.DataFrame | DrawHistory) -> DrawFitted:
        """The same model after newer ``draws`` (all later than the last one seen): a sequence model reads
        them as context, a frequency model is not refitted on them. Returns a copy; ``self`` is unchanged."""
        newer = draws if isinstance(draws, DrawHistory) else draw_history(draws, self.rules)
        seen = copy.copy(self)
        seen.history = self.history.append(newer)
        return seen

    # --- state ----------------------------------------------------------------------------------------

    def _draws_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"family": self.family, "rules": self.rules.model_dump(mode="json")}
        arrays = {
            "history_ds": self.history.ds.astype("datetime64[ns]").view(np.int64),
            "history_main": self.history.main.astype(np.int64),
            "history_bonus": self.history.bonus.astype(np.int64),
        }
        return meta, arrays

    @staticmethod
    def _draws_from_state(
        meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> tuple[GameRules, DrawHistory]:
        rules = GameRules.model_validate(meta["rules"])
        count = len(arrays["history_ds"])
        history = DrawHistory(
            np.asarray(arrays["history_ds"], dtype=np.int64).view("datetime64[ns]"),
            np.asarray(arrays["history_main"], dtype=np.int64).reshape(count, rules.main_count),
            np.asarray(arrays["history_bonus"], dtype=np.int64).reshape(count, rules.bonus_count),
        )
        return rules, history


def sample_numbers(
    rng: np.random.Generator, probabilities: np.ndarray, space: NumberSpace, count: int, tickets: int
) -> np.ndarray:
    """``tickets`` rows of ``count`` distinct numbers, sorted, drawn in proportion to ``probabilities``."""
    if count == 0:
        return np.zeros((tickets, 0), dtype=np.int64)
    weights = probabilities / probabilities.sum()
    rows = [np.sort(rng.choice(space.numbers, size=count, replace=False, p=weights)) for _ in range(tickets)]
    return np.asarray(rows, dtype=np.int64).reshape(tickets, count)


def _distribution_frame(dist: DrawDistribution) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "slot": ["main"] * dist.main_space.size + ["bonus"] * dist.bonus_space.size,
            "number": np.concatenate([dist.main_space.numbers, dist.bonus_space.numbers]),
            "probability": np.concatenate([dist.main, dist.bonus]),
        }
    )
