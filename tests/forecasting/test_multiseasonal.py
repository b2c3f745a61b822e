"""Hourly data with daily and weekly cycles: seasons found on the data, the global gbm model,
and ``auto`` never worse than seasonal naive with intervals that cover what they claim."""

from __future__ import annotations

from pathlib import Path

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


def test_direct_gbm_rows_read_only_what_precedes_their_origin() -> None:
    from helios.forecasting.gbm_features import FeatureLayout, direct_rows

    z = np.random.default_rng(3).normal(size=(3, 400))
    steps, origin, ahead = np.zeros(3, dtype=np.int64), 300, np.arange(48)
    layout = FeatureLayout((1, 2, 24, 168), (24, 168), anchor=24, profiles=(3, 7), strategy="direct")
    rows, level = direct_rows(z, steps, layout, origin, ahead)
    poisoned = z.copy()
    poisoned[:, origin:] = 1e6
    again, level_again = direct_rows(poisoned, steps, layout, origin, ahead)
    np.testing.assert_array_equal(rows, again)
    np.testing.assert_array_equal(level, level_again)
    assert rows.shape == (3 * 48, len(rows[0])) and np.isfinite(rows).all()


def test_direct_gbm_forecasts_every_step_at_once_and_saves_without_drift() -> None:
    """``strategy="direct"``: beats seasonal naive on both cycles like the recursive model, its
    intervals hold their mean, a saved model forecasts the same, and it answers past the horizon
    it was trained for."""
    train, test = split_last(hourly_panel(), HORIZON * 2)
    spec, gbm = DataSpec("h", 24), get_family("gbm")
    config = gbm.parse_config(
        {"horizon": HORIZON * 2, "n_estimators": 100, "strategy": "direct", "profiles": [3, 7]}
    )
    fitted = gbm.fit(train, config, spec)
    forecast = fitted.predict(HORIZON * 2, (95,))
    naive = get_family("seasonal_naive")
    baseline = naive.fit(train, naive.parse_config({}), spec).predict(HORIZON * 2, (95,))
    assert mean_mase(forecast, test, train) < 0.8 * mean_mase(baseline, test, train)
    assert (forecast["lo-95"] < forecast["mean"]).all() and (forecast["mean"] < forecast["hi-95"]).all()
    meta, arrays = fitted.to_state()
    reloaded = type(fitted).from_state(meta, arrays).predict(HORIZON * 2, (95,))
    pd.testing.assert_frame_equal(reloaded, forecast)
    longer = fitted.predict(HORIZON * 3, (95,))
    assert len(longer) == 8 * HORIZON * 3 and np.isfinite(longer["mean"]).all()
    assert fitted.settings["strategy"] == "direct"
    recursive = gbm.fit(train, config.model_copy(update={"strategy": "recursive"}), spec).predict(HORIZON * 2)
    assert not np.allclose(recursive["mean"], forecast["mean"])


def test_direct_gbm_rows_carry_the_target_hours_latest_value_and_profile() -> None:
    from helios.forecasting.gbm_features import FeatureLayout, direct_names, direct_rows

    z = np.arange(2 * 400, dtype=float).reshape(2, 400)  # each column's value is its position
    layout, origin = FeatureLayout((1, 24), (24, 168), profiles=(3,), strategy="direct"), 380
    ahead = np.array([0, 5, 30])
    rows, _ = direct_rows(z, np.zeros(2, dtype=np.int64), layout, origin, ahead)
    named = dict(zip(direct_names(layout), rows[: len(ahead)].T, strict=True))
    # The newest same hour already seen: a day back for step 0 and 5, two days back for step 30.
    np.testing.assert_array_equal(named["target_last24"], [380 - 24, 385 - 24, 410 - 48])
    np.testing.assert_array_equal(named["target_last168"], [380 - 168, 385 - 168, 410 - 168])
    np.testing.assert_array_equal(named["target_profile24x3"], [380 - 48, 385 - 48, 410 - 72])
    np.testing.assert_array_equal(named["step"], ahead)


def test_direct_gbm_says_what_is_wrong_with_its_settings_or_data() -> None:
    from pydantic import ValidationError

    from helios.forecasting.base import ForecastingError

    gbm = get_family("gbm")
    for bad in ({"profiles": [0]}, {"profiles": [500]}, {"profiles": [1, 2, 3, 4, 5]}):
        with pytest.raises(ValidationError):
            gbm.parse_config(bad)
    with pytest.raises(ValidationError, match="learns levels"):
        gbm.parse_config({"strategy": "direct", "target": "seasonal_difference"})
    short = hourly_panel(series=30, hours=10)
    config = gbm.parse_config({"strategy": "direct", "n_estimators": 5, "horizon": 12})
    with pytest.raises(ForecastingError, match="too short"):
        gbm.fit(short, config, DataSpec("h", 24))


def test_a_gbm_saved_before_profiles_and_strategies_existed_forecasts_as_it_did() -> None:
    train, _ = split_last(hourly_panel(series=3), HORIZON)
    gbm = get_family("gbm")
    fitted = gbm.fit(train, gbm.parse_config({"horizon": HORIZON, "n_estimators": 20}), DataSpec("h", 24))
    meta, arrays = fitted.to_state()
    old = {key: value for key, value in meta["settings"].items() if key not in ("profiles", "strategy")}
    reloaded = type(fitted).from_state(meta | {"settings": old}, arrays)
    pd.testing.assert_frame_equal(reloaded.predict(HORIZON), fitted.predict(HORIZON))


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


# --- gbm on trending series, auto's pooled choice and cross-fitted intervals (2026-12-02) --------


def trending_panel(series: int = 10, hours: int = 24 * 7 * 5, seed: int = 5) -> pd.DataFrame:
    """A daily shape on a level that keeps rising: the last days lie above every level seen."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    stamps = pd.date_range("2024-01-01", periods=hours, freq="h")
    frames = []
    for i in range(series):
        daily = 4 * np.sin(2 * np.pi * (t + i) / 24)
        y = (1 + i / 3) * (20 + 0.05 * (1 + i / series) * t + daily + rng.normal(0, 0.5, hours))
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": y}))
    return pd.concat(frames, ignore_index=True)


def test_anchored_gbm_follows_a_trend_past_the_levels_it_was_trained_on() -> None:
    train, test = split_last(trending_panel(), HORIZON * 2)
    spec = DataSpec("h", 24)
    gbm = get_family("gbm")
    scores = {}
    for target in ("anchored", "level"):
        config = gbm.parse_config({"horizon": HORIZON * 2, "n_estimators": 150, "target": target})
        scores[target] = mean_mase(gbm.fit(train, config, spec).predict(HORIZON * 2), test, train)
    naive = get_family("seasonal_naive")
    scores["seasonal_naive"] = mean_mase(
        naive.fit(train, naive.parse_config({}), spec).predict(HORIZON * 2), test, train
    )
    assert scores["anchored"] < 0.7 * scores["seasonal_naive"], scores
    assert scores["anchored"] < 0.7 * scores["level"], scores


def test_gbm_follows_the_calendar_week_even_when_the_test_does_not_confirm_it() -> None:
    panel = hourly_panel(series=3, hours=24 * 7 * 4, weekly=0.0)
    gbm = get_family("gbm")
    spec = DataSpec("h", 24)
    calendar = gbm.fit(panel, gbm.parse_config({"n_estimators": 10, "seasons": "calendar"}), spec)
    data = gbm.fit(panel, gbm.parse_config({"n_estimators": 10, "seasons": "data"}), spec)
    assert calendar.settings["seasons"] == [24, 168] and 168 in calendar.settings["lags"]
    assert data.settings["seasons"] == [24]


def test_auto_fits_a_global_candidate_on_every_series() -> None:
    train, _ = split_last(trending_panel(), HORIZON)
    family = get_family("auto")
    config = {
        "candidates": ["seasonal_naive@24", "gbm"],
        "candidate_configs": {"seasonal_naive@24": {"season_length": 24}, **CANDIDATE_CONFIGS},
        "horizon": HORIZON,
    }
    fitted = family.fit(train, family.parse_config(config), DataSpec("h", 24))
    assert "gbm" in fitted.members
    assert set(fitted.members["gbm"].unique_ids) == set(train["unique_id"])  # not only its choosers
    assert len(fitted.predict(HORIZON)) == HORIZON * train["unique_id"].nunique()


def test_the_gbm_validation_booster_forecasts_from_each_series_end_without_training_on_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``validation_fit`` hands back the booster validation used, its inputs slid to the end of
    every series: the last points change its forecast (it reads them), not its trees."""
    from helios.forecasting.models import gbm as gbm_module

    monkeypatch.setattr(gbm_module, "REUSE_FROM_POINTS", 0)  # a large panel, as far as gbm knows
    gbm = get_family("gbm")
    train = trending_panel(series=4)
    changed = train.copy()
    late = changed.groupby("unique_id").cumcount(ascending=False) < 2 * HORIZON
    changed.loc[late, "y"] += 50
    config = gbm.parse_config({"n_estimators": 30, "calibration_windows": 0, "horizon": HORIZON})
    frame, before = gbm.validation_fit(train, config, DataSpec("h", 24), HORIZON, [HORIZON, 0])
    _, after = gbm.validation_fit(changed, config, DataSpec("h", 24), HORIZON, [HORIZON, 0])
    assert before.booster_text == after.booster_text
    pd.testing.assert_frame_equal(
        frame, gbm.backtest_forecasts(train, config, DataSpec("h", 24), HORIZON, [HORIZON, 0])
    )
    forecast, moved = before.predict(HORIZON, (80,)), after.predict(HORIZON, (80,))
    starts = forecast.groupby("unique_id")["ds"].min()
    assert (starts == train.groupby("unique_id")["ds"].max() + pd.Timedelta(hours=1)).all()
    assert (moved["mean"] - forecast["mean"]).mean() > 25
    assert (forecast["lo-80"] < forecast["mean"]).all() and (forecast["mean"] < forecast["hi-80"]).all()


def test_auto_trains_gbm_once_and_forecasts_the_end_with_the_validation_booster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from helios.forecasting.artifacts import load_fitted, save_fitted
    from helios.forecasting.models import gbm as gbm_module
    from helios.forecasting.models.gbm import GBMPanel

    trained_on: list[int] = []
    train_booster = GBMPanel.train

    def counted(self: GBMPanel, config: object, z: np.ndarray) -> object:
        trained_on.append(z.shape[1])
        return train_booster(self, config, z)

    monkeypatch.setattr(GBMPanel, "train", counted)
    monkeypatch.setattr(gbm_module, "REUSE_FROM_POINTS", 0)  # a large panel, as far as gbm knows
    train, _ = split_last(trending_panel(), HORIZON)
    family = get_family("auto")
    config = {
        "candidates": CANDIDATES,
        "candidate_configs": CANDIDATE_CONFIGS,
        "horizon": HORIZON,
        "n_windows": 4,
        "selection": "combine",
        "top_k": 5,  # every series keeps gbm
    }
    fitted = family.fit(train, family.parse_config(config), DataSpec("h", 24))
    longest = int(train.groupby("unique_id").size().max())
    assert trained_on == [longest - 4 * HORIZON]  # one booster, on what precedes the first window
    assert "final_fit_s" not in fitted.costs["gbm"]
    forecast = fitted.members["gbm"].predict(HORIZON)
    starts = forecast.groupby("unique_id")["ds"].min()
    assert (starts == train.groupby("unique_id")["ds"].max() + pd.Timedelta(hours=1)).all()
    save_fitted(fitted, tmp_path / "auto")
    pd.testing.assert_frame_equal(
        load_fitted(tmp_path / "auto").predict(HORIZON, (80, 95)), fitted.predict(HORIZON, (80, 95))
    )
    config["reuse_validation_fit"] = False
    trained_on.clear()
    family.fit(train, family.parse_config(config), DataSpec("h", 24))
    assert trained_on == [longest - 4 * HORIZON, longest]  # and again on all the data when asked
    monkeypatch.setattr(gbm_module, "REUSE_FROM_POINTS", len(train) + 1)
    config["reuse_validation_fit"] = True
    trained_on.clear()
    refitted = family.fit(train, family.parse_config(config), DataSpec("h", 24))
    assert trained_on == [longest - 4 * HORIZON, longest]  # a small panel: the refit is cheap
    assert "final_fit_s" in refitted.costs["gbm"]


def test_fixed_pooling_pulls_every_series_towards_the_panel() -> None:
    from helios.forecasting.auto_validation import pool_scores

    scores = pd.DataFrame({"a": [0.8, 1.2, 0.9], "b": [1.2, 0.8, np.inf]}, index=["x", "y", "z"])
    pd.testing.assert_frame_equal(pool_scores(scores, 0.0), scores)
    whole = pool_scores(scores, 1.0)
    assert (whole["a"] == 0.9).all() and whole.loc["x", "b"] == whole.loc["y", "b"] == 1.0
    assert whole.loc["z", "b"] == np.inf  # a candidate that failed on a series stays out
    assert pool_scores(scores, 0.5).loc["x", "a"] == pytest.approx(0.85)


def test_crossfitted_intervals_are_calibrated_on_choices_that_never_saw_those_errors() -> None:
    train, _ = split_last(hourly_panel(series=10, seed=3), HORIZON)
    family = get_family("auto")
    widths = {}
    for calibration in ("same", "crossfit"):
        config = {
            "candidates": CANDIDATES,
            "candidate_configs": CANDIDATE_CONFIGS,
            "horizon": HORIZON,
            "calibration": calibration,
            "interval_unit": "scale",
        }
        forecast = family.fit(train, family.parse_config(config), DataSpec("h", 24)).predict(HORIZON, (95,))
        widths[calibration] = float((forecast["hi-95"] - forecast["lo-95"]).mean())
    # The errors of a choice made on other windows are not shrunk by the choice: wider bounds.
    assert widths["crossfit"] >= widths["same"], widths


def test_evidence_pooling_keeps_clear_choices_and_settles_noisy_ones_by_the_panel() -> None:
    from helios.forecasting.auto_validation import evidence_pooled_scores, relative_scores

    rows = []
    windows_b = {  # "b" against "a" (sMAPE and MASE 1.0) per window
        "clear": [0.3, 0.32, 0.28, 0.3],  # b is far better on every window: stands
        "noisy": [0.5, 1.6, 0.4, 1.4],  # b slightly better on average, windows disagree
        **{f"like{i}": [1.3, 1.5, 1.2, 1.4] for i in range(20)},  # the panel: a is better
    }
    for uid, values in windows_b.items():
        for window, value in enumerate(values):
            rows.append((uid, "a", window, 1.0, 1.0))
            rows.append((uid, "b", window, value, value))
    metrics = pd.DataFrame(rows, columns=["unique_id", "candidate", "window", "smape", "mase"])
    scores = relative_scores(metrics)
    assert scores.loc["noisy", "b"] < scores.loc["noisy", "a"]  # alone, the noisy series picks b
    pooled = evidence_pooled_scores(metrics, scores)
    assert pooled.loc["clear", "b"] < pooled.loc["clear", "a"]
    assert pooled.loc["noisy", "a"] < pooled.loc["noisy", "b"]


def test_gbm_scales_each_series_by_its_seasonal_naive_error_falling_back_to_its_spread() -> None:
    from helios.forecasting.gbm_features import Standardiser

    t = np.arange(96, dtype=float)
    rows = np.stack([10 + np.sin(2 * np.pi * t / 24) + 0.01 * t, np.tile([1.0, 3.0], 48)])
    seasonal = Standardiser.fit(rows, season=24)
    assert seasonal.scale[0] == pytest.approx(0.24)  # each day 0.01 x 24 above the one before
    assert seasonal.scale[1] == pytest.approx(1.0)  # repeats exactly over the day: its spread
    assert Standardiser.fit(rows).scale[0] == pytest.approx(np.std(rows[0]))


def test_gbm_forecasts_a_smooth_series_among_noisy_ones_in_its_own_units() -> None:
    """One model over noisy series and smooth ones: in spread units the noisy series' corrections
    swamp the smooth ones' hour-to-hour changes; in seasonal-naive units they do not."""
    rng = np.random.default_rng(3)
    hours = 24 * 7 * 5
    t = np.arange(hours)
    stamps = pd.date_range("2024-01-01", periods=hours, freq="h")
    frames = []
    for i in range(12):
        smooth = i < 3
        cycle = 5 * np.sin(2 * np.pi * (t + 3 * i) / 24) * (1 + 0.2 * np.sin(2 * np.pi * t / (24 * 30)))
        noise = rng.normal(0, 0.02 if smooth else 3.0, hours)
        y = 50 + (1 + i / 6) * (cycle + noise)
        frames.append(
            pd.DataFrame({"unique_id": f"{'smooth' if smooth else 'noisy'}{i}", "ds": stamps, "y": y})
        )
    train, test = split_last(pd.concat(frames, ignore_index=True), HORIZON)
    smooth_test = test[test["unique_id"].str.startswith("smooth")]
    spec, gbm = DataSpec("h", 24), get_family("gbm")

    def smooth_mase(scaling: str) -> float:
        config = gbm.parse_config({"horizon": HORIZON, "n_estimators": 150, "scaling": scaling})
        return mean_mase(gbm.fit(train, config, spec).predict(HORIZON, ()), smooth_test, train)

    assert smooth_mase("seasonal_error") < 0.7 * smooth_mase("spread")


# --- nbeats as an auto candidate: one network per auto fit (2026-12-03) --------------------------

TINY_NBEATS = {
    "horizon": HORIZON,
    "hidden_size": 16,
    "layers": 2,
    "blocks": 2,
    "epochs": 2,
    "steps_per_epoch": 3,
    "batch_size": 64,
    "seed": 1,
}


def fit_auto_with_nbeats(train: pd.DataFrame, **settings: object) -> object:
    family = get_family("auto")
    config = {
        "candidates": [*CANDIDATES, "nbeats"],
        "candidate_configs": {**CANDIDATE_CONFIGS, "nbeats": TINY_NBEATS},
        "horizon": HORIZON,
        "n_windows": 4,
        **settings,
    }
    return family.fit(train, family.parse_config(config), DataSpec("h", 24))


def count_nbeats_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from helios.forecasting.models.neural import NBeatsFamily

    calls: list[int] = []
    fit = NBeatsFamily.fit

    def counted(self: NBeatsFamily, train: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls.append(train["unique_id"].nunique())
        return fit(self, train, *args, **kwargs)

    monkeypatch.setattr(NBeatsFamily, "fit", counted)
    return calls


def test_auto_trains_nbeats_once_and_forecasts_the_end_with_the_validation_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    train, _ = split_last(hourly_panel(), HORIZON)
    calls = count_nbeats_fits(monkeypatch)
    fitted = fit_auto_with_nbeats(train, selection="combine", top_k=5)  # every series keeps all five
    assert calls == [train["unique_id"].nunique()]  # one network, trained before the first window
    network = fitted.members["nbeats"]
    assert network.unique_ids == sorted(train["unique_id"].unique())
    forecast = network.predict(HORIZON, (80,))
    first = forecast.groupby("unique_id")["ds"].min()
    assert (first == train.groupby("unique_id")["ds"].max() + pd.Timedelta(hours=1)).all()
    assert "final_fit_s" not in fitted.costs["nbeats"]
    from helios.forecasting.artifacts import load_fitted, save_fitted

    save_fitted(fitted, tmp_path / "auto")  # the validation network is saved as the member
    pd.testing.assert_frame_equal(
        load_fitted(tmp_path / "auto").predict(HORIZON, (80, 95)), fitted.predict(HORIZON, (80, 95))
    )


def test_auto_validates_nbeats_in_a_thread_beside_the_others_and_forecasts_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``workers`` 2 (the default) trains the network on a second thread while the other
    candidates are validated on the caller's; the forecasts, choices and scores are those of one
    after another."""
    import threading

    from helios.forecasting.models.neural import NBeatsFamily

    train, _ = split_last(hourly_panel(series=4), HORIZON)
    threads: list[int] = []
    fit = NBeatsFamily.fit

    def recorded(self: NBeatsFamily, *args: object, **kwargs: object) -> object:
        threads.append(threading.get_ident())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(NBeatsFamily, "fit", recorded)
    beside = fit_auto_with_nbeats(train)
    alone = fit_auto_with_nbeats(train, workers=1)
    assert threads[0] != threading.get_ident() and threads[1:] == [threading.get_ident()]
    assert beside.choices == alone.choices
    pd.testing.assert_frame_equal(beside.scores, alone.scores)
    pd.testing.assert_frame_equal(beside.predict(HORIZON, (80, 95)), alone.predict(HORIZON, (80, 95)))


def test_auto_fits_its_global_candidates_on_all_the_data_while_the_network_trains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While nbeats validates in its thread, this one fits gbm (global, and on a small panel not
    forecast from its validation booster) on all the data instead of waiting for the choice; the
    forecasts are those of one after another."""
    import threading

    from helios.forecasting.models.gbm import GBMFamily
    from helios.forecasting.models.neural import NBeatsFamily

    train, _ = split_last(hourly_panel(series=4), HORIZON)
    refitted = threading.Event()
    waited: list[bool] = []
    network_fit, booster_fit = NBeatsFamily.fit, GBMFamily.fit

    def network(self: NBeatsFamily, *args: object, **kwargs: object) -> object:
        if threading.current_thread() is not threading.main_thread():
            waited.append(refitted.wait(timeout=60))  # True only if gbm's final fit came meanwhile
        return network_fit(self, *args, **kwargs)

    def booster(self: GBMFamily, *args: object, **kwargs: object) -> object:
        fitted = booster_fit(self, *args, **kwargs)
        refitted.set()
        return fitted

    monkeypatch.setattr(NBeatsFamily, "fit", network)
    monkeypatch.setattr(GBMFamily, "fit", booster)
    beside = fit_auto_with_nbeats(train, selection="combine", top_k=5)  # every series keeps gbm
    assert waited == [True]
    assert "final_fit_s" in beside.costs["gbm"]
    alone = fit_auto_with_nbeats(train, selection="combine", top_k=5, workers=1)
    assert beside.choices == alone.choices
    pd.testing.assert_frame_equal(beside.predict(HORIZON, (80, 95)), alone.predict(HORIZON, (80, 95)))


def test_a_candidate_that_cannot_fit_in_its_thread_is_left_out_and_other_errors_surface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from helios.forecasting.base import ForecastingError
    from helios.forecasting.models.neural import NBeatsFamily

    train, _ = split_last(hourly_panel(series=4), HORIZON)

    def cannot(*args: object, **kwargs: object) -> object:
        raise ForecastingError("too short for the network")

    monkeypatch.setattr(NBeatsFamily, "fit", cannot)
    fitted = fit_auto_with_nbeats(train)
    assert not any("nbeats" in name for kept in fitted.choices.values() for name in kept)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(NBeatsFamily, "fit", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        fit_auto_with_nbeats(train)


def test_auto_can_still_train_nbeats_again_on_all_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    train, _ = split_last(hourly_panel(series=4), HORIZON)
    calls = count_nbeats_fits(monkeypatch)
    fitted = fit_auto_with_nbeats(train, selection="combine", top_k=5, reuse_validation_fit=False)
    assert len(calls) == 2 and "final_fit_s" in fitted.costs["nbeats"]


def test_auto_with_nbeats_is_never_worse_than_seasonal_naive_and_covers() -> None:
    panel = hourly_panel(series=10, seed=3)
    hits = []
    for origin_from_end in (2 * HORIZON, HORIZON):
        from_end = panel.groupby("unique_id").cumcount(ascending=False)
        train = panel[from_end >= origin_from_end]
        test = panel[(from_end < origin_from_end) & (from_end >= origin_from_end - HORIZON)]
        forecast = fit_auto_with_nbeats(train).predict(HORIZON, (95,))
        naive = get_family("seasonal_naive")
        for m in (24, 168):
            baseline = naive.fit(train, naive.parse_config({"season_length": m}), DataSpec("h", 24))
            assert mean_mase(forecast, test, train) <= mean_mase(baseline.predict(HORIZON), test, train)
        joined = forecast.assign(step=forecast.groupby("unique_id").cumcount()).merge(
            test.assign(step=test.groupby("unique_id").cumcount()), on=["unique_id", "step"]
        )
        hits.extend(((joined["y"] >= joined["lo-95"]) & (joined["y"] <= joined["hi-95"])).tolist())
    assert 0.90 <= np.mean(hits) <= 0.99, np.mean(hits)


def test_nbeats_joins_the_default_candidates_on_request() -> None:
    from helios.forecasting.models.auto import NBEATS_EPOCHS, NBEATS_FINAL_EPOCHS, default_candidates

    train, _ = split_last(hourly_panel(series=3), HORIZON)
    auto = get_family("auto")
    names, configs = default_candidates(train, DataSpec("h", 24), auto.parse_config({"horizon": HORIZON}))
    assert "nbeats" not in names
    config = auto.parse_config({"horizon": HORIZON, "nbeats": True})
    names, configs = default_candidates(train, DataSpec("h", 24), config)
    assert "nbeats" in names
    assert configs["nbeats"] == {
        "horizon": HORIZON,
        "threads": 1,
        "epochs": NBEATS_EPOCHS,
        "final_epochs": NBEATS_FINAL_EPOCHS,
    }


def test_nbeats_joins_the_default_candidates_from_enough_series() -> None:
    """One global network needs a panel to learn from: by default it is a candidate from
    NBEATS_FROM_SERIES series (and where gbm joins), never on a handful, and the setting wins."""
    from helios.forecasting.models.auto import NBEATS_FROM_SERIES, AutoConfig, default_candidates

    spec = DataSpec("h", 24)
    few = trending_panel(series=3)
    many = trending_panel(series=NBEATS_FROM_SERIES)
    config = AutoConfig(horizon=HORIZON)
    assert not {"nbeats", "global_ar"} & set(default_candidates(few, spec, config)[0])
    names, configs = default_candidates(many, spec, config)
    assert "gbm" in names and "nbeats" in names and configs["nbeats"]["threads"] == 1
    assert configs["global_ar"] == {"horizon": HORIZON}  # the linear global model joins with it
    without = default_candidates(many, spec, AutoConfig(horizon=HORIZON, nbeats=False))[0]
    assert not {"nbeats", "global_ar"} & set(without)
    assert {"nbeats", "global_ar"} <= set(
        default_candidates(few, spec, AutoConfig(horizon=HORIZON, nbeats=True))[0]
    )


def test_local_candidates_fit_on_each_series_recent_points_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Theta's search grows with the square of a series' length (16 s for 8,000 hourly points):
    inside auto the local candidates see each series' last LOCAL_CANDIDATE_WINDOW points."""
    from helios.forecasting import auto_validation
    from helios.forecasting.models import auto as auto_module
    from helios.forecasting.models.auto import LOCAL_CANDIDATE_WINDOW, AutoConfig, default_candidates

    assert LOCAL_CANDIDATE_WINDOW > 1_000  # the series users bring are fitted whole
    days = LOCAL_CANDIDATE_WINDOW + 300
    train = trending_panel(series=2, hours=days).assign(
        ds=lambda frame: (
            pd.Timestamp("2015-01-01") + pd.to_timedelta(frame.groupby("unique_id").cumcount(), "D")
        )
    )
    names, configs = default_candidates(train, DataSpec("D", 7), AutoConfig(horizon=7))
    assert {"auto_theta", "auto_ets"} <= set(names)
    assert configs["auto_theta"] == configs["auto_ets"] == {"window": LOCAL_CANDIDATE_WINDOW}
    monkeypatch.setattr(
        auto_validation, "choose", lambda scores, *args: {str(uid): ["auto_theta"] for uid in scores.index}
    )
    monkeypatch.setattr(auto_module, "LOCAL_CANDIDATE_WINDOW", 200)  # the same rule, a quicker fit
    auto = get_family("auto")
    fitted = auto.fit(
        train.groupby("unique_id").tail(400),
        auto.parse_config({"horizon": 7, "n_windows": 2}),
        DataSpec("D", 7),
    )
    theta = fitted.members["auto_theta"]
    assert [len(state.arrays["y"]) for state in theta.series] == [200, 200]
    assert len(fitted.predict(7, (95,))) == 14


def test_a_blend_of_the_global_models_is_validated_and_forecast_as_their_average(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``blends``: the equal average of gbm and nbeats competes as a candidate of its own (its
    validation forecasts are its parts' averaged, no fit of its own), and a series that keeps it
    forecasts the average of the two members; a blend with a part that is not a candidate is
    left out."""
    from helios.forecasting import auto_validation
    from helios.forecasting.artifacts import load_fitted, save_fitted

    train, _ = split_last(hourly_panel(series=4), HORIZON)
    fitted = fit_auto_with_nbeats(train, blends=["gbm+nbeats", "gbm+mstl"])
    assert "gbm+nbeats" in fitted.scores.columns and "gbm+mstl" not in fitted.scores.columns
    assert np.isfinite(fitted.scores["gbm+nbeats"]).all()
    monkeypatch.setattr(
        auto_validation, "choose", lambda scores, *args: {str(uid): ["gbm+nbeats"] for uid in scores.index}
    )
    fitted = fit_auto_with_nbeats(train, blends=["gbm+nbeats"])
    assert set(fitted.members) == {"gbm", "nbeats"} and fitted.choice_counts() == {"gbm+nbeats": 4}
    forecast = fitted.predict(HORIZON, (95,)).set_index(["unique_id", "ds"])
    gbm, nbeats = (
        fitted.members[name].predict(HORIZON, ()).set_index(["unique_id", "ds"])["mean"]
        for name in ("gbm", "nbeats")
    )
    np.testing.assert_allclose(forecast["mean"], ((gbm + nbeats) / 2).reindex(forecast.index))
    assert (forecast["lo-95"] < forecast["mean"]).all() and (forecast["hi-95"] > forecast["mean"]).all()
    save_fitted(fitted, tmp_path / "auto")
    pd.testing.assert_frame_equal(
        load_fitted(tmp_path / "auto").predict(HORIZON, (95,)), fitted.predict(HORIZON, (95,))
    )


def test_the_global_models_are_blended_by_default_wherever_both_are_candidates() -> None:
    from helios.forecasting.models.auto import default_blends

    spec = DataSpec("h", 24)
    both = ["seasonal_naive@24", "seasonal_naive@168", "naive", "gbm", "nbeats"]
    assert default_blends(both, spec) == ["gbm+nbeats", "gbm+nbeats+seasonal_naive@24"]
    assert default_blends([*both, "global_ar"], spec)[-1] == "gbm+nbeats+global_ar"
    assert default_blends(["naive", "gbm", "nbeats"], spec) == ["gbm+nbeats"]
    assert default_blends(["seasonal_naive@24", "gbm"], spec) == []
    train, _ = split_last(hourly_panel(series=4), HORIZON)
    assert "gbm+nbeats" in fit_auto_with_nbeats(train).scores.columns  # default: blended
    assert "gbm+nbeats" not in fit_auto_with_nbeats(train, blends=[]).scores.columns


def test_seasonal_naive_averaged_over_recent_cycles_joins_the_candidates_where_it_fits() -> None:
    """Each season's seasonal naive also averaged over its last 3 and 7 cycles, wherever that
    many cycles fit before the validation windows (6 weeks of hourly data: 3 days, a week of
    days, 3 weeks; seven weeks do not)."""
    from helios.forecasting.models.auto import AutoConfig, default_candidates

    train, _ = split_last(hourly_panel(series=3, hours=24 * 7 * 6), HORIZON)
    names, configs = default_candidates(train, DataSpec("h", 24), AutoConfig(horizon=HORIZON))
    averaged = [name for name in names if name.startswith("seasonal_naive@") and "x" in name]
    assert averaged == ["seasonal_naive@24x3", "seasonal_naive@24x7", "seasonal_naive@168x3"]
    assert configs["seasonal_naive@168x3"] == {"season_length": 168, "average": 3}
    short, _ = split_last(hourly_panel(series=3, hours=24 * 14), HORIZON)
    names, _ = default_candidates(short, DataSpec("h", 24), AutoConfig(horizon=HORIZON))
    assert "seasonal_naive@24x7" in names and "seasonal_naive@168x3" not in names


@pytest.mark.parametrize(
    ("name", "raw"),
    [("naive", {}), ("seasonal_naive", {}), ("seasonal_naive", {"season_length": 168, "average": 3})],
)
def test_baselines_validate_from_every_origin_as_the_generic_backtest_does(
    name: str, raw: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The baselines' own ``backtest_forecasts`` (series split once, each refitted on its slices)
    gives auto exactly the validation forecasts and bounds the generic per-window backtest does."""
    from helios.forecasting import auto_validation
    from helios.forecasting.backtest import backtest

    panel = hourly_panel(series=4)
    panel = panel[~((panel["unique_id"] == "s1") & (panel.groupby("unique_id").cumcount() < 300))]
    family, spec = get_family(name), DataSpec("h", 24)
    config = family.parse_config(raw)
    with monkeypatch.context() as patched:  # the fast path, never the generic one
        patched.setattr(auto_validation, "backtest", lambda *args, **kwargs: pytest.fail("generic path"))
        fast = auto_validation.validation_forecasts(
            panel, family, config, spec, HORIZON, 4, None, own_widths=True
        )
    generic = backtest(
        panel, family, spec, HORIZON, 4, None, config, levels=(80,), min_train_size=2
    ).forecasts
    expected = generic.assign(
        unique_id=generic["unique_id"].astype(str), width=auto_validation.half_widths(generic)
    )
    pd.testing.assert_frame_equal(
        fast.reset_index(drop=True),
        expected[fast.columns].reset_index(drop=True),
        check_dtype=False,
    )


def test_baselines_fast_validation_never_reads_past_its_origin() -> None:
    from helios.forecasting import auto_validation

    panel = hourly_panel(series=3)
    family, spec = get_family("seasonal_naive"), DataSpec("h", 24)
    config = family.parse_config({"average": 3})
    before = auto_validation.validation_forecasts(panel, family, config, spec, HORIZON, 3, None)
    poisoned = panel.copy()
    poisoned.loc[poisoned.groupby("unique_id").cumcount(ascending=False) < HORIZON, "y"] = 1e6
    after = auto_validation.validation_forecasts(poisoned, family, config, spec, HORIZON, 3, None)
    # Only the last window's actuals changed: every forecast came from the points before its origin.
    np.testing.assert_array_equal(after["mean"], before["mean"])
    changed = after["y"] != before["y"]
    assert changed.any() and (after.loc[changed, "window"] == 2).all()


# --- integer steps: which calendar they count in (2026-12-04) ------------------------------------


def test_the_strongest_cycle_of_integer_steps_names_their_calendar() -> None:
    from helios.forecasting.frequency import calendar_cycles
    from helios.forecasting.seasonality import strongest_cycle

    rng = np.random.default_rng(0)
    hourly = [g["y"].to_numpy() for _, g in hourly_panel(series=4).groupby("unique_id")]
    t = np.arange(400)
    daily = [10 + 3 * ((t % 7) >= 5) + rng.normal(0, 1, 400) for _ in range(4)]
    months = np.arange(120)
    monthly = [
        100 + 0.5 * months + 10 * np.sin(2 * np.pi * months / 12) + rng.normal(0, 2, 120) for _ in range(4)
    ]
    walks = [np.cumsum(rng.normal(size=500)) for _ in range(10)]  # close to every lag, cycle at none
    smooth = []  # changes that follow their last one (AR 0.8): most alike at the shortest lag
    for _ in range(10):
        changes = np.zeros(500)
        for i in range(1, 500):
            changes[i] = 0.8 * changes[i - 1] + rng.normal()
        smooth.append(np.cumsum(changes))
    cycles = calendar_cycles()
    found = [strongest_cycle(s, cycles) for s in (hourly, daily, monthly, walks, smooth)]
    assert found == [24, 7, 12, None, None]


@pytest.mark.parametrize(
    ("season", "freq"),
    [(24, "h"), (168, "h"), (7, "D"), (365, "D"), (5, "B"), (52, "W"), (12, "MS"), (13, None)],
)
def test_a_declared_season_names_the_calendar_it_belongs_to(season: int, freq: str | None) -> None:
    from helios.forecasting.frequency import freq_for_season

    assert freq_for_season(season) == freq


def test_the_gbm_booster_is_refitted_where_a_series_starts_inside_the_validation_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A series with no points before the earliest window was scaled on nothing: the booster
    that validated cannot forecast it, so gbm asks for a refit, as it does when a held-out
    calibration (``calibration_windows=1``) was configured."""
    from helios.forecasting.models import gbm as gbm_module

    monkeypatch.setattr(gbm_module, "REUSE_FROM_POINTS", 0)
    gbm = get_family("gbm")
    panel = trending_panel(series=4)
    late = hourly_panel(series=1).tail(2 * HORIZON).assign(unique_id="late")
    config = {"n_estimators": 20, "calibration_windows": 0, "horizon": HORIZON}
    spec, offsets = DataSpec("h", 24), [HORIZON, 0]
    assert gbm.validation_fit(panel, gbm.parse_config(config), spec, HORIZON, offsets)[1] is not None
    with_late = pd.concat([panel, late], ignore_index=True)
    assert gbm.validation_fit(with_late, gbm.parse_config(config), spec, HORIZON, offsets)[1] is None
    held_out = gbm.parse_config({**config, "calibration_windows": 1})
    assert gbm.validation_fit(panel, held_out, spec, HORIZON, offsets)[1] is None


def test_gbm_log_units_round_trip_and_leave_series_that_touch_zero_alone() -> None:
    from helios.forecasting.gbm_features import Standardiser

    rows = np.array([[1.0, 4.0, 2.0, 8.0], [0.0, 3.0, 1.0, 5.0], [np.nan, np.nan, 2.0, 6.0]])
    logged = Standardiser.fit(rows, log=True)
    assert logged.floor is not None and logged.floor.tolist() == [0.5, 0.0, 1.0]
    np.testing.assert_allclose(logged.invert(logged.apply(rows)), rows)  # padding stays NaN
    assert logged.loc[0] == pytest.approx(np.mean(np.log(rows[0])))
    assert logged.loc[1] == pytest.approx(np.mean(rows[1]))  # a zero: modelled as it is
    later = np.array([[0.1, 2.0], [-1.0, 2.0], [-3.0, 2.0]])
    assert logged.invert(logged.apply(later))[0, 0] == pytest.approx(0.5)  # clipped to the floor
    lo, hi = logged.bounds(logged.apply(rows), np.full(4, 0.5))
    assert (hi[0] - rows[0] > rows[0] - lo[0]).all()  # wider above than below in log units
    assert np.allclose(hi[1] - rows[1], rows[1] - lo[1])


def test_gbm_in_log_units_never_forecasts_a_positive_series_below_zero() -> None:
    """A daily cycle whose troughs touch zero while the level drifts: on levels the trees put
    some troughs below zero; in log units every forecast and bound is positive, and the model
    saves and loads with its floors."""
    rng = np.random.default_rng(4)
    hours = 24 * 7 * 5
    t = np.arange(hours)
    stamps = pd.date_range("2024-01-01", periods=hours, freq="h")
    frames = []
    for i in range(12):
        level = np.exp(np.cumsum(rng.normal(0, 0.03, hours))) * 10 ** (i % 4)
        y = level * (1 + 0.95 * np.sin(2 * np.pi * (t + i) / 24)) ** 2 * np.exp(rng.normal(0, 0.05, hours))
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": y}))
    train, _ = split_last(pd.concat(frames, ignore_index=True), HORIZON)
    gbm = get_family("gbm")
    config = gbm.parse_config({"horizon": HORIZON, "n_estimators": 100, "transform": "log"})
    fitted = gbm.fit(train, config, DataSpec("h", 24))
    forecast = fitted.predict(HORIZON, (80, 95))
    assert (forecast[["mean", "lo-80", "lo-95"]].to_numpy() > 0).all()
    assert (forecast["hi-95"] - forecast["mean"] > forecast["mean"] - forecast["lo-95"]).all()
    again = type(fitted).from_state(*fitted.to_state()).predict(HORIZON, (80, 95))
    pd.testing.assert_frame_equal(again, forecast)
    levels = gbm.fit(train, gbm.parse_config({"horizon": HORIZON, "n_estimators": 100}), DataSpec("h", 24))
    assert (levels.predict(HORIZON, (80,))["lo-80"] < 0).any()  # what the log units prevent
