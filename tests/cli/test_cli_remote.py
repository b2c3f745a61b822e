"""The CLI against a real server (``--url`` / HELIOS_URL, token from HELIOS_TOKEN), through the Python
client: every command group once, the server's refusals as readable lines, an unreachable address in
one line, the local-only commands saying so, and nothing written to the local home meanwhile.

One ``helios serve`` (a subprocess with its training worker) serves the whole module; each test makes
its own data, so the tests do not depend on their order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from helios.cli import app
from helios.client import Helios
from tests.live import free_port, live_server, migrated_home

NATURAL = "date,ticker,close\n" + "".join(
    f"2024-01-{d:02d},{t},{base + d % 5 + d * 0.3:.2f}\n"
    for d in range(1, 31)
    for t, base in (("A", 10), ("B", 50))
)


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    root: Path

    @property
    def local_home(self) -> Path:
        return self.root / "local-home"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from helios.config import Settings
    from helios.context import AppContext
    from helios.core import auth
    from helios.db import migrate

    root = tmp_path_factory.mktemp("remote")
    home = root / "server-home"
    # A token in the server's home before it starts: from then on it answers only with one.
    context = AppContext.build(Settings(home=migrated_home(home)))
    migrate.upgrade(context.db.write_engine)
    with context.db.transaction() as session:
        secret = auth.create_token(session, "cli-tests", auth.Role.admin).secret
    context.db.dispose()
    env = {"HELIOS_WORKERS": "1", "HELIOS_DATABASE_URL": f"sqlite:///{home / 'helios.db'}"}
    with live_server(home, env=env) as url:
        yield Server(url, secret, root)


@pytest.fixture(scope="module")
def cli(server: Server):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, url: str | None = server.url, env: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
        environment = {
            "HELIOS_HOME": str(server.local_home),  # must stay untouched by remote commands
            "HELIOS_DATABASE_URL": None,
            "HELIOS_URL": None,
            "HELIOS_TOKEN": server.token,
            "COLUMNS": "200",
            **(env or {}),
        }
        result = runner.invoke(app, [*(["--url", url] if url else []), *args], env=environment)
        assert "Traceback" not in result.output, result.output
        return result

    return invoke


@pytest.fixture(scope="module")
def hx(server: Server) -> Iterator[Helios]:
    with Helios(server.url, token=server.token) as client:
        yield client


def _csv(server: Server, name: str, text: str = NATURAL) -> Path:
    path = server.root / f"{name}.csv"
    path.write_text(text)
    return path


def _import(cli, server: Server, name: str) -> None:  # type: ignore[no-untyped-def]
    mapped = ("--date-col", "date", "--id-col", "ticker", "--value-col", "close")
    result = cli("datasets", "import", str(_csv(server, name)), "--name", name, *mapped)
    assert result.exit_code == 0, result.output
    assert f"imported {name} v1: 60 rows, 2 series" in result.output


def test_datasets_training_and_jobs_over_the_wire(cli, server: Server, hx: Helios) -> None:  # type: ignore[no-untyped-def]
    _import(cli, server, "wire")
    assert "wire" in cli("datasets", "list").output
    shown = cli("datasets", "show", "wire")
    assert shown.exit_code == 0 and "v1" in shown.output and "wire.csv" in shown.output
    rows = cli("datasets", "data", "wire", "--series", "B", "--limit", "2").output.splitlines()
    assert rows[0] == "unique_id,ds,y" and rows[1].startswith("B,2024-01-01")
    target = server.root / "wire-download.parquet"
    downloaded = cli("datasets", "download", "wire", "-f", "parquet", "-o", str(target))
    assert downloaded.exit_code == 0 and len(pd.read_parquet(target)) == 60

    followed = cli(
        "train", "wire", "--family", "drift", "--horizon", "5", "--model", "wire-drift", "--follow"
    )
    assert followed.exit_code == 0, followed.output
    job_id = int(followed.output.split("queued training job #", 1)[1].split()[0])
    assert f"job #{job_id}: succeeded → wire-drift v1" in followed.output
    assert "holdout scores:" in followed.output and "mase" in followed.output
    assert "epoch" not in followed.output  # drift is one pass

    assert f"#{job_id}" in cli("jobs", "list", "--family", "drift").output
    noted = cli("jobs", "annotate", str(job_id), "--tag", "remote", "--note", "over the wire")
    assert noted.exit_code == 0 and "remote" in noted.output
    shown_job = cli("jobs", "show", str(job_id))
    assert "note: over the wire" in shown_job.output and "succeeded" in shown_job.output
    rerun = cli("jobs", "rerun", str(job_id))
    assert rerun.exit_code == 0 and f"a re-run of #{job_id} on data v1" in rerun.output
    again = int(rerun.output.split("#", 1)[1].split(",")[0])
    hx.training.wait(again, timeout=120)
    compared = cli("jobs", "compare", str(job_id), str(again))
    assert compared.exit_code == 0 and "mase" in compared.output
    cancelled = cli("jobs", "cancel", str(job_id))  # finished: the server says why not, in words
    assert cancelled.exit_code == 1 and "error:" in cancelled.output
    assert "drift" in cli("families").output
    assert not server.local_home.exists(), "a remote command touched the local home"


def test_models_predictions_and_accuracy_over_the_wire(cli, server: Server, hx: Helios) -> None:  # type: ignore[no-untyped-def]
    _import(cli, server, "ledger")
    job = hx.training.train("ledger", family="naive", horizon=5, model="ledger-naive")
    assert hx.training.wait(job["id"], timeout=120)["status"] == "succeeded"

    assert "ledger-naive" in cli("models", "list", "--kind", "ml").output
    deployed = cli("models", "deploy", "ledger-naive", "1", "--note", "first")
    assert deployed.exit_code == 0 and "ledger-naive v1: none → active" in deployed.output
    assert "active" in cli("models", "show", "ledger-naive").output
    assert "none → active" in cli("models", "history", "ledger-naive").output
    assert "ledger" in cli("models", "lineage", "ledger-naive").output
    rollback = cli("models", "rollback", "ledger-naive")  # nothing to roll back to: a 409 in words
    assert rollback.exit_code == 1 and rollback.output.startswith("error: ")

    one = cli("predict", "ledger", "-s", "A", "-m", "ledger-naive", "--horizon", "3")
    assert one.exit_code == 0, one.output
    assert "A · ledger-naive v1" in one.output and "80%" in one.output
    both = cli("predict", "ledger", "-s", "A", "-s", "B", "-m", "ledger-naive@1", "--horizon", "2")
    assert both.exit_code == 0, both.output  # two series: a queued run on the server, waited for
    assert "A · ledger-naive v1" in both.output and "B · ledger-naive v1" in both.output
    listed = cli("predictions", "list", "B", "--model", "ledger-naive")
    assert listed.exit_code == 0 and "B · ledger-naive v1" in listed.output

    # Actuals arrive as a new version; scoring and accuracy are read back over the wire.
    later = NATURAL + "".join(
        f"2024-01-31,{t},{v}\n2024-02-01,{t},{v}\n" for t, v in (("A", 20.0), ("B", 60.0))
    )
    mapped = ("--date-col", "date", "--id-col", "ticker", "--value-col", "close")
    assert (
        cli("datasets", "import", str(_csv(server, "ledger2", later)), "--name", "ledger", *mapped).exit_code
        == 0
    )
    scored = cli("predictions", "score", "ledger")
    assert scored.exit_code == 0 and "points matched" in scored.output
    accuracy = cli("predictions", "accuracy", "--model", "ledger-naive")
    assert (
        accuracy.exit_code == 0
        and "ledger-naive v1" in accuracy.output
        and "against naive" in accuracy.output
    )


def test_agents_memory_assistants_and_tokens_with_environment(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    def env_cli(*args: str):  # type: ignore[no-untyped-def]
        return cli(*args, url=None, env={"HELIOS_URL": server.url})

    assert env_cli("agents", "create", "scout", "--description", "watches A").exit_code == 0
    assert "scout" in env_cli("agents", "list").output
    assert env_cli("agents", "update", "scout", "--description", "watches A and B").exit_code == 0
    assert json.loads(env_cli("agents", "show", "scout").output)["description"] == "watches A and B"

    added = env_cli("memory", "add", "scout", "A dipped after the earnings call", "--kind", "episode")
    assert added.exit_code == 0 and "stored 1 memories for scout" in added.output
    memory_id = added.output.rsplit("ids ", 1)[1].split("..")[0]
    assert "earnings" in env_cli("memory", "list", "scout").output
    assert "earnings" in env_cli("memory", "search", "earnings", "--agent", "scout").output
    assert "nodes" in json.loads(env_cli("memory", "graph", "scout").output)
    assert env_cli("memory", "delete", memory_id).exit_code == 0
    assert env_cli("memory", "restore", memory_id).exit_code == 0
    review = env_cli("memory", "forget", "scout", "--kind", "episode")
    assert review.exit_code == 0 and "1 memories would be forgotten" in review.output
    forgot = env_cli("memory", "forget", "scout", "--kind", "episode", "--apply")
    deletion = forgot.output.rsplit("helios memory undo ", 1)[1].strip()
    assert "restored 1 memories" in env_cli("memory", "undo", deletion).output
    deleted = env_cli("agents", "delete", "scout")
    assert deleted.exit_code == 0 and "1 memories" in deleted.output
    assert "restored agent scout with 1 memories" in env_cli("agents", "restore", "scout").output

    assert env_cli("assistants", "create", "analyst", "--role", "analyst").exit_code == 0
    prompt = server.root / "prompt.json"
    prompt.write_text(json.dumps({"system_prompt": "Answer {{ question }}", "variables": ["question"]}))
    assert "saved analyst v1" in env_cli("assistants", "save", "analyst", "--file", str(prompt)).output
    prompt.write_text(
        json.dumps({"system_prompt": "Answer {{ question }} briefly", "variables": ["question"]})
    )
    assert (
        "saved analyst v2"
        in env_cli("assistants", "save", "analyst", "--file", str(prompt), "-m", "brief").output
    )
    assert "brief" in env_cli("assistants", "versions", "analyst").output
    assert "+" in env_cli("assistants", "diff", "analyst", "1", "2").output
    assert "production → v2" in env_cli("assistants", "label", "analyst", "production", "2").output
    rendered = env_cli("assistants", "render", "analyst", "--vars", '{"question": "why?"}')
    assert "Answer why? briefly" in rendered.output
    assert "analyst" in env_cli("assistants", "list").output
    assert "request_timeout_s" in env_cli("assistants", "config").output
    chat = env_cli("assistants", "chat", "analyst", "--vars", '{"question": "why?"}')
    assert chat.exit_code == 3 and "Answer why? briefly" in chat.output  # no model: says so, shows the prompt

    made = env_cli("tokens", "create", "robot", "--role", "viewer")
    assert made.exit_code == 0 and made.output.strip().splitlines()[-1].startswith("hel_")
    assert "robot" in env_cli("tokens", "list").output
    assert "revoked token robot" in env_cli("tokens", "revoke", "robot").output
    assert not server.local_home.exists(), "a remote command touched the local home"


def test_a_bad_or_missing_token_is_refused_in_words(cli) -> None:  # type: ignore[no-untyped-def]
    for token in ("hel_not-a-real-token", None):
        refused = cli("datasets", "list", env={"HELIOS_TOKEN": token})
        assert refused.exit_code == 1
        assert refused.output.startswith("error: ") and "HELIOS_TOKEN" in refused.output


def test_a_viewer_token_may_not_write(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    made = cli("tokens", "create", "reader", "--role", "viewer")
    viewer = made.output.strip().splitlines()[-1]
    refused = cli("agents", "create", "nobody", env={"HELIOS_TOKEN": viewer})
    assert refused.exit_code == 1 and "editor" in refused.output and "role" in refused.output


def test_an_unreachable_server_is_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    nobody = f"http://127.0.0.1:{free_port()}"
    result = cli("datasets", "list", url=nobody)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: cannot reach the Helios server at {nobody}: nothing answers there "
        "(is `helios serve` running, and is the address right?)"
    )
    bad = cli("models", "list", url="localhost-8765")
    assert bad.exit_code == 1 and "not an http:// or https:// address" in bad.output


def test_the_servers_422_is_read_out_field_by_field(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    bad = _csv(server, "bad", "unique_id,ds\nA,2024-01-01\n")
    refused = cli("datasets", "import", str(bad), "--name", "bad")
    assert refused.exit_code == 1
    assert refused.output.startswith("error: ") and "y" in refused.output
    too_long = cli("train", "wire-none", "--family", "naive", "--horizon", "5")
    assert too_long.exit_code == 1 and "wire-none" in too_long.output  # a 404 in words, not a traceback
    cursor = cli("jobs", "list", "--cursor", "bm90LWEtY3Vyc29y")
    assert cursor.exit_code == 1 and "• field cursor:" in cursor.output


def test_local_only_commands_say_so(cli, server: Server) -> None:  # type: ignore[no-untyped-def]
    refused = cli("db", "upgrade")
    assert refused.exit_code == 2 and "works on the local home only" in refused.output
    assert cli("serve").exit_code == 2 and cli("demo").exit_code == 2
    elsewhere = {"HELIOS_URL": server.url, "HELIOS_HOME": str(server.root / "another-home")}
    noted = cli("db", "current", url=None, env=elsewhere)  # from the environment: a note, then the work
    assert noted.exit_code == 0 and "HELIOS_URL is not used here" in " ".join(noted.output.split())
    csv = _csv(server, "tiny", "unique_id,ds,y\n" + "".join(f"A,2024-01-{d:02d},{d}\n" for d in range(1, 29)))
    forecast = cli("forecast", "-i", str(csv), "--horizon", "2", "--family", "naive")
    assert forecast.exit_code == 0 and "computes here" in forecast.output and "A," in forecast.output


def test_client_answers_tables_as_dataframes_with_the_clis_names(hx: Helios, server: Server) -> None:
    name = "frames"
    hx.datasets.import_file(
        _csv(server, name), name=name, date_col="date", id_col="ticker", value_col="close"
    )
    datasets = hx.datasets.list()
    assert isinstance(datasets, pd.DataFrame) and name in datasets["name"].tolist()
    assert "latest.rows" in datasets and str(datasets["created_at"].dtype).startswith("datetime64")
    assert hx.datasets.versions(name)["version"].tolist() == [1]
    data = hx.datasets.data(name, series=["A"], limit=7)
    assert list(data.columns)[:3] == ["unique_id", "ds", "y"] and len(data) == 7
    assert str(data["ds"].dtype).startswith("datetime64")

    job = hx.training.train(name, family="naive", horizon=5, model="frames-naive", seed=1)
    done = hx.training.wait(job["id"], timeout=120)
    assert done["status"] == "succeeded"
    jobs = hx.training.jobs(model="frames-naive")
    assert jobs["id"].tolist() == [job["id"]] and "final_metrics.mase" in jobs
    assert {"name", "value", "step"} <= set(hx.training.metrics(job["id"]).columns)
    assert hx.training.journal(job["id"])["message"].iloc[-1].startswith("succeeded")
    assert "drift" in hx.training.families()["slug"].tolist()

    hx.models.deploy("frames-naive", 1)
    assert hx.models.versions("frames-naive")["stage"].tolist() == ["active"]
    assert hx.models.deployments("frames-naive")["to_stage"].tolist() == ["active"]
    forecast = hx.models.predict("frames-naive", 3, levels=[80])
    assert isinstance(forecast, pd.DataFrame) and len(forecast) == 6  # 2 series x 3 steps

    points = hx.predictions.run(name, ["A", "B"], "frames-naive@1", horizon=2, levels=[80, 95])
    assert sorted(points["unique_id"].unique()) == ["A", "B"] and len(points) == 4
    assert {"lo_80", "hi_95", "mean", "step", "prediction"} <= set(points.columns)
    listed = hx.predictions.list("A", model="frames-naive")
    assert (listed["unique_id"] == "A").all() and str(listed["ds"].dtype).startswith("datetime64")
    accuracy = hx.predictions.accuracy(model="frames-naive")
    assert list(accuracy.columns)[:3] == ["model", "version", "unique_id"]  # nothing scored yet: empty
    assert isinstance(hx.agents.list(), pd.DataFrame) and isinstance(hx.memory.agents(), pd.DataFrame)


def test_client_speaks_the_clis_names_for_tokens_memory_and_assistants(hx: Helios) -> None:
    made = hx.tokens.create("frames-bot", "viewer")
    assert made["secret"].startswith("hel_") and "frames-bot" in hx.tokens.list()["name"].tolist()
    assert hx.tokens.revoke("frames-bot")["revoked_at"]
    assert "frames-bot" not in hx.tokens.list()["name"].tolist()
    assert "frames-bot" in hx.tokens.list(all=True)["name"].tolist()

    hx.memory.add("frames-agent", "naive is hard to beat on these", kind="lesson")
    review = hx.memory.forget("frames-agent", kinds=["lesson"])  # --kind lesson, without --apply
    assert review["dry_run"] and review["count"] == 1
    applied = hx.memory.forget("frames-agent", kinds=["lesson"], apply=True)
    assert not applied["dry_run"] and hx.memory.undo(applied["deletion_id"])["restored"] == 1

    helper = hx.assistants.create("frames-helper", memory_agent="frames-agent")  # --memory-agent
    assert helper["memory"]["agent"] == "frames-agent" and helper["llm_model"] is None


def test_a_page_that_is_not_helios_is_named_not_dumped(cli) -> None:  # type: ignore[no-untyped-def]
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # a proxy in front of a server that is down
            body = ("<html><body>" + "Bad gateway. " * 100 + "</body></html>").encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        result = cli("models", "list", url=f"http://127.0.0.1:{proxy.server_port}")
    finally:
        proxy.shutdown()
    assert result.exit_code == 1
    assert result.output.startswith("error: 502 Bad Gateway from http://127.0.0.1:")
    assert len(result.output) < 400 and "…" in result.output
