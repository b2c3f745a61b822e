"""Text a writer chose reaches a page's element as a value, never through a props string that
NiceGUI parses into props: an entity named 'x" innerHTML="<img onerror=...>' became an innerHTML
prop on its chip on the memory graph page (stored XSS for everyone who opened the agent's memory)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.live import browser_page, pick_option

pytestmark = pytest.mark.browser

PAYLOAD = 'x" innerHTML="<img src=x onerror=alert(1)>'


def test_an_entity_name_cannot_inject_props_on_the_memory_graph(server: str) -> None:
    response = httpx.post(
        f"{server}/api/v1/memory/agents/curator/memories",
        json={"memories": [{"content": "A note on a hostile name", "entities": [{"name": PAYLOAD}]}]},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    with browser_page(server) as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto("/memory/curator")
        entities = page.get_by_test_id("graph-entities")
        chip = entities.get_by_test_id(f"entity-{PAYLOAD}")
        expect(chip).to_be_visible()
        expect(chip).to_contain_text(PAYLOAD)  # the name is shown as text
        assert entities.locator("img").count() == 0
        assert page.locator("[data-testid='entity-x']").count() == 0
        assert dialogs == []


def test_a_label_typed_on_the_assistant_page_cannot_inject_props(server: str) -> None:
    """The page moves labels through the service, past the API's checked path: a typed label like
    PAYLOAD was stored and shown to every viewer through a parsed props string. It is refused."""
    api = f"{server}/api/v1/ai-assistant"
    assert httpx.post(f"{api}/assistants", json={"name": "herald", "role": "support"}).status_code == 201
    assert httpx.put(f"{api}/prompts/herald", json={"system_prompt": "Be brief."}).status_code == 201
    with browser_page(server) as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto("/assistants/herald")
        page.get_by_test_id("tab-history").click()
        pick_option(page, "label-version", "v1")
        typed = page.get_by_test_id("label-name")  # Quasar puts the test id on the select's input
        typed.fill(PAYLOAD)
        typed.press("Enter")
        page.get_by_test_id("label-move").click()
        page.get_by_text("is not a label").last.wait_for()
        page.reload()
        expect(page.get_by_test_id("assistant-title")).to_have_text("herald")
        assert page.locator("[data-testid^='label-x']").count() == 0
        assert page.locator("img[src=x]").count() == 0
        assert dialogs == []
    assert httpx.get(f"{api}/prompts/herald").json()["labels"] == {}
