from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TransferSpeedColumn
from rich.table import Table

from helios.cli.common import console, err_console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput, PayloadTooLarge
from helios.core.pagination import MAX_LIMIT
from helios.datasets import service, views
from helios.datasets.export import ExportFormat, export_version
from helios.datasets.schemas import DatasetList, DatasetRead, ImportRequest, ImportResult, VersionList
from helios.forecasting.rules import GameRules

app = typer.Typer(help="Datasets: import, list, inspect, delete.", no_args_is_help=True)
CHUNK = 1 << 20


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or Parquet")],
    name: Annotated[str, typer.Option("--name", "-n", help="dataset slug")],
    kind: Annotated[str, typer.Option(help="timeseries or draws")] = "timeseries",
    format: Annotated[
        str, typer.Option("--format", "-f", help="auto, csv, parquet, m4-wide, ny-powerball")
    ] = "auto",
    freq: Annotated[str | None, typer.Option(help="m4-wide: frequency alias, e.g. W")] = None,
    start: Annotated[str | None, typer.Option(help="m4-wide: first timestamp, YYYY-MM-DD")] = None,
    game: Annotated[str | None, typer.Option(help="draws: preset rules, e.g. powerball")] = None,
    rules: Annotated[Path | None, typer.Option(help="draws: JSON file with GameRules")] = None,
    description: Annotated[str, typer.Option(help="what the data is")] = "",
    date_col: Annotated[str | None, typer.Option("--date-col", help="the column holding the dates")] = None,
    id_col: Annotated[str | None, typer.Option("--id-col", help="the column naming each series")] = None,
    value_col: Annotated[
        str | None, typer.Option("--value-col", help="the column holding the values")
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="one column per series beside the date column")
    ] = False,
) -> None:
    """Import FILE as a new version of dataset NAME (identical content returns the existing version).

    Long format is unique_id,ds,y; for other headers name the columns, e.g.
    --date-col date --id-col ticker --value-col close, or --wide --date-col date for one column per series."""
    if format == "ny-powerball":
        kind = "draws"
    with reported_errors():
        request = ImportRequest(
            name=name,
            kind=kind,
            format=format,
            description=description,
            freq=freq,  # type: ignore[arg-type]
            start=_date(start),
            game=game,
            rules=_rules(rules),
            filename=file.name,
            date_col=date_col,
            id_col=id_col,
            value_col=value_col,
            wide=wide,
        )
        if hx := remote():
            with console.status(f"uploading {file.name} and storing…"):
                # The same checked request, sent as the client's keyword arguments (its names are ours).
                fields = request.model_dump(mode="json", exclude={"filename"}, exclude_none=True)
                result = ImportResult.model_validate(hx.datasets.import_file(file, **fields))
        else:
            context = open_context()
            raw = _read_with_progress(file, context.settings.max_upload_bytes)
            with console.status("validating and storing…"), context.db.transaction() as session:
                imported = service.import_file(
                    session,
                    context.store,
                    request,
                    raw,
                    LOCAL_USER,
                    max_bytes=context.settings.max_upload_bytes,
                )
                result = views.import_result(session, *imported)
    verb = "imported" if result.created else "identical content already stored as"
    version = result.version
    console.print(
        f"{verb} [bold]{result.dataset.name}[/] v{version.version}: {version.rows:,} rows, "
        f"{version.series_count} series, {version.start:%Y-%m-%d} → {version.end:%Y-%m-%d}"
    )


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--start {value!r} is not a date like 2000-01-01") from None


def _rules(path: Path | None) -> GameRules | None:
    if path is None:
        return None
    try:
        return GameRules.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path} does not hold valid game rules: {exc}") from None


def _read_with_progress(file: Path, limit: int) -> bytes:
    size = file.stat().st_size
    if size > limit:
        raise PayloadTooLarge(
            f"{file.name} is {size:,} bytes, over the {limit:,}-byte limit (HELIOS_MAX_UPLOAD_BYTES)"
        )
    chunks = []
    columns = (
        SpinnerColumn(),
        TextColumn("reading {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress, file.open("rb") as handle:
        task = progress.add_task(file.name, total=size)
        while chunk := handle.read(CHUNK):
            chunks.append(chunk)
            progress.update(task, advance=len(chunk))
    return b"".join(chunks)


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor printed under a list")] = None,
) -> None:
    """List datasets with their latest version."""
    with reported_errors():
        if hx := remote():
            page = DatasetList.model_validate(hx.page("/datasets", cursor=cursor, limit=limit))
        else:
            with open_context().db.reading() as session:
                page = views.list_datasets(session, cursor=cursor, limit=limit)
    items = page.items
    if not items:
        console.print("no datasets yet: helios datasets import FILE --name NAME")
        return
    table = Table("name", "kind", "versions", "rows", "series", "range", "size")
    for d in items:
        v = d.latest
        table.add_row(
            d.name,
            d.kind,
            str(d.version_count),
            f"{v.rows:,}" if v else "—",
            str(v.series_count) if v else "—",
            f"{v.start:%Y-%m-%d} → {v.end:%Y-%m-%d}" if v and v.start else "—",
            f"{v.size_bytes / 1024:,.0f} KB" if v else "—",
        )
    console.print(table)
    more_pages(page)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="dataset name")]) -> None:
    """Show a dataset's versions and the latest version's profile."""
    with reported_errors():
        if hx := remote():
            dataset = DatasetRead.model_validate(hx.datasets.get(name))
            versions = VersionList.model_validate(
                {"items": list(hx.iterate(f"/datasets/{name}/versions"))}
            ).items
        else:
            with open_context().db.reading() as session:
                dataset = views.dataset_read(session, name)
                versions = views.all_versions(session, name)
    console.print(f"[bold]{dataset.name}[/] ({dataset.kind}) {dataset.description}")
    table = Table("version", "rows", "series", "range", "hash", "source", "created")
    for v in versions:
        table.add_row(
            f"v{v.version}",
            f"{v.rows:,}",
            str(v.series_count),
            f"{v.start:%Y-%m-%d} → {v.end:%Y-%m-%d}" if v.start else "—",
            v.content_hash[:12],
            v.source_filename or v.source_format,
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command("data")
def data(
    name: Annotated[str, typer.Argument(help="dataset name")],
    version: Annotated[str, typer.Option(help="version number or latest")] = "latest",
    series: Annotated[list[str] | None, typer.Option(help="keep only this series (repeatable)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=service.MAX_PAGE)] = 20,
) -> None:
    """Print the first rows of a version as CSV."""
    with reported_errors():
        if hx := remote():
            found = hx.datasets.page(name, version, series=series, limit=limit)
            columns, rows = found["columns"], found["rows"]
        else:
            context = open_context()
            with context.db.reading() as session:
                page = service.read_page(session, context.store, name, version, series=series, limit=limit)
            columns, rows = page.columns, page.rows
    print(",".join(columns))
    for values in rows:
        print(",".join("" if v is None else str(v) for v in values))


@app.command("download")
def download(
    name: Annotated[str, typer.Argument(help="dataset name")],
    version: Annotated[str, typer.Option(help="version number or latest")] = "latest",
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="csv or parquet")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: NAME-vN.FORMAT here)")
    ] = None,
) -> None:
    """Write a dataset version to a CSV or Parquet file."""
    with reported_errors():
        if hx := remote():
            target = _downloaded(hx.datasets.download, name, version, format, output)
            size = target.stat().st_size
        else:
            context = open_context()
            with context.db.reading() as session:
                exported = export_version(session, context.store, name, version, format)
                target = output or Path(exported.filename)
                size = _write_chunks(target, exported.chunks)
    err_console.print(f"wrote {target} ({size:,} bytes)")


def _downloaded(download, name: str, version: str, format: str, output: Path | None) -> Path:  # type: ignore[no-untyped-def]
    try:
        return download(name, version, format=format, output=output)
    except OSError as exc:
        raise InvalidInput(f"cannot write {output or 'the file'}: {exc.strerror or exc}") from None


def _write_chunks(target: Path, chunks: Iterable[bytes]) -> int:
    # Written beside the target and moved into place, so a failure never leaves half a file under its name.
    partial = target.with_name(target.name + ".part")
    size = 0
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from None
    return size


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="dataset name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
) -> None:
    """Soft-delete a dataset (refused while anything uses it)."""
    if not yes:
        typer.confirm(f"delete dataset {name}?", abort=True)
    with reported_errors():
        if hx := remote():
            hx.datasets.delete(name)
        else:
            with open_context().db.transaction() as session:
                service.delete_dataset(session, name, LOCAL_USER)
    console.print(f"deleted [bold]{name}[/]")
