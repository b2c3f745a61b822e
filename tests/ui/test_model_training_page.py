"""A person on the Training page: launches an N-BEATS job from the form (after the form shows
what the service rejected), watches its loss curve grow live, changes its early-stopping rule,
stops it and gets a model version; launches a short second run and compares the two."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.live import browser_page, live_server, menu_closed

pytestmark = pytest.mark.browser

DATASET = "train-prices"
SMALL = {"hidden_size": 16, "steps_per_epoch": 2, "batch_size": 16, "horizon": 7, "input_multiple": 2}


def _csv() -> str:
    lines = ["unique_id,ds,y"]
    for uid, base, amplitude in (("AAA", 100.0, 5.0), ("BBB", 40.0, 2.0)):
        for day in range(200):
            stamp = time.strftime("%Y-%m-%d", time.gmtime(1_704_067_200 + day * 86_400))  # from 2024-01-01
            value = base + 0.05 * day + amplitude * math.sin(2 * math.pi * day / 7) + 0.3 * math.cos(day)
            lines.append(f"{uid},{stamp},{value:.4f}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Helios with its worker pool, so jobs launched in the browser really train."""
    home = tmp_path_factory.mktemp("training-ui") / "home"
    with live_server(home) as url:
        created = httpx.post(
            f"{url}/api/v1/datasets",
            data={"name": DATASET},
            files={"file": ("prices.csv", _csv().encode())},
            timeout=60,
        )
        assert created.status_code == 201, created.text
        yield url


def _jobs(server: str) -> list[dict]:
    return httpx.get(f"{server}/api/v1/ml/jobs", timeout=10).json()["items"]


def _epochs_shown(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.get_by_test_id("chart-epochs").inner_text().split()[0])


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _open_launch_form(page, family: str = "nbeats", field: str = "epochs") -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("launch-open").click()
    page.get_by_test_id("launch-dataset").get_by_text(DATASET).wait_for()  # the only dataset is preselected
    page.get_by_test_id("launch-family").click()
    page.get_by_role("option", name=family, exact=True).click()
    menu_closed(page)
    page.get_by_test_id(f"hp-{field}").wait_for()


def _fill(page, values: dict) -> None:  # type: ignore[no-untyped-def]
    for name, value in values.items():
        page.get_by_test_id(f"hp-{name}").fill(str(value))


def test_launch_watch_stop_and_compare(server: str, tmp_path: Path) -> None:
    with browser_page(server) as page:
        page.goto("/training")
        page.get_by_text("No training jobs yet").wait_for()

        # The form is generated from the family's schema: defaults, ranges and descriptions.
        _open_launch_form(page)
        # The description and the target change in place from the family first offered: wait for them.
        # Epochs are left to the data's frequency (20 for hourly, 10 otherwise): the field says so.
        assert page.get_by_test_id("hp-epochs").input_value() == ""
        expect(page.get_by_test_id("hp-epochs")).to_have_attribute(
            "placeholder", "empty: by the data's frequency"
        )
        expect(page.get_by_test_id("family-description")).to_have_text(
            re.compile(r"^Global N-BEATS"), use_inner_text=True
        )
        expect(page.get_by_test_id("launch-target")).to_have_value(f"{DATASET}-nbeats")

        # A value out of range is marked on its field with the range, never clamped; nothing is queued.
        _fill(page, {**SMALL, "epochs": 20000, "learning_rate": 0})
        page.get_by_test_id("launch-horizon").click()  # blur: a clamping widget would change it now
        page.get_by_test_id("launch-submit").click()
        field = page.locator(".q-field").filter(has=page.get_by_test_id("hp-learning_rate"))
        field.get_by_role("alert").filter(has_text="0 is out of range: 0 – 1 (exclusive)").wait_for()
        epochs = page.locator(".q-field").filter(has=page.get_by_test_id("hp-epochs"))
        epochs.get_by_role("alert").filter(has_text="20,000 is out of range: 1 – 10,000").wait_for()
        assert page.get_by_test_id("hp-epochs").input_value() == "20000"
        expect(page.get_by_test_id("launch-error")).to_contain_text("learning_rate", use_inner_text=True)
        assert _jobs(server) == []
        # Left empty, the validation horizon is resolved by the server: the model's horizon here.
        assert page.get_by_test_id("launch-horizon").input_value() == ""

        # Launch lands on the new job's page. The job must still be running when Stop is clicked: at
        # ~30 ms an epoch here, 2,000 epochs ended about a minute after launch, and a patience of 500
        # would stop it by itself 500 epochs (~15 s) after its best one. Stopped by hand seconds in, the
        # form's most epochs (10,000) and a patience of 5,000 cost nothing and leave minutes to spare.
        _fill(page, {"epochs": 10_000, "learning_rate": 0.01})
        page.get_by_test_id("launch-submit").click()
        page.wait_for_url("**/training/1")
        assert httpx.get(f"{server}/api/v1/ml/jobs/1", timeout=10).json()["validation"]["horizon"] == 7

        # The job page: the loss curve grows as epochs end.
        page.get_by_test_id("job-status").get_by_text("running").wait_for(timeout=90_000)
        page.get_by_test_id("loss-chart").locator("canvas").wait_for()
        _wait(lambda: _epochs_shown(page) >= 2, 90, "the first epochs on the chart")
        first = _epochs_shown(page)
        _wait(lambda: _epochs_shown(page) > first, 30, "the chart to grow")
        # An epoch the server has recorded reaches the chart (the page polls every half second;
        # how fast is for benchmarks, not a timed test: a loaded CI box stretches any limit).
        recorded = httpx.get(f"{server}/api/v1/ml/jobs/1", timeout=10).json()["epoch"]
        _wait(lambda: _epochs_shown(page) >= recorded, 20, f"epoch {recorded} on the chart")
        page.get_by_test_id("job-journal").get_by_text("epoch 1:").wait_for()

        # The early-stopping rule can change while it runs.
        page.get_by_test_id("rule-enabled").click()
        page.get_by_test_id("rule-patience").fill("5000")
        page.get_by_test_id("rule-apply").click()
        page.get_by_test_id("rule-text").get_by_text("for 5000 epochs").wait_for()
        rule = httpx.get(f"{server}/api/v1/ml/jobs/1", timeout=10).json()["early_stopping"]
        assert rule["patience"] == 5000
        page.screenshot(path=str(tmp_path / "training-job-running.png"), full_page=True)

        # Stop keeps the best epoch and registers it.
        page.get_by_test_id("job-stop").click()
        page.get_by_test_id("stop-confirm").click()
        page.get_by_test_id("job-status").get_by_text("stopped early").wait_for(timeout=90_000)
        page.get_by_test_id("job-result").get_by_text(f"{DATASET}-nbeats v1").wait_for()
        page.get_by_test_id("final-metrics").get_by_text("mase", exact=True).wait_for()
        page.get_by_test_id("final-meaning-mase").get_by_text("the naive forecast").wait_for()
        expect(page.get_by_test_id("job-stop")).to_be_hidden()  # finished: nothing left to stop or cancel
        expect(page.get_by_test_id("job-cancel")).to_be_hidden()
        stopped_at = _epochs_shown(page)
        assert 2 <= stopped_at < 10_000

        # A second, short run, launched from the list, lands on its page; the list shows it finished.
        page.get_by_role("link", name="← All training jobs").click()
        _open_launch_form(page)
        _fill(page, {**SMALL, "epochs": 3, "hidden_size": 32})
        page.get_by_test_id("launch-horizon").click()  # leave the last field, as a person does
        page.wait_for_timeout(500)  # its value reaches the server before Launch reads the form
        page.get_by_test_id("launch-submit").click()
        page.wait_for_url("**/training/2")
        page.get_by_test_id("job-status").get_by_text("succeeded").wait_for(timeout=120_000)
        page.get_by_role("link", name="← All training jobs").click()
        table = page.get_by_test_id("jobs-table")
        page.get_by_test_id("status-2").get_by_text("succeeded").wait_for()
        page.screenshot(path=str(tmp_path / "training-list.png"), full_page=True)
        row = table.locator("tbody tr").filter(has_text="#2")
        _wait(lambda: re.search(r"3\s*/\s*3", row.inner_text()) is not None, 15, "3 / 3 epochs on run #2")

        # Select both runs (a checkbox does not open the job) and compare them.
        compare = page.get_by_test_id("compare-open")
        assert compare.is_disabled()
        for job in ("#1", "#2"):
            table.locator("tbody tr").filter(has_text=job).locator(".q-checkbox").click()
        assert page.url.endswith("/training")
        compare.click()
        page.wait_for_url("**/training/compare?ids=1,2")
        for metric in ("train_loss", "val_loss"):
            page.get_by_test_id(f"compare-chart-{metric}").locator("canvas").wait_for()
        diff = page.get_by_test_id("params-diff")
        epochs_row = diff.locator("tr").filter(has_text="epochs")
        assert re.search(r"10,?000\s+3", epochs_row.inner_text())
        assert "hidden_size" in diff.inner_text()
        scores = page.get_by_test_id("final-metrics-table")
        scores.get_by_text("mase").wait_for()
        scores.get_by_text("lower is better").first.wait_for()  # each score says how to read it
        page.screenshot(path=str(tmp_path / "training-compare.png"), full_page=True)

    detail = httpx.get(f"{server}/api/v1/ml/jobs/1", timeout=10).json()
    assert detail["status"] == "stopped_early" and detail["result_version"] == 1


def test_unknown_jobs_and_bad_comparisons_say_so(server: str) -> None:
    with browser_page(server) as page:
        page.goto("/training/999")
        page.get_by_test_id("job-missing").get_by_text("no training job 999").wait_for()
        page.goto("/training/not-a-number")
        page.get_by_test_id("job-missing").get_by_text("is not a job number").wait_for()
        page.goto("/training/compare?ids=1")
        page.get_by_test_id("compare-problem").get_by_text("Pick at least two runs").wait_for()
        # Two ids that never exist: the server is shared, so job 1 may or may not be there yet.
        page.goto("/training/compare?ids=998,999")
        page.get_by_test_id("compare-problem").get_by_text("no training job 998").wait_for()


def test_global_ar_launches_with_its_defaults_and_shows_its_holdout(server: str) -> None:
    """A family with an ``int | None`` field (lookback: empty picks it from the data): its form shows
    the defaults, a long description wraps in its tooltip, and the job it launches ends with a plot."""
    with browser_page(server) as page:
        page.goto("/training")
        _open_launch_form(page, "global_ar", field="ridge")
        # The form replaced the first family's (auto, which has a horizon field too): wait for each value.
        defaults = {"horizon": "12", "lookback": "", "ridge": "0.001", "window": "2000"}
        for name, value in defaults.items():
            expect(page.get_by_test_id(f"hp-{name}")).to_have_value(value)
        # An empty field says inside it what empty means, its label lifted so the words show.
        lookback_input = page.get_by_test_id("hp-lookback")
        assert lookback_input.get_attribute("placeholder") == "empty: picked from the data"
        assert "q-field--float" in (
            page.locator(".q-field").filter(has=lookback_input).get_attribute("class") or ""
        )
        assert page.get_by_test_id("hp-ridge").get_attribute("placeholder") in (None, "")
        # The description (~230 characters) wraps at the tooltip's 320 px instead of running as one
        # line past the dialog's edge.
        lookback = page.locator(".q-field").filter(has=page.get_by_test_id("hp-lookback"))
        lookback.locator("i", has_text="info_outline").hover()
        tip = page.locator(".q-tooltip").filter(has_text="Points each forecast reads")
        tip.wait_for()
        assert tip.bounding_box()["width"] <= 321

        page.get_by_test_id("launch-submit").click()
        page.wait_for_url(re.compile(r"/training/\d+$"))
        page.get_by_test_id("job-status").get_by_text("succeeded").wait_for(timeout=60_000)
        page.get_by_test_id("validation-chart").locator("canvas").wait_for()
        page.get_by_test_id("validation-reading").get_by_text("model MAE").wait_for()
        job = int(page.url.rsplit("/", 1)[-1])
    detail = httpx.get(f"{server}/api/v1/ml/jobs/{job}", timeout=10).json()
    assert detail["family"] == "global_ar" and detail["hyperparameters"]["lookback"] is None


def test_validation_and_result_stack_on_a_phone_and_share_a_row_on_a_laptop(server: str) -> None:
    """At 390 px three fields side by side cut their labels ("Validati…") and the target model's
    name; the row stacks there and stays one row of three on a laptop."""
    with browser_page(server) as page:
        page.goto("/training")
        _open_launch_form(page, "global_ar", field="ridge")
        for width, height in ((1440, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            target = page.get_by_test_id("launch-target")
            target.scroll_into_view_if_needed()
            boxes = [page.get_by_test_id(f"launch-{name}").bounding_box() for name in ("horizon", "seed")]
            boxes.append(target.bounding_box())
            tops = {round(box["y"]) for box in boxes}
            if width == 1440:
                assert len(tops) == 1  # one row
            else:
                assert len(tops) == 3 and all(box["width"] > 250 for box in boxes)  # stacked, full width
            page.screenshot(path=f"/tmp/shots/launch-output-{width}.png")
