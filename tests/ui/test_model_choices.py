"""A person on the page of a trained ``auto`` model sees what it chose: how many series each candidate
serves, every series with its choice and why (paged, and narrowed by the filter box), and what each
candidate cost; on a phone nothing runs off the side. A ``naive`` model's page has no such card."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import browser_page, live_server, menu_closed, migrated_home
from tests.registry.auto_models import AUTO, mixed_csv, train_choosing_models

pytestmark = pytest.mark.browser
PER_KIND = 70  # 210 series: a panel of hundreds must stay usable
SHOTS = Path("/tmp")
ROWS = "[data-testid=choices-table] tbody tr"
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
TABLES_FIT = """() => [...document.querySelectorAll('[data-testid=choices-card] .q-table__middle')]
    .every(t => t.scrollWidth <= t.clientWidth + 1)"""


def _fits(page, check: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(check)
    except PlaywrightTimeout:
        raise AssertionError(problem) from None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from helios.config import Settings
    from helios.context import AppContext
    from helios.db import migrate

    home = tmp_path_factory.mktemp("choices-ui") / "home"
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    train_choosing_models(context, csv=mixed_csv(PER_KIND))
    context.db.dispose()
    with live_server(home, trains=False) as url:
        yield url


def test_the_card_says_what_auto_chose_per_series_and_what_it_cost(server: str) -> None:
    expected = httpx.get(f"{server}/api/v1/ai/models/prices-auto/choices", timeout=30).json()
    series = len(expected["series"])
    assert series == 3 * PER_KIND
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(60_000)  # a loaded 2-core machine draws a page in seconds, not ms
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto("/models/prices-auto")
        card = page.get_by_test_id("choices-card")
        card.get_by_test_id("choices-table").wait_for()
        assert card.get_by_text("What auto chose").is_visible()
        for name, count in expected["counts"].items():
            assert page.get_by_test_id(f"count-{name}").inner_text().strip().endswith(f"{name} · {count}")
        # Ten rows a page, the pager counting every series.
        assert page.locator(ROWS).count() == 10
        assert card.get_by_text(f"1-10 of {series}").is_visible()
        assert (
            card.get_by_test_id("choices-scores-note")
            .inner_text()
            .startswith("Scores: 1 = the candidates' mean")
        )
        costs = page.get_by_test_id("choices-costs")
        assert costs.locator("tbody tr").count() == len(AUTO["candidates"])
        for i, cost in enumerate(expected["costs"]):
            assert costs.locator("tbody tr").nth(i).locator("td").first.inner_text() == cost["candidate"]
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "choices_1440.png"), full_page=True)
        card.screenshot(path=str(SHOTS / "choices_card_1440.png"))

        # The filter narrows the rows: one series by name, then every series that kept a candidate.
        box = page.get_by_test_id("choices-filter")
        box.fill("walk-05")
        page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 1")
        walk = next(s for s in expected["series"] if s["unique_id"] == "walk-05")
        row = page.locator(ROWS).first
        assert row.get_by_test_id("choice-walk-05").is_visible()
        assert walk["reason"] in row.inner_text() and walk["chosen"][0] in row.inner_text()
        box.fill("flat-0")
        card.get_by_text("1-10 of 10").wait_for()
        assert page.locator(ROWS).count() == 10
        box.fill("")
        card.get_by_text(f"1-10 of {series}").wait_for()

        page.set_viewport_size({"width": 390, "height": 844})
        # The page re-lays itself out for a phone after the resize, later on a loaded box than the
        # half second this once slept: wait for each fit (up to the page's timeout) before judging it.
        _fits(page, NO_OVERFLOW, "the page scrolls sideways on a phone")
        _fits(page, TABLES_FIT, "a choices table scrolls sideways on a phone")
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "choices_390.png"), full_page=True)
        card.screenshot(path=str(SHOTS / "choices_card_390.png"))
        assert not errors, errors


def test_a_model_that_chooses_nothing_has_no_card(server: str) -> None:
    with browser_page(server) as page:
        page.set_default_timeout(60_000)
        page.goto("/models/prices-naive")
        page.get_by_test_id("forecast-card").wait_for()  # the page below the versions is drawn
        assert page.get_by_test_id("choices-card").count() == 0
        assert page.get_by_text("What auto chose").count() == 0
        page.goto("/models/prices-auto")
        page.get_by_test_id("choices-table").wait_for()  # ...and it is the family that decides


def test_the_card_follows_the_active_version_as_it_is_deployed_on_the_page(server: str) -> None:
    """Archived on the page, no version is active: the card goes; made active again, it comes back,
    both without a reload."""
    with browser_page(server) as page:
        page.set_default_timeout(60_000)
        page.goto("/models/prices-auto")
        page.get_by_test_id("choices-table").wait_for()
        page.evaluate("window.sameDocument = true")  # gone if anything below reloads the page
        for stage, shown in (("archived", 0), ("active", 1)):
            page.get_by_test_id("deploy-v1").click()
            page.get_by_test_id("deploy-stage").click()
            page.get_by_role("option", name=stage, exact=True).click()
            menu_closed(page)
            page.get_by_test_id("deploy-confirm").click()
            page.get_by_text(f"prices-auto v1 is now {stage}").wait_for()
            if shown:
                page.get_by_test_id("choices-table").wait_for()
            else:
                page.get_by_test_id("choices-card").wait_for(state="detached")
            assert page.get_by_test_id("choices-card").count() == shown
        assert page.evaluate("window.sameDocument === true")


def test_an_auto_job_leads_to_what_its_version_chose(server: str) -> None:
    """The job that trained the auto model links to its version's page, where the card is; the
    naive job links to its version and offers no choices."""
    with browser_page(server) as page:
        page.set_default_timeout(60_000)
        page.goto("/training/1")  # the auto job (train_choosing_models trains auto, then naive)
        assert page.get_by_test_id("job-result").get_attribute("href") == "/models/prices-auto?version=1"
        page.get_by_test_id("job-result-choices").click()
        page.wait_for_url("**/models/prices-auto?version=1")
        page.get_by_test_id("choices-table").wait_for()
        page.goto("/training/2")
        page.get_by_test_id("job-result").get_by_text("prices-naive v1").wait_for()
        assert page.get_by_test_id("job-result-choices").count() == 0
