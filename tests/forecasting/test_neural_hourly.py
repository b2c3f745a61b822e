"""N-HiTS blocks, nbeats' one-network validation forecasts for ``auto``, and its defaults by frequency."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family
from helios.forecasting.models.neural import NBeatsFamily, NBeatsFitted, NeuralConfig
from helios.forecasting.nn.nbeats import Block, NBeats, NBeatsConfig

torch.set_num_threads(1)

HORIZON = 6
SMALL = {
    "horizon": HORIZON,
    "input_multiple": 2,
    "hidden_size": 16,
    "layers": 2,
    "blocks": 2,
    "epochs": 2,
    "steps_per_epoch": 3,
    "batch_size": 32,
    "members": 1,
    "seed": 3,
}
HOURLY = DataSpec(freq="h", season_length=24)


def hourly_panel(series: int = 4, length: int = 120, seed: int = 0) -> pd.DataFrame:
    """A daily shape on different levels, with noise, so the network has something to learn."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(series):
        t = np.arange(length)
        y = 100 * (i + 1) + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, length)
        stamps = pd.date_range("2024-01-01", periods=length, freq="h")
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": y}))
    return pd.concat(frames, ignore_index=True)


def network(**overrides: Any) -> NBeatsConfig:
    base = {"horizon": 12, "quantiles": (0.1, 0.5, 0.9), "lookbacks": (24,), "hidden_size": 8, "layers": 1}
    return NBeatsConfig(**{**base, **overrides})


def test_plain_nbeats_keeps_its_weight_names_and_shapes() -> None:
    """Empty pooling and rates are N-BEATS as before: checkpoints of earlier models still load."""
    plain = NBeats(network()).state_dict()
    pooled = NBeats(network(pool_sizes=(4, 1), forecast_rates=(3, 1))).state_dict()
    assert plain.keys() == pooled.keys()
    assert plain["members.0.blocks.0.forecast.weight"].shape == (12 * 3, 8)
    assert pooled["members.0.blocks.0.forecast.weight"].shape == (4 * 3, 8)  # 12 steps / 3 per knot
    assert pooled["members.0.blocks.0.body.0.weight"].shape == (8, 6)  # 24 inputs pooled by 4
    assert pooled["members.0.blocks.1.body.0.weight"].shape == (8, 24)  # the block after: unpooled


def test_a_coarse_block_forecasts_straight_lines_between_its_knots() -> None:
    torch.manual_seed(0)
    block = Block(24, network(), pool=2, rate=4)  # 12 steps, knots at 0, 11/3, 22/3, 11
    backcast, forecast = block(torch.randn(5, 24))
    assert backcast.shape == (5, 24) and forecast.shape == (5, 12 * 3)
    curves = forecast.view(5, 12, 3)
    # Between two knots the steps are equal: second differences vanish away from the knots.
    bends = curves.diff(dim=1).diff(dim=1).abs().amax(dim=(0, 2))
    assert (bends < 1e-5).sum() >= 12 - 2 - 3


def test_nhits_config_trains_and_forecasts_with_ordered_bounds() -> None:
    family = get_family("nbeats")
    config = family.parse_config({**SMALL, "pool_sizes": [3, 1], "forecast_rates": [2, 1]})
    forecast = family.fit(hourly_panel(), config, HOURLY).predict(HORIZON)
    bounds = forecast[["lo-95", "lo-80", "mean", "hi-80", "hi-95"]].to_numpy()
    assert len(forecast) == 4 * HORIZON and np.isfinite(bounds).all()
    assert (np.diff(bounds, axis=1) >= 0).all()


@pytest.mark.parametrize("bad", [[0], [2, -1]])
def test_pool_sizes_and_rates_must_be_positive(bad: list[int]) -> None:
    with pytest.raises(ValueError, match=">= 1"):
        NeuralConfig.model_validate({"pool_sizes": bad})
    with pytest.raises(ValueError, match=">= 1"):
        NeuralConfig.model_validate({"forecast_rates": bad})


def validation_frame(train: pd.DataFrame, offsets: list[int]) -> pd.DataFrame:
    family = get_family("nbeats")
    assert isinstance(family, NBeatsFamily)
    return family.backtest_forecasts(train, family.parse_config(SMALL), HOURLY, HORIZON, offsets, (80,))


def test_validation_forecasts_score_each_window_against_what_followed_its_origin() -> None:
    train = hourly_panel()
    frame = validation_frame(train, [12, 6, 0])
    assert {"unique_id", "window", "step", "y", "mean", "lo-80", "hi-80"} <= set(frame.columns)
    assert len(frame) == 4 * 3 * HORIZON
    s0 = train[train["unique_id"] == "s0"]["y"].to_numpy()
    last = frame[(frame["unique_id"] == "s0") & (frame["window"] == 2)]
    np.testing.assert_allclose(last["y"], s0[-HORIZON:])
    first = frame[(frame["unique_id"] == "s0") & (frame["window"] == 0)]
    np.testing.assert_allclose(first["y"], s0[-HORIZON - 12 : -12])


def test_validation_never_trains_on_the_windows_it_scores() -> None:
    """The earliest window's forecast reads only what precedes it, and the network never saw
    the points after: changing them changes nothing there."""
    train = hourly_panel()
    changed = train.copy()
    late = changed.groupby("unique_id").cumcount(ascending=False) < 12 + HORIZON
    changed.loc[late, "y"] *= 3
    before, after = validation_frame(train, [12, 0]), validation_frame(changed, [12, 0])
    first = before["window"] == 0
    np.testing.assert_allclose(before.loc[first, "mean"], after.loc[first, "mean"])
    assert not np.allclose(before.loc[~first, "mean"], after.loc[~first, "mean"])


def test_an_empty_lookback_comes_from_the_frequency_and_weekly_keeps_its_m4_default() -> None:
    assert NeuralConfig(horizon=13).for_frequency("W-SUN").input_multiple == 4  # M4 weekly (issue 3)
    assert NeuralConfig(horizon=48).for_frequency("h").input_multiple == 4  # 192 hours
    assert NeuralConfig(horizon=24).for_frequency("h").input_multiple == 8  # still a week and a day
    assert NeuralConfig(horizon=168).for_frequency("h").input_multiple == 2  # at least two horizons


def test_a_lookback_given_wins_over_the_frequency_default() -> None:
    assert NeuralConfig(input_multiple=7).for_frequency("h").input_multiple == 7


def test_a_stored_config_still_resolves_by_the_frequency_of_the_data() -> None:
    """The training service stores every field (the empty lookback as null) and parses them again."""
    stored = NeuralConfig.model_validate(NeuralConfig(horizon=24).model_dump(mode="json"))
    assert stored.input_multiple is None
    assert stored.for_frequency("h").input_multiple == 8
    assert stored.for_frequency("D").input_multiple == 4


def test_empty_epochs_come_from_the_frequency_and_a_number_given_wins() -> None:
    assert NeuralConfig().for_frequency("h").epochs == 20  # hourly cycles take longer to learn
    assert NeuralConfig().for_frequency("W-SUN").epochs == 10  # M4 weekly's choice (issue 3)
    assert NeuralConfig().for_frequency("D").epochs == 10
    assert NeuralConfig(epochs=3).for_frequency("h").epochs == 3
    stored = NeuralConfig.model_validate(NeuralConfig().model_dump(mode="json"))
    assert stored.epochs is None and stored.for_frequency("h").training_epochs == 20


def test_a_fit_trains_the_resolved_epochs_and_keeps_them() -> None:
    family = get_family("nbeats")
    config = family.parse_config({k: v for k, v in SMALL.items() if k != "epochs"})
    fitted = family.fit(hourly_panel(length=240), config, HOURLY)
    meta, _ = fitted.to_state()
    assert meta["config"]["epochs"] == 20
    assert fitted.training["epochs_run"] == 20


def test_auto_validates_its_network_with_ten_epochs_on_hourly_data_too() -> None:
    from helios.forecasting.models.auto import AutoConfig, default_candidates

    panel = hourly_panel(series=60, length=24 * 30)  # enough series for auto to take the network
    names, configs = default_candidates(panel, HOURLY, AutoConfig(horizon=48))
    assert "nbeats" in names and configs["nbeats"]["epochs"] == 10


def test_a_fitted_model_keeps_the_resolved_lookback() -> None:
    family = get_family("nbeats")
    config = family.parse_config({k: v for k, v in SMALL.items() if k != "input_multiple"})
    fitted = family.fit(hourly_panel(length=240), config, HOURLY)
    meta, arrays = fitted.to_state()
    assert meta["config"]["input_multiple"] == 192 // HORIZON
    assert fitted.last_values.shape[1] == 192
    pd.testing.assert_frame_equal(
        NBeatsFitted.from_state(meta, arrays).predict(HORIZON), fitted.predict(HORIZON)
    )


def test_the_shortest_hourly_horizon_resolves_to_a_lookback_the_config_accepts() -> None:
    resolved = NeuralConfig(horizon=1).for_frequency("h")
    assert resolved.input_size == 192
    assert NeuralConfig.model_validate(resolved.model_dump()).input_multiple == 192


def test_a_run_checkpointed_before_the_nhits_settings_existed_still_resumes() -> None:
    """Its fingerprint had the lookback as a number and no pooling, rates or final epochs: so has
    a plain run's."""
    from helios.forecasting.models.neural import _fingerprint

    config = NeuralConfig(horizon=13).for_frequency("W-SUN")
    plain = _fingerprint(config, ["a"], [np.arange(5.0)])["config"]
    assert plain["input_multiple"] == 4 and "pool_sizes" not in plain and "forecast_rates" not in plain
    assert "final_epochs" not in plain
    pooled = _fingerprint(config.model_copy(update={"pool_sizes": (2, 1)}), ["a"], [np.arange(5.0)])
    assert pooled["config"]["pool_sizes"] == [2, 1]


def test_the_validation_network_forecasts_from_each_series_end_without_training_on_it() -> None:
    """``validation_fit`` hands back the network validation used, its inputs slid to the end of
    every series: the last points change its forecast (it reads them) but not its weights."""
    family = get_family("nbeats")
    assert isinstance(family, NBeatsFamily)
    train = hourly_panel()
    changed = train.copy()
    late = changed.groupby("unique_id").cumcount(ascending=False) < 12 + HORIZON
    changed.loc[late, "y"] += 50
    config = family.parse_config(SMALL)
    _, before = family.validation_fit(train, config, HOURLY, HORIZON, [12, 0])
    _, after = family.validation_fit(changed, config, HOURLY, HORIZON, [12, 0])
    for name, weights in before.weights.items():
        np.testing.assert_array_equal(weights, after.weights[name])
    forecast, moved = before.predict(HORIZON, (80,)), after.predict(HORIZON, (80,))
    assert (
        forecast.groupby("unique_id")["ds"].min()
        == train.groupby("unique_id")["ds"].max() + pd.Timedelta(hours=1)
    ).all()
    assert (moved["mean"] - forecast["mean"]).mean() > 25


def test_a_fit_runs_on_the_threads_asked_for_and_puts_the_count_back(monkeypatch: pytest.MonkeyPatch) -> None:
    family = get_family("nbeats")
    before = torch.get_num_threads()
    counts: list[int] = []
    set_threads = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (counts.append(n), set_threads(n)))
    fitted = family.fit(hourly_panel(), family.parse_config({**SMALL, "threads": 2}), HOURLY)
    fitted.predict(HORIZON, (80,))
    assert counts == [2, before, 2, before] and torch.get_num_threads() == before


def test_a_short_final_fit_starts_from_the_validation_network_and_learns_the_last_points() -> None:
    """``final_epochs``: the validation forecasts are those of the one validation network; the
    network handed back for the final forecast was trained a little further, from those weights,
    on every series' last points too."""
    family = get_family("nbeats")
    assert isinstance(family, NBeatsFamily)
    train = hourly_panel(length=160)
    offsets = [12, 6, 0]
    plain_forecasts, plain = family.validation_fit(
        train, family.parse_config(SMALL), HOURLY, HORIZON, offsets
    )
    tuned_config = family.parse_config({**SMALL, "final_epochs": 1})
    forecasts, tuned = family.validation_fit(train, tuned_config, HOURLY, HORIZON, offsets)
    pd.testing.assert_frame_equal(forecasts, plain_forecasts)
    assert tuned.config.epochs == SMALL["epochs"] and tuned.training["epochs_run"] == 1
    moved = [not np.array_equal(weights, tuned.weights[name]) for name, weights in plain.weights.items()]
    assert any(moved)
    drift = max(float(np.abs(weights - tuned.weights[name]).max()) for name, weights in plain.weights.items())
    assert drift < 0.1  # a few steps at a quarter of the rate: a nudge, not a new network
    stamps = ["unique_id", "ds"]
    tuned_forecast, plain_forecast = tuned.predict(HORIZON, (80,)), plain.predict(HORIZON, (80,))
    pd.testing.assert_frame_equal(tuned_forecast[stamps], plain_forecast[stamps])


def test_the_conformal_factor_stretches_narrow_intervals_and_narrows_wide_ones() -> None:
    from helios.forecasting.models.neural import FACTOR_BOUNDS, conformal_factor

    targets = np.random.default_rng(0).normal(0, 1, 4000)
    median = np.zeros_like(targets)
    narrow = conformal_factor(targets, median, median - 0.98, median + 0.98, 95)  # half of 1.96
    assert narrow is not None and 1.85 < narrow < 2.15
    wide = conformal_factor(targets, median, median - 2.5, median + 2.5, 80)  # 1.28 would do
    assert wide is not None and 0.5 <= wide < 0.56
    assert conformal_factor(targets, median, median - 100, median + 100, 95) == FACTOR_BOUNDS[0]
    assert conformal_factor(targets[:50], median[:50], median[:50] - 1, median[:50] + 1, 95) is None


def test_a_fit_calibrates_its_intervals_on_the_held_out_windows_and_keeps_the_factors() -> None:
    family = get_family("nbeats")
    panel = hourly_panel(series=40, length=240)
    fitted = family.fit(panel, family.parse_config(SMALL | {"levels": [80, 95]}), HOURLY)
    assert set(fitted.interval_factors) == {80, 95}  # 40 series x 6 held-out hours: enough points
    raw = NBeatsFitted(
        fitted.config,
        fitted.unique_ids,
        fitted.last_ds,
        fitted.freq,
        fitted.weights,
        last_values=fitted.last_values,
        last_observed=fitted.last_observed,
        series_scale=fitted.series_scale,
    ).predict(HORIZON)  # the network's quantiles as trained
    calibrated = fitted.predict(HORIZON)
    pd.testing.assert_series_equal(calibrated["mean"], raw["mean"])
    for level in (80, 95):
        factor = fitted.interval_factors[level]
        expected = raw["mean"] + factor * (raw[f"hi-{level}"] - raw["mean"])
        np.testing.assert_allclose(calibrated[f"hi-{level}"], expected)
    meta, arrays = fitted.to_state()
    pd.testing.assert_frame_equal(NBeatsFitted.from_state(meta, arrays).predict(HORIZON), calibrated)
    del meta["interval_factors"]  # a model saved before calibration: its quantiles as trained
    pd.testing.assert_frame_equal(NBeatsFitted.from_state(meta, arrays).predict(HORIZON), raw)


def test_auto_keeps_the_networks_own_widths_for_its_own_calibration() -> None:
    family = get_family("nbeats")
    train = hourly_panel(series=30, length=240)
    config = family.parse_config(SMALL)
    _, final = family.validation_fit(train, config, HOURLY, HORIZON, [HORIZON, 0], (80,))
    assert final is not None and final.interval_factors == {}
