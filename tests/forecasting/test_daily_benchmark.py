"""The daily benchmark (``benchmarks/daily.py``): each series is its longest stretch without a
missing day, every origin's fit sees only the days before it, and without the packages it says
so and exits 0."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def load_daily():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("daily_benchmark", REPO / "benchmarks" / "daily.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["daily_benchmark"] = module
    spec.loader.exec_module(module)
    return module


daily = load_daily()


def test_a_series_is_its_longest_stretch_without_a_missing_day() -> None:
    stamps = pd.date_range("2020-01-01", periods=30, freq="D")
    values = pd.Series(np.arange(30.0), index=stamps)
    values.iloc[[5, 6, 20, 25]] = np.nan
    kept = daily.longest_run(values.drop(stamps[10]))  # a day absent from the index is a gap too
    assert kept.index[0] == stamps[11] and kept.index[-1] == stamps[19]


def test_a_day_counts_only_with_most_of_its_hours() -> None:
    stamps = pd.date_range("2020-01-01", periods=24 * 6, freq="h")
    hours = pd.Series(1.0, index=stamps).drop(stamps[24 * 2 : 24 * 2 + 6])  # day 3 lost 6 hours
    means = daily.daily_means(hours)
    assert len(means) == 3 and means.index[0] == pd.Timestamp("2020-01-04")


def test_every_origin_fits_on_the_days_before_it_only() -> None:
    stamps = pd.date_range("2018-01-01", periods=800, freq="D")
    series = {"a": pd.Series(np.arange(800.0), index=stamps), "b": pd.Series(np.ones(800), index=stamps)}
    splits = daily.splits(series, count=5, history=300)
    assert len(splits) == 5
    for train, test in splits:
        for uid in ("a", "b"):
            seen, ahead = train[train["unique_id"] == uid], test[test["unique_id"] == uid]
            assert len(seen) == 300 and len(ahead) == daily.HORIZON
            assert seen["ds"].max() + pd.Timedelta(days=1) == ahead["ds"].min()
    assert splits[-1][1]["ds"].max() == stamps[-1]  # the last origin forecasts the last days


def test_without_the_packages_it_says_so_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(daily, "long_series", lambda: {})
    assert daily.main(["--origins", "2"]) == 0
    assert "Nothing to do" in capsys.readouterr().out
