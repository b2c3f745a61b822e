"""The Python client's ``hx.assistants`` area and the ``helios assistants`` CLI, end to end against
the local OpenAI-protocol test server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helios.cli import app as cli
from helios.client import Helios, HeliosAPIError
from tests.assistants.fake_llm import fake_llm_fixture  # noqa: F401

PROMPT = {
    "system_prompt": "You explain forecasts.",
    "messages": [{"role": "user", "template": "{{ question }}"}],
    "variables": ["question"],
}


@pytest.fixture
def hx(client) -> Iterator[Helios]:  # type: ignore[no-untyped-def]
    with Helios("http://testserver", transport=client._transport) as helios:
        yield helios


def test_client_covers_prompts_chat_tests_and_experiments(hx: Helios, fake_llm) -> None:  # type: ignore[no-untyped-def]
    hx.assistants.set_config(allow_local_model_servers=True)
    hx.models.create(
        "local-llm", kind="llm", task="chat", llm={"base_url": fake_llm.base_url, "model_name": "m"}
    )
    hx.assistants.create("analyst", llm_model="local-llm", llm_version=1)
    hx.assistants.save_version("analyst", **PROMPT, message="v1")
    hx.assistants.save_version("analyst", **{**PROMPT, "system_prompt": "Be brief."}, message="v2")
    assert hx.assistants.versions("analyst")["version"].tolist() == [2, 1]
    assert "+Be brief." in hx.assistants.diff("analyst", 1, 2)["parts"][0]["unified"]
    hx.assistants.set_label("analyst", "production", 1)
    answer = hx.assistants.chat("analyst", {"question": "AAPL?"})
    assert answer["answer"] == "echo: AAPL?" and hx.assistants.calls("analyst")["outcome"][0] == "answered"
    cases = [{"variables": {"question": "AAPL?"}, "assertions": [{"kind": "contains", "value": "AAPL"}]}]
    test_set = hx.assistants.create_test_set("analyst", "smoke", cases)
    looks: list[dict] = []
    run = hx.assistants.run_tests(test_set["id"], [1, 2], repeats=2, on_progress=looks.append)
    assert [r["passed"] for r in run["results"]] == [True, True]
    assert looks[-1]["finished"] and looks[-1]["calls_done"] == looks[-1]["calls_total"] == 4
    queued = hx.assistants.run_tests(test_set["id"], [1], wait=False)
    assert queued["status"] == "queued" and not queued["finished"]
    assert hx.assistants.wait_test_run(queued["id"])["status"] == "passed"
    variants = [{"name": "a", "version": 1, "weight": 1}, {"name": "b", "version": 2, "weight": 1}]
    experiment = hx.assistants.start_experiment("analyst", "ab", variants)
    assigned = hx.assistants.assign(experiment["id"], "ada")
    assert hx.assistants.outcomes(experiment["id"], [{"subject": "ada", "thumbs": "up"}]) == 1
    promoted = hx.assistants.promote(experiment["id"], assigned["variant"])
    assert promoted["status"] == "promoted"
    with pytest.raises(HeliosAPIError) as refused:
        hx.assistants.save_version("analyst", "{{ nope }}")
    assert refused.value.status == 422 and refused.value.errors[0]["field"] == "system_prompt"


def test_cli_saves_diffs_labels_renders_and_says_when_no_model_answers(
    settings, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args))

    assert run("assistants", "create", "analyst", "--role", "analyst").exit_code == 0
    prompt = tmp_path / "prompt.json"
    prompt.write_text(json.dumps(PROMPT))
    assert (
        "saved analyst v1"
        in run("assistants", "save", "analyst", "--file", str(prompt), "-m", "first").output
    )
    prompt.write_text(json.dumps({**PROMPT, "system_prompt": "Be brief."}))
    run("assistants", "save", "analyst", "--file", str(prompt))
    assert "+Be brief." in run("assistants", "diff", "analyst", "1", "2").output
    assert run("assistants", "label", "analyst", "production", "2").exit_code == 0
    listed = run("assistants", "list").output
    assert "analyst" in listed and "production=v2" in listed
    rendered = run("assistants", "render", "analyst", "--vars", '{"question": "AAPL?"}')
    assert "user: AAPL?" in rendered.output
    asked = run("assistants", "chat", "analyst", "--vars", '{"question": "AAPL?"}')
    assert (
        asked.exit_code == 3
        and "no model provider configured" in asked.output
        and "user: AAPL?" in asked.output
    )
    prompt.write_text(json.dumps({**PROMPT, "system_prompt": "{{ ''.__class__ }}"}))
    refused = run("assistants", "save", "analyst", "--file", str(prompt))
    assert refused.exit_code == 1 and "Python internals" in refused.output
    missing = run("assistants", "render", "analyst", "--vars", "{}")
    assert missing.exit_code == 1 and "question" in missing.output
    assert (
        "v2" in run("assistants", "versions", "analyst").output
        and "v3" not in run("assistants", "versions", "analyst").output
    )


def test_cli_test_queues_the_run_and_does_it_on_the_local_home(
    context, settings, monkeypatch, fake_llm
) -> None:  # type: ignore[no-untyped-def]
    from helios.assistants import testing, views
    from tests.assistants.test_runner import setup_set

    set_id = setup_set(context, fake_llm.base_url)
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    done = CliRunner().invoke(cli, ["assistants", "test", str(set_id), "--version", "1"])
    assert done.exit_code == 0, done.output
    assert "v1: passed · pass rate 100%" in done.output and "row 3: 2/2" in done.output
    with context.db.reading() as session:
        [run] = views.list_runs(session, testing.get_test_set(session, set_id)).items
    assert run.status == "passed" and run.calls_done == run.calls_total == 6 and run.finished_at


def test_cli_create_with_remember_needs_a_memory_agent(context, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from helios.assistants import service, views

    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    refused = CliRunner().invoke(cli, ["assistants", "create", "scribe", "--remember"])
    assert refused.exit_code == 1 and "memory.remember" in refused.output
    made = CliRunner().invoke(cli, ["assistants", "create", "scribe", "--memory-agent", "desk", "--remember"])
    assert made.exit_code == 0, made.output
    with context.db.reading() as session:
        policy = views.assistant_read(session, service.get_assistant(session, "scribe")).memory
    assert policy.agent == "desk" and policy.remember is True
