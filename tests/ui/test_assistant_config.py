"""A person tuning an assistant: edits the prompt (a new version), diffs it against the last one,
runs both on sample inputs against a local model server side by side, starts an A/B test, sees
outcomes posted through the API turn into a verdict, and promotes the winner. No request leaves
the app while they do."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.assistants.fake_llm import start as start_fake_llm
from tests.live import browser_page

pytestmark = pytest.mark.browser
HTTP = httpx.Client(timeout=60)  # the shared test machine can be slow
PROMPT = {
    "system_prompt": "You are {{ assistant }}. Explain forecasts plainly.",
    "messages": [{"role": "user", "template": "{{ question }}"}],
    "variables": ["question"],
    "message": "first cut",
}
CASES = [
    {
        "variables": {"question": "Where is AAPL heading?"},
        "assertions": [{"kind": "contains", "value": "AAPL"}],
    },
    {"variables": {"question": "[json] give JSON"}, "assertions": [{"kind": "json_valid"}]},
    # The model takes 1.5 s on this row and holds it while the test looks at the run's progress.
    {"variables": {"question": "[slow] and MSFT?"}, "assertions": [{"kind": "contains", "value": "MSFT"}]},
]


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HELIOS_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ok(response: httpx.Response) -> dict:
    assert response.status_code < 300, response.text
    return response.json()


def seed(server: str, llm_url: str) -> None:
    api = f"{server}/api/v1"
    ok(HTTP.put(f"{api}/ai-assistant/config", json={"allow_local_model_servers": True}))
    llm = {"base_url": llm_url, "model_name": "fake"}
    ok(HTTP.post(f"{api}/ai/models", json={"name": "local-llm", "kind": "llm", "task": "chat", "llm": llm}))
    ok(
        HTTP.post(
            f"{api}/ai-assistant/assistants",
            json={"name": "analyst", "role": "analyst", "llm_model": "local-llm", "llm_version": 1},
        )
    )
    ok(HTTP.put(f"{api}/ai-assistant/prompts/analyst", json=PROMPT))
    ok(HTTP.put(f"{api}/ai-assistant/prompts/analyst/labels/production", json={"version": 1}))
    ok(HTTP.post(f"{api}/ai-assistant/prompts/analyst/test-sets", json={"name": "smoke", "cases": CASES}))


def choose(page, testid: str, option: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id(testid).click()
    # The menu just opened is the last one; an earlier menu may still be fading out.
    page.locator(".q-menu").last.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_test_id(testid)).to_contain_text(option)


def post_outcomes(server: str, experiment_id: int) -> None:
    url = f"{server}/api/v1/ai-assistant/experiments/{experiment_id}"
    subjects = [f"user-{i}" for i in range(300)]
    variants = {s: HTTP.post(f"{url}/assign", json={"subject": s}).json()["variant"] for s in subjects}
    outcomes = [
        {"subject": s, "thumbs": "up" if v == "challenger" or i % 3 == 0 else "down"}
        for i, (s, v) in enumerate(variants.items())
    ]
    assert HTTP.post(f"{url}/outcomes", json={"outcomes": outcomes}).status_code == 200


def test_edit_diff_test_experiment_and_promote(server: str, tmp_path: Path) -> None:
    llm = start_fake_llm()
    try:
        seed(server, llm.base_url)
        with browser_page(server) as page:
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith(server) or r.url.startswith("data:") else outside.append(r.url)
                ),
            )
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto("/assistants")
            page.get_by_test_id("assistant-card-analyst").click()
            page.wait_for_url("**/assistants/analyst")
            expect(page.get_by_test_id("label-production")).to_have_text("production → v1")

            # edit: a new version; the live check flags an undeclared variable first
            editor = page.get_by_test_id("editor-system").locator(".cm-content")
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(PROMPT["system_prompt"] + " Mention {{ horizon }}.")
            usage = page.get_by_test_id("editor-usage")
            usage.get_by_text("undeclared: horizon").wait_for()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(PROMPT["system_prompt"] + " Be brief and name the ticker.")
            usage.get_by_text("undeclared: horizon").wait_for(state="detached")
            page.get_by_test_id("slider-temperature").locator(".q-slider__track-container").focus()
            page.keyboard.press("ArrowRight")
            # The server has the slider's 0.25 once it shows it; the editor's text went before it.
            page.locator(".font-mono").get_by_text("0.25", exact=True).wait_for()
            page.wait_for_timeout(500)
            page.get_by_test_id("editor-message").fill("shorter answers")
            page.get_by_test_id("editor-save").click()
            page.get_by_text("Saved v2").wait_for()

            # history and diff
            page.get_by_test_id("tab-history").click()
            page.get_by_test_id("versions-table").get_by_text("shorter answers").wait_for()
            choose(page, "diff-from", "v1")
            choose(page, "diff-to", "v2")
            page.get_by_test_id("diff-show").click()
            diff = page.get_by_test_id("diff-view")
            diff.get_by_text("Be brief and name the ticker.", exact=False).first.wait_for()
            diff.get_by_text("+temperature: 0.25").wait_for()

            # test side by side against the local model server
            page.get_by_test_id("tab-test").click()
            choose(page, "test-set", "smoke")
            choose(page, "test-version-a", "v1 (production)")
            choose(page, "test-version-b", "v2")
            # The run's "[slow]" calls wait until the page has shown its progress: left to the clock
            # (1.5 s a call), a slow page poll on a loaded box saw the run only once it had finished.
            llm.slow_released.clear()
            page.get_by_test_id("test-run").click()
            page.get_by_test_id("test-progress").get_by_text("of 6 calls").wait_for()  # a job, watched
            page.screenshot(path=str(shots(tmp_path) / "assistant-test-progress-1440.png"))
            llm.slow_released.set()
            for version in (1, 2):
                column = page.get_by_test_id(f"test-column-v{version}")
                column.get_by_text("pass rate 100%").wait_for()
                column.get_by_text("echo: Where is AAPL heading?").wait_for()
            page.screenshot(path=str(shots(tmp_path) / "assistant-test-1440.png"), full_page=True)

            # an A/B test, outcomes through the API, a verdict in words, promote
            page.get_by_test_id("tab-experiments").click()
            page.get_by_test_id("exp-name").fill("brief-vs-long")
            choose(page, "exp-control", "v1 (production)")
            choose(page, "exp-challenger", "v2")
            page.get_by_test_id("exp-start").click()
            page.get_by_text("Experiment brief-vs-long started").wait_for()
            experiment = HTTP.get(f"{server}/api/v1/ai-assistant/experiments").json()["items"][0]
            verdict = page.get_by_test_id(f"exp-verdict-{experiment['id']}")
            expect(verdict).to_contain_text("Too early")
            post_outcomes(server, experiment["id"])
            expect(verdict).to_contain_text("challenger is better than control", timeout=15_000)
            page.set_viewport_size({"width": 1440, "height": 900})
            page.screenshot(path=str(shots(tmp_path) / "assistant-experiment-1440.png"), full_page=True)
            page.get_by_test_id(f"exp-promote-{experiment['id']}").click()
            page.get_by_test_id("promote-confirm").click()
            page.get_by_text("challenger promoted to production").wait_for()
            expect(page.get_by_test_id("label-production")).to_have_text("production → v2")
            labels = HTTP.get(f"{server}/api/v1/ai-assistant/prompts/analyst").json()["labels"]
            assert labels["production"] == 2

            page.get_by_test_id("tab-prompt").click()
            page.screenshot(path=str(shots(tmp_path) / "assistant-editor-1440.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()  # a phone opens the page at its own size (the drawer starts closed)
            page.get_by_test_id("editor-system").locator(".cm-content").wait_for()
            backdrop = page.locator(".q-drawer__backdrop")
            if backdrop.is_visible():  # the shell opens its drawer over the page: close it, as a person would
                backdrop.click(position={"x": 370, "y": 300})
                page.wait_for_timeout(400)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways
            page.screenshot(path=str(shots(tmp_path) / "assistant-editor-390.png"), full_page=True)
            page.get_by_test_id("tab-experiments").click()
            page.screenshot(path=str(shots(tmp_path) / "assistant-experiment-390.png"), full_page=True)
            assert outside == [] and errors == []
    finally:
        llm.slow_released.set()
        llm.shutdown()
        llm.server_close()


def test_bad_prompt_is_refused_on_the_page_and_nothing_is_saved(server: str) -> None:
    api = f"{server}/api/v1/ai-assistant"
    assert HTTP.post(f"{api}/assistants", json={"name": "scribe", "role": "support"}).status_code == 201
    assert HTTP.put(f"{api}/prompts/scribe", json=PROMPT).status_code == 201
    with browser_page(server) as page:
        page.goto("/assistants/scribe")
        editor = page.get_by_test_id("editor-system").locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+End")
        page.keyboard.insert_text(" {{ ''.__class__.__mro__ }}")
        page.get_by_test_id("editor-usage").get_by_text("Python internals").wait_for()
        page.get_by_test_id("editor-save").click()
        page.get_by_text("Python internals are not allowed").last.wait_for()
    assert HTTP.get(f"{api}/prompts/scribe/versions").json()["total"] == 1
