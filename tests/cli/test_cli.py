"""The CLI as a newcomer uses it: every command listed, clear errors, nothing stored on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from helios.cli import app

CSV = "unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,2\nA,2024-01-03,3\nB,2024-01-01,5\nB,2024-01-02,6\n"


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOME", str(settings.home))
    monkeypatch.setenv("HELIOS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no truncated names
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)

    return invoke


def test_help_lists_every_command(run) -> None:  # type: ignore[no-untyped-def]
    result = run("--help")
    assert result.exit_code == 0
    for command in ("serve", "demo", "db", "tokens", "datasets"):
        assert command in result.output


def test_import_list_show_data_delete(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "p.csv"
    csv.write_text(CSV)
    imported = run("datasets", "import", str(csv), "--name", "prices")
    assert imported.exit_code == 0, imported.output
    assert "imported prices v1" in imported.output and "5 rows" in imported.output
    again = run("datasets", "import", str(csv), "--name", "prices")
    assert "already stored as prices v1" in again.output
    listed = run("datasets", "list")
    assert "prices" in listed.output and "timeseries" in listed.output
    shown = run("datasets", "show", "prices")
    assert "v1" in shown.output
    data = run("datasets", "data", "prices", "--series", "B")
    assert data.output.splitlines()[0].startswith("unique_id,ds,y")
    assert len(data.output.strip().splitlines()) == 3
    deleted = run("datasets", "delete", "prices", "--yes")
    assert deleted.exit_code == 0
    assert "no datasets yet" in run("datasets", "list").output


def test_bad_file_names_the_row_and_stores_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,nope\n")
    result = run("datasets", "import", str(bad), "--name", "bad")
    assert result.exit_code == 1
    assert "row 3" in result.output and "nope" in result.output
    assert "no datasets yet" in run("datasets", "list").output


def test_bad_arguments_are_clear(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "p.csv"
    csv.write_text(CSV)
    assert run("datasets", "import", str(tmp_path / "missing.csv"), "--name", "x").exit_code == 2
    bad_name = run("datasets", "import", str(csv), "--name", "Not A Slug")
    assert bad_name.exit_code == 1 and "slug" in bad_name.output
    bad_kind = run("datasets", "import", str(csv), "--name", "x", "--kind", "stocks")
    assert bad_kind.exit_code == 2 and "kind" in bad_kind.output
    assert run("datasets", "show", "ghost").exit_code == 1


def test_serve_names_a_bad_setting_and_starts_nothing(run, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HELIOS_HOUSEKEEPING_INTERVAL_S", "0")
    result = run("serve", "--port", "1")
    assert result.exit_code == 2
    assert "housekeeping_interval_s" in result.output and "greater than or equal to 1" in result.output
    assert "Traceback" not in result.output and not settings.home.exists()


def test_tokens_create_list_revoke(run) -> None:  # type: ignore[no-untyped-def]
    created = run("tokens", "create", "ci-bot", "--role", "editor")
    assert created.exit_code == 0
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("hel_")
    listed = run("tokens", "list")
    assert "ci-bot" in listed.output and "editor" in listed.output and secret not in listed.output
    assert run("tokens", "create", "x", "--role", "root").exit_code == 1
    assert run("tokens", "revoke", "ci-bot").exit_code == 0
    assert "ci-bot" not in run("tokens", "list").output


def test_db_upgrade_and_current(run) -> None:  # type: ignore[no-untyped-def]
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0 and "revision" in upgraded.output
    assert run("db", "current").output.strip()


def test_models_and_training_from_the_cli(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "p.csv"
    rows = "".join(
        f"A,2024-{1 + d // 28:02d}-{1 + d % 28:02d},{10 + d % 7 + (d * 37 % 11) / 10}\n" for d in range(84)
    )
    csv.write_text("unique_id,ds,y\n" + rows)
    assert run("datasets", "import", str(csv), "--name", "prices").exit_code == 0
    families = run("families")
    assert "nbeats" in families.output and "naive" in families.output
    bad = run("train", "prices", "--family", "nbeats", "--params", '{"epochs": -1}')
    assert bad.exit_code == 1 and "epochs" in bad.output
    assert "no training jobs yet" in run("jobs", "list").output
    queued = run("train", "prices", "--family", "seasonal_naive", "--horizon", "7", "--model", "prices-sn")
    assert queued.exit_code == 0 and "queued training job #1" in queued.output
    from helios.config import Settings
    from helios.context import AppContext
    from helios.training.runner import run_job
    from helios.training.workers import claim_next

    context = AppContext.build(Settings())
    assert run_job(context, claim_next(context, "test")) == "succeeded"
    assert "succeeded" in run("jobs", "list").output
    assert "registered prices-sn v1" in run("jobs", "show", "1").output
    listed = run("models", "list")
    assert "prices-sn" in listed.output and "mase=" in listed.output
    assert run("models", "deploy", "prices-sn", "1").exit_code == 0
    assert "v1" in run("models", "show", "prices-sn").output
    assert "none → active" in run("models", "history", "prices-sn").output
    assert "trained_on" in run("models", "lineage", "prices-sn").output
    assert run("models", "rollback", "prices-sn").exit_code == 1  # nothing earlier to roll back to
    wrong = run("models", "deploy", "prices-sn", "1", "--stage", "production")
    assert wrong.exit_code == 2 and "stage" in wrong.output
    assert run("models", "delete", "prices-sn", "--yes").exit_code == 1  # active: needs --force
    assert run("models", "delete", "prices-sn", "--yes", "--force").exit_code == 0
    assert run("jobs", "compare", "1").exit_code == 1

    # Tags and a note, then a re-run with the same settings; a holdout too long is refused up front.
    noted = run("jobs", "annotate", "1", "--tag", "weekly", "--note", "seasonal baseline")
    assert noted.exit_code == 0 and "weekly" in noted.output
    assert "note: seasonal baseline" in run("jobs", "show", "1").output
    rerun = run("jobs", "rerun", "1", "--latest")
    assert rerun.exit_code == 0 and "#2, a re-run of #1 on data v1" in rerun.output
    assert "re-run of job #1" in run("jobs", "show", "2").output
    assert run("jobs", "rerun", "99").exit_code == 1
    too_long = run("train", "prices", "--family", "naive", "--horizon", "83")
    assert too_long.exit_code == 1 and "validation.horizon" in too_long.output
    context.db.dispose()


def test_train_follow_watches_the_job_to_its_end(run, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    csv = tmp_path / "p.csv"
    rows = "".join(f"A,2024-01-{d:02d},{10 + d % 5 + d * 0.3}\n" for d in range(1, 31))
    csv.write_text("unique_id,ds,y\n" + rows)
    assert run("datasets", "import", str(csv), "--name", "prices").exit_code == 0
    database = settings.resolved_database_url
    env = {**os.environ, "HELIOS_HOME": str(settings.home), "HELIOS_DATABASE_URL": database}
    worker = subprocess.Popen([sys.executable, "-m", "helios", "worker"], env=env)
    try:
        followed = run("train", "prices", "--family", "drift", "--horizon", "5", "--follow")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert followed.exit_code == 0, followed.output
    assert "job #1: succeeded → prices-drift v1" in followed.output
    assert "holdout scores:" in followed.output and "mase" in followed.output
    assert "naive forecast" in followed.output  # the MASE is read out in words
    assert "epoch" not in followed.output  # drift is one pass: no epoch counter


def test_compare_stars_the_best_run_only_on_the_same_data(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from helios.config import Settings
    from helios.context import AppContext
    from helios.training.runner import run_job
    from helios.training.workers import claim_next

    csv = tmp_path / "p.csv"
    rows = "".join(
        f"A,2024-{1 + d // 28:02d}-{1 + d % 28:02d},{10 + d % 7 + (d * 37 % 11) / 10}\n" for d in range(84)
    )
    csv.write_text("unique_id,ds,y\n" + rows)
    assert run("datasets", "import", str(csv), "--name", "prices").exit_code == 0
    for family in ("naive", "seasonal_naive"):
        assert run("train", "prices", "--family", family, "--horizon", "7").exit_code == 0
    csv.write_text("unique_id,ds,y\n" + rows + "A,2024-04-01,12\n")
    assert run("datasets", "import", str(csv), "--name", "prices").exit_code == 0
    assert run("train", "prices", "--family", "naive", "--horizon", "7").exit_code == 0
    context = AppContext.build(Settings())
    for _ in range(3):
        assert run_job(context, claim_next(context, "test")) == "succeeded"
    context.db.dispose()

    same = run("jobs", "compare", "1", "2")
    assert same.exit_code == 0, same.output
    assert "★" in same.output and "lower is better" in same.output
    assert "nearest 95% is best" in same.output
    across = run("jobs", "compare", "1", "3")
    assert across.exit_code == 0
    assert "★" not in across.output and "not comparable" in " ".join(across.output.split())
