"""The ``helios`` command. One sub-app per area; each command commits at its own boundary and
turns a domain error into one readable red line and exit code 1 (2 for bad arguments).

Every command works on the local home (HELIOS_HOME) by default, or on a Helios server given with
``--url`` or HELIOS_URL (token from HELIOS_TOKEN), through ``helios.client``; the commands that
manage a home itself (serve, worker, demo, db) work on the local home only and say so."""

from __future__ import annotations

from typing import Annotated

import typer

from helios.cli import agents, assistants, datasets, db, memory, models, predictions, server, tokens, training
from helios.cli.common import server_option_callback

app = typer.Typer(
    name="helios",
    help="Helios: a self-hosted control room for forecasting agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _where(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="HELIOS_URL",
            metavar="URL",
            help="a Helios server to work on, e.g. http://host:8765 (token from HELIOS_TOKEN); "
            "default: the local home",
        ),
    ] = None,
) -> None:
    """Helios: a self-hosted control room for forecasting agents."""
    server_option_callback(ctx, url)


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
