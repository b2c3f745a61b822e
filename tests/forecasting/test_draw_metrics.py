"""Draw metrics: log-loss against chance, matches, the test of skill, honest evaluation without peeking."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from helios.forecasting import draw_metrics
from helios.forecasting.base import DataSpec, FitContext, ForecastingError, Hyperparameters
from helios.forecasting.draw_forecast import DrawDistribution
from helios.forecasting.draw_history import NumberSpace
from helios.forecasting.draw_metrics import better_than_chance, evaluate_draws, score_forecast
from helios.forecasting.families import get_family
from helios.forecasting.rules import POWERBALL

from .draw_samples import fair_draws, real_powerball_draws

torch.set_num_threads(1)

QUICK_NET = {"epochs": 6, "d_model": 32, "context_draws": 8, "layers": 1}


def test_log_loss_and_matches_of_one_forecast() -> None:
    era = POWERBALL.current()
    main = np.full(69, 5 / 69)
    main[:2], main[2:] = 0.5, (5 - 1.0) / 67  # numbers 1 and 2 favoured
    bonus = np.full(26, 1 / 26)
    dist = DrawDistribution(
        pd.Timestamp("2020-01-01"), era, NumberSpace(1, 69), NumberSpace(1, 26), main, bonus
    )
    score = score_forecast(dist, np.array([1, 2, 30, 40, 50]), np.array([7]), 1000, np.random.default_rng(0))
    expected_main = 2 * math.log(0.5 / 5) + 3 * math.log(4 / 67 / 5)
    assert score.main_log_likelihood == pytest.approx(expected_main)
    assert score.uniform_main_log_likelihood == pytest.approx(-5 * math.log(69))
    assert score.bonus_log_likelihood == pytest.approx(score.uniform_bonus_log_likelihood)
    assert score.llr == pytest.approx(expected_main + 5 * math.log(69))
    assert score.chance_main_matches == pytest.approx(
        25 / 69
    ) and score.chance_bonus_matches == pytest.approx(1 / 26)
    # Tickets drawn from this forecast hold 1 and 2 about half the time each.
    assert score.main_matches == pytest.approx(1.0 + 3 * 4 / 67, abs=0.1)


def test_better_than_chance_is_one_sided() -> None:
    rng = np.random.default_rng(0)
    assert better_than_chance(rng.normal(0.5, 1.0, 200)) < 1e-6
    assert better_than_chance(rng.normal(-0.5, 1.0, 200)) > 0.99
    assert better_than_chance(np.zeros(50)) == 1.0


def test_uniform_chance_scores_exactly_chance() -> None:
    draws = fair_draws(POWERBALL, "2014-01-01", 200, seed=5)
    result = evaluate_draws("uniform_chance", draws, POWERBALL, None, test_size=60)
    assert result.log_loss == pytest.approx(result.uniform_log_loss)
    assert result.p_value == 1.0 and not result.beats_chance
    assert result.verdict.startswith("uniform_chance on 60 held-out draws: no evidence of skill: p=1.00")


class SpyFamily:
    """Wraps a real family and remembers what it was trained on."""

    def __init__(self, name: str) -> None:
        self.inner = get_family(name)
        self.task = self.inner.task
        self.trained_on: pd.DataFrame | None = None

    def parse_config(self, raw: dict[str, Any] | None) -> Hyperparameters:
        return self.inner.parse_config(raw)

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ):
        self.trained_on = train
        return self.inner.fit(train, config, spec, context)


def test_evaluation_trains_only_on_the_past(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = fair_draws(POWERBALL, "2014-01-01", 200, seed=6)
    spy = SpyFamily("historical_frequency")
    monkeypatch.setattr(draw_metrics, "get_family", lambda name: spy)
    result = evaluate_draws("historical_frequency", draws, POWERBALL, None, test_size=50)
    assert spy.trained_on is not None and len(spy.trained_on) == 150
    assert spy.trained_on.ds.max() < draws.ds.iloc[150]
    assert (result.train_draws, result.test_draws) == (150, 50)
    assert result.test_start == str(draws.ds.iloc[150].date()) and result.test_end == str(
        draws.ds.iloc[-1].date()
    )


def test_evaluation_refuses_too_small_a_test() -> None:
    draws = fair_draws(POWERBALL, "2014-01-01", 100, seed=6)
    with pytest.raises(ForecastingError, match="at least 30"):
        evaluate_draws("uniform_chance", draws, POWERBALL, None, test_size=10)
    with pytest.raises(ForecastingError, match="too few"):
        evaluate_draws("uniform_chance", draws, POWERBALL, None, test_size=99)


def test_a_real_bias_is_found() -> None:
    # Numbers 7 and 23 six times likelier than the others: the test must have the power to see that.
    draws = fair_draws(POWERBALL, "2011-03-02", 600, seed=1, main_weights={7: 6.0, 23: 6.0})
    for family, config in (("historical_frequency", None), ("powerball_net", QUICK_NET)):
        result = evaluate_draws(family, draws, POWERBALL, config, test_size=150)
        assert result.beats_chance and result.p_value < 0.05, result.verdict
        assert result.log_loss < result.uniform_log_loss
        assert result.mean_main_matches > result.chance_main_matches
        assert "evidence of skill" in result.verdict and "no evidence" not in result.verdict


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_powerball_net_claims_no_skill_on_a_fair_lottery(seed: int) -> None:
    # Fair draws through the 2012 and 2015 range changes; the held-out draws straddle October 2015.
    draws = fair_draws(POWERBALL, "2011-03-02", 600, seed=100 + seed)
    result = evaluate_draws("powerball_net", draws, POWERBALL, {**QUICK_NET, "seed": seed}, test_size=150)
    assert result.p_value > 0.05 and not result.beats_chance, result.verdict
    assert result.verdict.startswith("powerball_net on 150 held-out draws: no evidence of skill")


def test_real_powerball_history_shows_no_skill() -> None:
    draws = real_powerball_draws()
    if draws is None:
        pytest.skip("the shared Powerball export is not present")
    result = evaluate_draws("powerball_net", draws, POWERBALL, {"epochs": 3}, test_size=200)
    report = result.to_dict()
    print(report["verdict"])
    assert (result.train_draws, result.test_draws) == (len(draws) - 200, 200)
    # Every held-out draw is from the 2015 era: 5 of 1-69 and 1 of 1-26.
    assert result.uniform_log_loss == pytest.approx(5 * math.log(69) + math.log(26))
    assert result.chance_main_matches == pytest.approx(25 / 69)
    assert all(math.isfinite(v) for v in (result.log_loss, result.p_value, result.mean_main_matches))
    assert 0 <= result.p_value <= 1 and result.beats_chance == (result.p_value < result.alpha)
    # A lottery is fair: claiming skill here would be a bug in the model or in the test.
    assert not result.beats_chance, result.verdict
    assert result.verdict.startswith(
        f"powerball_net on 200 held-out draws: no evidence of skill: p={result.p_value:.2f}"
    )
