"""Metrics against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helios.forecasting import metrics

Y = [1.0, 2.0, 3.0, 4.0]
F = [2.0, 2.0, 2.0, 2.0]
HISTORY = [1.0, 3.0, 2.0, 4.0, 3.0]  # naive steps |2|,|1|,|2|,|1| -> scale 1.5; lag-2 steps all 1 -> scale 1
LO = [0.0, 2.5, 2.0, 5.0]
HI = [2.0, 3.0, 3.0, 6.0]


def test_point_errors() -> None:
    assert metrics.mae(Y, F) == pytest.approx(1.0)  # (1 + 0 + 1 + 2) / 4
    assert metrics.rmse(Y, F) == pytest.approx(math.sqrt(1.5))  # sqrt((1 + 0 + 1 + 4) / 4)
    assert metrics.mape(Y, F) == pytest.approx(100 * (1 + 0 + 1 / 3 + 2 / 4) / 4)
    assert metrics.smape(Y, F) == pytest.approx(200 * (1 / 3 + 0 + 1 / 5 + 2 / 6) / 4)


def test_smape_counts_zero_against_zero_as_exact_and_mape_is_undefined_at_zero() -> None:
    assert metrics.smape([0.0, 2.0], [0.0, 2.0]) == 0.0
    assert metrics.mape([0.0, 2.0], [1.0, 2.0]) == math.inf


def test_mase_scales_by_in_sample_seasonal_naive_error() -> None:
    assert metrics.mase(Y, F, HISTORY, m=1) == pytest.approx(1.0 / 1.5)
    assert metrics.mase(Y, F, HISTORY, m=2) == pytest.approx(1.0 / 1.0)
    assert math.isnan(metrics.mase(Y, F, [5.0, 5.0, 5.0]))  # a flat history has no scale


def test_owa_is_half_the_sum_of_ratios_to_naive2() -> None:
    assert metrics.owa(8.0, 2.0, 10.0, 4.0) == pytest.approx(0.5 * (0.8 + 0.5))


def test_pinball_loss_weighs_under_and_over_forecasts_by_the_quantile() -> None:
    # under by 2 at q=0.9 costs 0.9*2 = 1.8; over by 2 costs 0.1*2 = 0.2
    assert metrics.pinball_loss([10.0, 10.0], [8.0, 12.0], 0.9) == pytest.approx(1.0)
    assert metrics.pinball_loss([10.0], [10.0], 0.5) == 0.0


def test_coverage_counts_bounds_as_inside() -> None:
    # 1 in [0,2] yes; 2 in [2.5,3] no; 3 in [2,3] yes (on the bound); 4 in [5,6] no
    assert metrics.coverage(Y, LO, HI) == 0.5


def test_msis_m4_definition() -> None:
    # widths 2 + 0.5 + 1 + 1 = 4.5; misses (2/0.05)*(2.5-2) = 20 and 40*(5-4) = 40 -> mean 64.5/4 = 16.125
    assert metrics.msis(Y, LO, HI, HISTORY, m=1, alpha=0.05) == pytest.approx(16.125 / 1.5)


def test_directional_accuracy_from_the_last_observation() -> None:
    # from 2: truth goes + - 0 +, forecast goes + + - +  -> 2 of 4 agree
    assert metrics.directional_accuracy([3.0, 1.0, 2.0, 4.0], [2.5, 2.5, 1.0, 5.0], 2.0) == 0.5


def test_score_forecast_lines_up_series_by_step() -> None:
    forecast = pd.DataFrame(
        {
            "unique_id": ["a"] * 4 + ["b"] * 2,
            "ds": list(range(6, 10)) + [3, 4],
            "mean": F + [1.0, 1.0],
            "lo-95": LO + [0.0, 0.0],
            "hi-95": HI + [2.0, 2.0],
        }
    )
    actuals = pd.DataFrame(
        {"unique_id": ["a"] * 4 + ["b"] * 2, "ds": list(range(6, 10)) + [3, 4], "y": Y + [1.0, 3.0]}
    )
    history = pd.DataFrame(
        {"unique_id": ["a"] * 5 + ["b"] * 2, "ds": list(range(1, 6)) + [1, 2], "y": HISTORY + [0.0, 1.0]}
    )
    scores = metrics.score_forecast(forecast, actuals, history).set_index("unique_id")
    assert scores.loc["a", "mae"] == pytest.approx(1.0)
    assert scores.loc["a", "msis"] == pytest.approx(16.125 / 1.5)
    assert scores.loc["a", "coverage_95"] == 0.5
    assert scores.loc["b", "mase"] == pytest.approx(1.0)  # errors 0 and 2 over scale 1
    assert np.isfinite(scores.to_numpy(dtype=float)).all()
