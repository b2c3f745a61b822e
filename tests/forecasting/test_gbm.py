"""The global LightGBM model (``models/gbm.py``) against numbers recorded from the code before
its feature settings became one ``FeatureLayout`` (commit 78feb40): models saved then load and
forecast as they did, and fits on the same panel give the same forecasts and validation rows.

``gbm_state_78feb40.json`` holds, for each configuration in ``CONFIGS``, the state that
``GBMFitted.to_state`` wrote at 78feb40 (arrays as dtype, shape and values), its forecast and
its validation forecasts (``backtest_forecasts``) on ``small_panel()``. The numbers are exact on
the machine they were recorded on; the tolerance only allows another platform's float rounding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family
from helios.forecasting.step_calibration import MAX_RATIOS

FIXTURE = Path(__file__).with_name("gbm_state_78feb40.json")
SPEC = DataSpec("h", 24)
HORIZON, BEYOND = 6, 8  # calibrated for 6 steps, asked for 8: past the horizon a direct model knew
OFFSETS, LEVELS = [HORIZON, 0], (80,)
RTOL = 1e-10

# Tiny trees (the state stays a few kilobytes), one per path through the features: anchored with
# profiles, seasonal difference on seasonal-error scaling (base_lag), plain levels, and direct.
TINY = {"n_estimators": 3, "num_leaves": 4, "min_child_samples": 5, "horizon": HORIZON}
CONFIGS: dict[str, dict[str, Any]] = {
    "anchored": {**TINY, "profiles": [2]},
    "seasonal_difference": {**TINY, "target": "seasonal_difference", "scaling": "seasonal_error"},
    "level": {**TINY, "target": "level", "seasons": "data"},
    "direct": {**TINY, "strategy": "direct", "profiles": [2, 1], "direct_stride": 2},
}


def small_panel(series: int = 3, hours: int = 24 * 5, seed: int = 7) -> pd.DataFrame:
    """A daily shape at each series' own level, series of different lengths (padded rows)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=hours, freq="h")
    t = np.arange(hours)
    frames = []
    for i in range(series):
        y = 10 * (i + 1) + 3 * np.sin(2 * np.pi * (t + i) / 24) + rng.normal(0, 0.5, hours)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": y}).iloc[7 * i :])
    return pd.concat(frames, ignore_index=True)


def recorded_numbers(fitted: Any, panel: pd.DataFrame, config: Any) -> dict[str, dict[str, list[float]]]:
    """What the fixture records of a fit: its forecast and its validation forecasts."""
    forecast = fitted.predict(BEYOND, LEVELS)
    gbm = get_family("gbm")
    backtest = gbm.backtest_forecasts(panel, config, SPEC, HORIZON, OFFSETS, LEVELS)
    columns = ["mean", "lo-80", "hi-80"]
    return {
        "forecast": {column: forecast[column].tolist() for column in columns},
        "backtest": {column: backtest[column].tolist() for column in columns},
    }


def state_from_json(saved: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays = {
        name: np.array(array["values"], dtype=array["dtype"]).reshape(array["shape"])
        for name, array in saved["arrays"].items()
    }
    return saved["meta"], arrays


def state_to_json(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "meta": meta,
        "arrays": {
            name: {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.reshape(-1).tolist()}
            for name, a in arrays.items()
        },
    }


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def assert_same_numbers(now: dict[str, list[float]], then: dict[str, list[float]]) -> None:
    assert now.keys() == then.keys()
    for column in then:
        np.testing.assert_allclose(now[column], then[column], rtol=RTOL, atol=0)


@pytest.mark.parametrize("name", CONFIGS)
def test_a_gbm_saved_before_the_feature_layout_loads_and_forecasts_as_it_did(
    recorded: dict[str, Any], name: str
) -> None:
    from helios.forecasting.models.gbm import GBMFitted

    meta, arrays = state_from_json(recorded[name]["state"])
    fitted = GBMFitted.from_state(meta, arrays)
    forecast = fitted.predict(BEYOND, LEVELS)
    assert_same_numbers(
        {c: forecast[c].tolist() for c in ("mean", "lo-80", "hi-80")}, recorded[name]["forecast"]
    )
    again_meta, again_arrays = fitted.to_state()
    assert again_meta == meta  # written back in the same format, settings keys and all
    assert state_to_json(again_meta, again_arrays) == recorded[name]["state"]


@pytest.mark.parametrize("name", CONFIGS)
def test_gbm_fits_forecast_and_validate_as_before_the_feature_layout(
    recorded: dict[str, Any], name: str
) -> None:
    gbm = get_family("gbm")
    panel, config = small_panel(), gbm.parse_config(CONFIGS[name])
    fitted = gbm.fit(panel, config, SPEC)
    meta, _ = fitted.to_state()
    settings, then = dict(meta["settings"]), dict(recorded[name]["state"]["meta"]["settings"])
    config, config_then = settings.pop("config"), then.pop("config")
    assert settings == then
    assert {key: config[key] for key in config_then} == config_then  # options added since: defaults
    numbers = recorded_numbers(fitted, panel, config)
    assert_same_numbers(numbers["forecast"], recorded[name]["forecast"])
    assert_same_numbers(numbers["backtest"], recorded[name]["backtest"])


def test_residual_calibration_keeps_the_spread_of_every_residual_in_a_bounded_sample() -> None:
    """One-step residual widths (``calibration_windows=0``, auto's gbm) come from a sample of the
    training rows: on 30,000 rows the widths are those every residual gives, and what a saved
    model holds is bounded (``MAX_RATIOS``), not rows x horizon."""
    from helios.forecasting import gbm_panel
    from helios.forecasting.models.gbm import GBMConfig
    from helios.forecasting.step_calibration import StepCalibration

    panel_frame = small_panel(series=30, hours=1_100, seed=3)
    horizon = 48
    config = GBMConfig(n_estimators=20, calibration_windows=0, horizon=horizon)
    panel = gbm_panel.GBMPanel.from_frame(panel_frame, SPEC, config)
    booster = panel.train(config, panel.z)
    sampled = panel.residual_calibration(booster, panel.z, horizon, threads=1)

    x, y = panel._one_step_matrix(panel.z)
    assert len(y) > gbm_panel.RESIDUAL_ROWS  # the sample really is a sample
    growth = np.sqrt(np.arange(1, horizon + 1))
    everything = StepCalibration.from_errors(np.outer(y - booster.predict(x), growth))
    for level in (80, 95):
        np.testing.assert_allclose(
            sampled.half_width(level, horizon), everything.half_width(level, horizon), rtol=0.02
        )
    assert sampled.ratios.size <= MAX_RATIOS < len(y) * horizon
    fitted = get_family("gbm").fit(panel_frame, config, SPEC)
    assert fitted.to_state()[1]["calibration/ratios"].size <= MAX_RATIOS
