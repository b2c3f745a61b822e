"""A person reading an agent's memories sees which assistant wrote one, in which call, and with
which prompt version and hash; the assistant's page says that it remembers its answers."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.assistants.fake_llm import start as start_fake_llm
from tests.live import browser_page

pytestmark = pytest.mark.browser
# The server embeds with the tests' small embedder (tests/live_serve.py): this page shows a memory by
# its id and provenance, which no embedding decides, and loading the real model in the server for its
# one write cost ~9 s of the test's 14. Writes embedded by the real model and read back by meaning:
# tests/ui/test_memory_graph.py, tests/api/test_memory.py.
HTTP = httpx.Client(timeout=120)
API = "/api/v1/ai-assistant"


def ok(response: httpx.Response) -> dict:
    assert response.status_code < 300, response.text
    return response.json()


def test_a_remembered_answer_shows_its_prompt_version_and_hash(server: str, tmp_path: Path) -> None:
    llm = start_fake_llm()
    try:
        ok(HTTP.put(f"{server}{API}/config", json={"allow_local_model_servers": True}))
        config = {"base_url": llm.base_url, "model_name": "fake"}
        ok(
            HTTP.post(
                f"{server}/api/v1/ai/models",
                json={"name": "mem-llm", "kind": "llm", "task": "chat", "llm": config},
            )
        )
        policy = {"agent": "desk", "limit": 3, "remember": True}
        body = {
            "name": "scribe",
            "role": "analyst",
            "llm_model": "mem-llm",
            "llm_version": 1,
            "memory": policy,
        }
        ok(HTTP.post(f"{server}{API}/assistants", json=body))
        prompt = {
            "system_prompt": "Explain.",
            "messages": [{"role": "user", "template": "{{ question }}"}],
            "variables": ["question"],
        }
        version = ok(HTTP.put(f"{server}{API}/prompts/scribe", json=prompt))
        ok(HTTP.put(f"{server}{API}/prompts/scribe/labels/production", json={"version": 1}))
        answer = ok(
            HTTP.post(
                f"{server}{API}/chat",
                json={"assistant": "scribe", "variables": {"question": "Is NVDA stretched?"}},
            )
        )
    finally:
        llm.shutdown()
    [memory_id] = answer["memory_ids"]
    folder = Path(os.environ.get("HELIOS_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    with browser_page(server) as page:
        page.goto("/memory/desk")
        row = page.get_by_test_id(f"memory-{memory_id}")
        expect(row).to_contain_text("Is NVDA stretched?")
        origin = page.get_by_test_id(f"provenance-{memory_id}")
        expect(origin).to_contain_text(f"written by assistant scribe in call #{answer['call_id']}")
        expect(origin).to_contain_text(f"prompt v1 · hash {version['content_hash'][:12]}")
        page.screenshot(path=str(folder / "memory-provenance-1440.png"), full_page=True)
        page.goto("/assistants/scribe")
        expect(page.get_by_test_id("memory-policy")).to_contain_text("remembers its answers")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/memory/desk")
        expect(page.get_by_test_id(f"provenance-{memory_id}")).to_be_visible()
        page.screenshot(path=str(folder / "memory-provenance-390.png"), full_page=True)
