"""Datasets page: the list, an import dialog with upload progress, and per version its history,
a chart per series and a preview of the rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from fastapi import Request
from nicegui import run, ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.datasets import service, views
from helios.datasets.schemas import DatasetRead, DatasetVersionRead
from helios.ui.dataset_import import ImportDialog
from helios.ui.guard import page_principal
from helios.ui.runtime import context, write
from helios.ui.shell import frame

PREVIEW_ROWS = 200


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _date(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def _list_row(item: DatasetRead) -> dict:
    latest = item.latest
    return {
        "name": item.name,
        "kind": item.kind,
        "versions": item.version_count,
        "rows": f"{latest.rows:,}" if latest else "—",
        "series": latest.series_count if latest else 0,
        "range": f"{_date(latest.start)} → {_date(latest.end)}" if latest else "—",
        "size": _size(latest.size_bytes) if latest else "—",
        "description": item.description,
    }


LIST_COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "align": "left", "sortable": True},
    {"name": "kind", "label": "Kind", "field": "kind", "align": "left", "sortable": True},
    {"name": "versions", "label": "Versions", "field": "versions", "sortable": True},
    {"name": "rows", "label": "Rows", "field": "rows"},
    {"name": "series", "label": "Series", "field": "series"},
    {"name": "range", "label": "Date range", "field": "range", "align": "left"},
    {"name": "size", "label": "Size", "field": "size"},
]


class DatasetsPage:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.can_edit = principal.role >= Role.editor
        self.selected: str | None = None

    # --- list --------------------------------------------------------------------------------

    def build(self) -> None:
        with ui.row().classes("w-full items-center justify-between"):
            with ui.column().classes("gap-0"):
                ui.label("Datasets").classes("text-2xl font-semibold")
                ui.label("Time series and draw histories, each import an immutable version.").classes(
                    "text-slate-500"
                )
            button = ui.button("Import dataset", icon="upload_file", on_click=self.open_import)
            button.props('data-testid="import-open"')
            if not self.can_edit:
                button.disable()
                button.tooltip("Importing needs the editor role")
        with ui.card().classes("w-full helios-card p-0") as self.list_card:
            self.table = ui.table(rows=[], columns=LIST_COLUMNS, row_key="name", pagination=15).classes(
                "w-full"
            )
            self.table.props('flat data-testid="datasets-table"')
            self.table.classes("cursor-pointer")
            self.table.on("rowClick", lambda e: self.select(e.args[1]["name"]))
        with ui.card().classes("w-full helios-card items-center py-10 gap-2") as self.empty:
            ui.icon("dataset", size="48px").classes("text-slate-400")
            ui.label("No datasets yet").classes("text-lg font-medium")
            ui.label(
                "Import a CSV or Parquet file: long format unique_id, ds, y — or a draw history."
            ).classes("text-slate-500")
        self.detail = ui.column().classes("w-full gap-4")
        self.refresh_list()

    def refresh_list(self) -> None:
        with context().db.reading() as session:
            items = views.all_datasets(session)
        self.table.rows = [_list_row(item) for item in items]
        self.table.update()
        self.empty.set_visibility(not items)
        self.list_card.set_visibility(bool(items))

    # --- import ------------------------------------------------------------------------------

    def open_import(self) -> None:
        ImportDialog(self.principal, self.imported).open()

    def imported(self, name: str, version: int) -> None:
        self.refresh_list()
        self.select(name, version)

    # --- detail ------------------------------------------------------------------------------

    def select(self, name: str, version: int | None = None) -> None:
        self.selected = name
        self.detail.clear()
        with context().db.reading() as session:
            try:
                dataset = views.dataset_read(session, name)
                versions = views.all_versions(session, name)
            except HeliosError as exc:
                ui.notify(exc.detail, type="negative")
                return
        with self.detail:
            DatasetDetail(self, dataset, versions).build(version)


class DatasetDetail:
    def __init__(self, page: DatasetsPage, dataset: DatasetRead, versions: list[DatasetVersionRead]) -> None:
        self.page = page
        self.dataset = dataset
        self.versions = versions

    def build(self, version: int | None = None) -> None:
        with ui.row().classes("w-full items-center justify-between no-wrap"):
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.label(self.dataset.name).classes("text-xl font-semibold").props(
                    'data-testid="detail-name"'
                )
                ui.label(self.dataset.description or f"{self.dataset.kind} dataset").classes("text-slate-500")
            if self.page.can_edit:
                ui.button("Delete", icon="delete", on_click=self.confirm_delete).props("flat color=negative")
        # Side by side on a desktop, stacked on a phone (Quasar's .flex wraps: without nowrap the full-width
        # view would wrap under the history on a desktop too).
        with ui.element("div").classes("w-full flex flex-col md:flex-row md:flex-nowrap gap-6 items-start"):
            with ui.card().classes("helios-card w-full md:w-80 shrink-0"):
                ui.label("Version history").classes("font-semibold")
                self.history()
            self.view = ui.column().classes("grow gap-4 min-w-0 w-full")
        if self.versions:
            known = {v.version for v in self.versions}
            if version is not None and version not in known:
                ui.notify(f"{self.dataset.name} has no version {version}; showing the latest", type="warning")
            self.show_version(version if version in known else self.versions[0].version)

    def series_names(self, number: int) -> list[str]:
        with context().db.reading() as session:
            return service.series_names(session, context().store, self.dataset.name, number)

    def series_frame(self, number: int, series: str | None) -> pd.DataFrame:
        with context().db.reading() as session:
            return service.series_frame(session, context().store, self.dataset.name, number, series)

    def history(self) -> None:
        with ui.timeline(side="right").classes("w-full"):
            for v in self.versions:
                ui.timeline_entry(
                    f"{v.rows:,} rows · {v.series_count} series · {_size(v.size_bytes)}\n"
                    f"{v.source_filename or v.source_format} · sha {v.content_hash[:10]}",
                    title=f"v{v.version}",
                    subtitle=v.created_at.strftime("%Y-%m-%d %H:%M"),
                ).on("click", lambda _, n=v.version: self.show_version(n)).classes("cursor-pointer")

    def show_version(self, number: int) -> None:
        version = next(v for v in self.versions if v.version == number)
        names = self.series_names(number)
        # Each version has its own address, to share or bookmark: /datasets/NAME?version=N.
        ui.navigate.history.replace(version_url(self.dataset.name, number))
        self.view.clear()
        with self.view:
            self.stats(version)
            self.downloads(number)
            if self.dataset.kind == "draws":
                frame = self.series_frame(number, None)
                with ui.card().classes("helios-card w-full"):
                    ui.echart(draw_chart(frame)).classes("w-full h-96").props('data-testid="dataset-chart"')
                self.preview(frame.sort_values("ds", ascending=False))
            else:
                chart_area = ui.column().classes("w-full gap-4")

                def show_series(series: str) -> None:
                    chart_area.clear()
                    frame = self.series_frame(number, series)
                    with chart_area:
                        with ui.card().classes("helios-card w-full"):
                            ui.echart(series_chart(series, frame)).classes("w-full h-80").props(
                                'data-testid="dataset-chart"'
                            )
                        self.preview(frame)

                picker = ui.select(
                    names,
                    value=names[0] if names else None,
                    label="Series",
                    on_change=lambda e: show_series(e.value),
                    with_input=True,
                )
                picker.classes("w-64").props('data-testid="series-picker"')
                chart_area.move(self.view)
                if names:
                    show_series(names[0])

    def downloads(self, number: int) -> None:
        base = f"/api/v1/datasets/{self.dataset.name}/versions/{number}/download"
        with ui.row().classes("w-full items-center gap-2 wrap"):
            ui.label(f"v{number}").classes("font-semibold")
            for fmt in ("csv", "parquet"):
                ui.button(
                    f"Download {fmt.upper()}",
                    icon="download",
                    on_click=lambda _, url=f"{base}?format={fmt}": ui.download.from_url(url),
                ).props(f'flat dense no-caps data-testid="download-{fmt}"')
            link = ui.link("Link to this version", version_url(self.dataset.name, number))
            link.props('data-testid="version-link"').classes("text-sm")

    def stats(self, version) -> None:  # type: ignore[no-untyped-def]
        profile = version.profile
        facts = [
            ("Version", f"v{version.version}"),
            ("Rows", f"{version.rows:,}"),
            ("Series", str(version.series_count)),
            ("Range", f"{_date(version.start)} → {_date(version.end)}"),
            ("Gaps", gaps_text(profile.get("total_gaps"))),
            ("Size", _size(version.size_bytes)),
        ]
        with ui.row().classes("w-full gap-3"):
            for label, value in facts:
                with ui.card().classes("helios-card px-4 py-2 gap-0"):
                    ui.label(label).classes("text-xs uppercase text-slate-500")
                    ui.label(value).classes("text-base font-medium")

    def preview(self, frame: pd.DataFrame) -> None:
        shown = frame.head(PREVIEW_ROWS).copy()
        if "ds" in shown:
            shown["ds"] = shown["ds"].dt.strftime("%Y-%m-%d %H:%M").str.replace(" 00:00", "", regex=False)
        columns = [
            {"name": c, "label": c, "field": c, "align": "left" if c in ("unique_id", "ds") else "right"}
            for c in shown.columns
        ]
        rows = shown.round(4).astype(object).where(shown.notna(), None).to_dict("records")
        with ui.card().classes("helios-card w-full p-0"):
            ui.label(f"Preview · first {len(shown)} of {len(frame):,} rows").classes(
                "px-4 pt-3 font-semibold"
            )
            ui.table(rows=rows, columns=columns, pagination=10).classes("w-full").props("flat dense")

    def confirm_delete(self) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Delete dataset {self.dataset.name}?").classes("font-semibold")
            ui.label("Its versions stay on record for lineage; the name becomes free.").classes(
                "text-slate-500"
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Delete", color="negative", on_click=lambda: self.delete(dialog))
        dialog.open()

    async def delete(self, dialog) -> None:  # type: ignore[no-untyped-def]
        name, principal = self.dataset.name, self.page.principal
        try:
            # Off the event loop: the delete waits for the write lock like any other writer.
            await run.io_bound(write, lambda s: service.delete_dataset(s, name, principal), principal)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        dialog.close()
        ui.notify(f"Deleted {self.dataset.name}")
        self.page.detail.clear()
        self.page.refresh_list()


def series_chart(series: str, frame: pd.DataFrame) -> dict:
    dates = frame["ds"].dt.strftime("%Y-%m-%d").tolist()
    options: dict = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 60, "top": 40, "bottom": 96},
        "legend": {"top": 0},
        "xAxis": {
            "type": "category",
            "data": dates,
            "boundaryGap": False,
            "name": "date",
            "nameLocation": "middle",
            "nameGap": 28,
        },
        "yAxis": [{"type": "value", "scale": True, "name": f"{series} (y, the data's units)"}],
        "dataZoom": [{"type": "inside"}, {"type": "slider", "bottom": 8}],
        "series": [
            {
                "name": series,
                "type": "line",
                "showSymbol": False,
                "data": frame["y"].round(4).tolist(),
                "lineStyle": {"width": 1.5},
                "areaStyle": {"opacity": 0.08},
            }
        ],
    }
    if "volume" in frame and frame["volume"].notna().any():
        options["yAxis"].append({"type": "value", "name": "volume", "splitLine": {"show": False}})
        options["series"].append(
            {
                "name": "volume",
                "type": "bar",
                "yAxisIndex": 1,
                "barMaxWidth": 4,
                "itemStyle": {"opacity": 0.35},
                "data": frame["volume"].fillna(0).tolist(),
            }
        )
    return options


def draw_chart(frame: pd.DataFrame) -> dict:
    main_cols = [c for c in frame.columns if c.startswith("n") and c[1:].isdecimal()]
    bonus_cols = [c for c in frame.columns if c.startswith("bonus")]
    main = pd.Series(frame[main_cols].to_numpy().ravel()).value_counts().sort_index()
    bonus = (
        pd.Series(frame[bonus_cols].to_numpy().ravel()).value_counts().sort_index() if bonus_cols else None
    )
    top = int(max(main.index.max(), bonus.index.max() if bonus is not None else 0))
    numbers = list(range(1, top + 1))
    series = [{"name": "main numbers", "type": "bar", "data": [int(main.get(n, 0)) for n in numbers]}]
    if bonus is not None:
        series.append({"name": "bonus", "type": "bar", "data": [int(bonus.get(n, 0)) for n in numbers]})
    return {
        "title": {
            "text": "How often each number was drawn",
            "subtext": f"over {len(frame):,} draws",
            "left": 0,
            "top": 0,
            "textStyle": {"fontSize": 13},
        },
        "tooltip": {"trigger": "axis"},
        # Under the title, above the plot: never on the bars or the number labels.
        "legend": {"left": 0, "top": 44},
        "grid": {"left": 50, "right": 20, "top": 100, "bottom": 48},
        "xAxis": {
            "type": "category",
            "data": numbers,
            "name": "number",
            "nameLocation": "middle",
            "nameGap": 28,
        },
        "yAxis": {"type": "value", "name": "times drawn"},
        "series": series,
    }


def gaps_text(gaps: object) -> str:
    """Missing steps in words: the profile says None (not counted, e.g. draws) or a number."""
    if isinstance(gaps, int) and not isinstance(gaps, bool):
        return "no gaps" if gaps == 0 else f"{gaps:,} missing"
    return "not counted"


def version_url(name: str, version: int) -> str:
    return f"/datasets/{name}?version={version}"


@ui.page("/datasets", title="Datasets · Helios")
def datasets_page(request: Request) -> None:
    principal = page_principal(request)
    with frame("Datasets", principal.name):
        DatasetsPage(principal).build()


@ui.page("/datasets/{name}", title="Dataset · Helios")
def dataset_page(request: Request, name: str, version: int | None = None) -> None:
    """One dataset, opened at ``version`` (the latest when none is given): the address a version shares."""
    principal = page_principal(request)
    with frame("Datasets", principal.name):
        page = DatasetsPage(principal)
        page.build()
        page.select(name, version)
