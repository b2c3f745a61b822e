"""The ``helios`` command. One sub-app per area; each command commits at its own boundary and
turns a domain error into one readable red line and exit code 1 (2 for bad arguments)."""

from __future__ import annotations

import typer

from helios.cli import agents, assistants, datasets, db, memory, models, predictions, server, tokens, training

app = typer.Typer(
    name="helios",
    help="Helios: a self-hosted control room for forecasting agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(server.serve)
app.command("demo")(server.demo)
app.command("worker")(server.worker)
app.command("train")(training.train)
app.command("families")(training.families)
app.add_typer(db.app, name="db")
app.add_typer(tokens.app, name="tokens")
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(training.jobs_app, name="jobs")
app.command("predict")(predictions.predict)
app.add_typer(predictions.app, name="predictions")
app.add_typer(agents.app, name="agents")
app.add_typer(memory.app, name="memory")
app.add_typer(assistants.app, name="assistants")


def _register_forecast() -> None:
    try:
        from helios.cli.forecast import forecast
    except ImportError:  # the one-shot forecast command ships with the forecasting engine
        return
    app.command("forecast", help="Forecast a long-format CSV (unique_id, ds, y) without a server.")(forecast)


_register_forecast()


def main() -> None:
    app()
