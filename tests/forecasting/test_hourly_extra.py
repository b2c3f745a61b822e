"""The extra hourly panel (real series shipped inside PyPI packages): windows of 700-960 hours and
the 48 after, positive throughout, halves that share no long series; and a benchmark that says
so and exits 0 when none of the packages is there."""

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


extra = load("hourly_extra", "hourly_extra.py")
hourly = load("hourly_benchmark", "hourly.py")


def hourly_series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-01", periods=len(values), freq="h"))


def test_windows_are_700_to_960_hours_plus_the_horizon_and_positive() -> None:
    t = np.arange(6000)
    values = 10 + np.sin(2 * np.pi * t / 24)
    clean = extra.windows("s", hourly_series(values), np.random.default_rng(0))
    values[3000:3010] = -1.0  # a stretch below zero drops the window holding it
    pieces = extra.windows("s", hourly_series(values), np.random.default_rng(0))
    assert pieces and all(
        extra.SHORTEST + extra.HORIZON <= len(p) <= extra.LONGEST + extra.HORIZON for p in pieces
    )
    assert all((p["y"] > 0).all() for p in pieces)
    assert len(pieces) == len(clean) - 1


def test_halves_alternate_within_each_source_and_share_no_series() -> None:
    names = ["a/1", "a/2", "a/3", "b/1", "b/2"]
    choice, holdout = extra.in_half(names, "choice"), extra.in_half(names, "holdout")
    assert choice == ["a/1", "a/3", "b/1"] and holdout == ["a/2", "b/2"]
    assert extra.in_half(names, "all") == names


def test_a_half_cuts_the_same_windows_as_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    t = np.arange(4000)
    found = {f"src/{i}": hourly_series(50 + 10 * np.sin(2 * np.pi * (t + i) / 24)) for i in range(4)}
    monkeypatch.setattr(extra, "long_series", lambda: found)
    whole, _ = extra.extra_split("all")
    half, after = extra.extra_split("holdout")
    ids = set(half["unique_id"])
    assert ids and ids < set(whole["unique_id"])
    assert whole[whole["unique_id"].isin(ids)].reset_index(drop=True).equals(half.reset_index(drop=True))
    assert (after.groupby("unique_id").size() == extra.HORIZON).all()


def test_without_the_packages_the_benchmark_says_so_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(extra, "long_series", dict)
    assert hourly.main(["--dataset", "extra", "--families", "naive"]) == 0
    assert "Nothing to do" in capsys.readouterr().out
