"""Volatility families: GARCH variants via arch, the realized-volatility baseline, state round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.artifacts import load_fitted, save_fitted
from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.families import get_family

SPEC = DataSpec(freq="B")
COLUMNS = ["unique_id", "ds", "mean", "sigma", "lo-80", "hi-80", "lo-95", "hi-95"]


def simulated_garch_returns(n: int, seed: int, omega=0.05, alpha=0.1, beta=0.85) -> np.ndarray:  # noqa: ANN001
    """Percent returns from a true GARCH(1,1) with fat-tailed shocks."""
    rng = np.random.default_rng(seed)
    variance, returns = omega / (1 - alpha - beta), np.empty(n)
    for t in range(n):
        returns[t] = np.sqrt(variance) * rng.standard_t(6) / np.sqrt(1.5)
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    return returns


def prices(tickers: int = 2, n: int = 500) -> pd.DataFrame:
    frames = []
    for i in range(tickers):
        r = simulated_garch_returns(n, seed=i)
        close = 100 * np.exp(np.cumsum(r) / 100)
        frames.append(
            pd.DataFrame({"unique_id": f"T{i}", "ds": pd.bdate_range("2022-01-03", periods=n), "y": close})
        )
    return pd.concat(frames, ignore_index=True)


def fit(name: str, train: pd.DataFrame | None = None, **config: object):  # noqa: ANN201
    family = get_family(name)
    return family.fit(prices() if train is None else train, family.parse_config(config), SPEC)


GARCH_VARIANTS = [
    {},
    {"vol": "GJR", "dist": "t"},
    {"vol": "EGARCH", "mean": "Zero"},
    {"vol": "EGARCH", "dist": "t", "simulations": 200},
]


@pytest.mark.parametrize("config", GARCH_VARIANTS, ids=lambda c: "-".join(map(str, c.values())) or "default")
def test_garch_forecasts_sigma_per_step_and_reloads_identically(config: dict, tmp_path: Path) -> None:
    fitted = fit("garch", **config)
    forecast = fitted.predict(10)
    assert list(forecast.columns) == COLUMNS and len(forecast) == 20
    assert (forecast["sigma"] > 0).all()
    bounds = forecast[["lo-95", "lo-80", "mean", "hi-80", "hi-95"]].to_numpy()
    assert (np.diff(bounds, axis=1) > 0).all()
    save_fitted(fitted, tmp_path / "model")
    pd.testing.assert_frame_equal(load_fitted(tmp_path / "model").predict(10), forecast)


def test_garch_recovers_the_simulated_persistence_and_steps_on_business_days() -> None:
    fitted = fit("garch", train=prices(tickers=1, n=3000))
    names = ("mu", "omega", "alpha", "beta")
    params = dict(zip(names, fitted.params[0], strict=True))
    assert 0.85 < params["alpha"] + params["beta"] < 1.0
    forecast = fitted.predict(3)
    assert list(forecast["ds"]) == list(pd.bdate_range(prices(1, 3000)["ds"].max(), periods=4)[1:])


def test_garch_sigma_reverts_toward_its_long_run_level() -> None:
    fitted = fit("garch", train=prices(tickers=1))
    omega, alpha, beta = fitted.params[0][1:4]
    long_run = np.sqrt(omega / (1 - alpha - beta))
    sigma = fitted.predict(400)["sigma"].to_numpy()
    assert abs(sigma[-1] - long_run) < abs(sigma[0] - long_run) + 1e-9
    assert abs(sigma[-1] - long_run) / long_run < 0.05


def test_student_t_intervals_are_wider_in_the_tails_than_normal_ones() -> None:
    forecast = fit("garch", dist="t").predict(1)
    z95 = (forecast["hi-95"] - forecast["mean"]) / forecast["sigma"]
    z80 = (forecast["hi-80"] - forecast["mean"]) / forecast["sigma"]
    assert (z95 / z80 > 1.96 / 1.2816).all()  # heavier tails than the normal ratio


def test_egarch_simulation_is_repeatable_for_a_seed() -> None:
    first = fit("garch", vol="EGARCH", simulations=200).predict(5)
    pd.testing.assert_frame_equal(fit("garch", vol="EGARCH", simulations=200).predict(5), first)
    assert not fit("garch", vol="EGARCH", simulations=200, seed=1).predict(5)["sigma"].equals(first["sigma"])


def test_returns_can_be_given_directly() -> None:
    frame = prices(tickers=1)
    returns = frame.assign(y=100 * np.log(frame["y"]).diff()).dropna()
    from_returns = fit("garch", train=returns, y_kind="return").predict(3)
    from_prices = fit("garch", train=frame).predict(3)
    np.testing.assert_allclose(from_returns["sigma"], from_prices["sigma"], rtol=1e-6)


def test_realized_vol_is_the_std_of_the_last_window_of_returns(tmp_path: Path) -> None:
    frame = prices(tickers=1)
    returns = 100 * np.diff(np.log(frame["y"].to_numpy()))
    fitted = fit("realized_vol", train=frame, window=30, mean="window")
    forecast = fitted.predict(4)
    np.testing.assert_allclose(forecast["sigma"], returns[-30:].std(ddof=1))
    np.testing.assert_allclose(forecast["mean"], returns[-30:].mean())
    np.testing.assert_allclose(forecast["hi-95"] - forecast["mean"], 1.959964 * forecast["sigma"], rtol=1e-6)
    save_fitted(fitted, tmp_path / "model")
    pd.testing.assert_frame_equal(load_fitted(tmp_path / "model").predict(4), forecast)


def test_realized_vol_mean_is_zero_by_default() -> None:
    assert (fit("realized_vol").predict(2)["mean"] == 0).all()


def test_clear_errors_name_the_series() -> None:
    short = prices(tickers=1).head(20).assign(unique_id="NEW")
    with pytest.raises(ForecastingError, match="'NEW' has 19 returns"):
        fit("garch", train=pd.concat([prices(tickers=1), short]))
    with pytest.raises(ForecastingError, match="'NEW' has 19 returns; this model needs at least 30"):
        fit("realized_vol", train=short, window=30)
    negative = prices(tickers=1).assign(y=lambda f: f["y"] - 1000)
    with pytest.raises(ForecastingError, match="'T0' has prices <= 0"):
        fit("realized_vol", train=negative)
    with pytest.raises(ForecastingError, match="horizon"):
        fit("realized_vol").predict(0)
