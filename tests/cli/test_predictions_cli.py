"""``helios predict`` and ``helios predictions ...`` on a local home."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from helios.cli import app
from tests.predictions.ledger import import_prices, prices, register_model


@pytest.fixture
def run(settings, context, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    register_model(context, "walk", "naive", prices(90))
    import_prices(context, prices(100))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_predict_score_and_accuracy(run, context) -> None:  # type: ignore[no-untyped-def]
    made = run("predict", "stocks", "-s", "AAA", "-m", "walk", "--horizon", "3")
    assert made.exit_code == 0, made.output
    assert "AAA · walk v1 · from 2026-04-10 (state_updated)" in made.output
    import_prices(context, prices(103))
    scored = run("predictions", "score", "stocks")
    assert scored.exit_code == 0 and "3 scored" in scored.output
    listed = run("predictions", "list", "AAA", "--latest")
    assert listed.exit_code == 0 and "2026-04-11" in listed.output
    report = run("predictions", "accuracy", "--model", "walk")
    assert report.exit_code == 0 and "cannot tell yet" in report.output


def test_bad_input_is_one_readable_line(run) -> None:  # type: ignore[no-untyped-def]
    unknown = run("predict", "stocks", "-s", "ZZZ", "-m", "walk")
    assert unknown.exit_code == 1 and "unknown series 'ZZZ'" in unknown.output
    future = run("predictions", "list", "AAA", "--as-of", "2999-01-01")
    assert future.exit_code == 1 and "as_of" in future.output
