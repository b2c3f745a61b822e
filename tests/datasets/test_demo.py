"""The demo generators: invariants of the synthetic prices and draws, and that every demo imports."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helios.datasets.demo import demo_datasets, fair_powerball_draws, synthetic_ohlcv
from helios.datasets.importers import parse_upload
from helios.datasets.profile import profile
from helios.forecasting.rules import POWERBALL


def test_synthetic_prices_are_consistent_ohlcv_on_business_days() -> None:
    frame = synthetic_ohlcv()
    assert frame.columns.tolist() == ["unique_id", "ds", "y", "open", "high", "low", "close", "volume"]
    assert frame.groupby("unique_id").size().to_dict() == {"ACME": 750, "GLOBEX": 750, "INITECH": 750}
    assert (frame["ds"].dt.dayofweek < 5).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["low"] > 0).all() and (frame["volume"] > 0).all()
    assert (frame["y"] == frame["close"]).all()


def test_synthetic_prices_are_deterministic_for_a_seed() -> None:
    pd.testing.assert_frame_equal(synthetic_ohlcv(seed=3), synthetic_ohlcv(seed=3))
    assert not synthetic_ohlcv(seed=3)["close"].equals(synthetic_ohlcv(seed=4)["close"])


def test_synthetic_returns_cluster_in_volatility_and_have_fat_tails() -> None:
    frame = synthetic_ohlcv(tickers=("A", "B", "C", "D"), days=1500)
    returns = np.log(frame["close"]).groupby(frame["unique_id"]).diff().dropna()
    magnitude = returns.abs()
    # Large moves follow large moves (|r| autocorrelated) while r itself is close to unpredictable.
    assert magnitude.autocorr(1) > 0.1 > abs(returns.autocorr(1))
    assert returns.kurt() > 1


def test_fair_draws_fall_on_powerball_days_within_todays_rules() -> None:
    frame = fair_powerball_draws(n_draws=900, seed=1, end_date=dt.date(2026, 7, 11))
    assert len(frame) == 900 and frame["ds"].iloc[-1] == pd.Timestamp("2026-07-11")
    assert set(frame["ds"].dt.dayofweek) == {0, 2, 5}
    whites = frame[["n1", "n2", "n3", "n4", "n5"]].to_numpy()
    assert (np.diff(whites, axis=1) > 0).all() and whites.min() >= 1 and whites.max() <= 69
    assert frame["bonus"].between(1, 26).all()
    # Fair: each white ball turns up about 900 * 5 / 69 = 65 times.
    counts = np.bincount(whites.ravel(), minlength=70)[1:]
    assert counts.min() > 35 and counts.max() < 100
    again = fair_powerball_draws(n_draws=900, seed=1, end_date=dt.date(2026, 7, 11))
    pd.testing.assert_frame_equal(frame, again)


def test_fair_draws_refuse_to_reach_before_todays_rules() -> None:
    with pytest.raises(ValueError, match="before today's Powerball rules"):
        fair_powerball_draws(n_draws=2000, end_date=dt.date(2018, 1, 1))


def test_every_demo_dataset_imports_and_the_synthetic_ones_say_so() -> None:
    demos = {demo.name: demo for demo in demo_datasets()}
    assert {"synthetic-stocks", "synthetic-powerball"} <= set(demos)
    for demo in demos.values():
        parsed = parse_upload(demo.raw, demo.options, max_bytes=10_000_000)
        assert parsed.kind == demo.kind and profile(parsed).rows > 0
        if demo.name.startswith("synthetic"):
            assert "SYNTHETIC" in demo.description
    stocks, draws = demos["synthetic-stocks"], demos["synthetic-powerball"]
    parsed_stocks = parse_upload(stocks.raw, stocks.options, max_bytes=10**7)
    pd.testing.assert_frame_equal(parsed_stocks.frame, synthetic_ohlcv(), check_exact=False)
    assert parse_upload(draws.raw, draws.options, max_bytes=10**7).rules == POWERBALL


def test_vega_stocks_are_offered_when_the_package_is_installed() -> None:
    pytest.importorskip("vega_datasets")
    vega = next(demo for demo in demo_datasets() if demo.name == "vega-stocks")
    stats = profile(parse_upload(vega.raw, vega.options, max_bytes=10_000_000))
    assert stats.series_count == 5 and stats.frequency == "MS" and stats.rows == 560
