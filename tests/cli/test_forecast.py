"""``helios forecast`` from a CSV, through Typer's test runner on a tiny app of its own."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from helios.cli.forecast import forecast

app = typer.Typer()
app.command()(forecast)
runner = CliRunner()


def write_csv(
    tmp_path: Path, length: int = 30, freq: str = "D", ids: tuple[str, ...] = ("AAPL", "MSFT")
) -> Path:
    rng = np.random.default_rng(0)
    frames = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range("2024-01-01", periods=length, freq=freq),
                "y": 100 + np.cumsum(rng.normal(size=length)),
            }
        )
        for uid in ids
    ]
    path = tmp_path / "prices.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def run(csv: Path | str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--input", str(csv), *[str(a) for a in args]])
    # Typer draws errors in a box that wraps lines: compare words, not layout.
    words = " ".join(result.output.replace("│", " ").replace("╭", " ").replace("╰", " ").split())
    return result.exit_code, result.stdout, words


def test_forecast_prints_long_csv_with_intervals(tmp_path: Path) -> None:
    code, stdout, _ = run(write_csv(tmp_path), "--horizon", "5", "--family", "naive")
    assert code == 0
    out = pd.read_csv(StringIO(stdout), parse_dates=["ds"])
    assert list(out.columns) == ["unique_id", "ds", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert len(out) == 10 and set(out["unique_id"]) == {"AAPL", "MSFT"}
    assert out["ds"].min() == pd.Timestamp("2024-01-31")  # the day after the data ends: D was inferred


def test_frequency_aliases_are_case_insensitive_and_levels_chosen(tmp_path: Path) -> None:
    path = write_csv(tmp_path, freq="W-SUN")
    output = tmp_path / "out.csv"
    code, _, _ = run(
        path, "--horizon", "3", "--freq", "w-sun", "--family", "drift", "--levels", "90", "--output", output
    )
    assert code == 0
    out = pd.read_csv(output, parse_dates=["ds"])
    assert list(out.columns) == ["unique_id", "ds", "mean", "lo-90", "hi-90"]
    assert (out["ds"].dt.dayofweek == 6).all()


def test_the_default_auto_model_runs(tmp_path: Path) -> None:
    code, stdout, _ = run(write_csv(tmp_path, length=40), "--horizon", "4")
    assert code == 0
    assert len(pd.read_csv(StringIO(stdout))) == 8


def test_auto_explains_its_choice_per_series(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--input", str(write_csv(tmp_path, length=40)), "--horizon", "4", "--explain"]
    )
    assert result.exit_code == 0
    assert "AAPL:" in result.stderr and "MSFT:" in result.stderr
    assert "2 series (scores: 1 = the candidates' mean" in result.stderr and "cost of naive:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--horizon", "0"], "must be at least 1"),
        (["--horizon", "3", "--family", "prophet"], "unknown family 'prophet'; choose one of:"),
        (["--horizon", "3", "--family", "uniform_chance"], "forecasts draws"),
        (["--horizon", "3", "--levels", "80,120"], "strictly between 0 and 100"),
        (["--horizon", "3", "--freq", "fortnightly"], "unknown frequency"),
        (
            ["--horizon", "3", "--season", "20"],
            "series AAPL has 30 observations (and 1 more series); season 20 needs at least 40",
        ),
        (  # in words, not pydantic's regular expression, type tags and links
            [
                "--horizon",
                "3",
                "--family",
                "auto",
                "--params",
                '{"candidates": ["naive<x>"], "n_windows": 0}',
            ],
            "--params: candidates.0: 'naive<x>' is not a candidate name: use a family name, optionally '@' "
            "and a label of letters, digits, '_', '.' and '-' (e.g. seasonal_naive@168); "
            "n_windows: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_readable_message(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, words = run(write_csv(tmp_path), *args)
    assert code == 2
    assert message in words and "errors.pydantic.dev" not in words


def test_non_numeric_values_name_the_series_and_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path)
    frame = pd.read_csv(path)
    frame["y"] = frame["y"].astype(object)
    frame.loc[35, "y"] = "n/a?"  # MSFT's 6th row: file line 37 with the header
    frame.to_csv(path, index=False)
    code, _, words = run(path, "--horizon", "3", "--family", "naive")
    assert code == 2
    assert "series MSFT, line 37: y 'n/a?' is not a number" in words


def test_missing_columns_and_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ticker,date,close\nA,2024-01-01,1\n")
    code, _, words = run(path, "--horizon", "3")
    assert code == 2 and "lacks column(s) unique_id, ds, y" in words
    code, _, words = run(tmp_path / "absent.csv", "--horizon", "3")
    assert code == 2 and "does not exist" in words


def test_model_is_a_deprecated_alias_of_family_that_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--input", str(write_csv(tmp_path)), "--horizon", "2", "--model", "naive"])
    assert result.exit_code == 0
    assert "--model is deprecated" in result.stderr and "--family" in result.stderr
    assert len(pd.read_csv(StringIO(result.stdout))) == 4


def test_output_is_rounded_to_six_significant_digits(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    ds = pd.date_range("2024-01-01", periods=20, freq="D")
    y = np.append(np.ones(19), 0.1 + 0.2)  # 0.30000000000000004
    pd.DataFrame({"unique_id": "X", "ds": ds, "y": y}).to_csv(path, index=False)
    code, stdout, _ = run(path, "--horizon", "1", "--family", "naive")
    assert code == 0
    mean = stdout.splitlines()[1].split(",")[2]
    assert mean == "0.3"


def write_hourly_steps(tmp_path: Path, weekend: float, seed: int) -> Path:
    """Three series of 720 hours with a daily cycle (and a weekend drop), ``ds`` 1, 2, 3..."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, 721)
    shape = 50 + 5 * np.sin(2 * np.pi * t / 24) - weekend * ((t // 24) % 7 >= 5)
    frame = pd.concat(
        pd.DataFrame({"unique_id": f"s{i}", "ds": t, "y": shape + rng.normal(0, 1, len(t))}) for i in range(3)
    )
    path = tmp_path / "steps.csv"
    frame.to_csv(path, index=False)
    return path


def test_integer_steps_count_in_the_unit_their_declared_season_belongs_to(tmp_path: Path) -> None:
    """Hourly data without timestamps (``ds`` 1, 2, 3...) and ``--season 24`` is forecast as
    hourly data: its week of 168 steps is a candidate and the global model joins auto, where
    reading the steps as days made 7 and 365 the other seasons and kept gbm out."""
    path = write_hourly_steps(tmp_path, weekend=3.0, seed=1)
    result = runner.invoke(app, ["--input", str(path), "--horizon", "24", "--season", "24", "--explain"])
    assert result.exit_code == 0, result.output
    assert "seasonal_naive@168" in result.stderr and "cost of gbm:" in result.stderr
    assert "seasonal_naive@365" not in result.stderr and not re.search(r"seasonal_naive@7\b", result.stderr)
    out = pd.read_csv(StringIO(result.stdout))
    assert out.groupby("unique_id")["ds"].agg(["min", "max"]).eq([721, 744]).all().all()


def test_integer_steps_without_a_season_are_read_in_the_unit_of_the_cycle_they_show(tmp_path: Path) -> None:
    """No ``--season``: the cycle the steps' changes repeat on names the calendar (24: hours),
    and the command says so on stderr."""
    path = write_hourly_steps(tmp_path, weekend=0.0, seed=2)
    result = runner.invoke(app, ["--input", str(path), "--horizon", "24", "--family", "auto", "--explain"])
    assert result.exit_code == 0, result.output
    assert "repeats every 24 steps, so they are read as hours" in " ".join(result.stderr.split())
    assert "seasonal_naive@168" in result.stderr and "seasonal_naive@365" not in result.stderr


def test_integer_steps_twice_in_a_series_or_a_zero_season_are_refused_before_any_guess(
    tmp_path: Path,
) -> None:
    path = tmp_path / "steps.csv"
    pd.DataFrame({"unique_id": ["s0"] * 4, "ds": [1, 1, 2, 3], "y": [1.0, 2.0, 3.0, 4.0]}).to_csv(
        path, index=False
    )
    code, _, words = run(path, "--horizon", "2", "--family", "naive")
    assert code == 2 and "series s0: ds 1 appears more than once" in words
    code, _, words = run(write_csv(tmp_path), "--horizon", "2", "--season", "0")
    assert code == 2 and "must be at least 1, got 0" in words and "repeats every" not in words


def write_wide_csv(tmp_path: Path) -> Path:
    """ETT's shape: a date column, then one column per series; OT starts a day late."""
    rng = np.random.default_rng(1)
    hours = 24 * 14
    frame = pd.DataFrame({"date": pd.date_range("2016-07-01", periods=hours, freq="h")})
    for name in ("HUFL", "MULL", "OT"):
        frame[name] = 20 + 5 * np.sin(2 * np.pi * np.arange(hours) / 24) + rng.normal(0, 0.3, hours)
    frame["OT"] = frame["OT"].astype(object)
    frame.loc[:23, "OT"] = ""
    path = tmp_path / "ETTh.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_wide_file_forecasts_each_column_as_a_series(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path)
    code, stdout, _ = run(path, "--wide", "--horizon", "24", "--family", "seasonal_naive")
    assert code == 0
    out = pd.read_csv(StringIO(stdout), parse_dates=["ds"])
    assert set(out["unique_id"]) == {"HUFL", "MULL", "OT"} and len(out) == 72
    assert (out.groupby("unique_id")["ds"].min() == pd.Timestamp("2016-07-15")).all()  # h inferred
    wide = pd.read_csv(path)
    last_day = wide["OT"].iloc[-24:].to_numpy()
    np.testing.assert_allclose(out.loc[out["unique_id"] == "OT", "mean"], last_day, rtol=1e-5)
    code, same, _ = run(path, "--wide", "--date-col", "date", "--horizon", "24", "--family", "seasonal_naive")
    assert code == 0 and same == stdout


def test_a_wide_file_read_as_long_says_to_add_wide_and_bad_cells_name_their_line(tmp_path: Path) -> None:
    path = write_wide_csv(tmp_path)
    code, _, words = run(path, "--horizon", "3")
    assert code == 2 and "lacks column(s) unique_id, ds, y" in words and "add --wide" in words
    code, _, words = run(path, "--wide", "--date-col", "when", "--horizon", "3")
    assert code == 2 and "has no column 'when' (--date-col)" in words
    code, _, words = run(path, "--date-col", "date", "--horizon", "3")
    assert code == 2 and "add --wide" in words
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[40, "MULL"] = "n/a?"  # file line 42: the header, then rows from 1
    frame.to_csv(path, index=False)
    code, _, words = run(path, "--wide", "--horizon", "3", "--family", "naive")
    assert code == 2 and "series MULL, line 42: y 'n/a?' is not a number" in words
