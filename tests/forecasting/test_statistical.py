"""statsforecast families: the pinned specification refits to the very same forecasts, long
seasons are divided out, and mstl refuses data without a season."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.families import get_family
from helios.forecasting.models.statistical import StatisticalFitted


def seasonal_panel(count: int, length: int, period: int, seed: int = 0, noise: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(count):
        level = 100 + np.cumsum(rng.normal(scale=noise * (1 + i % 3), size=length))
        season = 1 + 0.2 * np.sin(2 * np.pi * (t + i) / period)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": pd.date_range("2015-01-04", periods=length, freq="W-SUN"),
                    "y": level * season,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def fit(name: str, data: pd.DataFrame, season: int, **config: object) -> StatisticalFitted:
    family = get_family(name)
    return family.fit(data, family.parse_config(config), DataSpec("W-SUN", season))  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("name", "season"), [("auto_ets", 4), ("auto_arima", 1), ("auto_theta", 4), ("mstl", 4)]
)
def test_refitting_the_pinned_spec_reproduces_the_search_exactly(name: str, season: int) -> None:
    data = seasonal_panel(3, 60, 4)
    fitted = fit(name, data, season)
    meta, arrays = fitted.to_state()
    rebuilt = type(fitted).from_state(meta, arrays)  # holds no statsforecast objects: it refits
    pd.testing.assert_frame_equal(rebuilt.predict(8, (80, 95)), fitted.predict(8, (80, 95)), check_exact=True)
    assert all("spec" in member for s in meta["series"] for member in s["params"]["members"])


def test_long_seasons_are_divided_out_for_ets_and_arima() -> None:
    data = seasonal_panel(2, 5 * 52, 52, seed=4, noise=0.1)
    fitted = fit("ensemble", data, 52, members=["ets", "arima", "theta"])
    members = fitted.series[0].params["members"]
    assert {m["method"]: m["season_length"] for m in members} == {"ets": 1, "arima": 1, "theta": 52}
    assert len(fitted.series[0].arrays["seasonal_indices"]) == 52  # the test found the yearly cycle
    forecast = fitted.predict(52, (95,))
    truth_shape = 1 + 0.2 * np.sin(2 * np.pi * np.arange(5 * 52, 6 * 52) / 52)
    # the forecast follows the seasonal shape rather than a flat line
    assert np.corrcoef(forecast.loc[forecast["unique_id"] == "s0", "mean"], truth_shape)[0, 1] > 0.8


def test_window_keeps_only_recent_history() -> None:
    fitted = fit("auto_ets", seasonal_panel(1, 80, 4), 1, window=30)
    assert len(fitted.series[0].arrays["y"]) == 30


def test_ensemble_combines_its_members() -> None:
    data = seasonal_panel(3, 48, 4, seed=2)
    parts = [fit(name, data, 1).predict(5) for name in ("auto_ets", "auto_theta")]
    combined = fit("ensemble", data, 1, members=["ets", "theta"]).predict(5)
    np.testing.assert_allclose(combined["mean"], (parts[0]["mean"] + parts[1]["mean"]) / 2, rtol=1e-12)
    np.testing.assert_allclose(combined["hi-95"], (parts[0]["hi-95"] + parts[1]["hi-95"]) / 2, rtol=1e-12)


def test_mstl_refuses_data_without_a_season() -> None:
    with pytest.raises(ForecastingError, match="mstl needs a seasonal period above 1"):
        fit("mstl", seasonal_panel(1, 40, 4), 1)


def test_a_series_no_model_can_fit_is_named() -> None:
    data = pd.DataFrame(
        {
            "unique_id": "tiny",
            "ds": pd.date_range("2020-01-05", periods=3, freq="W-SUN"),
            "y": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(ForecastingError, match="series tiny: auto_theta could not fit"):
        fit("auto_theta", data, 1)


# --- auto's validation windows: searched once, then re-estimated with the form pinned ---------

WINDOWS = [16, 8, 0]  # offsets, oldest window first, as auto passes them


@pytest.mark.parametrize(("name", "season"), [("auto_ets", 4), ("auto_theta", 4), ("mstl", 4)])
def test_validation_searches_at_the_earliest_window_and_pins_the_form_after(name: str, season: int) -> None:
    from helios.forecasting.backtest import backtest

    data = seasonal_panel(3, 80, 4, seed=3)
    family = get_family(name)
    config = family.parse_config({})
    spec = DataSpec("W-SUN", season)
    fast = family.backtest_forecasts(data, config, spec, 8, WINDOWS, (80,))  # type: ignore[attr-defined]
    slow = backtest(
        data, family, spec, 8, n_windows=3, config=config, levels=(80,), min_train_size=2
    ).forecasts
    columns = ["unique_id", "window", "step", "y", "mean", "lo-80", "hi-80"]
    fast, slow = fast[columns], slow[columns].reset_index(drop=True)
    # The earliest window is the same search on the same points: the same forecasts.
    first = slow["window"] == 0
    pd.testing.assert_frame_equal(fast[first].reset_index(drop=True), slow[first].reset_index(drop=True))
    assert len(fast) == len(slow) and (fast["y"] == slow["y"]).all()
    # The later windows refit the form found there on their own points.
    later, compared = fast[~first], 0
    for uid in data["unique_id"].unique():
        series = data[data["unique_id"] == uid]
        searched = fit(name, series.iloc[: len(series) - 16 - 8], season)
        head = series.iloc[: len(series) - 8 - 8]
        pinned = StatisticalFitted(searched.series, "W-SUN", season, searched.config)
        pinned.series[0].arrays["y"] = head["y"].to_numpy(dtype=float)
        pinned.series[0].arrays["seasonal_indices"] = searched.series[0].arrays["seasonal_indices"]
        if pinned.series[0].arrays["seasonal_indices"].size > 1:
            continue  # (long seasons only) the adjustment is re-estimated too; covered by the first window
        expected = pinned.predict(8, (80,))["mean"].to_numpy()
        got = later[(later["unique_id"] == uid) & (later["window"] == 1)]["mean"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9)
        compared += 1
    assert compared == 3


def test_validation_never_reads_past_each_window() -> None:
    data = seasonal_panel(2, 80, 4, seed=5)
    family = get_family("auto_ets")
    config, spec = family.parse_config({}), DataSpec("W-SUN", 4)
    before = family.backtest_forecasts(data, config, spec, 8, WINDOWS, ())  # type: ignore[attr-defined]
    # Change everything from the last window's first test point on: windows 0 and 1 must not move.
    last_test = data.groupby("unique_id").cumcount(ascending=False) < 8
    shocked = data.assign(y=np.where(last_test, data["y"] * 3 + 50, data["y"]))
    after = family.backtest_forecasts(shocked, config, spec, 8, WINDOWS, ())  # type: ignore[attr-defined]
    earlier = before["window"] < 2
    pd.testing.assert_frame_equal(before[earlier], after[earlier])
    assert not np.allclose(before[~earlier]["y"], after[~earlier]["y"])


def test_validation_skips_series_too_short_for_a_window() -> None:
    long, short = seasonal_panel(1, 80, 4), seasonal_panel(1, 20, 4, seed=9).assign(unique_id="short")
    data = pd.concat([long, short], ignore_index=True)
    family = get_family("auto_theta")
    frame = family.backtest_forecasts(data, family.parse_config({}), DataSpec("W-SUN", 4), 8, WINDOWS, ())  # type: ignore[attr-defined]
    # 20 points: 16 + 8 leaves nothing before the oldest window, so it starts at the next one.
    assert sorted(frame[frame["unique_id"] == "short"]["window"].unique()) == [1, 2]
    assert sorted(frame[frame["unique_id"] == "s0"]["window"].unique()) == [0, 1, 2]


def test_mstl_validation_confirms_seasons_on_the_past_whatever_the_row_order() -> None:
    """A weekly cycle only in the withheld tail must not be confirmed, newest-first rows or not;
    with no history before the earliest window the declared seasons stand."""
    from helios.forecasting.models.statistical import MSTLFamily

    hours = np.arange(24 * 7 * 6)
    rng = np.random.default_rng(1)
    y = 10 + np.sin(2 * np.pi * hours / 24) + rng.normal(0, 0.05, len(hours))
    tail = hours >= len(hours) - 24 * 7 * 2
    y[tail] += 3 * (hours[tail] % 168 < 48)  # weekends appear only in the last two weeks
    frame = pd.DataFrame(
        {"unique_id": "s", "ds": pd.date_range("2024-01-01", periods=len(hours), freq="h"), "y": y}
    )
    spec, withheld = DataSpec("h", 24), 24 * 7 * 2
    ordered = MSTLFamily._seasons_before(frame, ["mstl"], spec, 24, withheld)
    reversed_rows = MSTLFamily._seasons_before(frame.iloc[::-1], ["mstl"], spec, 24, withheld)
    assert 168 not in ordered and tuple(reversed_rows) == tuple(ordered)
    declared = DataSpec("h", 24, seasons=(24, 168))
    assert tuple(MSTLFamily._seasons_before(frame, ["mstl"], declared, 24, len(hours) + 1)) == (24, 168)
