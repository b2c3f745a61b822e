"""A person curating an agent's memory: adds a memory, finds it by a typed phrase (matches
highlighted, reasons shown), sees it in the graph and the timeline, forgets old episodes through the
review queue (keeping one back) and restores one; also the agent page and the 500-node graph."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.live import browser_page, pick_option, settle

pytestmark = pytest.mark.browser
# Its tests read memories: the server embeds them with the real model (tests/live_serve.py).
EMBEDDER = "minilm"

GRAPH = "() => getElement(document.querySelector('[data-testid=memory-graph]')).chart.getOption().series[0]"


def seed(server: str, agent: str, memories: list[dict]) -> list[dict]:
    response = httpx.post(
        f"{server}/api/v1/memory/agents/{agent}/memories", json={"memories": memories}, timeout=120
    )
    assert response.status_code == 201, response.text
    return response.json()["items"]


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HELIOS_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_add_find_see_forget_and_restore(server: str, tmp_path: Path) -> None:
    episodes = seed(
        server,
        "scout",
        [
            {
                "content": f"Morning briefing {i}: markets were quiet",
                "kind": "episode",
                "importance": 0.2,
                "valid_from": f"2026-11-0{i + 1}T08:00:00Z",
            }
            for i in range(3)
        ]
        + [
            {
                "content": "Initech supplies Globex with chips",
                "kind": "fact",
                "importance": 0.8,
                "valid_from": "2026-11-02T12:00:00Z",
                "triples": [{"subject": "Initech", "predicate": "supplies", "object": "Globex"}],
            }
        ],
    )
    httpx.post(f"{server}/api/v1/agents", json={"name": "other"})
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/memory")
        page.get_by_test_id("memory-agent-scout").click()
        page.wait_for_url("**/memory/scout")
        expect(page.get_by_test_id("memory-summary")).to_contain_text("4 memories")

        page.get_by_test_id("memory-content").fill(
            "Acme Corp signed a supply deal with Initech for rare metals"
        )
        page.get_by_test_id("memory-add").click()
        page.get_by_text("Remembered").wait_for(timeout=90_000)  # the first write loads the model
        expect(page.get_by_test_id("memory-summary")).to_contain_text("5 memories")

        page.get_by_test_id("memory-search").fill("supply deal for metals")
        page.get_by_test_id("memory-search").press("Enter")
        results = page.get_by_test_id("search-results")
        first = results.locator("[data-testid^=hit-]").first
        expect(first).to_contain_text("Acme Corp signed a supply deal")
        expect(first.locator("mark").first).to_be_visible()
        expect(first).to_contain_text("term: supply")
        expect(first).to_contain_text("semantic")

        entities = page.get_by_test_id("graph-entities")
        expect(entities.get_by_test_id("entity-Acme Corp")).to_be_visible()
        # The graph is redrawn with the new memory too: waited for, not read once beside the list.
        drawn = "['Acme Corp', 'Initech', 'Globex'].every(n => graph.data.some(d => d.name === n))"
        settle(page, f"() => {{ const graph = ({GRAPH})(); return {drawn}; }}")
        names = page.evaluate(f"() => ({GRAPH})().data.map(n => n.name)")
        assert {"Acme Corp", "Initech", "Globex"} <= set(names)
        # An edge reads as what it means ("supplies"), not as ECharts' "3 > 4" of node ids.
        edge = "() => { const s = (" + GRAPH + ")(); const l = s.links.find(l => l.predicate === 'supplies');"
        edge += " return [s.edgeLabel.formatter({data: l}), l.tip]; }"
        label, tip = page.evaluate(edge)
        assert label == "supplies" and tip == "Initech supplies Globex<br/>1 supporting memory"
        entities.get_by_test_id("entity-Acme Corp").click()
        expect(page.get_by_test_id("selected-memories")).to_contain_text("Acme Corp signed")

        expect(page.get_by_test_id("day-2026-11-02")).to_contain_text("2")
        page.get_by_test_id("day-2026-11-01").click()
        expect(page.get_by_test_id("selected-memories")).to_contain_text("Morning briefing 0")
        page.get_by_text("2026-11-01: 1 memory", exact=True).wait_for()  # one memory, not "1 memories"
        page.get_by_test_id(f"strength-{episodes[3]['id']}").first.hover()
        page.get_by_text("strength 0.").first.wait_for()
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(shots(tmp_path) / "memory-1440.png"), full_page=True)

        pick_option(page, "forget-kinds", "episode")
        page.keyboard.press("Escape")
        page.get_by_test_id("forget-review").click()
        queue = page.get_by_test_id("forget-queue")
        expect(queue).to_contain_text("3 memories would be forgotten")
        queue.get_by_test_id(f"queue-{episodes[0]['id']}").get_by_role("checkbox").click()
        page.get_by_test_id("forget-apply").click()
        page.get_by_text("Forgot 2 memories").wait_for()
        expect(page.get_by_test_id("memory-summary")).to_contain_text("3 memories")
        expect(page.get_by_test_id("live-memories")).to_contain_text("Morning briefing 0")
        expect(page.get_by_test_id("live-memories")).not_to_contain_text("Morning briefing 1")

        page.get_by_test_id("tab-deleted").click()
        page.get_by_test_id(f"restore-{episodes[1]['id']}").click()
        page.get_by_text(f"Restored memory #{episodes[1]['id']}").wait_for()
        expect(page.get_by_test_id("memory-summary")).to_contain_text("4 memories")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(page.get_by_test_id("memory-summary")).to_contain_text("4 memories")
        page.mouse.click(375, 420)  # the drawer opens over a phone's page; tapping beside it closes it
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shots(tmp_path) / "memory-390.png"), full_page=True)
        assert not errors, errors


def test_agent_page_and_a_500_node_graph(server: str, tmp_path: Path) -> None:
    httpx.post(
        f"{server}/api/v1/agents",
        json={
            "name": "big",
            "description": "watches many names",
            "watches": [{"dataset": "stocks", "tickers": ["AAPL"]}],
        },
    )
    seed(
        server,
        "big",
        [
            {
                "content": f"link {i}",
                "importance": (i % 10) / 10,
                "triples": [
                    {
                        "subject": f"Node {i}",
                        "predicate": "relates",
                        "object": f"Node {(i * 7 + 1) % 500}",
                        "subject_type": ["ticker", "person", "concept"][i % 3],
                    }
                ],
            }
            for i in range(500)
        ],
    )
    with browser_page(server) as page:
        page.goto("/agents")
        page.get_by_test_id("agent-card-big").click()
        page.wait_for_url("**/agents/big")
        expect(page.get_by_test_id("agent-watches")).to_contain_text("stocks: AAPL")
        expect(page.get_by_test_id("agent-memory")).to_contain_text("500 memories")
        page.get_by_test_id("agent-memory-link").click()
        page.wait_for_url("**/memory/big")
        page.wait_for_function(f"() => ({GRAPH})().data.length >= 500")
        labelled = page.evaluate(f"() => ({GRAPH})().data.filter(n => n.label && n.label.show).length")
        assert labelled <= 40  # labels only on the best-supported nodes keep 500 readable
        # The legend is the page's, above the canvas: at 500 nodes the force layout runs past the
        # series' box, so a legend drawn inside the canvas covered nodes.
        options = page.evaluate(
            "() => getElement(document.querySelector('[data-testid=memory-graph]')).chart.getOption()"
        )
        assert options["legend"][0]["show"] is False
        legend, canvas = page.get_by_test_id("graph-legend"), page.get_by_test_id("memory-graph")
        for kind in ("concept", "person", "ticker"):
            expect(page.get_by_test_id(f"legend-{kind}")).to_be_visible()
        assert legend.bounding_box()["y"] + legend.bounding_box()["height"] <= canvas.bounding_box()["y"]
        page.get_by_test_id("legend-ticker").click()  # hides the type, as a legend does
        page.wait_for_function(
            "() => getElement(document.querySelector('[data-testid=memory-graph]'))"
            ".chart.getOption().legend[0].selected.ticker === false"
        )
        page.get_by_test_id("legend-ticker").click()
        page.wait_for_function(
            "() => getElement(document.querySelector('[data-testid=memory-graph]'))"
            ".chart.getOption().legend[0].selected.ticker === true"
        )
        page.wait_for_timeout(1500)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(shots(tmp_path) / "memory-500-1440.png"))
