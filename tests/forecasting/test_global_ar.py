"""The global linear autoregression (``models/linear.py``): one set of ridge weights across every
series, all steps at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.families import get_family
from helios.forecasting.models.linear import default_lookback
from tests.forecasting.test_multiseasonal import hourly_panel, mean_mase, split_last

HORIZON = 24
SPEC = DataSpec("h", 24)


def fit(train: pd.DataFrame, **settings: object) -> object:
    family = get_family("global_ar")
    return family.fit(train, family.parse_config({"horizon": HORIZON, **settings}), SPEC)


def test_the_lookback_is_the_longest_run_of_cycles_the_data_can_teach() -> None:
    assert default_lookback([24, 168], 48, [960] * 100) == 504  # three weeks of hours
    assert default_lookback([24, 168], 48, [700] * 100) == 336  # two: 504 + 48 > 60% of 700
    assert default_lookback([24, 168], 48, [960] * 7) == 336  # 7 series: too few windows for 504
    assert default_lookback([24, 168], 48, [960] * 2) == 96  # 2 series: two horizons, not a week
    assert default_lookback([24, 168], 48, [200]) == 24  # too few windows for any: the shortest
    assert default_lookback([7, 365], 14, [1000] * 50) == 365
    assert default_lookback([], 12, [100] * 50) == 24  # no season: two horizons
    assert default_lookback([52], 13, [30]) == 5  # nothing fits: the room there is


def test_global_ar_learns_both_cycles_and_beats_seasonal_naive() -> None:
    """Forecasting a Saturday from a Friday: the day's shape repeats, the weekend drop comes
    from a week back, which seasonal naive on the day misses."""
    panel = hourly_panel(series=10, hours=24 * (7 * 6 - 1), weekly=6.0, seed=2)  # ends on a Saturday
    train, test = split_last(panel, HORIZON)
    forecast = fit(train).predict(HORIZON, (80, 95))
    naive = get_family("seasonal_naive").fit(train, {}, SPEC).predict(HORIZON, ())
    assert mean_mase(forecast, test, train) < 0.5 * mean_mase(naive, test, train)
    assert (forecast["lo-95"] <= forecast["lo-80"]).all() and (forecast["lo-80"] < forecast["mean"]).all()
    assert (forecast["hi-95"] >= forecast["hi-80"]).all()
    stamps = test.groupby("unique_id")["ds"].apply(list)
    assert forecast.groupby("unique_id")["ds"].apply(list).equals(stamps)


def test_a_saved_global_ar_forecasts_as_it_did_and_past_its_horizon() -> None:
    train, _ = split_last(hourly_panel(series=6, seed=3), HORIZON)
    fitted = fit(train)
    again = type(fitted).from_state(*fitted.to_state())
    pd.testing.assert_frame_equal(again.predict(HORIZON * 3), fitted.predict(HORIZON * 3))
    longer = fitted.predict(HORIZON * 3, ())
    assert longer.groupby("unique_id").size().eq(HORIZON * 3).all()
    assert np.isfinite(longer["mean"]).all()
    first = fitted.predict(HORIZON, ())
    np.testing.assert_allclose(  # the first horizon is the same forecast, the rest fed back
        longer.groupby("unique_id").head(HORIZON)["mean"].to_numpy(), first["mean"].to_numpy()
    )


def test_global_ar_is_scale_free_across_series() -> None:
    """The same shapes at scales 1 and 1,000,000 forecast the same, scaled: each series is taken
    in its own units, so the large one does not swamp the weights."""
    train, _ = split_last(hourly_panel(series=6, seed=4), HORIZON)
    big = train.assign(y=np.where(train["unique_id"] == "s0", train["y"] * 1e6, train["y"]))
    small, large = fit(train).predict(HORIZON, ()), fit(big).predict(HORIZON, ())
    np.testing.assert_allclose(large["mean"].to_numpy()[:HORIZON] / 1e6, small["mean"].to_numpy()[:HORIZON])


def test_validation_forecasts_never_read_past_their_origin() -> None:
    panel = hourly_panel(series=6, seed=5)
    family = get_family("global_ar")
    config = family.parse_config({"horizon": HORIZON})
    offsets = [2 * HORIZON, HORIZON, 0]
    before = family.backtest_forecasts(panel, config, SPEC, HORIZON, offsets)
    last_window = panel.groupby("unique_id").cumcount(ascending=False) < HORIZON
    changed = panel.assign(y=np.where(last_window, panel["y"] * 50, panel["y"]))
    after = family.backtest_forecasts(changed, config, SPEC, HORIZON, offsets)
    np.testing.assert_allclose(after["mean"], before["mean"])  # every window, the last one too
    assert not np.allclose(after["y"], before["y"])
    assert sorted(before["window"].unique()) == [0, 1, 2]


def test_global_ar_says_when_the_series_are_too_short() -> None:
    train, _ = split_last(hourly_panel(series=2, hours=40), 0)
    with pytest.raises(ForecastingError, match="complete windows"):
        fit(train, lookback=30)


def test_auto_validates_global_ar_and_blends_it_with_gbm() -> None:
    train, _ = split_last(hourly_panel(series=6, seed=6), HORIZON)
    auto = get_family("auto")
    config = auto.parse_config(
        {
            "candidates": ["seasonal_naive@24", "gbm", "global_ar"],
            "candidate_configs": {
                "seasonal_naive@24": {"season_length": 24},
                "gbm": {"horizon": HORIZON, "n_estimators": 50, "calibration_windows": 0},
                "global_ar": {"horizon": HORIZON},
            },
            "blends": ["gbm+global_ar"],
            "horizon": HORIZON,
        }
    )
    fitted = auto.fit(train, config, SPEC)
    assert {"global_ar", "gbm+global_ar"} <= set(fitted.scores.columns)
    assert np.isfinite(fitted.scores["global_ar"]).all()
    forecast = fitted.predict(HORIZON, (95,))
    assert np.isfinite(forecast[["mean", "lo-95", "hi-95"]].to_numpy()).all()
    assert "global_ar" in fitted.costs


def test_flat_series_forecast_their_level_with_no_spread_among_moving_ones() -> None:
    """A series that never moves has no units to learn in (its scale falls back to 1): it is
    left out of the fit and forecast at its level with zero width, alone or among others."""
    stamps = pd.date_range("2024-01-01", periods=24 * 30, freq="h")

    def flat(value: float, uid: str) -> pd.DataFrame:
        return pd.DataFrame({"unique_id": uid, "ds": stamps, "y": value})

    only_flat = pd.concat([flat(10.0 * (i + 1), f"f{i}") for i in range(3)], ignore_index=True)
    forecast = fit(only_flat).predict(HORIZON, (95,))
    np.testing.assert_allclose(forecast.groupby("unique_id")["mean"].mean(), [10.0, 20.0, 30.0])
    train, _ = split_last(hourly_panel(series=6, hours=24 * 30, seed=7), 0)
    mixed = pd.concat([train, flat(0.1, "f0"), flat(1 / 3, "f1")], ignore_index=True)
    fitted = fit(mixed)
    forecast = fitted.predict(HORIZON, (95,)).set_index("unique_id")
    for uid, value in (("f0", 0.1), ("f1", 1 / 3)):
        np.testing.assert_allclose(forecast.loc[uid, ["mean", "lo-95", "hi-95"]].to_numpy(), value)
    assert (forecast.loc["s0", "hi-95"] > forecast.loc["s0", "mean"]).all()
    again = type(fitted).from_state(*fitted.to_state()).predict(HORIZON, (95,))
    pd.testing.assert_frame_equal(again.set_index("unique_id"), forecast)


def test_fewer_windows_than_weights_is_refused_and_no_ridge_takes_the_least_norm_weights() -> None:
    train, test = split_last(hourly_panel(series=1, hours=200), HORIZON)
    with pytest.raises(ForecastingError, match="weights"):
        fit(train, lookback=150)  # 27 windows for 151 weights: intervals would be ~0
    cycle = np.tile(np.sin(2 * np.pi * np.arange(24) / 24), 30)  # every window repeats the first
    stamps = pd.date_range("2024-01-01", periods=len(cycle), freq="h")
    repeated = pd.DataFrame({"unique_id": "c", "ds": stamps, "y": 5 + cycle})
    forecast = fit(repeated, ridge=0.0, lookback=48).predict(HORIZON, ())
    np.testing.assert_allclose(forecast["mean"].to_numpy(), 5 + cycle[:HORIZON], atol=1e-6)


def test_an_empty_frame_is_a_forecasting_error_for_validation_too() -> None:
    family = get_family("global_ar")
    empty = pd.DataFrame({"unique_id": [], "ds": [], "y": []})
    with pytest.raises(ForecastingError, match="no rows"):
        family.backtest_forecasts(empty, family.parse_config({}), SPEC, HORIZON, [0])


def test_in_log_units_a_cycle_that_grows_with_the_level_is_one_shape() -> None:
    """Series whose daily swing is a share of their level, one of them near zero at night:
    on levels one set of weights learns an average amplitude; on logs it is one shape, bounds
    stay positive, and the series that can go negative is modelled as it is."""
    rng = np.random.default_rng(4)
    hours = np.arange(24 * 60)
    frames = []
    for i in range(12):
        level = 10.0 * (1 + i) * np.exp(np.cumsum(rng.normal(0, 0.01, len(hours))))
        values = level * (1 + 0.9 * np.sin(2 * np.pi * hours / 24)) * rng.lognormal(0, 0.05, len(hours))
        stamps = pd.date_range("2024-01-01", periods=len(hours), freq="h")
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": values}))
    signed = frames[0].assign(unique_id="signed", y=frames[0]["y"] - 15.0)
    panel = pd.concat([*frames, signed], ignore_index=True)
    train, test = split_last(panel, HORIZON)
    logged, levels = fit(train, transform="log"), fit(train)
    positive = train["unique_id"] != "signed"
    forecast = logged.predict(HORIZON, (95,))
    assert (forecast[forecast["unique_id"] != "signed"]["lo-95"] > 0).all()
    assert (forecast[forecast["unique_id"] == "signed"]["lo-95"] < 0).any()  # levels there
    scored = test[test["unique_id"] != "signed"]
    assert mean_mase(forecast[forecast["unique_id"] != "signed"], scored, train[positive]) < 0.95 * mean_mase(
        levels.predict(HORIZON, ())[lambda f: f["unique_id"] != "signed"], scored, train[positive]
    )
    again = type(logged).from_state(*logged.to_state())  # the floors travel with the arrays
    pd.testing.assert_frame_equal(again.predict(HORIZON, (95,)), forecast)
    offsets = [HORIZON, 0]
    family, config = (
        get_family("global_ar"),
        get_family("global_ar").parse_config({"horizon": HORIZON, "transform": "log"}),
    )
    frame = family.backtest_forecasts(train, config, SPEC, HORIZON, offsets, (80,))  # type: ignore[attr-defined]
    assert (frame[frame["unique_id"] != "signed"]["lo-80"] > 0).all()
