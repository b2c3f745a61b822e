"""A person in the Model Registry: finds a model among the cards, deploys a version with a note, watches
the stages and the history change in place, rolls back, reads the lineage graph, and deletes a model."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.live import browser_page

pytestmark = pytest.mark.browser

LLM = {"base_url": "http://127.0.0.1:11434/v1", "model_name": "m"}
GRAPH_NODES = (
    "() => getElement(document.querySelector('[data-testid=lineage-chart]'))"
    ".chart.getOption().series[0].data.length"
)


def create_llm(server: str, name: str, versions: int, description: str = "") -> None:
    api = f"{server}/api/v1/ai/models"
    created = httpx.post(
        api, json={"name": name, "kind": "llm", "task": "chat", "llm": LLM, "description": description}
    )
    assert created.status_code == 201, created.text
    for i in range(1, versions):
        more = httpx.post(f"{api}/{name}/llm-config", json={**LLM, "model_name": f"m{i}"})
        assert more.status_code == 201, more.text


def deploy(server: str, name: str, version: int, stage: str = "active") -> None:
    done = httpx.post(f"{server}/api/v1/ai/models/{name}/deploy", json={"version": version, "stage": stage})
    assert done.status_code == 200, done.text


def stage_of(page, version: int) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id(f"stage-v{version}").inner_text().strip()


def test_deploy_roll_back_and_trace_a_model(server: str) -> None:
    create_llm(server, "explainer", versions=3, description="explains forecasts")
    deploy(server, "explainer", 1)
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/models")
        card = page.get_by_test_id("model-card-explainer")
        card.get_by_text("explains forecasts").wait_for()
        assert page.get_by_test_id("card-active-explainer").inner_text().strip() == "v1 active"
        card.click()
        page.wait_for_url("**/models/explainer")
        page.get_by_test_id("model-name").get_by_text("explainer").wait_for()
        assert stage_of(page, 1) == "active" and stage_of(page, 2) == "none"
        page.evaluate("window.sameDocument = true")  # gone if anything below reloads the page

        page.get_by_test_id("deploy-v2").click()
        page.get_by_test_id("deploy-note").fill("cheaper and just as good")
        page.get_by_test_id("deploy-confirm").click()
        page.get_by_text("explainer v2 is now active").wait_for()
        expect(page.get_by_test_id("stage-v2")).to_have_text("active")  # in place, no reload
        expect(page.get_by_test_id("stage-v1")).to_have_text("archived")
        expect(page.get_by_test_id("stage-v3")).to_have_text("none")
        history = page.get_by_test_id("deploy-history")
        history.get_by_text("v2 none → active").wait_for()
        history.get_by_text("cheaper and just as good", exact=True).wait_for()
        history.get_by_text("replaced by v2: cheaper and just as good").wait_for()
        expect(page.get_by_test_id("stat-active")).to_have_text("v2")

        page.get_by_test_id("rollback-open").click()
        page.get_by_test_id("rollback-note").fill("answers got vague")
        page.get_by_test_id("rollback-confirm").click()
        history.get_by_text("v1 archived → active").wait_for()
        expect(page.get_by_test_id("stage-v1")).to_have_text("active")
        expect(page.get_by_test_id("stage-v2")).to_have_text("archived")
        assert page.evaluate("window.sameDocument") is True

        page.get_by_test_id("tab-lineage").click()
        chart = page.get_by_test_id("lineage-chart")
        chart.locator("canvas").first.wait_for()
        # 3 versions and 5 stage changes (v1 active, v1 archived, v2 active, v2 archived, v1 active)
        page.wait_for_function(f"() => ({GRAPH_NODES})() == 8")
        assert not errors
    detail = httpx.get(f"{server}/api/v1/ai/models/explainer").json()
    assert detail["active_version"] == 1
    notes = [d["note"] for d in httpx.get(f"{server}/api/v1/ai/models/explainer/deployments").json()["items"]]
    assert "cheaper and just as good" in notes and "answers got vague" in notes


def test_filters_unknown_names_and_delete(server: str) -> None:
    create_llm(server, "doomed", versions=1, description="about to go")
    create_llm(server, "keeper", versions=1)
    deploy(server, "doomed", 1)
    with browser_page(server) as page:
        page.goto("/models")
        page.get_by_placeholder("Search name or description").fill("doom")
        page.get_by_test_id("model-card-keeper").wait_for(state="detached")
        page.get_by_placeholder("Search name or description").fill("no-such-thing")
        page.get_by_test_id("models-no-match").wait_for()

        page.goto("/models/ghost")
        page.get_by_test_id("model-missing").get_by_text("no model named").wait_for()
        page.get_by_text("Back to all models").click()
        page.wait_for_url("**/models")

        page.goto("/models/doomed")
        page.get_by_test_id("delete-open").click()
        page.get_by_test_id("delete-confirm").click()  # v1 is active and force is not ticked: refused
        page.get_by_text("has v1 active").wait_for()
        page.get_by_test_id("delete-force").click()
        page.get_by_test_id("delete-confirm").click()
        page.wait_for_url("**/models")
        page.get_by_test_id("model-card-keeper").wait_for()
        assert page.get_by_test_id("model-card-doomed").count() == 0
    assert httpx.get(f"{server}/api/v1/ai/models/doomed").status_code == 404


def test_lineage_graph_stays_readable_with_many_nodes(server: str) -> None:
    create_llm(server, "busy", versions=24)
    for number in range(1, 24):  # each promotion archives the previous active: two stage changes
        deploy(server, "busy", number)
    deploy(server, "busy", 24, "staging")
    nodes = len(httpx.get(f"{server}/api/v1/ai/models/busy/lineage").json()["nodes"])
    assert nodes >= 50
    with browser_page(server) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto("/models/busy")
        page.get_by_test_id("tab-lineage").click()
        chart = page.get_by_test_id("lineage-chart")
        chart.locator("canvas").first.wait_for()
        page.wait_for_function(f"() => ({GRAPH_NODES})() == {nodes}")
        assert chart.bounding_box()["height"] >= 600  # grows with the rows instead of squeezing them
        chart.hover()
        page.mouse.wheel(0, -300)  # roam: zooming in must not break the chart
        page.wait_for_timeout(300)
        assert not errors
