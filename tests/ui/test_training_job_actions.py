"""On a finished job's page a person keeps tags and a note on the run and re-runs it on the latest
data, landing on the new job; the runs table names its best metric and shows holdout scores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import browser_page, live_server, settle
from tests.training.conftest import prices_csv

# The tests build on each other's jobs (the runs table counts them): one worker, one server, in order.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("ui-job-actions")]
# The runs table's MASE column (the 8th cell of a row) holds ``every`` numbers, in ascending order.
MASE_SORTED = """(every) => {
  const cells = [...document.querySelectorAll('[data-testid=jobs-table] tbody tr td:nth-child(8)')];
  const shown = cells.map(c => c.innerText).filter(t => t.trim()).map(Number);
  return shown.length === every && shown.every((v, i) => i === 0 || shown[i - 1] <= v);
}"""


def _finished(url: str, job_id: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/v1/ml/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("succeeded", "failed", "cancelled", "stopped_early"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("job-actions") / "home"
    with live_server(home) as url:
        for days in (120, 150):  # two versions: re-running on the latest has somewhere to go
            files = {"file": ("p.csv", prices_csv(days=days))}
            created = httpx.post(f"{url}/api/v1/datasets", data={"name": "prices"}, files=files, timeout=60)
            assert created.status_code == 201, created.text
        body = {"dataset": "prices", "dataset_version": 1, "family": "naive"}
        job = httpx.post(f"{url}/api/v1/ml/train", json=body, timeout=30).json()
        assert _finished(url, job["id"])["status"] == "succeeded"
        yield url


def test_tags_note_and_rerun_on_the_latest_data(server: str, tmp_path: Path) -> None:
    with browser_page(server) as page:
        page.goto("/training/1")
        page.get_by_test_id("job-note").get_by_text("No note yet.").wait_for()
        page.get_by_test_id("notes-edit").click()
        page.get_by_test_id("notes-tags").fill("baseline, weekly")
        page.get_by_test_id("notes-note").fill("naive on v1: the bar to beat")
        page.get_by_test_id("notes-save").click()
        page.get_by_test_id("job-note").get_by_text("naive on v1: the bar to beat").wait_for()
        page.get_by_test_id("job-tags").get_by_text("weekly").wait_for()
        saved = httpx.get(f"{server}/api/v1/ml/jobs/1", timeout=10).json()
        assert saved["tags"] == ["baseline", "weekly"] and saved["note"] == "naive on v1: the bar to beat"
        page.screenshot(path=str(tmp_path / "job-notes.png"), full_page=True)

        page.get_by_test_id("job-rerun").click()
        page.get_by_test_id("rerun-latest").click()
        page.wait_for_url("**/training/2")
        page.get_by_test_id("job-tags").get_by_text("baseline").wait_for()  # settings, tags and note kept
        rerun = _finished(server, 2)
        assert rerun["dataset_version"] == 2 and rerun["family"] == "naive" and rerun["status"] == "succeeded"
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "job-rerun-phone.png"), full_page=True)


def test_runs_table_names_its_metrics_and_keeps_the_view_in_the_url(server: str, tmp_path: Path) -> None:
    body = {"dataset": "prices", "family": "seasonal_naive", "tags": ["weekly-season"]}
    job = httpx.post(f"{server}/api/v1/ml/train", json=body, timeout=30).json()
    scores = _finished(server, job["id"])["final_metrics"]
    with browser_page(server) as page:
        page.goto("/training")
        table = page.get_by_test_id("jobs-table")
        for header in ("Best in training", "MASE", "sMAPE", "95% coverage"):
            table.get_by_role("columnheader", name=header).wait_for()
        row = table.locator("tbody tr").filter(has_text=f"#{job['id']}")
        row.get_by_text(f"{scores['mase']:.4g}").wait_for()

        # Search and a filter go into the address; opening that address shows the same view.
        page.get_by_test_id("filter-search").fill("weekly-season")
        page.wait_for_url("**/training?q=weekly-season")
        table.locator("tbody tr").filter(has_text="#1").wait_for(state="detached")
        assert table.locator("tbody tr").count() == 1
        page.get_by_test_id("filter-family").click()
        page.get_by_role("option", name="seasonal_naive", exact=True).click()
        page.wait_for_url("**/training?q=weekly-season&family=seasonal_naive")
        page.goto("/training?family=naive")
        # However the tests were spread over workers, the page counts what the API counts.
        naive = httpx.get(f"{server}/api/v1/ml/jobs", params={"family": "naive"}, timeout=10).json()["total"]
        count = f"{naive} job{'s' * (naive != 1)}"
        page.get_by_test_id("jobs-count").get_by_text(count, exact=True).wait_for()
        assert page.get_by_test_id("filter-family").inner_text().strip().endswith("naive")

        # Holdout columns sort. The sort goes through the server (the click reaches it, the rows come
        # back in the new order), so the rows on the page before that are still in the old order:
        # the column is waited for to read sorted, then checked.
        page.goto("/training")
        every = httpx.get(f"{server}/api/v1/ml/jobs", timeout=10).json()["total"]
        table.get_by_role("columnheader", name="MASE").click()
        table.locator("tbody tr").nth(1).wait_for()
        settle(page, MASE_SORTED, every)
        shown = [float(t) for t in table.locator("tbody tr td:nth-child(8)").all_inner_texts() if t.strip()]
        assert shown == sorted(shown) and len(shown) == every
        page.screenshot(path=str(tmp_path / "runs-table.png"), full_page=True)
