"""The import dialog: what format Helios expects (with a sample file), the name checked before anything is
sent, the file uploaded with its progress, then its columns mapped (date, series id, value, or wide) and
imported. Nothing is stored until Import is pressed and the file validates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
from nicegui import events, run, ui

from helios.core.auth import Principal
from helios.core.errors import HeliosError, InvalidInput
from helios.core.parsing import SLUG_PATTERN
from helios.datasets import service, views
from helios.datasets.column_mapping import looks_wide
from helios.datasets.importers import PARQUET_MAGIC
from helios.datasets.schemas import ImportRequest
from helios.datasets.tabular import csv_header
from helios.ui.runtime import context

NAME_RULE = (
    "Use lower-case letters, digits, hyphens or underscores, starting and ending with a letter or digit."
)
SAMPLE_CSV = (
    "unique_id,ds,y\n"
    + "".join(f"NOVA,2024-01-{day:02d},{100 + day}\n" for day in range(1, 8))
    + "".join(f"ORBI,2024-01-{day:02d},{50 + 2 * day}\n" for day in range(1, 8))
)
_NAME = re.compile(SLUG_PATTERN)
_DATE_WORDS = ("ds", "date", "time", "timestamp", "datetime", "day", "month", "week", "period")
_ID_WORDS = ("unique_id", "ticker", "symbol", "id", "series", "series_id", "name")
_VALUE_WORDS = ("y", "value", "close", "price", "target", "adj close", "adj_close")


def name_problem(name: str) -> str | None:
    """What is wrong with a dataset name, in plain words; None when it is fine."""
    if not name:
        return "Give the dataset a name first."
    if len(name) > 64:
        return f"The name is {len(name)} characters long; keep it to 64."
    if not _NAME.match(name):
        return NAME_RULE
    return None


def file_columns(raw: bytes) -> list[str]:
    """The column names of an uploaded CSV or Parquet file, for the mapping selects."""
    if raw[:4] == PARQUET_MAGIC:
        try:
            return list(pq.ParquetFile(pa.BufferReader(raw)).schema_arrow.names)
        except (pa.ArrowException, OSError):
            raise InvalidInput("The Parquet file is corrupt or truncated; export it again.") from None
    try:
        return csv_header(raw)[0]
    except UnicodeDecodeError:
        raise InvalidInput(
            'The file is not UTF-8 text; save it as "CSV UTF-8" and upload it again.'
        ) from None


def guess(columns: list[str], words: tuple[str, ...]) -> str | None:
    return next((column for column in columns if column.strip().lower() in words), None)


class ImportDialog:
    def __init__(self, principal: Principal, on_imported: Callable[[str, int], None]) -> None:
        self.principal = principal
        self.on_imported = on_imported
        self.raw: bytes | None = None
        self.filename = ""

    def open(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("w-[560px] max-w-full helios-card"):
            ui.label("Import a dataset").classes("text-lg font-semibold")
            self.expected_format()
            self.name = ui.input(
                "Name",
                placeholder="e.g. my-stocks",
                validation=lambda value: name_problem((value or "").strip()),
            ).props('data-testid="import-name" lazy-rules=false')
            self.name.classes("w-full")
            with ui.row().classes("w-full no-wrap"):
                self.kind = ui.select(["timeseries", "draws"], value="timeseries", label="Kind").classes(
                    "w-1/2"
                )
                self.fmt = ui.select(
                    ["auto", "csv", "parquet", "m4-wide", "ny-powerball"], value="auto", label="Format"
                ).classes("w-1/2")
            with ui.row().classes("w-full no-wrap").bind_visibility_from(self.fmt, "value", value="m4-wide"):
                self.freq = ui.input("Frequency", value="W").classes("w-1/2")
                self.start = ui.input("First timestamp", value="2000-01-01").classes("w-1/2")
            self.game = ui.select(["powerball"], value="powerball", label="Game rules").classes("w-full")
            self.game.bind_visibility_from(self.kind, "value", value="draws")
            self.description = ui.input("Description (optional)").classes("w-full")
            self.uploader = (
                ui.upload(
                    label="Choose a CSV or Parquet file",
                    auto_upload=True,
                    on_begin_upload=self.upload_started,
                    on_upload=self.received,
                    on_rejected=lambda: self.show_error("The file is larger than the upload limit."),
                    max_file_size=context().settings.max_upload_bytes,
                )
                .props('accept=".csv,.parquet,.txt" data-testid="import-file" color=primary')
                .classes("w-full")
            )
            self.uploader.bind_enabled_from(
                self.name, "value", lambda v: name_problem((v or "").strip()) is None
            )
            self.progress = (
                ui.label().classes("text-sm text-slate-600").props('data-testid="import-progress"')
            )
            self.mapping_area = ui.column().classes("w-full gap-1")
            self.error = ui.label().classes("text-red-600 text-sm whitespace-pre-line")
            self.error.props('data-testid="import-error"')
            self.error.set_visibility(False)
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat")
                self.import_button = ui.button("Import", icon="upload", on_click=self.run_import)
                self.import_button.props('data-testid="import-submit"').disable()
        self.dialog.open()

    def expected_format(self) -> None:
        with ui.column().classes("w-full gap-1 text-sm text-slate-600"):
            ui.label(
                "Long format: one row per series and date, columns unique_id, ds (YYYY-MM-DD) and y. "
                "Other headers (date, ticker, close) or one column per series: map the columns once "
                "the file is chosen."
            )
            ui.button(
                "Download a sample CSV",
                icon="download",
                on_click=lambda: ui.download.content(SAMPLE_CSV, "helios-sample.csv", "text/csv"),
            ).props('flat dense no-caps data-testid="import-sample"')

    # --- the file arrives ---------------------------------------------------------------------------

    def upload_started(self) -> None:
        self.error.set_visibility(False)
        self.progress.text = "Uploading…"

    async def received(self, e: events.UploadEventArguments) -> None:
        self.raw, self.filename = await e.file.read(), e.file.name
        self.progress.text = (
            f"Uploaded {self.filename} ({_size(len(self.raw))}). Check the columns, then Import."
        )
        try:
            columns = file_columns(self.raw)
        except HeliosError as exc:
            self.show_error(exc.detail)
            return
        self.show_mapping(columns)
        self.import_button.enable()
        if self.mapping is None:  # long format already: nothing to choose, import straight away
            await self.run_import()

    def show_mapping(self, columns: list[str]) -> None:
        self.mapping_area.clear()
        long_form = {"unique_id", "ds"} <= {c.strip().lower() for c in columns}
        if self.kind.value != "timeseries" or long_form:
            self.mapping = None
            return
        wide = looks_wide(columns)
        with self.mapping_area:
            ui.label("Map the file's columns").classes("font-medium")
            self.wide = ui.switch("Wide: one column per series", value=wide).props('data-testid="map-wide"')
            self.date_col = self.column_select(
                "Date column", columns, guess(columns, _DATE_WORDS), "map-date"
            )
            with ui.row().classes("w-full no-wrap").bind_visibility_from(self.wide, "value", value=False):
                self.id_col = self.column_select(
                    "Series id column", columns, guess(columns, _ID_WORDS), "map-id"
                )
                self.value_col = self.column_select(
                    "Value column", columns, guess(columns, _VALUE_WORDS), "map-value"
                )
        self.mapping = True

    @staticmethod
    def column_select(label: str, columns: list[str], value: str | None, testid: str) -> ui.select:
        select = ui.select(columns, value=value, label=label, clearable=True).classes("grow min-w-[140px]")
        return select.props(f'data-testid="{testid}"')

    # --- import --------------------------------------------------------------------------------------

    async def run_import(self) -> None:
        self.error.set_visibility(False)
        problem = name_problem((self.name.value or "").strip())
        if problem or self.raw is None:
            self.show_error(problem or "Choose a file first.")
            return
        request = self.request()
        self.import_button.disable()
        self.progress.text = f"Checking and storing {self.filename}…"
        try:
            created, version = await run.io_bound(_import, request, self.raw, self.principal)
        except HeliosError as exc:
            self.show_error(_error_text(exc))
            self.progress.text = ""
            self.import_button.enable()
            return
        ui.notify(
            f"{'Imported' if created else 'Already stored as'} {request.name} v{version}", type="positive"
        )
        self.dialog.close()
        self.on_imported(request.name, version)

    def request(self) -> ImportRequest:
        fmt, kind = self.fmt.value, self.kind.value
        mapping: dict[str, object] = {}
        if getattr(self, "mapping", None):
            wide = bool(self.wide.value)
            mapping = {
                "wide": wide,
                "date_col": self.date_col.value or None,
                "id_col": None if wide else self.id_col.value or None,
                "value_col": None if wide else self.value_col.value or None,
            }
        return ImportRequest(
            name=(self.name.value or "").strip(),
            kind=kind,
            format=fmt,
            description=self.description.value or "",
            freq=self.freq.value if fmt == "m4-wide" else None,
            start=_parse_date(self.start.value) if fmt == "m4-wide" else None,
            game=self.game.value if kind == "draws" and fmt != "ny-powerball" else None,
            filename=self.filename,
            **mapping,  # type: ignore[arg-type]
        )

    def show_error(self, text: str) -> None:
        self.error.text = text
        self.error.set_visibility(True)


def _import(request: ImportRequest, raw: bytes, principal: Principal) -> tuple[bool, int]:
    ctx = context()
    with ctx.db.transaction() as session:
        imported = service.import_file(
            session,
            ctx.store,
            request,
            raw,
            principal,
            max_bytes=ctx.settings.max_upload_bytes,
            max_rows=ctx.settings.max_import_rows,
        )
        result = views.import_result(session, *imported)
        return result.created, result.version.version


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _error_text(exc: HeliosError) -> str:
    lines = [exc.detail]
    for err in exc.errors[:5]:
        where = ", ".join(f"{k} {err[k]}" for k in ("row", "column", "field") if err.get(k) is not None)
        lines.append(f"• {where}: {err.get('message', '')}" if where else f"• {err.get('message', '')}")
    return "\n".join(lines)


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"
