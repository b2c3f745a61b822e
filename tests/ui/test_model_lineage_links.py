"""A person reads a trained model's lineage graph and follows it: a click on the dataset version opens
that version's page, on the job its job page, on a model version that version picked out in the
table. The Roll back button says which version it brings back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.live import browser_page, live_server
from tests.training.conftest import prices_csv

pytestmark = pytest.mark.browser

MODEL = "prices-naive"
# Where a lineage node is drawn, in page pixels (ECharts lays the graph out in its own coordinates).
NODE_AT = """(id) => {
  const chart = getElement(document.querySelector('[data-testid=lineage-chart]')).chart;
  const node = chart.getOption().series[0].data.find(d => d.id === id);
  const [x, y] = chart.convertToPixel({seriesIndex: 0}, [node.x, node.y]);
  const box = chart.getDom().getBoundingClientRect();
  return [box.left + x, box.top + y];
}"""


def _train(url: str) -> dict:
    job = httpx.post(
        f"{url}/api/v1/ml/train", json={"dataset": "prices", "family": "naive"}, timeout=30
    ).json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/v1/ml/jobs/{job['id']}", timeout=10).json()
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job["error"]
            return job
        time.sleep(0.3)
    raise AssertionError("the job did not finish")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("lineage-links") / "home"
    with live_server(home) as url:
        files = {"file": ("p.csv", prices_csv(series=1, days=60))}
        assert httpx.post(
            f"{url}/api/v1/datasets", data={"name": "prices"}, files=files, timeout=60
        ).is_success
        for _ in range(2):
            _train(url)
        for version in (1, 2):
            deployed = httpx.post(
                f"{url}/api/v1/ai/models/{MODEL}/deploy",
                json={"version": version, "stage": "active"},
                timeout=30,
            )
            assert deployed.status_code == 200, deployed.text
        yield url


def _click_node(page, node_id: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/models/{MODEL}")
    page.get_by_test_id("lineage-chart").locator("canvas").first.wait_for()
    page.wait_for_function(
        "(id) => getElement(document.querySelector('[data-testid=lineage-chart]'))"
        ".chart.getOption().series[0].data.some(d => d.id === id)",
        arg=node_id,
    )
    page.get_by_test_id("lineage-chart").scroll_into_view_if_needed()  # a click lands where a person sees
    # As a person does, point at the node until the chart says the pointer is on it, then click:
    # ECharts grows each node in over its first second, and a click on a node still too small to
    # hit did nothing (on a quiet machine the test clicked that early every time).
    page.evaluate(
        "() => { window.lineageOver = null; getElement(document.querySelector('[data-testid=lineage-chart]'))"
        ".chart.on('mouseover', (p) => { window.lineageOver = p.data && p.data.id; }); }"
    )
    deadline = time.monotonic() + 10
    while page.evaluate("() => window.lineageOver") != node_id and time.monotonic() < deadline:
        x, y = page.evaluate(NODE_AT, node_id)
        page.mouse.move(x + 3, y + 3)
        page.mouse.move(x, y)
        page.wait_for_timeout(100)
    page.mouse.click(*page.evaluate(NODE_AT, node_id))


def test_lineage_nodes_lead_where_they_say(server: str) -> None:
    with browser_page(server) as page:
        page.goto(f"/models/{MODEL}")
        # v1 was active before v2: that is where a rollback goes, and the button says so.
        assert page.get_by_test_id("rollback-open").inner_text().strip().endswith("Roll back to v1")

        _click_node(page, "job:1")
        page.wait_for_url("**/training/1")
        page.get_by_test_id("job-title").get_by_text("Job #1").wait_for()

        dataset = next(
            n["id"]
            for n in httpx.get(f"{server}/api/v1/ai/models/{MODEL}/lineage", timeout=10).json()["nodes"]
            if n["kind"] == "dataset_version"
        )
        _click_node(page, dataset)
        page.wait_for_url("**/datasets/prices?version=1")

        versions = httpx.get(f"{server}/api/v1/ai/models/{MODEL}/lineage", timeout=10).json()["nodes"]
        first = next(n["id"] for n in versions if n["kind"] == "model_version" and n["label"].endswith(" v1"))
        _click_node(page, first)
        page.wait_for_url(f"**/models/{MODEL}?version=1")
        assert page.get_by_test_id("version-focus").inner_text().strip() == "v1"
