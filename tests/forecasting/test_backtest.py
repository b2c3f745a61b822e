"""Rolling-origin backtests: the windows sit where they should, and no window ever trains on
data at or after its own origin."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.backtest import backtest, rolling_origin_splits
from helios.forecasting.base import DataSpec, FitContext, ForecastingError, Hyperparameters, ModelFamily
from helios.forecasting.families import get_family
from helios.forecasting.models.baselines import NaiveFitted


def panel() -> pd.DataFrame:
    rows = []
    for uid, n in (("long", 40), ("short", 25)):
        stamps = pd.date_range("2024-01-01", periods=n, freq="D") + pd.Timedelta(
            days=40 - n
        )  # both end together
        rows.append(pd.DataFrame({"unique_id": uid, "ds": stamps, "y": np.arange(n, dtype=float) + 100}))
    return pd.concat(rows, ignore_index=True)


class SpyConfig(Hyperparameters):
    pass


class Spy(ModelFamily):
    """Naive, but remembers the latest stamp and value of every series it was ever fitted on."""

    name = "spy"
    task = "timeseries"
    description = "test double"
    Config = SpyConfig
    FittedType = NaiveFitted
    seen: ClassVar[list[dict[str, Any]]] = []

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> NaiveFitted:
        self.seen.append(train.groupby("unique_id")["ds"].max().to_dict())
        naive = get_family("naive")
        return naive.fit(train, naive.parse_config({}), spec)


def test_no_window_trains_at_or_after_its_origin() -> None:
    Spy.seen.clear()
    data = panel()
    result = backtest(data, Spy(), DataSpec("D", 1), horizon=5, n_windows=4, step=3)
    assert len(Spy.seen) == 4
    first_test_stamp = result.forecasts.groupby(["window", "unique_id"])["ds"].min()
    for window, latest_seen in enumerate(Spy.seen):
        for uid, latest in latest_seen.items():
            assert latest < first_test_stamp[(window, uid)], (window, uid)
            # the origin is the last point before the window, exactly: nothing between is lost either
            assert latest == first_test_stamp[(window, uid)] - pd.Timedelta(days=1)
    assert (result.forecasts["cutoff"] < result.forecasts["ds"]).all()


def test_windows_are_placed_from_each_series_end() -> None:
    splits = list(rolling_origin_splits(panel(), horizon=5, n_windows=3, step=2))
    last = splits[-1]
    assert last.test.groupby("unique_id")["ds"].max().eq(pd.Timestamp("2024-02-09")).all()
    assert [len(s.test) for s in splits] == [10, 10, 10]
    # window 0 ends 2*2 points before the end; its training part is everything before its test
    first = splits[0]
    assert first.train.groupby("unique_id").size().to_dict() == {"long": 40 - 5 - 4, "short": 25 - 5 - 4}


def test_forecasts_and_metrics_per_window() -> None:
    result = backtest(panel(), "naive", DataSpec("D", 1), horizon=4, n_windows=2)
    assert list(result.forecasts.columns[:7]) == ["unique_id", "window", "cutoff", "step", "ds", "y", "mean"]
    assert len(result.forecasts) == 2 * 2 * 4 and len(result.metrics) == 2 * 2
    # a line of slope 1: naive is off by 1, 2, 3, 4 -> MAE 2.5, MASE 2.5 (in-sample steps are 1)
    assert result.metrics["mae"].to_numpy() == pytest.approx(np.full(4, 2.5))
    assert result.summary()["mase"] == pytest.approx(2.5)


def test_series_too_short_for_a_window_are_skipped_and_named() -> None:
    result = backtest(panel(), "naive", DataSpec("D", 1), horizon=5, n_windows=5, step=5, min_train_size=2)
    assert result.skipped[0] == ("short",)  # 25 - 25 = 0 training points at the oldest origin
    assert set(result.forecasts.loc[result.forecasts["window"] == 0, "unique_id"]) == {"long"}


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ForecastingError, match="horizon"):
        backtest(panel(), "naive", DataSpec("D", 1), horizon=0)
    with pytest.raises(ForecastingError, match="at least one window"):
        backtest(panel(), "naive", DataSpec("D", 1), horizon=2, n_windows=0)
    with pytest.raises(ForecastingError, match="long enough"):
        backtest(panel(), "naive", DataSpec("D", 1), horizon=40, n_windows=1)
