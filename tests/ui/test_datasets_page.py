"""A person on the Datasets page: uploads a CSV, sees it listed and charted, browses versions."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live import browser_page

pytestmark = pytest.mark.browser

CSV = "unique_id,ds,y\n" + "".join(
    f"{ticker},2024-01-{day:02d},{base + day * 0.5}\n"
    for ticker, base in (("AAPL", 180), ("MSFT", 370))
    for day in range(1, 29)
)


def test_upload_a_csv_and_see_it_listed_and_charted(server: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "my-prices.csv"
    csv_file.write_text(CSV)
    with browser_page(server) as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto("/datasets")
        page.get_by_text("No datasets yet").wait_for()
        page.get_by_test_id("import-open").click()
        page.get_by_test_id("import-name").fill("my-prices")
        page.get_by_test_id("import-file").locator("input[type=file]").set_input_files(str(csv_file))
        page.get_by_text("Imported my-prices v1").wait_for()
        table = page.get_by_test_id("datasets-table")
        table.get_by_text("my-prices").wait_for()
        assert "56" in table.inner_text()  # rows
        page.get_by_test_id("detail-name").get_by_text("my-prices").wait_for()
        chart = page.get_by_test_id("dataset-chart")
        chart.locator("canvas").first.wait_for()
        page.get_by_text("Preview · first 28 of 28 rows").wait_for()
        page.screenshot(path=str(tmp_path / "datasets.png"), full_page=True)
    # Served entirely by Helios itself: no CDN, fonts or scripts from anywhere else.
    foreign = [url for url in requested if not url.startswith((server, "data:", "blob:", "ws://127.0.0.1"))]
    assert requested and not foreign, foreign
    listed = httpx.get(f"{server}/api/v1/datasets").json()["items"]
    assert [d["name"] for d in listed if d["name"] == "my-prices"]


def test_a_bad_file_shows_the_error_and_stores_nothing(server: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,oops\n")
    with browser_page(server) as page:
        page.goto("/datasets")
        page.get_by_test_id("import-open").click()
        page.get_by_test_id("import-name").fill("broken")
        page.get_by_test_id("import-file").locator("input[type=file]").set_input_files(str(bad))
        error = page.get_by_test_id("import-error")
        error.get_by_text("oops").wait_for()
        assert "row 3" in error.inner_text()
    assert httpx.get(f"{server}/api/v1/datasets/broken").status_code == 404
