"""Baseline families: point forecasts and textbook intervals, worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.families import get_family
from helios.forecasting.seasonality import is_seasonal, multiplicative_seasonal_indices

Z95 = 1.959963984540054


def fit_predict(name: str, y: list[float], horizon: int, season: int = 1, **config: object) -> pd.DataFrame:
    family = get_family(name)
    frame = pd.DataFrame(
        {"unique_id": "s", "ds": pd.date_range("2024-01-01", periods=len(y), freq="D"), "y": y}
    )
    return family.fit(frame, family.parse_config(config), DataSpec("D", season)).predict(horizon, (80, 95))


def test_naive_carries_the_last_value_with_sqrt_h_intervals() -> None:
    out = fit_predict("naive", [1, 2, 4, 7], 3)
    sigma = math.sqrt((1 + 4 + 9) / 3)  # one-step changes 1, 2, 3
    assert list(out["mean"]) == [7, 7, 7]
    assert out["hi-95"].to_numpy() == pytest.approx(7 + Z95 * sigma * np.sqrt([1, 2, 3]))
    assert list(out.columns) == ["unique_id", "ds", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert list(out["ds"]) == list(pd.date_range("2024-01-05", periods=3, freq="D"))


def test_seasonal_naive_repeats_the_last_season() -> None:
    out = fit_predict("seasonal_naive", [1, 2, 3, 2, 3, 4, 3, 4, 5], 5, season=3)
    assert list(out["mean"]) == [3, 4, 5, 3, 4]
    sigma = 1.0  # every lag-3 change is exactly 1
    widths = (out["hi-95"] - out["mean"]).to_numpy()
    assert widths == pytest.approx(Z95 * sigma * np.sqrt([1, 1, 1, 2, 2]))


def test_drift_extends_the_first_to_last_line() -> None:
    out = fit_predict("drift", [1, 2, 4, 7], 2)
    assert list(out["mean"]) == pytest.approx([9, 11])  # slope (7-1)/3 = 2
    # residuals of the steps around the slope: -1, 0, 1 -> sigma^2 = 2 / (3 - 1) = 1
    widths = (out["hi-95"] - out["mean"]).to_numpy()
    assert widths == pytest.approx(Z95 * np.sqrt([1 * (1 + 1 / 3), 2 * (1 + 2 / 3)]))


def test_mean_forecasts_the_average() -> None:
    y = [1.0, 2.0, 4.0, 7.0]
    out = fit_predict("mean", y, 2)
    assert list(out["mean"]) == pytest.approx([3.5, 3.5])
    width = Z95 * np.std(y, ddof=1) * math.sqrt(1 + 1 / 4)
    assert (out["hi-95"] - out["mean"]).to_numpy() == pytest.approx([width, width])


def test_naive2_continues_a_purely_multiplicative_season() -> None:
    pattern = np.array([0.8, 1.2, 1.0, 1.0])  # mean 1: the decomposition recovers it exactly
    y = list(100 * np.tile(pattern, 6))  # 24 points, next position is 0
    out = fit_predict("naive2", y, 6, season=4)
    assert out["mean"].to_numpy() == pytest.approx(100 * pattern[[0, 1, 2, 3, 0, 1]])
    # the adjusted series is flat: zero-width intervals
    assert out["hi-95"].to_numpy() == pytest.approx(out["mean"].to_numpy())


def test_naive2_is_naive_without_seasonality() -> None:
    rng = np.random.default_rng(3)
    y = list(50 + np.cumsum(rng.normal(size=40)))
    pd.testing.assert_frame_equal(fit_predict("naive2", y, 4, season=1), fit_predict("naive", y, 4))


def test_seasonality_test_and_indices_follow_r_decompose() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=60)
    assert not is_seasonal(noise + 10, 12)
    seasonal = 10 + np.tile([3.0, -3.0, 0.0, 0.0], 15) + 0.1 * noise
    assert is_seasonal(seasonal, 4)
    assert not is_seasonal(seasonal[:11], 4)  # fewer than three seasons: M4 never adjusts
    # Even period: centred 2x4 moving average; positions counted from the first observation.
    indices = multiplicative_seasonal_indices(100 + np.tile([10.0, -10.0, 5.0, -5.0], 6), 4)
    assert indices == pytest.approx(np.array([110, 90, 105, 95]) / 100, rel=1e-12)


def test_too_short_series_are_named() -> None:
    with pytest.raises(
        ForecastingError, match="series s has 2 observations; seasonal_naive needs at least 3"
    ):
        fit_predict("seasonal_naive", [1.0, 2.0], 1, season=3)


def test_bad_values_name_series_and_row() -> None:
    frame = pd.DataFrame({"unique_id": ["a", "a", "b"], "ds": [1, 2, 1], "y": [1.0, 2.0, "x"]})
    family = get_family("naive")
    with pytest.raises(ForecastingError, match=r"series b: value 'x' .*row 3"):
        family.fit(frame, family.parse_config({}), DataSpec("D", 1))


def test_integer_steps_forecast_integer_steps() -> None:
    frame = pd.DataFrame({"unique_id": "a", "ds": [10, 11, 12], "y": [1.0, 2.0, 3.0]})
    family = get_family("drift")
    out = family.fit(frame, family.parse_config({}), DataSpec("D", 1)).predict(2)
    assert list(out["ds"]) == [13, 14]
