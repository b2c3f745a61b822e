"""The hourly benchmark on real ETT data: origins over the last year, nothing after an origin in
its fit, the M4 scores in one table. Skips cleanly when ../shared/data/ett is absent."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("hourly_benchmark", REPO / "benchmarks" / "hourly.py")
assert spec and spec.loader
hourly = importlib.util.module_from_spec(spec)
sys.modules["hourly_benchmark"] = hourly
spec.loader.exec_module(hourly)

pytestmark = pytest.mark.skipif(hourly.ett_dir() is None, reason="ETT data (../shared/data/ett) not present")


def test_origins_cover_the_last_year_and_leave_a_full_horizon() -> None:
    points = hourly.origins(17420, 20)
    assert len(points) == 20
    assert points[0] == 17420 - hourly.YEAR and points[-1] == 17420 - hourly.HORIZON


def test_ett_shows_a_daily_cycle() -> None:
    from helios.forecasting.base import DataSpec
    from helios.forecasting.seasonality import data_seasons

    data = hourly.load_ett(hourly.ett_dir(), "ETTh1")
    assert data["unique_id"].nunique() == 7
    assert 24 in data_seasons(data.groupby("unique_id").tail(2000), DataSpec("h", 1))


def test_the_benchmark_scores_every_family_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "table.md"
    assert hourly.main(["--families", "naive", "--origins", "2", "--markdown", str(table)]) == 0
    text = table.read_text()
    assert "| naive |" in text and "| seasonal_naive |" in text and "OWA" in text


def test_the_synthetic_panel_has_daily_and_weekly_cycles_and_a_horizon_after_each_series() -> None:
    from helios.forecasting.base import DataSpec
    from helios.forecasting.seasonality import data_seasons

    train, test = hourly.synthetic_split(series=12)
    lengths = train.groupby("unique_id").size()
    assert lengths.between(700, 960).all() and (test.groupby("unique_id").size() == hourly.HORIZON).all()
    assert (train["y"] > 0).all()
    assert {24, 168} <= set(data_seasons(train, DataSpec(freq="h", season_length=24)))
    again, _ = hourly.synthetic_split(series=12)
    assert train.equals(again)
