"""A newcomer imports a CSV with natural headers by mapping its columns, then opens the shared URL of the
dataset version (and downloads it); screenshots at desktop and phone size."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.live import browser_page

pytestmark = pytest.mark.browser

NATURAL = "date,ticker,close\n" + "".join(
    f"2024-02-{day:02d},{ticker},{base + day}\n"
    for ticker, base in (("NOVA", 100), ("ORBI", 40))
    for day in range(1, 21)
)
SHOTS = Path(os.environ.get("HELIOS_SCREENSHOTS", "/tmp/helios-shots"))


def test_import_natural_headers_with_mapping_then_open_the_version_url(server: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "closes.csv"
    csv_file.write_text(NATURAL)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(server) as page:
        page.goto("/datasets")
        page.get_by_test_id("import-open").click()
        with page.expect_download() as sample:
            page.get_by_test_id("import-sample").click()
        assert sample.value.suggested_filename == "helios-sample.csv"
        assert Path(sample.value.path()).read_text().startswith("unique_id,ds,y\n")
        page.get_by_test_id("import-name").fill("Closes!")
        page.get_by_text("Use lower-case letters, digits").wait_for()
        page.get_by_test_id("import-name").fill("closes")
        page.get_by_test_id("import-file").locator("input[type=file]").set_input_files(str(csv_file))
        page.get_by_test_id("import-progress").get_by_text("Uploaded closes.csv").wait_for()
        # The selects are filled from the file's header.
        assert "date" in page.get_by_test_id("map-date").inner_text()
        assert "ticker" in page.get_by_test_id("map-id").inner_text()
        assert "close" in page.get_by_test_id("map-value").inner_text()
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(SHOTS / "dataset-import-mapping-1440.png"))
        page.get_by_test_id("import-submit").click()
        page.get_by_text("Imported closes v1").wait_for()
        page.get_by_test_id("detail-name").get_by_text("closes").wait_for()
        page.get_by_test_id("download-csv").wait_for()
        assert page.url.endswith("/datasets/closes?version=1")

        page.goto("/datasets/closes?version=1")
        page.get_by_test_id("detail-name").get_by_text("closes").wait_for()
        page.get_by_test_id("dataset-chart").locator("canvas").first.wait_for()
        page.get_by_text("Preview · first 20 of 20 rows").wait_for()
        with page.expect_download() as download:
            page.get_by_test_id("download-csv").click()
        assert download.value.suggested_filename == "closes-v1.csv"
        page.screenshot(path=str(SHOTS / "dataset-version-1440.png"), full_page=True)
        # The shared link opened on a phone, in a fresh browser.
        phone = page.context.browser.new_page(base_url=server, viewport={"width": 390, "height": 844})
        phone.goto("/datasets/closes?version=1")
        phone.get_by_test_id("dataset-chart").locator("canvas").first.wait_for()
        phone.wait_for_timeout(1500)  # let the chart finish drawing
        phone.screenshot(path=str(SHOTS / "dataset-version-390.png"), full_page=True)
    version = httpx.get(f"{server}/api/v1/datasets/closes/versions/1").json()
    assert (version["rows"], version["series_count"]) == (40, 2)
