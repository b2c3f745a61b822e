"""``helios predict`` (run a prediction) and ``helios predictions ...`` (list, score, accuracy)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from helios.cli.common import console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput
from helios.core.pagination import MAX_LIMIT

app = typer.Typer(help="The forecast ledger: predictions, scores, accuracy.", no_args_is_help=True)


def predict(
    dataset: Annotated[str, typer.Argument(help="dataset name")],
    series: Annotated[
        list[str], typer.Option("--series", "-s", help="ticker (repeat for several), or 'all'")
    ],
    model: Annotated[list[str], typer.Option("--model", "-m", help="model name, name@VERSION or name#ALIAS")],
    horizon: Annotated[int, typer.Option(min=1, help="steps ahead")] = 7,
    level: Annotated[
        list[int] | None, typer.Option("--level", help="interval levels (default 80, 95)")
    ] = None,
    volatility: Annotated[str | None, typer.Option(help="volatility model laid over the prediction")] = None,
    version: Annotated[str, typer.Option(help="dataset version number or 'latest'")] = "latest",
) -> None:
    """Predict from the last observation of the dataset version and keep the predictions."""
    from helios.predictions import service, views
    from helios.predictions.schemas import PredictionRead, RunRequest, Trigger

    with reported_errors():
        request = RunRequest(
            dataset=dataset,
            dataset_version=version if version == "latest" else int(version),
            series="all" if series == ["all"] else series,
            models=[_model_ref(m) for m in model],
            horizon=horizon,
            levels=level or [80, 95],
            volatility_model=_model_ref(volatility) if volatility else None,
        )
        hx = remote()
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as bar:
            bar.add_task(f"predicting {len(series)} series with {len(model)} model(s)…")
            if hx:  # several series run on the server as a queued run: the client waits for it
                fields = request.model_dump(mode="json")
                found = hx.predictions.run_raw(
                    fields["dataset"],
                    fields["series"],
                    fields["models"],
                    fields["horizon"],
                    levels=fields["levels"],
                    volatility=fields["volatility_model"],
                    version=fields["dataset_version"],
                )
                reads = [PredictionRead.model_validate(p) for p in found]
            else:
                context = open_context()
                with context.db.transaction() as session:
                    stored = service.run_inline(
                        session,
                        context.store,
                        context.inference,
                        request,
                        LOCAL_USER,
                        trigger=Trigger.on_demand,
                    )
                    reads = views.prediction_reads(session, stored)
    for read in reads:
        _print_prediction(read)


def _model_ref(text: str) -> dict:
    from helios.client import model_ref

    try:
        return model_ref(text)
    except ValueError:
        raise InvalidInput(f"--model {text!r}: give NAME, NAME@VERSION (a number) or NAME#ALIAS") from None


def _print_prediction(read) -> None:  # type: ignore[no-untyped-def]
    console.print(
        f"[bold]#{read.id}[/] {read.unique_id} · {read.model} v{read.model_version} · "
        f"from {read.origin:%Y-%m-%d} ({read.start_mode}) · {read.dataset} v{read.dataset_version}"
    )
    levels = [str(level) for level in read.levels]
    table = Table("step", "ds", "mean", *[f"{level}%" for level in levels], "sigma", "actual")
    for p in read.points:
        bounds = [_pair(p.bounds.get(level)) for level in levels]
        table.add_row(str(p.step), f"{p.ds:%Y-%m-%d}", _num(p.mean), *bounds, _num(p.sigma), _num(p.actual))
    console.print(table)


def _pair(bounds: list | None) -> str:
    return f"{_num(bounds[0])} – {_num(bounds[1])}" if bounds else "—"


def _num(value: float | None) -> str:
    return f"{value:.6g}" if value is not None else "—"


@app.command("list")
def list_(
    ticker: Annotated[str, typer.Argument(help="series / ticker")],
    model: Annotated[str | None, typer.Option(help="only this model")] = None,
    latest: Annotated[bool, typer.Option(help="only the newest per model")] = False,
    as_of: Annotated[dt.datetime | None, typer.Option(help="what had been predicted by then")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 10,
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor printed under a list")] = None,
) -> None:
    """A ticker's predictions, newest first, with actuals where known."""
    from helios.predictions import service, views
    from helios.predictions.schemas import PredictionList

    with reported_errors():
        if hx := remote():
            filters = {"model": model, "latest": latest or None, "as_of": as_of and as_of.isoformat()}
            page = PredictionList.model_validate(
                hx.page(
                    f"/predictions/series/{quote(ticker, safe='')}", cursor=cursor, limit=limit, **filters
                )
            )
        else:
            with open_context().db.reading() as session:
                page = views.list_predictions(
                    session,
                    ticker,
                    model=model,
                    latest=latest,
                    as_of=service.check_as_of(as_of),
                    cursor=cursor,
                    limit=limit,
                )
    if not page.items:
        console.print(f"no predictions for {ticker} yet: helios predict DATASET -s {ticker} -m MODEL")
        return
    for read in page.items:
        _print_prediction(read)
    more_pages(page)


@app.command("score")
def score(
    dataset: Annotated[str, typer.Argument(help="dataset name")],
    version: Annotated[str, typer.Option(help="version number or 'latest'")] = "latest",
) -> None:
    """Score predictions against a dataset version (done by the server when a version arrives)."""
    from helios.predictions import service

    with reported_errors():
        if hx := remote():
            report = hx.predictions.score(dataset, version if version == "latest" else int(version))
        else:
            context = open_context()
            with context.db.transaction() as session:
                report = service.score_dataset_version(session, context.store, dataset, version)
    console.print(
        f"{report['points_matched']} points matched: {report['scored']} scored, "
        f"{report['revised']} revised, {report['unchanged']} unchanged"
    )


@app.command("accuracy")
def accuracy(
    model: Annotated[str | None, typer.Option(help="only this model")] = None,
    ticker: Annotated[str | None, typer.Option(help="only this series")] = None,
) -> None:
    """Accuracy per model version and series, with coverage and skill against naive in words."""
    from helios.predictions import accuracy as ledger
    from helios.predictions.schemas import AccuracyReport

    with reported_errors():
        if hx := remote():
            report = AccuracyReport.model_validate(hx.predictions.accuracy_report(model=model, ticker=ticker))
        else:
            with open_context().db.reading() as session:
                report = ledger.accuracy(session, model=model, unique_id=ticker)
    if not report.groups and not report.draws:
        console.print("nothing scored yet")
        return
    table = Table("model", "series", "n", "MAE", "MAPE %", "MASE", "coverage", "direction")
    for g in report.groups:
        cover = ", ".join(f"{c.level}%: {c.observed:.0%}" for c in g.coverage)
        table.add_row(
            f"{g.model} v{g.version}",
            g.unique_id or "all",
            str(g.n),
            _num(g.mae),
            _num(g.mape),
            _num(g.mase),
            cover,
            _num(g.directional_accuracy),
        )
    console.print(table)
    for g in report.groups:  # verdicts are sentences: one line each, never squeezed into a cell
        console.print(f"{g.model} v{g.version} {g.unique_id or ''} against naive: {g.skill.verdict}")
    for d in report.draws:
        console.print(f"{d.model} v{d.version}: {d.verdict}")
