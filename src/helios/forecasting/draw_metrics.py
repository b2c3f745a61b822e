"""Does a draws model beat chance? Ticket matches, log-loss against uniform chance, and a significance test.

Every score compares the model with what a fair lottery gives anyone: the matches a uniformly random ticket
expects, and the log-loss of uniform chance under the rules in force on each draw's date. ``evaluate_draws``
fits a family on the past only, scores it on the held-out last draws one at a time (each forecast made before
the draw it scores, from the draws before it) and says in plain words whether it beat chance.

The significance test is a one-sided t-test on the per-draw log-likelihood ratio of the model against uniform
chance (``better_than_chance``). Why this and not a test on ticket matches:

- The log-likelihood uses every probability the model states, and log-loss is a proper scoring rule, so a
  model cannot look better by being over- or under-confident. Matches of sampled tickets add the noise of
  the ticket sampling on top of the draw's, and throw away all but a handful of numbers per draw, so a
  binomial or permutation test on them has much less power against the same alternative.
- "Better than chance" is exactly "expected log-likelihood ratio above 0". If the game is fair, every
  forecast made before a draw has an expected ratio of minus its KL divergence from uniform, which is at
  most 0 (Gibbs' inequality), so H0: E[ratio] <= 0 holds for any model of a fair game and the test is
  valid, if anything conservative, for non-uniform models.
- Each forecast uses only earlier draws, so under H0 the ratios are martingale differences and their mean
  is asymptotically normal (the draws' own noise dominates); the t-test's normal approximation is sound
  from a few dozen held-out draws on, which is why ``evaluate_draws`` asks for at least 30.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from helios.forecasting.base import DataSpec, FitContext, ForecastingError, Hyperparameters
from helios.forecasting.draw_forecast import DrawDistribution, DrawFitted, sample_numbers
from helios.forecasting.draw_history import DrawHistory, draw_history
from helios.forecasting.families import get_family
from helios.forecasting.rules import GameRules

MIN_TEST_DRAWS = 30
# A drawn number the model gave (numerically) zero probability still costs a finite, very large loss.
_FLOOR = 1e-12


@dataclass(frozen=True)
class DrawScore:
    """How one forecast did on the draw it forecast; ``llr`` > 0 means it beat uniform chance."""

    main_log_likelihood: float  # sum over the main balls of log(p / main_count)
    bonus_log_likelihood: float  # same for the bonus balls
    uniform_main_log_likelihood: float
    uniform_bonus_log_likelihood: float
    main_matches: float  # mean over the sampled tickets
    bonus_matches: float
    chance_main_matches: float  # what a uniformly random ticket expects under that draw's rules
    chance_bonus_matches: float

    @property
    def llr(self) -> float:
        model = self.main_log_likelihood + self.bonus_log_likelihood
        return model - (self.uniform_main_log_likelihood + self.uniform_bonus_log_likelihood)


@dataclass(frozen=True)
class DrawEvaluation:
    """The verdict of ``evaluate_draws``: log-losses in nats (per draw over all balls, and per ball), matches
    per ticket, the test of "better than chance" and a sentence saying what it means."""

    family: str
    train_draws: int
    test_draws: int
    test_start: str
    test_end: str
    log_loss: float
    uniform_log_loss: float
    log_loss_main: float
    uniform_log_loss_main: float
    log_loss_bonus: float | None
    uniform_log_loss_bonus: float | None
    mean_main_matches: float
    chance_main_matches: float
    mean_bonus_matches: float | None
    chance_bonus_matches: float | None
    tickets_per_draw: int
    mean_log_likelihood_ratio: float
    p_value: float
    alpha: float
    beats_chance: bool
    test: str
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_forecast(
    dist: DrawDistribution, main: np.ndarray, bonus: np.ndarray, tickets: int, rng: np.random.Generator
) -> DrawScore:
    """Score the forecast ``dist`` against the drawn ``main`` and ``bonus`` numbers."""
    era, main_count, bonus_count = dist.era, len(main), len(bonus)
    main_ticket = sample_numbers(rng, dist.main, dist.main_space, main_count, tickets)
    bonus_ticket = sample_numbers(rng, dist.bonus, dist.bonus_space, bonus_count, tickets)
    main_range, bonus_range = era.main_max - era.main_min + 1, era.bonus_max - era.bonus_min + 1
    return DrawScore(
        main_log_likelihood=_log_likelihood(dist.main, main - dist.main_space.low, main_count),
        bonus_log_likelihood=_log_likelihood(dist.bonus, bonus - dist.bonus_space.low, bonus_count),
        uniform_main_log_likelihood=-main_count * math.log(main_range),
        uniform_bonus_log_likelihood=-bonus_count * math.log(bonus_range) if bonus_count else 0.0,
        main_matches=_mean_matches(main_ticket, main),
        bonus_matches=_mean_matches(bonus_ticket, bonus),
        chance_main_matches=_chance_matches(main_count, main_range),
        chance_bonus_matches=_chance_matches(bonus_count, bonus_range) if bonus_count else 0.0,
    )


def _log_likelihood(appearance: np.ndarray, drawn: np.ndarray, count: int) -> float:
    # Each drawn ball scored as a pick from appearance / count, the per-ball distribution the marginals imply:
    # a proper score for the marginals, and exactly -count * log(range) for uniform chance.
    if count == 0:
        return 0.0
    return float(np.log(np.maximum(appearance[drawn] / count, _FLOOR)).sum())


def _mean_matches(tickets: np.ndarray, drawn: np.ndarray) -> float:
    if tickets.shape[1] == 0 or len(tickets) == 0:
        return 0.0
    return float(np.isin(tickets, drawn).sum(axis=1).mean())


def _chance_matches(count: int, numbers: int) -> float:
    # Each of the ticket's `count` numbers is among the `count` drawn with probability count / numbers.
    return count * count / numbers


def better_than_chance(log_likelihood_ratios: np.ndarray) -> float:
    """One-sided p-value of H0 "the forecasts do no better than uniform chance" (mean ratio <= 0); see the
    module docstring for why this test. A model identical to chance (all ratios 0) gets p = 1."""
    ratios = np.asarray(log_likelihood_ratios, dtype=np.float64)
    if len(ratios) < 2 or np.allclose(ratios, ratios[0], rtol=0.0, atol=1e-12):
        return 1.0 if len(ratios) == 0 or ratios[0] <= 0 else 0.0
    return float(stats.ttest_1samp(ratios, 0.0, alternative="greater").pvalue)


def score_held_out(
    fitted: DrawFitted, held_out: DrawHistory, tickets_per_draw: int = 10, seed: int = 0
) -> list[DrawScore]:
    """Score ``fitted`` on each held-out draw in turn: the forecast for a draw sees the draws before it
    (those of training and earlier held-out ones) as context, never the draw itself, and nothing is refit."""
    rng = np.random.default_rng(seed)
    scores, current = [], fitted
    for position in range(len(held_out)):
        draw = DrawHistory(
            held_out.ds[position : position + 1],
            held_out.main[position : position + 1],
            held_out.bonus[position : position + 1],
        )
        dist = current.distribution(pd.Timestamp(draw.ds[0]))
        scores.append(score_forecast(dist, draw.main[0], draw.bonus[0], tickets_per_draw, rng))
        current = current.observe(draw)
    return scores


def evaluate_draws(
    family_name: str,
    draws: pd.DataFrame,
    rules: GameRules,
    config: Hyperparameters | dict[str, Any] | None = None,
    test_size: int = 100,
    *,
    tickets_per_draw: int = 10,
    seed: int = 0,
    alpha: float = 0.05,
    context: FitContext | None = None,
) -> DrawEvaluation:
    """Fit ``family_name`` on all draws but the last ``test_size`` and evaluate it on those, against chance.

    No peeking: the family sees only the earlier draws when it fits; each held-out draw is forecast before it
    is revealed. ``tickets_per_draw`` tickets are sampled per held-out draw to count matches.
    """
    history = draw_history(draws, rules)
    if test_size < MIN_TEST_DRAWS:
        raise ForecastingError(f"test_size must be at least {MIN_TEST_DRAWS} draws for a meaningful test")
    if test_size >= len(history) - 1:
        raise ForecastingError(
            f"test_size {test_size} leaves too few of the {len(history)} draws to train on"
        )
    family = get_family(family_name)
    if family.task != "draws":
        raise ForecastingError(
            f"family {family_name!r} does not forecast draws (its task is {family.task!r})"
        )
    train = history.head(len(history) - test_size)
    held_out = history.tail(test_size)
    parsed = config if isinstance(config, Hyperparameters) else family.parse_config(config)
    fitted = family.fit(train.to_frame(rules), parsed, DataSpec(rules=rules), context)
    if not isinstance(fitted, DrawFitted):
        raise ForecastingError(f"family {family_name!r} did not return a draws model")
    scores = score_held_out(fitted, held_out, tickets_per_draw, seed)
    return summarise(
        family_name, len(train), held_out, scores, tickets_per_draw, alpha, rules.bonus_count > 0
    )


def summarise(
    family: str,
    train_draws: int,
    held_out: DrawHistory,
    scores: list[DrawScore],
    tickets_per_draw: int,
    alpha: float,
    has_bonus: bool,
) -> DrawEvaluation:
    """Aggregate per-draw scores into a ``DrawEvaluation`` with its p-value and verdict."""

    def mean(name: str) -> float:
        return float(np.mean([getattr(s, name) for s in scores]))

    main_count, bonus_count = held_out.main.shape[1], held_out.bonus.shape[1]
    ratios = np.array([s.llr for s in scores])
    p_value = better_than_chance(ratios)
    evaluation = DrawEvaluation(
        family=family,
        train_draws=train_draws,
        test_draws=len(scores),
        test_start=str(pd.Timestamp(held_out.ds[0]).date()),
        test_end=str(pd.Timestamp(held_out.ds[-1]).date()),
        log_loss=-(mean("main_log_likelihood") + mean("bonus_log_likelihood")),
        uniform_log_loss=-(mean("uniform_main_log_likelihood") + mean("uniform_bonus_log_likelihood")),
        log_loss_main=-mean("main_log_likelihood") / main_count,
        uniform_log_loss_main=-mean("uniform_main_log_likelihood") / main_count,
        log_loss_bonus=-mean("bonus_log_likelihood") / bonus_count if has_bonus else None,
        uniform_log_loss_bonus=-mean("uniform_bonus_log_likelihood") / bonus_count if has_bonus else None,
        mean_main_matches=mean("main_matches"),
        chance_main_matches=mean("chance_main_matches"),
        mean_bonus_matches=mean("bonus_matches") if has_bonus else None,
        chance_bonus_matches=mean("chance_bonus_matches") if has_bonus else None,
        tickets_per_draw=tickets_per_draw,
        mean_log_likelihood_ratio=float(ratios.mean()),
        p_value=p_value,
        alpha=alpha,
        beats_chance=p_value < alpha,
        test="one-sided t-test on the per-draw log-likelihood ratio against uniform chance",
        verdict="",
    )
    return _with_verdict(evaluation)


def _with_verdict(e: DrawEvaluation) -> DrawEvaluation:
    losses = f"log-loss {e.log_loss:.3f} vs {e.uniform_log_loss:.3f} nats per draw under uniform chance"
    matches = f"{e.mean_main_matches:.3f} main matches per ticket vs {e.chance_main_matches:.3f} by chance"
    if e.beats_chance:
        words = f"evidence of skill: p={e.p_value:.2g} ({losses}; {matches})"
    elif abs(e.mean_log_likelihood_ratio) < 1e-9 and e.p_value == 1.0:
        words = f"no evidence of skill: p=1.00, the forecasts are uniform chance itself ({losses})"
    else:
        worse = "; its forecasts did worse than chance" if e.mean_log_likelihood_ratio < 0 else ""
        words = f"no evidence of skill: p={e.p_value:.2f} ({losses}; {matches}{worse})"
    return DrawEvaluation(**{**asdict(e), "verdict": f"{e.family} on {e.test_draws} held-out draws: {words}"})
