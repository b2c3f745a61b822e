"""Conformal intervals: nominal coverage on many series, for any family, saved like any model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.artifacts import load_fitted, save_fitted
from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.conformal import conformal_quantile
from helios.forecasting.families import get_family

HORIZON = 6


def random_walks(count: int, length: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random walks with drift 0 and very different scales; the last ``HORIZON`` points of each
    are the future the intervals must cover."""
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.5, 20, size=count)
    paths = 1000 + np.cumsum(rng.normal(size=(count, length + HORIZON)) * scales[:, None], axis=1)
    ids = np.repeat([f"s{i}" for i in range(count)], length + HORIZON)
    steps = np.tile(np.arange(length + HORIZON), count)
    frame = pd.DataFrame({"unique_id": ids, "ds": steps, "y": paths.ravel()})
    future = frame["ds"] >= length
    return frame[~future].reset_index(drop=True), frame[future].reset_index(drop=True)


def covered(forecast: pd.DataFrame, level: int) -> float:
    inside = (forecast["y"] >= forecast[f"lo-{level}"]) & (forecast["y"] <= forecast[f"hi-{level}"])
    return float(inside.mean())


def fit(train: pd.DataFrame, **config: object):  # type: ignore[no-untyped-def]
    family = get_family("conformal")
    return family.fit(train, family.parse_config({"horizon": HORIZON, **config}), DataSpec("D", 1))


@pytest.mark.parametrize("normalise", ["naive", "native"])
def test_nominal_90_percent_intervals_cover_90_percent_of_1000_series(normalise: str) -> None:
    train, future = random_walks(1000, 40, seed=11)
    fitted = fit(train, inner="naive", n_windows=2, normalise=normalise)
    forecast = fitted.predict(HORIZON, (90,)).merge(future, on=["unique_id", "ds"])
    assert len(forecast) == 1000 * HORIZON
    assert covered(forecast, 90) == pytest.approx(0.90, abs=0.03)
    # the h-step intervals widen as random-walk errors do
    widths = (forecast["hi-90"] - forecast["lo-90"]).to_numpy().reshape(1000, HORIZON)
    assert (np.diff(widths.mean(axis=0)) > 0).all()


def test_series_scope_uses_each_series_own_errors() -> None:
    train, future = random_walks(40, 120, seed=5)
    fitted = fit(train, inner="drift", scope="series", n_windows=19, step=2)
    forecast = fitted.predict(HORIZON, (90,)).merge(future, on=["unique_id", "ds"])
    assert 0.8 <= covered(forecast, 90) <= 0.98  # 40 series only: loose, but calibrated per series
    pooled = fit(train, inner="drift", n_windows=19, step=2).predict(HORIZON, (90,))
    assert not np.allclose(pooled["hi-90"], fitted.predict(HORIZON, (90,))["hi-90"])


def test_native_intervals_stay_available_and_point_forecasts_are_the_inner_ones() -> None:
    train, _ = random_walks(5, 30, seed=1)
    fitted = fit(train, inner="drift", native_intervals=True)
    forecast = fitted.predict(4)
    native = fitted.inner.predict(4)
    assert list(forecast.columns) == [
        "unique_id",
        "ds",
        "mean",
        "lo-80",
        "hi-80",
        "lo-95",
        "hi-95",
        "native-lo-80",
        "native-hi-80",
        "native-lo-95",
        "native-hi-95",
    ]
    np.testing.assert_array_equal(forecast["mean"], native["mean"])
    np.testing.assert_array_equal(forecast["native-hi-95"], native["hi-95"])
    assert (forecast["hi-95"] >= forecast["hi-80"]).all()


def test_saved_and_loaded_like_any_family(tmp_path: Path) -> None:
    train, _ = random_walks(5, 30, seed=2)
    fitted = fit(train, inner="auto_ets", normalise="native")
    save_fitted(fitted, tmp_path / "model")
    loaded = load_fitted(tmp_path / "model")
    pd.testing.assert_frame_equal(
        loaded.predict(HORIZON, (50, 90)), fitted.predict(HORIZON, (50, 90)), check_exact=True
    )


def test_horizon_beyond_calibration_is_refused() -> None:
    train, _ = random_walks(3, 30, seed=3)
    with pytest.raises(ForecastingError, match="calibrated up to 6 steps"):
        fit(train).predict(HORIZON + 1)
    with pytest.raises(ForecastingError, match="cannot wrap itself"):
        fit(train, inner="conformal")


def test_conformal_quantile_uses_the_finite_sample_rank() -> None:
    errors = np.arange(1.0, 20.0)  # 19 errors: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(errors, 90) == 18.0
    assert conformal_quantile(errors, 99) == 19.0  # rank past the end: the largest error
    assert np.isnan(conformal_quantile(np.array([np.nan]), 90))
