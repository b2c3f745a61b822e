"""The hindsight ceilings BENCHMARKS.md quotes for ETTh2: per series, and per series and origin."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("hourly_ceiling", REPO / "benchmarks" / "hourly_ceiling.py")
assert spec and spec.loader
ceiling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ceiling)


def scores() -> pd.DataFrame:
    """Two series, two origins each; 'a' wins series s's first window, 'b' everything else."""
    rows = [
        ("s", 10.0, 1.0, "naive2"),
        ("s", 10.0, 1.0, "naive2"),
        ("t", 10.0, 1.0, "naive2"),
        ("t", 10.0, 1.0, "naive2"),
        ("s", 2.0, 0.2, "a"),
        ("s", 12.0, 1.2, "a"),
        ("t", 12.0, 1.2, "a"),
        ("t", 12.0, 1.2, "a"),
        ("s", 6.0, 0.6, "b"),
        ("s", 6.0, 0.6, "b"),
        ("t", 4.0, 0.4, "b"),
        ("t", 4.0, 0.4, "b"),
    ]
    return pd.DataFrame(rows, columns=["unique_id", "smape", "mase", "family"])


def test_the_oracles_pick_with_hindsight_per_series_and_per_window() -> None:
    table = ceiling.ceilings(scores(), baseline="a")
    assert table.loc["a", "owa"] == pytest.approx(0.95)  # (2 + 12 + 12 + 12) / 4 over 10
    assert table.loc["b", "owa"] == pytest.approx(0.5)
    # Per series: b on both (s: 0.6 against a's 0.7 on average); per window: a once, on s's first.
    assert table.loc["oracle: one family per series", "owa"] == pytest.approx(0.5)
    assert table.loc["oracle: per series and origin", "owa"] == pytest.approx(0.4)
    assert table.loc["b", "below_baseline"] == pytest.approx(1 - 0.5 / 0.95)
