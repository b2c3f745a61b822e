"""``helios agents`` with an assistant: set by name, shown in the list and in show, refused with
the field named when unknown (nothing stored), taken away with --no-assistant."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from helios.cli import app


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_agents_carry_an_assistant(run) -> None:  # type: ignore[no-untyped-def]
    assert run("assistants", "create", "explainer", "--role", "analyst").exit_code == 0
    refused = run("agents", "create", "desk", "--assistant", "nobody")
    assert refused.exit_code != 0 and "assistant" in refused.output and "nobody" in refused.output
    assert "no agents yet" in run("agents", "list").output  # nothing stored
    made = run("agents", "create", "desk", "--watch", "stocks:AAA", "--assistant", "explainer")
    assert made.exit_code == 0, made.output
    assert "explainer" in run("agents", "list").output
    shown = json.loads(run("agents", "show", "desk").output)
    assert shown["assistant"]["name"] == "explainer" and shown["assistant"]["found"]
    assert shown["schedules"] == []
    assert run("agents", "update", "desk", "--assistant", "nobody").exit_code != 0
    assert json.loads(run("agents", "show", "desk").output)["assistant"]["name"] == "explainer"
    both = run("agents", "update", "desk", "--assistant", "explainer", "--no-assistant")
    assert both.exit_code != 0 and "not both" in both.output
    assert run("agents", "update", "desk", "--no-assistant").exit_code == 0
    assert json.loads(run("agents", "show", "desk").output)["assistant"] is None
