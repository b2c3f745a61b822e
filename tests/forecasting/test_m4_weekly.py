"""The benchmark's M4 weekly pipeline reproduces the official Naive2 scores, which pins down the
data loading, the metrics and Naive2 itself. Skips when the shared data folder is absent."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family

REPO = Path(__file__).resolve().parents[2]


def benchmark_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("m4_weekly_benchmark", REPO / "benchmarks" / "m4_weekly.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = benchmark_module()
FOLDER = bench.m4_weekly_dir()
pytestmark = pytest.mark.skipif(
    FOLDER is None,
    reason=f"M4 weekly data not found under {bench.shared_data_dir()} (set HELIOS_SHARED_DATA)",
)


@pytest.fixture(scope="module")
def m4():  # type: ignore[no-untyped-def]
    return bench.load_m4_weekly(FOLDER)


def test_official_naive2_weekly_scores_are_reproduced(m4) -> None:  # type: ignore[no-untyped-def]
    assert len(m4.ids) == 359 and m4.test.shape == (359, 13)
    scores = bench.naive2_reference(m4)
    # Official: sMAPE 9.161, MASE 2.777 (published to 3 decimals).
    assert scores["smape"] == pytest.approx(9.161, abs=5e-4)
    assert scores["mase"] == pytest.approx(2.777, abs=5e-4)


def test_official_naive_interval_scores_are_reproduced(m4) -> None:  # type: ignore[no-untyped-def]
    family = get_family("naive")
    fitted = family.fit(m4.train, family.parse_config({}), DataSpec("W-SUN", 1))
    scores = bench.score(fitted.predict(13, (95,)), m4)
    # Official Naive (random walk, sigma*sqrt(h)): MSIS 26.358, ACD 0.001 (|coverage - 0.95|).
    assert scores["msis"] == pytest.approx(26.358, abs=5e-4)
    assert abs(scores["coverage"] - 0.95) == pytest.approx(0.001, abs=5e-4)


def test_official_rows_are_read_from_the_eval_files() -> None:
    rows = {row.label.split(" (")[0]: row for row in bench.official_rows(FOLDER)}
    assert (rows["M4 Naive2"].smape, rows["M4 Naive2"].mase, rows["M4 Naive2"].owa) == (9.161, 2.777, 1.0)
    assert rows["M4 Theta"].smape == 9.093
    assert rows["M4 winner"].owa == pytest.approx(0.851, abs=5e-4) and rows["M4 winner"].msis == 22.034


def test_pinned_specs_refit_identically_on_real_series(m4) -> None:  # type: ignore[no-untyped-def]
    ids = m4.ids[::36]  # ten series of every length
    train = m4.train[m4.train["unique_id"].isin(ids)]
    family = get_family("ensemble")
    fitted = family.fit(train, family.parse_config({"window": 260}), DataSpec("W-SUN", 52))
    meta, arrays = fitted.to_state()
    rebuilt = type(fitted).from_state(meta, arrays)
    pd.testing.assert_frame_equal(rebuilt.predict(13), fitted.predict(13), check_exact=True)
