"""A person opening an agent's page sees in one place its assistant (linked to the Assistants
page), the schedule that runs its model on its series, its latest prediction and, once actuals
arrive, that prediction's accuracy; its strongest memories with a link to its memory graph."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate
from tests.live import browser_page, live_server, migrated_home
from tests.predictions.ledger import import_prices, prices, register_model

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("HELIOS_SCREENSHOT_DIR", "/tmp/shots/agents"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("agents-ui") / "home"
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    register_model(context, "walk", "naive", prices(90))
    import_prices(context, prices(100))
    context.db.dispose()
    with live_server(home, trains=False, embedder="minilm") as url:  # its tests read memories
        yield url


def post(server: str, path: str, body: dict, status: int = 201) -> dict:
    response = httpx.post(f"{server}/api/v1{path}", json=body, timeout=120)
    assert response.status_code == status, response.text
    return response.json()


def newer_version(server: str, days: int) -> None:
    buffer = io.StringIO()
    prices(days).assign(ds=lambda f: f["ds"].dt.strftime("%Y-%m-%d")).to_csv(buffer, index=False)
    done = httpx.post(
        f"{server}/api/v1/datasets",
        data={"name": "stocks", "format": "csv", "freq": "D"},
        files={"file": ("stocks.csv", buffer.getvalue().encode(), "text/csv")},
        timeout=60,
    )
    assert done.status_code in (200, 201), done.text


def scored(server: str) -> bool:
    report = httpx.get(f"{server}/api/v1/agents/desk/predictions", timeout=30).json()
    return bool(report["accuracy"])


def test_the_agent_page_shows_assistant_schedules_predictions_and_accuracy(server: str) -> None:
    post(server, "/ai-assistant/assistants", {"name": "explainer", "role": "analyst"})
    agent = {
        "name": "desk",
        "description": "Forecasts AAA with a random walk and explains it.",
        "models": ["walk"],
        "watches": [{"dataset": "stocks", "tickers": ["AAA"]}],
        "assistant": "explainer",
    }
    post(server, "/agents", agent)
    run = {"dataset": "stocks", "series": "AAA", "models": ["walk"], "horizon": 5}
    post(server, "/predictions/schedules", {"name": "aaa-evenings", "cron": "30 21 * * 1-5", "request": run})
    post(server, "/predictions/run", run)
    facts = [
        {
            "content": "AAA reacts to rate news",
            "triples": [{"subject": "AAA", "predicate": "reacts to", "object": "Rate news"}],
        },
        {
            "content": "walk is the baseline for AAA",
            "triples": [{"subject": "walk", "predicate": "forecasts", "object": "AAA"}],
        },
    ]
    post(server, "/memory/agents/desk/memories", {"memories": facts})
    newer_version(server, 104)  # actuals for the first four steps: the server's subscriber scores them
    deadline = time.monotonic() + 60
    while not scored(server) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert scored(server)

    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto("/agents")
        expect(page.get_by_test_id("agent-card-desk")).to_contain_text("assistant: explainer")
        page.get_by_test_id("agent-card-desk").click()
        page.wait_for_url("**/agents/desk")
        expect(page.get_by_test_id("agent-assistant")).to_contain_text("role analyst")
        expect(page.get_by_test_id("agent-assistant-link")).to_have_attribute("href", "/assistants/explainer")
        schedules = page.get_by_test_id("agent-schedules")
        expect(schedules).to_contain_text("aaa-evenings")
        expect(schedules).to_contain_text("30 21 * * 1-5")
        expect(schedules).to_contain_text("walk on stocks: AAA")
        watches = page.get_by_test_id("agent-watches")
        expect(watches).to_contain_text("AAA · walk v1")
        expect(watches).to_contain_text("5 steps")
        accuracy = page.get_by_test_id("agent-accuracy")
        expect(accuracy.locator("tbody tr")).to_have_count(1)
        expect(accuracy.locator("tbody tr").first).to_contain_text("stocks:AAA")
        expect(accuracy.locator("tbody tr").first).to_contain_text("walk v1")
        expect(accuracy).to_contain_text("cannot tell yet")
        memory = page.get_by_test_id("agent-memory")
        expect(memory).to_contain_text("walk is the baseline for AAA")
        expect(memory).to_contain_text("Model walk deployed")  # the system remembers for the model's agents
        expect(page.get_by_test_id("agent-memory-link")).to_have_attribute("href", "/memory/desk")
        page.screenshot(path=str(SHOTS / "agent-1440.png"), full_page=True)
        assert not errors, errors
        page.get_by_test_id("agent-assistant-link").click()
        page.wait_for_url("**/assistants/explainer")

    with browser_page(server) as page:  # a phone opens the page at its own size
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/agents/desk")
        expect(page.get_by_test_id("agent-schedules")).to_contain_text("aaa-evenings")
        page.screenshot(path=str(SHOTS / "agent-390.png"), full_page=True)
        assert not errors, errors
