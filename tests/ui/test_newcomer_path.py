"""A newcomer's whole path in one go, against a live server: import a CSV with natural headers (date, ticker,
close) by mapping its columns, land on the new version's address, launch a training job from the Training
page, land on the job, watch it finish, read the validation plot (forecast, actuals, seasonal naive), and
open the dataset version's shared link, from the job page, in a fresh browser page. A screenshot at 1440x900
of each step goes to $HELIOS_SCREENSHOTS/newcomer (default /tmp/shots/newcomer)."""

from __future__ import annotations

import math
import os
import random
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.live import browser_page, live_server, menu_closed

pytestmark = pytest.mark.browser

TICKERS = {"NOVA": (100.0, 4.0), "ORBI": (40.0, 1.5), "KELP": (12.0, 0.6)}  # base, weekly amplitude
DAYS = 150
FAMILY = "auto_ets"  # statistical: seconds to fit, and a forecast of its own beside the seasonal naive
MODEL = "closes-auto-ets"  # the target the launch form proposes: dataset-family
SHOTS = Path(os.environ.get("HELIOS_SCREENSHOTS", "/tmp/shots")) / "newcomer"
OPTIONS = "() => getElement(document.querySelector('[data-testid=validation-chart]')).chart.getOption()"
SLOW = 180_000  # ms: a loaded CI machine trains and renders slowly; every wait is on a condition, not a clock


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Helios open to the local user, with an empty database and its training worker."""
    home = tmp_path_factory.mktemp("newcomer") / "home"
    with live_server(home) as url:
        yield url


def _closes() -> str:
    """Daily closes as people export them: natural headers, one row per ticker and day."""
    start, noise = date(2024, 1, 1), random.Random(14)
    rows = [
        f"{start + timedelta(days=day)},{ticker},"
        f"{base + 0.03 * day + swing * math.sin(2 * math.pi * day / 7) + noise.gauss(0, swing / 4):.3f}"
        for ticker, (base, swing) in TICKERS.items()
        for day in range(DAYS)
    ]
    return "date,ticker,close\n" + "\n".join(rows) + "\n"


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_import_train_read_the_plot_and_share_the_version(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    csv_file = tmp_path / "closes.csv"
    csv_file.write_text(_closes())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(server) as page:
        page.set_default_timeout(60_000)
        page.set_viewport_size({"width": 1440, "height": 900})

        # 1. Import: the file's own headers are mapped in the dialog.
        page.goto("/datasets")
        page.get_by_text("No datasets yet").wait_for()
        page.get_by_test_id("import-open").click()
        page.get_by_test_id("import-name").fill("closes")
        page.get_by_test_id("import-file").locator("input[type=file]").set_input_files(str(csv_file))
        page.get_by_test_id("import-progress").get_by_text("Uploaded closes.csv").wait_for()
        expect(page.get_by_test_id("map-date")).to_contain_text("date")
        expect(page.get_by_test_id("map-id")).to_contain_text("ticker")
        expect(page.get_by_test_id("map-value")).to_contain_text("close")
        _shot(page, "1-import-mapping")
        page.get_by_test_id("import-submit").click()

        # 2. The new version, at its own address.
        page.get_by_text("Imported closes v1").wait_for()
        expect(page).to_have_url(re.compile(r"/datasets/closes\?version=1$"))
        page.get_by_test_id("detail-name").get_by_text("closes", exact=True).wait_for()
        page.get_by_test_id("dataset-chart").locator("canvas").first.wait_for()
        history = page.locator(".helios-card").filter(has=page.get_by_text("Version history", exact=True))
        version_fact = page.locator(".helios-card.px-4").filter(has=page.get_by_text("Version", exact=True))
        history_box, fact_box = history.bounding_box(), version_fact.bounding_box()
        assert history_box["x"] + history_box["width"] < fact_box["x"]
        _shot(page, "2-dataset-version")  # on a desktop the version sits beside its history, not under it

        # 3. Launch from the Training page, reached from the menu: the one dataset is already picked.
        page.locator(".helios-drawer").get_by_text("Training", exact=True).click()
        page.wait_for_url("**/training")
        page.get_by_test_id("launch-open").click()
        page.get_by_test_id("launch-dataset").get_by_text("closes").wait_for()
        page.get_by_test_id("launch-family").click()
        page.get_by_role("option", name=FAMILY, exact=True).click()
        menu_closed(page)
        expect(page.get_by_test_id("launch-target")).to_have_value(MODEL)
        _shot(page, "3-launch")
        page.get_by_test_id("launch-submit").click()

        # 4. Straight onto the job's page, which follows it to the end.
        page.wait_for_url(re.compile(r"/training/\d+$"))
        job_id = int(page.url.rsplit("/", 1)[-1])
        page.get_by_test_id("job-title").get_by_text(f"Job #{job_id}").wait_for()
        _shot(page, "4-job-page")
        page.get_by_test_id("job-status").get_by_text("succeeded").wait_for(timeout=SLOW)
        page.get_by_test_id("job-result").get_by_text(f"{MODEL} v1").wait_for(timeout=SLOW)

        # 5. The validation plot: the forecast against what happened, the seasonal naive beside it.
        page.get_by_test_id("validation-chart").locator("canvas").wait_for(timeout=SLOW)
        series = {s["name"]: s for s in page.evaluate(OPTIONS)["series"]}
        assert {"forecast", "actual", "seasonal naive"} <= set(series), sorted(series)
        horizon = httpx.get(f"{server}/api/v1/ml/jobs/{job_id}", timeout=30).json()["validation"]["horizon"]
        assert len(series["forecast"]["data"]) == len(series["actual"]["data"]) == horizon > 0
        assert len(series["seasonal naive"]["data"]) == horizon
        assert series["forecast"]["data"] != series["seasonal naive"]["data"]  # the model's, not the baseline
        expect(page.get_by_test_id("validation-reading")).to_contain_text("model MAE")
        page.get_by_test_id("validation-card").scroll_into_view_if_needed()
        _shot(page, "5-validation-plot")

        # 6. The job names its data by a link; that shared address opens the version in a fresh page.
        link = page.get_by_role("link", name="closes v1", exact=True)
        shared = link.get_attribute("href")
        assert shared == "/datasets/closes?version=1"
        fresh = page.context.browser.new_page(base_url=server, viewport={"width": 1440, "height": 900})
        fresh.set_default_timeout(60_000)
        fresh.goto(shared)
        fresh.get_by_test_id("detail-name").get_by_text("closes", exact=True).wait_for()
        fresh.get_by_test_id("dataset-chart").locator("canvas").first.wait_for()
        facts = fresh.locator(".helios-card.px-4")  # the version's facts: Version, Rows, Series, ...
        expect(facts.filter(has=fresh.get_by_text("Version", exact=True))).to_contain_text("v1")
        rows, count = str(DAYS * len(TICKERS)), str(len(TICKERS))
        expect(facts.filter(has=fresh.get_by_text("Rows", exact=True))).to_contain_text(rows)
        expect(facts.filter(has=fresh.get_by_text("Series", exact=True))).to_contain_text(count)
        expect(fresh.get_by_test_id("version-link")).to_have_attribute("href", shared)
        expect(fresh).to_have_url(re.compile(r"/datasets/closes\?version=1$"))
        _shot(fresh, "6-shared-version")

    version = httpx.get(f"{server}/api/v1/datasets/closes/versions/1", timeout=30).json()
    assert (version["rows"], version["series_count"]) == (DAYS * len(TICKERS), len(TICKERS))
