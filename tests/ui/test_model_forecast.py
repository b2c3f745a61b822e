"""A person on a model's page: forecasts a series from the newest data (the model was trained on
less), sees history, mean and the 80/95% bands, downloads the CSV, and follows the links to the
prediction and to the model's predictions on /predictions."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate
from tests.live import browser_page, live_server, menu_closed, migrated_home, settle
from tests.predictions.ledger import import_prices, prices, register_model

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/ledger")
OPTIONS = "() => getElement(document.querySelector('[data-testid=forecast-chart]')).chart.getOption()"
# The chart holds the prediction it was just asked for (the series the test checks first).
DRAWN = f"""() => {{
  const names = ({OPTIONS})().series.map(s => s.name);
  const wanted = ["history", "prediction mean", "prediction 80% band", "prediction 95% band"];
  return wanted.every(n => names.includes(n));
}}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("forecast-ui") / "home"
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    register_model(context, "walk", "naive", prices(90))  # trained on data up to 2026-03-31
    import_prices(context, prices(100))  # v1 ends 2026-04-10
    import_prices(context, prices(110))  # v2 ends 2026-04-20
    context.db.dispose()
    with live_server(home, trains=False) as url:
        yield url


def test_forecast_from_the_newest_data_with_bands_and_csv(server: str, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(60_000)  # a loaded 2-core machine draws a page in seconds, not ms
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto("/models/walk")
        card = page.get_by_test_id("forecast-card")
        status = page.get_by_test_id("forecast-status")
        status.get_by_text("Last observation of AAA: 2026-04-20").wait_for()
        page.get_by_test_id("forecast-run").click()
        status.get_by_text("Kept in the ledger").or_(status.get_by_text("Not run")).wait_for(timeout=60_000)
        text = status.inner_text()
        assert "from the last observation of stocks v2 (2026-04-20" in text, text
        assert "state updated" in text and "nothing was re-estimated" in text and "on_demand" in text

        # The chart and the link below are redrawn in place after the run: waited for, not read once
        # on the strength of the status line above them.
        settle(page, DRAWN)
        options = page.evaluate(OPTIONS)
        names = [s["name"] for s in options["series"]]
        assert {"history", "prediction mean", "prediction 80% band", "prediction 95% band"} <= set(names)
        band = next(s for s in options["series"] if s["name"] == "prediction 95% band")
        assert len(band["data"]) == 14 and all(width > 0 for _, width in band["data"])
        assert options["xAxis"][0]["name"] == "date (UTC)" and "units" in options["yAxis"][0]["name"]
        # It opens on the last 4 horizons of history and the forecast, not on months of history.
        start = options["dataZoom"][0]["startValue"]
        start = pd.Timestamp(start, unit="ms") if isinstance(start, int | float) else pd.Timestamp(start)
        assert pd.Timestamp("2026-02-23") < start < pd.Timestamp("2026-02-25"), start
        assert options["legend"][0]["top"] == 0 and options["grid"][0]["top"] >= 40  # legend above the plot
        card.screenshot(path=str(SHOTS / "forecast-card-1440.png"))
        page.screenshot(path=str(SHOTS / "model-page-1440.png"), full_page=True)

        with page.expect_download() as caught:
            page.get_by_test_id("forecast-csv").click()
        saved = tmp_path / caught.value.suggested_filename
        caught.value.save_as(saved)
        rows = list(csv.DictReader(saved.open()))
        assert len(rows) == 14 and rows[0]["unique_id"] == "AAA" and rows[0]["dataset_version"] == "2"
        assert {"step", "ds", "mean", "lo_80", "hi_80", "lo_95", "hi_95"} <= set(rows[0])
        assert rows[0]["start_mode"] == "state_updated" and rows[0]["ds"].startswith("2026-04-21")

        link = page.get_by_test_id("forecast-link")
        expect(link).to_have_attribute("href", re.compile("prediction="))  # no longer the bare /predictions
        href = link.get_attribute("href") or ""
        assert "model=walk" in href and "version=1" in href and "prediction=" in href, href
        link.click()
        page.get_by_test_id("predictions-filter").wait_for()
        page.wait_for_function(
            "() => getElement(document.querySelector('[data-testid=price-chart]')).chart.getOption()"
            ".series.some(s => s.name === 'prediction 95% band')"
        )
        assert "walk v1 (state_updated)" in page.get_by_text("AAA: walk").inner_text()

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/models/walk")
        page.get_by_test_id("forecast-status").get_by_text("Last observation").wait_for()
        page.screenshot(path=str(SHOTS / "model-page-390.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert errors == []


def test_an_older_data_version_and_the_model_links(server: str) -> None:
    with browser_page(server) as page:
        page.set_default_timeout(60_000)
        page.goto("/models/walk")
        status = page.get_by_test_id("forecast-status")
        status.get_by_text("Last observation of AAA").wait_for()
        page.get_by_test_id("forecast-data-version").click()
        page.get_by_role("option", name="v1", exact=True).click()
        menu_closed(page)
        status.get_by_text("Last observation of AAA: 2026-04-10").wait_for()
        page.get_by_test_id("forecast-series").click()
        page.get_by_role("option", name="BBB", exact=True).click()
        menu_closed(page)
        page.get_by_test_id("forecast-run").click()
        status.get_by_text("Kept in the ledger").or_(status.get_by_text("Not run")).wait_for(timeout=60_000)
        assert "BBB, from the last observation of stocks v1 (2026-04-10" in status.inner_text()

        assert (
            page.get_by_test_id("predictions-v1").get_attribute("href") == "/predictions?model=walk&version=1"
        )
        page.get_by_test_id("model-predictions").click()
        page.get_by_test_id("predictions-filter").wait_for()
        # Opened where the model last predicted: BBB.
        page.wait_for_function(
            "() => getElement(document.querySelector('[data-testid=price-chart]')).chart.getOption()"
            ".series.some(s => s.name === 'prediction mean')"
        )
        assert page.get_by_test_id("ticker-select").inner_text().strip().endswith("BBB")
        # The address says what the page shows, so a reload or a shared link opens the same view.
        page.wait_for_url("**/predictions?dataset=stocks&ticker=BBB&model=walk")
        page.get_by_test_id("ticker-select").click()
        page.get_by_role("option", name="AAA", exact=True).click()
        page.wait_for_url("**/predictions?dataset=stocks&ticker=AAA&model=walk")
        page.reload()
        page.get_by_test_id("predictions-filter").wait_for()
        assert page.get_by_test_id("ticker-select").inner_text().strip().endswith("AAA")
