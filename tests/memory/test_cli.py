"""The memory operations through the CLI, on the local home."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helios.cli import app
from helios.memory.runtime import MemoryRuntime
from tests.memory.fakes import fake_runtime


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(MemoryRuntime, "default", classmethod(lambda cls, *a, **k: fake_runtime()))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_agents_and_memory(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert (
        run(
            "agents", "create", "desk", "--description", "the trading desk", "--watch", "stocks:AAPL,MSFT"
        ).exit_code
        == 0
    )
    added = run(
        "memory", "add", "desk", "AAPL guidance was raised", "--kind", "episode", "--importance", "0.7"
    )
    assert added.exit_code == 0, added.output
    lines = tmp_path / "m.jsonl"
    lines.write_text('{"content": "rates are rising"}\n{"content": "oil fell", "kind": "fact"}\n')
    assert "stored 2 memories" in run("memory", "import", "desk", str(lines)).output
    listed = run("memory", "list", "desk", "--order", "strength")
    assert listed.exit_code == 0 and "AAPL guidance" in listed.output
    found = run("memory", "search", "guidance raised", "--agent", "desk")
    assert "AAPL guidance" in found.output and "terms" in found.output
    bad = run("memory", "add", "desk", "x", "--importance", "3")
    assert bad.exit_code == 2 and "importance" in bad.output
    worse = run("memory", "add", "desk", "x", "--metadata", "[1]")
    assert worse.exit_code == 1 and "metadata" in worse.output
    review = run("memory", "forget", "desk", "--kind", "episode")
    assert "1 memories would be forgotten" in review.output
    applied = run("memory", "forget", "desk", "--kind", "episode", "--apply")
    assert "forgot 1 memories" in applied.output
    deletion = applied.output.split("helios memory undo ")[1].split()[0]
    assert "restored 1 memories" in run("memory", "undo", deletion).output
    assert json.loads(run("agents", "show", "desk").output)["memory_count"] == 3
    assert "deleted agent desk and 3 memories" in run("agents", "delete", "desk").output
    assert "restored agent desk with 3 memories" in run("agents", "restore", "desk").output
    missing = run("memory", "list", "nobody")
    assert missing.exit_code == 1 and "no agent" in missing.output


def test_cli_search_reads_then_records_access_in_a_short_write(run, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The search (and the query's embedding) runs in a read transaction; only the access count is
    written, after it, so the write lock is never held while the model runs."""
    from helios.context import AppContext
    from helios.db.engine import Database
    from helios.memory import search

    assert run("memory", "add", "desk", "AAPL guidance was raised").exit_code == 0
    events: list[str] = []
    searching, writing = search.search, Database.transaction

    # Only this thread's calls: the spies patch classes the whole test process shares, and a
    # server or worker thread another test left running may open a transaction meanwhile (CI
    # saw one land between the two searches).
    this_thread = threading.get_ident()

    def spy_search(*args, **kwargs):  # type: ignore[no-untyped-def]
        if threading.get_ident() == this_thread:
            events.append("search")
        return searching(*args, **kwargs)

    def spy_transaction(self):  # type: ignore[no-untyped-def]
        if threading.get_ident() == this_thread:
            events.append("write")
        return writing(self)

    monkeypatch.setattr(search, "search", spy_search)
    monkeypatch.setattr(Database, "transaction", spy_transaction)
    found = run("memory", "search", "guidance raised", "--agent", "desk")
    assert found.exit_code == 0 and "AAPL guidance" in found.output, found.output
    assert events == ["search", "write"]
    events.clear()
    assert "nothing matches" in run("memory", "search", "zzzz-unseen", "--agent", "desk").output
    assert events == ["search"]  # nothing found, nothing written
    monkeypatch.setattr(Database, "transaction", writing)
    context = AppContext.build(settings)
    try:
        with context.db.reading() as session:
            from helios.agents import service as agents
            from helios.memory import views

            desk = agents.get_agent(session, "desk")
            [memory] = views.list_memories(session, context.memory, desk.id).items
        assert memory.access_count == 1 and memory.last_accessed is not None
    finally:
        context.db.dispose()
