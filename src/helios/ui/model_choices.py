"""The "What auto chose" card on a model's page: for an ``auto`` version, how many series each
candidate serves, every series with what it chose and why (paged and filterable: panels run to
hundreds of series), and what each candidate cost to validate and fit.

It reads what the API's ``/choices`` answers (``registry.views.model_choices``), off the event
loop: the fitted model is loaded into the inference cache the first time, which can take seconds.
Any other family makes no per-series choice, so the card is not drawn at all."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from helios.core.errors import HeliosError
from helios.registry import service, views
from helios.registry.schemas import CandidateCost, ModelChoices, ModelDetail
from helios.ui.runtime import context

SERIES_PER_PAGE = 10
SERIES_COLUMNS: list[dict[str, Any]] = [
    {"name": "series", "label": "Series", "field": "series", "align": "left", "sortable": True},
    # On a phone the choice moves under the series' name, leaving the reason the width it needs.
    {
        "name": "chosen",
        "label": "Chosen",
        "field": "chosen",
        "align": "left",
        "sortable": True,
        "headerClasses": "gt-xs",
    },
    {"name": "reason", "label": "Why", "field": "reason", "align": "left"},
]
COST_COLUMNS: list[dict[str, Any]] = [
    {"name": "candidate", "label": "Candidate", "field": "candidate", "align": "left"},
    {"name": "validation", "label": "Validation", "field": "validation", "align": "right"},
    {"name": "final_fit", "label": "Final fit", "field": "final_fit", "align": "right"},
]
# Long reasons wrap inside their cell; a series or candidate name breaks only where it must rather
# than widen the table past a phone's screen (124px holds a 'seasonal_naive' badge whole).
CHOICES_CSS = (
    ".helios-choices td{white-space:normal;vertical-align:top}"
    ".helios-choices td.helios-id{overflow-wrap:anywhere;min-width:124px}"
    ".helios-choices td.helios-why{min-width:140px;overflow-wrap:anywhere}"
    ".helios-choices .q-badge{white-space:normal;overflow-wrap:anywhere;text-align:left}"
    "@media (min-width:600px){.helios-choices td.helios-chosen{min-width:136px}}"
)
BADGES = """<q-badge v-for="name in props.row.chosen_list" :key="name" :label="name" outline color="primary"
           class="q-mr-xs q-mb-xs text-xs" />"""
CHOSEN_CELL = f"""
<q-td :props="props" class="helios-id helios-chosen gt-xs">{BADGES}</q-td>"""
SERIES_CELL = f"""
<q-td :props="props" class="helios-id">
  <div class="font-medium" :data-testid="'choice-' + props.value">{{{{ props.value }}}}</div>
  <div class="xs q-mt-xs">{BADGES}</div>
</q-td>"""
REASON_CELL = """<q-td :props="props" class="helios-why text-slate-600">{{ props.value }}</q-td>"""


def choosing_version(detail: ModelDetail, focus: int | None) -> int | None:
    """The version the card speaks for: the one the address names, else the active one; None when
    that version is not an ``auto`` model (or there is none)."""
    number = focus if focus is not None else detail.active_version
    version = next((v for v in detail.versions if v.version == number), None)
    return number if version is not None and version.family == views.CHOOSING_FAMILY else None


def read_choices(model: str, number: int) -> ModelChoices:
    ctx = context()
    with ctx.db.reading() as session:
        found = service.get_model(session, model)
        return views.model_choices(session, ctx.store, ctx.inference, found, number)


def seconds_text(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.01 s" if value < 0.01 else f"{value:,.2f} s"


def cost_row(cost: CandidateCost) -> dict[str, Any]:
    return {
        "candidate": cost.candidate,
        "validation": seconds_text(cost.validation_s),
        "final_fit": seconds_text(cost.final_fit_s),
    }


class ChoicesCard:
    def __init__(self, detail: ModelDetail, number: int) -> None:
        self.detail = detail
        self.number = number

    def build(self) -> None:
        ui.add_css(CHOICES_CSS)
        card = ui.card().classes("helios-card w-full gap-3 min-w-0").props('data-testid="choices-card"')
        with card:
            with ui.row().classes("w-full items-baseline justify-between gap-x-4 gap-y-1"):
                ui.label("What auto chose").classes("font-semibold")
                ui.label(
                    f"v{self.number}: per series, the candidates its validation windows kept, and why."
                ).classes("text-xs text-slate-500")
            self.body = ui.column().classes("w-full gap-4 min-w-0")
            with self.body:
                ui.spinner(size="md")
        ui.timer(0, self.load, once=True)

    async def load(self) -> None:
        try:
            chosen = await run.io_bound(read_choices, self.detail.name, self.number)
        except HeliosError as exc:
            self.body.clear()
            with self.body:
                ui.label(exc.detail).classes("text-sm text-negative").props('data-testid="choices-error"')
            return
        if chosen is not None:  # None: the server is shutting down
            self.render(chosen)

    def render(self, chosen: ModelChoices) -> None:
        self.body.clear()
        with self.body:
            self.counts(chosen)
            with ui.row().classes("w-full gap-6 items-start lg:flex-nowrap min-w-0"):
                with ui.column().classes("grow min-w-0 w-full lg:w-auto gap-2"):
                    self.series_table(chosen)
                with ui.column().classes("w-full lg:w-[340px] shrink-0 gap-2"):
                    self.costs_table(chosen)

    def counts(self, chosen: ModelChoices) -> None:
        with ui.row().classes("w-full items-center gap-2").props('data-testid="choices-counts"'):
            ui.label(f"{len(chosen.series)} series:").classes("text-sm text-slate-600")
            for name, count in chosen.counts.items():
                chip = ui.chip(f"{name} · {count}", icon="check_circle" if count else "remove_circle_outline")
                chip.props(f"dense outline color={'primary' if count else 'grey-6'}")
                # Assigned, not parsed from a props string: a candidate's label is the user's text.
                chip.props["data-testid"] = f"count-{name}"
                chip.classes("text-xs").tooltip(f"{count} of {len(chosen.series)} series use {name}")

    def series_table(self, chosen: ModelChoices) -> None:
        rows = [
            {
                "series": line.unique_id,
                "chosen": " + ".join(line.chosen),
                "chosen_list": line.chosen,
                "reason": line.reason,
            }
            for line in chosen.series
        ]
        search = ui.input(placeholder="Filter by series, candidate or reason").props(
            'dense outlined clearable debounce=200 data-testid="choices-filter"'
        )
        search.classes("w-full sm:w-80")
        with search.add_slot("prepend"):
            ui.icon("search")
        table = ui.table(rows=rows, columns=SERIES_COLUMNS, row_key="series", pagination=SERIES_PER_PAGE)
        table.classes("w-full helios-choices").props('flat dense data-testid="choices-table"')
        table.add_slot("body-cell-series", SERIES_CELL)
        table.add_slot("body-cell-chosen", CHOSEN_CELL)
        table.add_slot("body-cell-reason", REASON_CELL)
        table.bind_filter_from(search, "value")
        if chosen.scores_note:
            ui.label(chosen.scores_note.capitalize() + ".").classes("text-xs text-slate-500").props(
                'data-testid="choices-scores-note"'
            )

    def costs_table(self, chosen: ModelChoices) -> None:
        ui.label("What each candidate cost").classes("text-sm font-medium")
        rows = [cost_row(c) for c in chosen.costs]
        table = ui.table(rows=rows, columns=COST_COLUMNS, row_key="candidate")
        table.classes("w-full helios-choices").props(
            'flat dense hide-pagination :rows-per-page-options="[0]" data-testid="choices-costs"'
        )
        table.pagination = {"rowsPerPage": 0}
        ui.label(
            "Seconds spent validating each candidate over the windows, then fitting it on all the data "
            "for the series that kept it; — where it did not run."
        ).classes("text-xs text-slate-500")


class ChoicesSlot:
    """Where the card goes on the model page: redrawn when the version it should show changes
    (a deploy on the same page makes another version active), left alone otherwise."""

    def __init__(self) -> None:
        self.container = ui.column().classes("w-full p-0 gap-0 min-w-0")
        self.shown: int | None = None

    def show(self, detail: ModelDetail, focus: int | None) -> None:
        number = choosing_version(detail, focus)
        if number == self.shown:
            return
        self.shown = number
        self.container.clear()
        if number is not None:  # only ``auto`` chooses per series: other families get no card
            with self.container:
                ChoicesCard(detail, number).build()
