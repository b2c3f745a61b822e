"""``helios models choices NAME [--version N]``: against a server (--url, token from HELIOS_TOKEN) and
on the local home, one line per series with why, then what each candidate cost; a model of any other
family, an unknown one and a missing token are each one readable line and exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.live import live_server, migrated_home
from tests.registry.auto_models import AUTO, train_choosing_models

SERIES = 3


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    home: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from helios.config import Settings
    from helios.context import AppContext
    from helios.core import auth
    from helios.db import migrate

    home = tmp_path_factory.mktemp("choices-cli") / "home"
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    train_choosing_models(context, series=SERIES)
    with context.db.transaction() as session:
        secret = auth.create_token(session, "cli-reader", auth.Role.viewer).secret
    context.db.dispose()
    with live_server(home, trains=False) as url:
        yield Server(url, secret, home)


def run(server: Server, *args: str, url: bool = True, token: bool = True) -> Any:
    from helios.cli import app

    env = {
        "HELIOS_HOME": str(server.home),
        "HELIOS_DATABASE_URL": None,
        "HELIOS_URL": None,
        "HELIOS_TOKEN": server.token if token else None,
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, [*(["--url", server.url] if url else []), *args], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def assert_explained(output: str) -> None:
    lines = output.splitlines()
    assert lines[0].startswith("prices-auto v1: 3 series"), output
    for i in range(SERIES):
        line = next(line for line in lines if line.startswith(f"S{i}: "))
        assert "best in validation" in line and any(c in line for c in AUTO["candidates"]), line
    for candidate in AUTO["candidates"]:
        cost = next(line for line in lines if line.startswith(f"cost of {candidate}: "))
        assert "validation " in cost and cost.endswith(" s"), cost
    assert "series per candidate: " in output


def test_choices_over_the_wire_and_on_the_local_home(server: Server) -> None:
    remote = run(server, "models", "choices", "prices-auto")
    assert remote.exit_code == 0, remote.output
    assert_explained(remote.output)
    pinned = run(server, "models", "choices", "prices-auto", "--version", "1")
    assert pinned.exit_code == 0 and pinned.output == remote.output
    local = run(server, "models", "choices", "prices-auto", url=False)
    assert local.exit_code == 0, local.output
    assert_explained(local.output)


def test_a_model_that_chooses_nothing_is_one_readable_line(server: Server) -> None:
    for over_the_wire in (True, False):
        refused = run(server, "models", "choices", "prices-naive", url=over_the_wire)
        assert refused.exit_code == 1, refused.output
        assert "'naive'" in refused.output and "only `auto`" in refused.output, refused.output
    unknown = run(server, "models", "choices", "prices-auto", "--version", "7")
    assert unknown.exit_code == 1 and "has no version 7" in unknown.output, unknown.output
    anonymous = run(server, "models", "choices", "prices-auto", token=False)
    assert anonymous.exit_code == 1 and "HELIOS_TOKEN" in anonymous.output, anonymous.output
