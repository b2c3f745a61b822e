"""A person opens a finished job and sees what it forecast for the holdout against what happened,
the naive forecast beside it, series by series; a draws job shows each held-out draw against chance.
And a value typed into the launch form's last field reaches the job even when Launch is clicked at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from helios.forecasting.rules import POWERBALL
from tests.forecasting.draw_samples import fair_draws
from tests.live import browser_page, live_server, menu_closed, settle
from tests.training.conftest import prices_csv

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("ui-validation-plot")]

OPTIONS = "() => getElement(document.querySelector('[data-testid=validation-chart]')).chart.getOption()"


def _finished(url: str, job_id: int) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/v1/ml/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("succeeded", "failed", "cancelled", "stopped_early"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def _train(url: str, **body) -> dict:  # type: ignore[no-untyped-def]
    job = httpx.post(f"{url}/api/v1/ml/train", json=body, timeout=30)
    assert job.status_code == 201, job.text
    return _finished(url, job.json()["id"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("validation-plot") / "home"
    with live_server(home) as url:
        files = {"file": ("p.csv", prices_csv(series=3, days=100))}
        assert httpx.post(
            f"{url}/api/v1/datasets", data={"name": "prices"}, files=files, timeout=60
        ).is_success
        draws = fair_draws(POWERBALL, "2016-01-02", 150, seed=2).to_csv(index=False, date_format="%Y-%m-%d")
        form = {"name": "draws", "kind": "draws", "game": "powerball"}
        files = {"file": ("d.csv", draws.encode())}
        assert httpx.post(f"{url}/api/v1/datasets", data=form, files=files, timeout=60).is_success
        yield url


def test_a_finished_job_plots_its_forecast_against_the_actuals(server: str, tmp_path: Path) -> None:
    job = _train(server, dataset="prices", family="drift", validation={"horizon": 10})
    assert job["status"] == "succeeded"
    with browser_page(server) as page:
        page.goto(f"/training/{job['id']}")
        page.get_by_test_id("validation-chart").locator("canvas").wait_for()
        options = page.evaluate(OPTIONS)
        names = [s["name"] for s in options["series"]]
        # history, two bands (each an invisible lower edge and its shaded width), naive, forecast, actual
        assert names == [
            "history",
            "95% lower",
            "95% interval",
            "80% lower",
            "80% interval",
            "seasonal naive",
            "forecast",
            "actual",
        ]
        by_name = {s["name"]: s for s in options["series"]}
        assert len(by_name["actual"]["data"]) == len(by_name["forecast"]["data"]) == 10
        assert (
            by_name["history"]["data"][-1][0] < by_name["actual"]["data"][0][0]
        )  # history ends at the origin
        assert options["xAxis"][0]["name"] == "date" and "value" in options["yAxis"][0]["name"]
        assert options["legend"][0]["top"] == 0 and options["grid"][0]["top"] >= 36  # legend above the plot
        assert page.get_by_test_id("validation-reading").inner_text().startswith("S0: model MAE")
        page.get_by_test_id("final-meaning-mase").get_by_text("naive forecast").wait_for()

        # Another series, picked from the list, replaces the plot.
        first_actuals = by_name["actual"]["data"]
        page.get_by_test_id("validation-series").click()
        page.get_by_role("option", name="S2", exact=True).click()
        page.get_by_test_id("validation-reading").get_by_text("S2: model MAE").wait_for()
        # The chart beside the reading is redrawn for S2 too: waited for, not read once.
        settle(page, f"() => ({OPTIONS})().yAxis[0].name.includes('S2')")
        picked = {s["name"]: s for s in page.evaluate(OPTIONS)["series"]}
        assert (
            picked["actual"]["data"] != first_actuals and "S2" in page.evaluate(OPTIONS)["yAxis"][0]["name"]
        )
        page.screenshot(path=str(tmp_path / "validation-plot.png"), full_page=True)


def test_a_draws_job_shows_each_held_out_draw_against_chance(server: str) -> None:
    job = _train(server, dataset="draws", family="historical_frequency", validation={"horizon": 30})
    assert job["status"] == "succeeded"
    with browser_page(server) as page:
        page.goto(f"/training/{job['id']}")
        page.get_by_test_id("validation-chart").locator("canvas").wait_for()
        series = page.evaluate(OPTIONS)["series"]
        assert [s["type"] for s in series] == ["bar"] and len(series[0]["data"]) == 30
        reading = page.get_by_test_id("validation-reading").inner_text()
        assert "more probability than chance on" in reading and "of 30 draws" in reading


def _launch(page, family: str, type_last) -> dict:  # type: ignore[no-untyped-def]
    page.goto("/training")
    page.get_by_test_id("launch-open").click()
    page.get_by_test_id("launch-dataset").click()
    page.get_by_role("option").filter(has_text="prices").click()
    menu_closed(page)
    page.get_by_test_id("launch-dataset").get_by_text("prices").wait_for()
    page.get_by_test_id("launch-family").click()
    page.get_by_role("option", name=family, exact=True).click()
    menu_closed(page)
    # The form names the target after the family once the server has it, as a person sees it
    # appear; typing before that would race the name, not the Launch button.
    expect(page.get_by_test_id("launch-target")).to_have_value(
        f"prices-{family}".replace("_", "-"), timeout=30_000
    )
    type_last()
    page.get_by_test_id("launch-submit").click()  # at once: no blur, no pause
    page.wait_for_url("**/training/*")
    job_id = int(page.url.rsplit("/", 1)[-1])
    return httpx.get(f"{page.url.split('/training')[0]}/api/v1/ml/jobs/{job_id}", timeout=10).json()


def test_a_value_typed_last_reaches_the_job_when_launch_is_clicked_at_once(server: str) -> None:
    with browser_page(server) as page:

        def text_and_number() -> None:
            page.get_by_test_id("launch-horizon").press_sequentially("9")
            page.get_by_test_id("launch-target").fill("")
            page.get_by_test_id("launch-target").press_sequentially("typed-last")

        job = _launch(page, "drift", text_and_number)
        assert job["target_model"] == "typed-last" and job["validation"]["horizon"] == 9

        def hyperparameter() -> None:  # a number field of the generated form, filled in one go
            page.get_by_test_id("hp-season_length").fill("5")

        job = _launch(page, "seasonal_naive", hyperparameter)
        assert job["hyperparameters"]["season_length"] == 5


def test_the_runs_table_fits_a_laptop_and_a_job_reads_on_a_phone(server: str) -> None:
    # gbm: enough hyperparameters (14 rows) to overflow the box the Configuration card has beside a chart
    small = {"n_estimators": 10, "num_leaves": 4, "min_child_samples": 5, "horizon": 7, "threads": 1}
    job = _train(server, dataset="prices", family="gbm", hyperparameters=small, validation={"horizon": 7})
    with browser_page(server) as page:
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto("/training")
        page.get_by_test_id(f"status-{job['id']}").wait_for()
        width = "() => { const t = document.querySelector('[data-testid=jobs-table] .q-table__middle');"
        assert (
            page.evaluate(width + " return t.scrollWidth - t.clientWidth }") <= 1
        )  # every column, no sideways scroll

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"/training/{job['id']}")
        page.get_by_test_id("validation-chart").locator("canvas").wait_for()
        grid = "() => { const g = document.querySelector('.q-expansion-item .grid');"
        grid += " return g.scrollHeight - g.clientHeight }"
        assert page.evaluate(grid) <= 1  # the configuration rows flow with the page, no box of their own
        options = page.evaluate(OPTIONS)
        assert options["grid"][0]["top"] >= 70  # the legend wraps above the plot on a phone
