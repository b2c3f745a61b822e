from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from helios.cli.common import console, err_console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.pagination import MAX_LIMIT
from helios.core.parsing import json_object
from helios.training import scoreboard, service, views
from helios.training.schemas import (
    FINISHED,
    Comparison,
    EarlyStoppingSettings,
    FamilyList,
    FamilyRead,
    JobAnnotation,
    JobCreate,
    JobList,
    JobRead,
    JobStatus,
    JournalRead,
    MetricPoint,
    ValidationSettings,
)

jobs_app = typer.Typer(help="Training jobs: list, inspect, stop, cancel, compare.", no_args_is_help=True)


def train(
    dataset: Annotated[str, typer.Argument(help="dataset name")],
    family: Annotated[str, typer.Option("--family", "-f", help="model family, see helios families")],
    version: Annotated[str, typer.Option(help="dataset version or latest")] = "latest",
    series: Annotated[list[str] | None, typer.Option(help="train on this series only (repeatable)")] = None,
    params: Annotated[str | None, typer.Option(help='hyperparameters as JSON, e.g. {"epochs": 20}')] = None,
    horizon: Annotated[
        int | None,
        typer.Option(min=1, help="steps held out for scoring; default: the family's horizon, else 14"),
    ] = None,
    early_stopping: Annotated[bool, typer.Option(help="stop when val_loss stops improving")] = False,
    patience: Annotated[int, typer.Option(help="early stopping patience in epochs")] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    model: Annotated[str | None, typer.Option(help="model to register into")] = None,
    timeout: Annotated[int | None, typer.Option(help="seconds before the job is killed")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="watch it with a progress bar until it ends")
    ] = False,
) -> None:
    """Queue a training job (a running `helios serve` or `helios worker` picks it up)."""
    with reported_errors():
        body = JobCreate(
            dataset=dataset,
            dataset_version=int(version) if version.isdecimal() else "latest",
            series=series,
            family=family,
            hyperparameters=json_object(params, "--params"),
            validation=ValidationSettings(horizon=horizon),
            early_stopping=EarlyStoppingSettings(patience=patience) if early_stopping else None,
            seed=seed,
            target_model=model,
            timeout_s=timeout,
        )
        if hx := remote():
            job_id = hx.request("POST", "/ml/train", json=body.model_dump(mode="json"))["id"]
        else:
            with open_context().db.transaction() as session:
                job_id = service.create_job(session, body, LOCAL_USER).id
    console.print(f"queued training job [bold]#{job_id}[/] ({family} on {dataset})")
    if follow:
        with reported_errors():
            _follow(job_id)


class _Jobs:
    """A job's state and metrics, read from the local home or from the server (``--follow``)."""

    def __init__(self) -> None:
        self.hx = remote()
        self.context = None if self.hx else open_context()

    def job(self, job_id: int) -> JobRead:
        if self.hx:
            return JobRead.model_validate(self.hx.training.job(job_id))
        with self.context.db.reading() as session:  # type: ignore[union-attr]
            return views.get_job_read(session, job_id)

    def metrics(self, job_id: int, since: int) -> list[MetricPoint]:
        if self.hx:
            answer = self.hx.get(f"/ml/jobs/{job_id}/metrics", params={"since": since})
            return [MetricPoint.model_validate(p) for p in answer["points"]]
        with self.context.db.reading() as session:  # type: ignore[union-attr]
            return views.metrics(session, job_id, since)


def _families() -> list[FamilyRead]:
    if hx := remote():
        return FamilyList.model_validate(hx.get("/ml/families")).items
    return views.families().items


def _follow(job_id: int) -> None:
    source = _Jobs()
    family = source.job(job_id).family
    # One-pass families (ETS, naive...) have no epochs: an "epoch 0" column would only confuse.
    iterative = any(f.slug == family and f.iterative for f in _families())
    columns = (
        TextColumn("job #{task.fields[job]} {task.fields[status]}"),
        BarColumn(),
        *((TextColumn("epoch {task.fields[epoch]}"),) if iterative else ()),
        TextColumn("{task.fields[metric]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console) as progress:
        task = progress.add_task("train", total=1.0, job=job_id, status=JobStatus.queued, epoch=0, metric="")
        since, latest = 0, {}
        while True:
            job = source.job(job_id)
            for point in source.metrics(job_id, since):  # only the new points, each poll
                since = max(since, point.id)
                latest[point.name] = point
            metric = " ".join(f"{p.name}={p.value:.4g}" for p in latest.values() if p.step == job.epoch)
            progress.update(task, completed=job.progress, status=job.status, epoch=job.epoch, metric=metric)
            if job.status in FINISHED:
                break
            time.sleep(0.5)
    _print_outcome(source.job(job_id))


def _print_outcome(read: JobRead) -> None:
    job_id = read.id
    colour = {JobStatus.succeeded: "green", JobStatus.stopped_early: "yellow", JobStatus.failed: "red"}.get(
        read.status, "white"
    )
    console.print(
        f"job #{job_id}: [{colour}]{read.status}[/]"
        + (f" → {read.target_model} v{read.result_version}" if read.result_version else "")
        + (f" ({read.error})" if read.error else "")
        + (f" ({read.stop_reason})" if read.stop_reason else "")
    )
    _print_holdout_scores(read.final_metrics)
    if read.status == JobStatus.failed:
        raise typer.Exit(1)


def _print_holdout_scores(scores: dict[str, object]) -> None:
    if not scores:
        return
    console.print("holdout scores:")
    words = scoreboard.explain(scores)
    for name, value in sorted(scores.items()):
        console.print(f"  {name} {_fmt(value)}" + (f"  ({words[name]})" if name in words else ""))


def families() -> None:
    """List the model families and whether they train in epochs."""
    table = Table("family", "task", "epochs", "description")
    with reported_errors():
        found = _families()
    for f in found:
        table.add_row(f.slug, f.task, "yes" if f.iterative else "", f.description)
    console.print(table)


@jobs_app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option()] = None,
    family: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 30,
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor printed under a list")] = None,
) -> None:
    """Training jobs, newest first."""
    with reported_errors():
        if hx := remote():
            answer = hx.page("/ml/jobs", status=status, family=family, cursor=cursor, limit=limit)
            page = JobList.model_validate(answer)
        else:
            with open_context().db.reading() as session:
                page = views.list_jobs(session, status=status, family=family, cursor=cursor, limit=limit)
    reads = page.items
    table = Table("id", "status", "family", "dataset", "epoch", "best", "model", "duration")
    for j in reads:
        table.add_row(
            f"#{j.id}",
            j.status,
            j.family,
            f"{j.dataset} v{j.dataset_version}",
            str(j.epoch),
            f"{j.best_metric:.4g}" if j.best_metric is not None else "—",
            f"{j.target_model} v{j.result_version}" if j.result_version else j.target_model,
            f"{j.duration_s:.0f} s" if j.duration_s else "—",
        )
    console.print(table if reads else "no training jobs yet: helios train DATASET --family naive")
    more_pages(page)


@jobs_app.command("show")
def show(job_id: Annotated[int, typer.Argument()]) -> None:
    """A job's settings, outcome and journal."""
    with reported_errors():
        if hx := remote():
            read = JobRead.model_validate(hx.training.job(job_id))
            lines = JournalRead.model_validate(hx.get(f"/ml/jobs/{job_id}/journal")).items
        else:
            with open_context().db.reading() as session:
                read = views.get_job_read(session, job_id)
                lines = views.journal_lines(session, job_id)
    console.print(
        f"[bold]job #{read.id}[/] {read.status}: {read.family} on {read.dataset} v{read.dataset_version}"
    )
    if read.tags or read.note:
        console.print(
            f"  tags: {', '.join(read.tags) or '—'}" + (f"\n  note: {read.note}" if read.note else "")
        )
    for line in lines:
        style = {"error": "red", "warning": "yellow"}.get(line.level, "")
        console.print(f"  {line.at:%H:%M:%S} " + (f"[{style}]{line.message}[/]" if style else line.message))


@jobs_app.command("rerun")
def rerun(
    job_id: Annotated[int, typer.Argument()],
    latest: Annotated[
        bool, typer.Option("--latest", help="train on the dataset's latest version, not the job's own")
    ] = False,
) -> None:
    """Queue a new job with this job's settings (tags and note included)."""
    with reported_errors():
        if hx := remote():
            again = JobRead.model_validate(hx.training.rerun(job_id, latest=latest))
            new_id, version = again.id, again.dataset_version
        else:
            with open_context().db.transaction() as session:
                job = service.rerun_job(session, job_id, LOCAL_USER, latest_version=latest)
                new_id, version = job.id, views.job_read(session, job).dataset_version
    console.print(f"queued training job [bold]#{new_id}[/], a re-run of #{job_id} on data v{version}")


@jobs_app.command("annotate")
def annotate(
    job_id: Annotated[int, typer.Argument()],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="replaces the tags (repeatable)")] = None,
    note: Annotated[str | None, typer.Option(help='a note on the run; "" clears it')] = None,
) -> None:
    """Tag a run and write a note on it."""
    with reported_errors():
        body = JobAnnotation(**{k: v for k, v in {"tags": tag, "note": note}.items() if v is not None})
        if hx := remote():
            read = JobRead.model_validate(hx.training.annotate(job_id, tags=body.tags, note=body.note))
        else:
            with open_context().db.transaction() as session:
                read = views.job_read(session, service.annotate_job(session, job_id, body, LOCAL_USER))
    console.print(f"job #{job_id}: tags {', '.join(read.tags) or '—'}; note {read.note or '—'}")


@jobs_app.command("stop")
def stop(job_id: Annotated[int, typer.Argument()]) -> None:
    """Stop now, keeping the best so far as a model version."""
    with reported_errors():
        if hx := remote():
            hx.training.stop(job_id)
        else:
            with open_context().db.transaction() as session:
                service.request_stop(session, job_id, LOCAL_USER)
    console.print(f"stop requested for job #{job_id}")


@jobs_app.command("cancel")
def cancel(job_id: Annotated[int, typer.Argument()]) -> None:
    """Stop and discard."""
    with reported_errors():
        if hx := remote():
            hx.training.cancel(job_id)
        else:
            with open_context().db.transaction() as session:
                service.request_cancel(session, job_id, LOCAL_USER)
    console.print(f"cancel requested for job #{job_id}")


@jobs_app.command("compare")
def compare(job_ids: Annotated[list[int], typer.Argument(help="two or more job ids")]) -> None:
    """Params that differ and final metrics, side by side, the best run starred."""
    with reported_errors():
        if hx := remote():
            result = Comparison.model_validate(hx.training.compare(*job_ids))
            reads = [JobRead.model_validate(hx.training.job(r.job_id)) for r in result.runs]
        else:
            with open_context().db.reading() as session:
                result = views.compare(session, job_ids)
                reads = [views.get_job_read(session, r.job_id) for r in result.runs]
    datasets = {j.id: f"{j.dataset} v{j.dataset_version}" for j in reads}
    comparable = scoreboard.same_data(datasets)
    table = Table("", *[f"#{r.job_id}" for r in result.runs], "reading")
    for name, values in result.params_diff.items():
        table.add_row(f"[bold]{name}[/]", *[str(values.get(str(r.job_id))) for r in result.runs], "")
    metric_names = sorted({m for r in result.runs for m in r.final_metrics})
    for name in metric_names:
        values = {r.job_id: r.final_metrics.get(name) for r in result.runs}
        best = scoreboard.best_run(name, values) if comparable else None
        cells = [_fmt(v) + (" ★" if i == best else "") for i, v in values.items()]
        table.add_row(name, *cells, scoreboard.direction(name) or "")
    console.print(table)
    if not comparable:
        console.print(f"[yellow]{scoreboard.different_data_notice(datasets)}[/]")


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "—" if value is None else str(value)
