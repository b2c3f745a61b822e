"""``hx.predictions`` against a real ``helios serve``: run inline and as a queued run with progress,
read a ticker (one named ``runs`` too) with ``as_of``, post actuals, score, accuracy, schedules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from helios.client import Helios, HeliosAPIError
from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate
from tests.live import live_server, migrated_home
from tests.predictions.ledger import import_prices, prices, register_model

STOCKS = ("AAA", "BBB", "runs")
MORE = ("X1", "X2", "X3")


@pytest.fixture(scope="module")
def hx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helios]:
    home = tmp_path_factory.mktemp("predictions-client") / "home"
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    register_model(context, "walk", "naive", prices(90, tickers=STOCKS))
    register_model(context, "vol", "garch", prices(90, tickers=STOCKS))
    register_model(context, "wide", "naive", prices(90, seed=5, tickers=MORE))
    import_prices(context, prices(100, tickers=STOCKS))  # stocks v1 ends 2026-04-10
    import_prices(context, prices(100, seed=5, tickers=MORE), name="more")
    context.db.dispose()
    with live_server(home, trains=False) as url, Helios(url) as client:
        yield client


def test_run_inline_then_read_a_ticker_named_runs_as_of_a_time(hx: Helios) -> None:
    points = hx.predictions.run("stocks", "AAA", "walk", 5, volatility="vol")
    assert len(points) == 5 and (points["unique_id"] == "AAA").all()
    assert str(points["origin"].iloc[0]).startswith("2026-04-10") and (points["sigma"] > 0).all()
    assert (points["lo_95"] <= points["lo_80"]).all() and (points["hi_80"] <= points["hi_95"]).all()

    [first] = hx.predictions.run_raw("stocks", "runs", "walk@1", 3)
    [second] = hx.predictions.run_raw("stocks", "runs", "walk", 3, levels=[50, 99])
    assert first["unique_id"] == "runs" and first["trigger"] == "api" and second["levels"] == [50, 99]
    listed = hx.predictions.list("runs")
    assert sorted(listed["prediction"].unique()) == [first["id"], second["id"]]
    then = hx.predictions.list("runs", as_of=first["created_at"], latest=True)
    assert then["prediction"].unique().tolist() == [first["id"]] and len(then) == 3
    assert hx.predictions.get(first["id"])["points"] == first["points"]
    with pytest.raises(HeliosAPIError) as future:
        hx.predictions.list("runs", as_of="2999-01-01T00:00:00Z")
    assert future.value.status == 422 and future.value.errors[0]["field"] == "as_of"


def test_many_series_run_queued_with_progress(hx: Helios) -> None:
    seen: list[dict] = []
    found = hx.predictions.run_raw("more", "all", "wide", 4, on_progress=seen.append)
    assert sorted(p["unique_id"] for p in found) == list(MORE)
    assert len({p["run_id"] for p in found}) == 1 and all(len(p["points"]) == 4 for p in found)
    assert seen[0]["status"] in ("queued", "running") and seen[0]["series_total"] == 3
    assert seen[-1]["status"] == "succeeded" and seen[-1]["progress"] == 1.0
    assert [r["series_done"] for r in seen] == sorted(r["series_done"] for r in seen)  # never backwards
    run = hx.predictions.get_run(found[0]["run_id"])
    assert run["series_done"] == 3 and run["predictions"] == 3


def test_actuals_are_scored_once_and_accuracy_reads_them(hx: Helios) -> None:
    [made] = hx.predictions.run_raw("stocks", "BBB", "walk", 5)
    later = prices(104, tickers=STOCKS)
    known = later[(later["unique_id"] == "BBB") & (later["ds"] > "2026-04-10")]
    rows = [
        {"unique_id": "BBB", "ds": f"{d:%Y-%m-%d}", "y": float(y)}
        for d, y in zip(known.ds, known.y, strict=True)
    ]
    assert len(rows) == 4
    with pytest.raises(HeliosAPIError) as unknown:
        hx.predictions.actuals([{"unique_id": "NOPE", "ds": "2026-04-11", "y": 1.0}], dataset="stocks")
    assert unknown.value.status == 422 and unknown.value.errors[0]["field"] == "rows.unique_id"
    assert hx.predictions.accuracy_report(ticker="BBB")["scored_points"] == 0  # nothing scored by it

    report = hx.predictions.actuals(rows, dataset="stocks")
    assert report["scored"] == 4 and report["predictions"] == 1
    again = hx.predictions.actuals(rows, dataset="stocks")
    assert again["scored"] == 0 and again["unchanged"] == 4  # idempotent
    revised = hx.predictions.actuals([{**rows[0], "y": rows[0]["y"] + 1}], dataset="stocks")
    assert revised["revised"] == 1
    point = hx.predictions.get(made["id"])["points"][0]
    assert point["actual"] == pytest.approx(rows[0]["y"] + 1)
    assert point["first_actual"] == pytest.approx(rows[0]["y"])

    assert hx.predictions.score("stocks")["points_matched"] == 0  # v1 holds no target of it
    table = hx.predictions.accuracy(model="walk", ticker="BBB")
    assert isinstance(table, pd.DataFrame) and table["n"].tolist() == [4] and table["mae"].iloc[0] > 0
    [group] = hx.predictions.accuracy_report(model="walk", ticker="BBB")["groups"]
    assert "cannot tell" in group["skill"]["verdict"] and len(group["by_step"]) == 4


def test_schedules(hx: Helios, tmp_path: Path) -> None:
    with pytest.raises(HeliosAPIError) as bad:
        hx.predictions.schedule("nightly", "every night", "stocks", "AAA", "walk", 5)
    assert bad.value.status == 422 and bad.value.errors[0]["field"] == "cron"
    with pytest.raises(HeliosAPIError) as idle:
        hx.predictions.schedule("nightly", "0 22 * * 1-5", "stocks", "AAA", "ghost", 5)
    assert idle.value.status in (404, 422) and "ghost" in idle.value.detail
    assert hx.predictions.schedules() == []  # nothing stored by either

    made = hx.predictions.schedule("nightly", "0 22 * * 1-5", "stocks", "AAA", "walk@1", 5, missed="catch_up")
    assert made["missed"] == "catch_up" and made["next_run_at"] and made["request"]["series"] == "AAA"
    assert [s["name"] for s in hx.predictions.schedules()] == ["nightly"]
    hx.predictions.unschedule("nightly")
    assert hx.predictions.schedules() == []
    with pytest.raises(HeliosAPIError) as gone:
        hx.predictions.unschedule("nightly")
    assert gone.value.status == 404
