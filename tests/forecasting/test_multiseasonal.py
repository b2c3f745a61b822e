"""Hourly data with daily and weekly cycles: seasons found on the data, the global gbm model,
and ``auto`` never worse than seasonal naive with intervals that cover what they claim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family
from helios.forecasting.frequency import candidate_seasons
from helios.forecasting.metrics import mase
from helios.forecasting.seasonality import confirm_seasons, data_seasons

HORIZON = 24


def hourly_panel(
    series: int = 8, hours: int = 24 * 7 * 6, weekly: float = 3.0, seed: int = 0
) -> pd.DataFrame:
    """Daily shape plus (optionally) a weekend drop, a slow random level and noise, per series
    at its own scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    stamps = pd.date_range("2024-01-01", periods=hours, freq="h")  # a Monday
    frames = []
    for i in range(series):
        daily = 4 * np.sin(2 * np.pi * (t + i) / 24) + 2 * np.sin(4 * np.pi * t / 24)
        weekend = -weekly * ((t // 24) % 7 >= 5)
        level = 50 + np.cumsum(rng.normal(0, 0.05, hours))
        y = (1 + i / 4) * (level + daily + weekend + rng.normal(0, 1.0, hours))
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": y}))
    return pd.concat(frames, ignore_index=True)


def split_last(panel: pd.DataFrame, points: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from_end = panel.groupby("unique_id").cumcount(ascending=False)
    return panel[from_end >= points], panel[from_end < points]


def mean_mase(forecast: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame) -> float:
    values = []
    for uid, actual in test.groupby("unique_id"):
        f = forecast.loc[forecast["unique_id"] == uid, "mean"].to_numpy()
        values.append(
            mase(actual["y"].to_numpy(), f, train.loc[train["unique_id"] == uid, "y"].to_numpy(), 24)
        )
    return float(np.mean(values))


# --- seasons -------------------------------------------------------------------------------------


def test_hourly_data_is_tested_for_days_and_weeks() -> None:
    assert candidate_seasons("h") == (24, 168)
    assert candidate_seasons("D") == (7, 365)


def test_a_weekly_cycle_is_confirmed_only_where_the_data_has_one() -> None:
    with_weeks = [g["y"].to_numpy() for _, g in hourly_panel(4, weekly=3.0).groupby("unique_id")]
    days_only = [g["y"].to_numpy() for _, g in hourly_panel(4, weekly=0.0).groupby("unique_id")]
    assert confirm_seasons(with_weeks, (24, 168)) == (24, 168)
    assert confirm_seasons(days_only, (24, 168)) == (24,)
    # The test is at 90%: one noise series in ten passes it, so the panel votes.
    noise = list(np.random.default_rng(1).normal(size=(5, 1000)))
    assert confirm_seasons(noise, (24, 168)) == ()


def test_declared_seasons_are_kept_and_listed_ones_win() -> None:
    panel = hourly_panel(2, weekly=0.0)
    assert data_seasons(panel, DataSpec("h", 24)) == (24,)
    assert data_seasons(panel, DataSpec("h", 24, seasons=(24, 168))) == (24, 168)
    assert data_seasons(panel[:100], DataSpec("h", 24)) == (24,)  # too short to test: declared only


def test_seasonal_naive_can_average_the_last_seasons() -> None:
    family = get_family("seasonal_naive")
    y = [1.0, 2.0, 3.0, 2.0, 4.0, 5.0]
    frame = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2024-01-01", periods=6, freq="D"), "y": y})
    fitted = family.fit(frame, family.parse_config({"average": 2}), DataSpec("D", 3))
    assert list(fitted.predict(3)["mean"]) == [1.5, 3.0, 4.0]


# --- gbm -----------------------------------------------------------------------------------------


def test_gbm_learns_both_cycles_across_series() -> None:
    train, test = split_last(hourly_panel(), HORIZON * 2)
    spec = DataSpec("h", 24)
    gbm = get_family("gbm")
    forecast = gbm.fit(train, gbm.parse_config({"horizon": HORIZON * 2, "n_estimators": 150}), spec).predict(
        HORIZON * 2, (95,)
    )
    naive = get_family("seasonal_naive")
    baseline = naive.fit(train, naive.parse_config({}), spec).predict(HORIZON * 2, (95,))
    assert mean_mase(forecast, test, train) < 0.8 * mean_mase(baseline, test, train)
    assert (forecast["lo-95"] < forecast["mean"]).all() and (forecast["mean"] < forecast["hi-95"]).all()


def test_gbm_validation_forecasts_never_read_past_their_origin() -> None:
    panel = hourly_panel(3)
    gbm = get_family("gbm")
    config = gbm.parse_config({"n_estimators": 20, "calibration_windows": 0})
    offsets = [HORIZON, 0]
    before = gbm.backtest_forecasts(panel, config, DataSpec("h", 24), HORIZON, offsets)
    # Changing the points after the last origin's test window changes nothing before it.
    poisoned = panel.copy()
    last = poisoned.groupby("unique_id").cumcount(ascending=False) < HORIZON
    poisoned.loc[last, "y"] = 1e6
    after = gbm.backtest_forecasts(poisoned, config, DataSpec("h", 24), HORIZON, offsets)
    first = before["window"] == 0
    # Scaling was fitted on the points before the earliest window only, so window 0 is unchanged.
    np.testing.assert_allclose(after.loc[first, "mean"], before.loc[first, "mean"])


# --- auto ----------------------------------------------------------------------------------------

CANDIDATES = ["seasonal_naive@24", "seasonal_naive@168", "naive", "gbm"]
CANDIDATE_CONFIGS = {
    "seasonal_naive@24": {"season_length": 24},
    "seasonal_naive@168": {"season_length": 168},
    "gbm": {"n_estimators": 100, "calibration_windows": 0},
}


def fit_auto(train: pd.DataFrame, horizon: int = HORIZON) -> object:
    family = get_family("auto")
    config = {
        "candidates": CANDIDATES,
        "candidate_configs": CANDIDATE_CONFIGS,
        "horizon": horizon,
        "n_windows": 4,
    }
    return family.fit(train, family.parse_config(config), DataSpec("h", 24))


@pytest.mark.parametrize("seed", [0, 1])
def test_auto_is_never_worse_than_seasonal_naive_on_multiseasonal_series(seed: int) -> None:
    panel = hourly_panel(seed=seed)
    train, test = split_last(panel, HORIZON)
    fitted = fit_auto(train)
    spec = DataSpec("h", 24)
    scores = {"auto": mean_mase(fitted.predict(HORIZON), test, train)}
    for m in (24, 168):
        family = get_family("seasonal_naive")
        baseline = family.fit(train, family.parse_config({"season_length": m}), spec).predict(HORIZON)
        scores[f"seasonal_naive@{m}"] = mean_mase(baseline, test, train)
    assert scores["auto"] <= min(scores["seasonal_naive@24"], scores["seasonal_naive@168"]), scores
    assert all(uid in fitted.explanations and fitted.explanations[uid] for uid in fitted.choices)
    assert set(fitted.costs) == set(CANDIDATES)


def test_auto_intervals_cover_what_they_claim() -> None:
    """Rolling origins after training: the 95% interval covers 90-99% of what happened and the
    80% one 72-88% (the guarantee is on average; a few origins on synthetic data leave slack)."""
    panel = hourly_panel(series=10, seed=3)
    hits = {80: [], 95: []}
    for origin_from_end in (3 * HORIZON, 2 * HORIZON, HORIZON):
        from_end = panel.groupby("unique_id").cumcount(ascending=False)
        train = panel[from_end >= origin_from_end]
        test = panel[(from_end < origin_from_end) & (from_end >= origin_from_end - HORIZON)]
        forecast = fit_auto(train).predict(HORIZON, (80, 95))
        joined = forecast.assign(step=forecast.groupby("unique_id").cumcount()).merge(
            test.assign(step=test.groupby("unique_id").cumcount()), on=["unique_id", "step"]
        )
        for level in hits:
            inside = (joined["y"] >= joined[f"lo-{level}"]) & (joined["y"] <= joined[f"hi-{level}"])
            hits[level].extend(inside.tolist())
    assert 0.90 <= np.mean(hits[95]) <= 0.99, np.mean(hits[95])
    assert 0.72 <= np.mean(hits[80]) <= 0.88, np.mean(hits[80])
