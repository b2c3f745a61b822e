"""A person follows an agent from its page to the Predictions and Assistants pages: each opens
narrowed to the agent (?agent=NAME) — the datasets, tickers and models it works with, its
assistant — says so at the top with the way to the agent and back to everything, and an agent
name nobody has gives a message, not an error page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate
from tests.live import browser_page, live_server, migrated_home
from tests.predictions.ledger import import_prices, prices, register_model

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("HELIOS_SCREENSHOT_DIR", "/tmp/shots/agentfilter"))
SIZES = {"1440": (1440, 900), "390": (390, 844)}


def post(server: str, path: str, body: dict) -> None:
    response = httpx.post(f"{server}/api/v1{path}", json=body, timeout=60)
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("agent-filter-ui") / "home"
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    register_model(context, "walk", "naive", prices(90))
    register_model(context, "other", "naive", prices(90))
    import_prices(context, prices(100))
    import_prices(context, prices(100, tickers=("XXX", "YYY")), name="bonds")
    context.db.dispose()
    with live_server(home, trains=False) as url:
        for name in ("explainer", "storyteller"):
            post(url, "/ai-assistant/assistants", {"name": name, "role": "analyst"})
        desk = {
            "name": "desk",
            "models": ["walk"],
            "watches": [{"dataset": "stocks", "tickers": ["AAA"]}],
            "assistant": "explainer",
        }
        post(url, "/agents", desk)
        post(url, "/agents", {"name": "loner", "watches": [{"dataset": "bonds", "tickers": []}]})
        yield url


def options(page: Page, testid: str) -> list[str]:
    page.get_by_test_id(testid).click()
    listbox = page.get_by_role("listbox")
    listbox.wait_for()
    shown = [t.strip() for t in listbox.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    expect(listbox).to_have_count(0)
    return shown


def shot(page: Page, name: str, size: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)


def test_the_agent_page_links_to_its_filtered_pages(server: str) -> None:
    with browser_page(server) as page:
        page.goto("/agents/desk")
        expect(page.get_by_test_id("agent-predictions-link")).to_have_attribute(
            "href", "/predictions?agent=desk"
        )
        expect(page.get_by_test_id("agent-assistants-link")).to_have_attribute(
            "href", "/assistants?agent=desk"
        )
        expect(page.get_by_test_id("agent-memory-link")).to_have_attribute("href", "/memory/desk")
        shot(page, "agent", "1440")
        page.get_by_test_id("agent-predictions-link").click()
        page.wait_for_url("**/predictions?*agent=desk*")
        expect(page.get_by_test_id("agent-filter")).to_contain_text("Agent desk")


@pytest.mark.parametrize("size", SIZES)
def test_predictions_narrow_to_what_the_agent_watches_and_forecasts_with(server: str, size: str) -> None:
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
        page.goto("/predictions?agent=desk")
        banner = page.get_by_test_id("agent-filter")
        expect(banner).to_contain_text("Agent desk")
        expect(banner.get_by_test_id("agent-filter-agent-link")).to_have_attribute("href", "/agents/desk")
        page.wait_for_url("**/predictions?dataset=stocks&ticker=AAA&agent=desk")  # the filter stays
        assert options(page, "dataset-select") == ["stocks"]
        assert options(page, "ticker-select") == ["AAA"]
        assert options(page, "models-select") == ["walk"]
        shot(page, "predictions", size)
        page.reload()  # a reload opens the same narrowed view
        expect(page.get_by_test_id("agent-filter")).to_contain_text("Agent desk")
        assert options(page, "ticker-select") == ["AAA"]
        page.get_by_test_id("agent-filter-clear").click()
        page.wait_for_url("**/predictions?dataset=stocks&ticker=AAA")
        expect(page.get_by_test_id("agent-filter")).to_have_count(0)
        assert options(page, "dataset-select") == ["bonds", "stocks"]
        assert options(page, "models-select") == ["other", "walk"]
        assert not errors, errors


def test_an_agent_without_models_or_tickers_keeps_every_model_and_series_of_its_dataset(server: str) -> None:
    with browser_page(server) as page:
        page.goto("/predictions?agent=loner")
        expect(page.get_by_test_id("agent-filter")).to_contain_text("Agent loner")
        assert options(page, "dataset-select") == ["bonds"]
        assert options(page, "ticker-select") == ["XXX", "YYY"]
        assert options(page, "models-select") == ["other", "walk"]


@pytest.mark.parametrize("size", SIZES)
def test_assistants_narrow_to_the_agents_assistant(server: str, size: str) -> None:
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
        page.goto("/assistants?agent=desk")
        banner = page.get_by_test_id("agent-filter")
        expect(banner).to_contain_text("Agent desk")
        expect(banner.get_by_test_id("agent-filter-agent-link")).to_have_attribute("href", "/agents/desk")
        expect(page.get_by_test_id("assistant-card-explainer")).to_be_visible()
        expect(page.get_by_test_id("assistant-card-storyteller")).to_have_count(0)
        shot(page, "assistants", size)
        page.get_by_test_id("agent-filter-clear").click()
        page.wait_for_url("**/assistants")
        expect(page.get_by_test_id("assistant-card-storyteller")).to_be_visible()
        expect(page.get_by_test_id("assistant-card-explainer")).to_be_visible()
        assert not errors, errors


def test_an_agent_without_an_assistant_says_how_to_set_one(server: str) -> None:
    with browser_page(server) as page:
        page.goto("/assistants?agent=loner")
        empty = page.get_by_test_id("agent-no-assistant")
        expect(empty).to_contain_text("No assistant explains loner's forecasts yet.")
        expect(empty).to_contain_text("helios agents update loner --assistant NAME")
        expect(page.locator("[data-testid^=assistant-card-]")).to_have_count(0)


@pytest.mark.parametrize("path", ["/predictions", "/assistants"])
def test_an_unknown_agent_is_a_message_not_an_error_page(server: str, path: str) -> None:
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        response = page.goto(f"{path}?agent=nobody")
        assert response is not None and response.status == 200
        unknown = page.get_by_test_id("agent-filter-unknown")
        expect(unknown).to_contain_text("No agent named “nobody”.")
        expect(unknown.get_by_test_id("agent-filter-clear")).to_have_attribute("href", path)
        expect(page.get_by_test_id("dataset-select")).to_have_count(0)
        expect(page.locator("[data-testid^=assistant-card-]")).to_have_count(0)
        name = path.strip("/")
        shot(page, f"{name}-unknown", "1440")
        assert not errors, errors
