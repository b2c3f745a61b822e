"""`helios datasets import` with a column mapping, and `helios datasets download`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from helios.cli import app

NATURAL = "date,ticker,close\n2024-01-01,NOVA,1\n2024-01-02,NOVA,2\n2024-01-01,ORBI,3\n2024-01-02,ORBI,4\n"


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_datasets_import_with_column_mapping(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "prices.csv"
    csv.write_text(NATURAL)
    refused = run("datasets", "import", str(csv), "--name", "prices")
    assert refused.exit_code == 1
    assert "--date-col" in refused.output and "'ticker'" in refused.output
    mapped = run(
        "datasets", "import", str(csv), "--name", "prices",
        "--date-col", "date", "--id-col", "ticker", "--value-col", "close",
    )  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    assert "imported prices v1" in mapped.output and "2 series" in mapped.output


def test_datasets_import_of_a_wide_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "wide.csv"
    csv.write_text("date,NOVA,ORBI\n2024-01-01,1,3\n2024-01-02,2,4\n")
    result = run("datasets", "import", str(csv), "--name", "wide", "--wide", "--date-col", "date")
    assert result.exit_code == 0, result.output
    assert "4 rows" in result.output and "2 series" in result.output


def test_datasets_bad_mapping_names_the_field_and_stores_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "prices.csv"
    csv.write_text(NATURAL)
    result = run("datasets", "import", str(csv), "--name", "prices", "--date-col", "when")
    assert result.exit_code == 1 and "date_col 'when' is not a column" in result.output
    assert "no datasets yet" in run("datasets", "list").output


def test_datasets_download_csv_and_parquet(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "prices.csv"
    csv.write_text(NATURAL)
    run(
        "datasets",
        "import",
        str(csv),
        "--name",
        "prices",
        "--date-col",
        "date",
        "--id-col",
        "ticker",
        "--value-col",
        "close",
    )
    out = tmp_path / "out.csv"
    result = run("datasets", "download", "prices", "--version", "1", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["unique_id", "ds", "y"] and frame["y"].tolist() == [1.0, 2.0, 3.0, 4.0]
    parquet = tmp_path / "out.parquet"
    assert run("datasets", "download", "prices", "--format", "parquet", "-o", str(parquet)).exit_code == 0
    assert len(pd.read_parquet(parquet)) == 4
    missing = run("datasets", "download", "prices", "--version", "7", "-o", str(tmp_path / "x.csv"))
    assert missing.exit_code == 1 and "no version 7" in missing.output
    assert not (tmp_path / "x.csv").exists()
