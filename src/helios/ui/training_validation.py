"""The job page's validation plot: what the model forecast for the holdout, against what happened,
with the naive forecast beside it, one series at a time; for a draws model, each held-out draw
against chance. Read from ``GET /ml/jobs/{id}/validation``'s view; the scores' meaning is the
holdout-scores card's (``training.scoreboard``)."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from helios.core.errors import NotFound
from helios.training import views
from helios.training.schemas import DrawValidation, ValidationRead, ValidationSeries
from helios.ui.runtime import context
from helios.ui.training_charts import GRID_LINE, MUTED, number

COLORS = {"history": "#94a3b8", "actual": "#0f172a", "forecast": "#2563eb", "naive": "#ea580c"}
BANDS = {95: 0.13, 80: 0.22}
BETTER, WORSE = "#16a34a", "#dc2626"
# On a phone the six legend entries wrap onto three lines: the plot starts below them.
NARROW = [
    {
        "query": {"maxWidth": 560},
        "option": {
            "legend": {"itemGap": 8, "itemWidth": 18, "textStyle": {"fontSize": 11}},
            "grid": {"left": 56, "right": 12, "top": 76},
            "yAxis": {"nameGap": 38},
        },
    }
]


def _load(job_id: int) -> ValidationRead | str:
    try:
        with context().db.reading() as session:
            return views.validation(session, context().store, job_id)
    except NotFound as exc:
        return exc.detail


def _axes(y_name: str, x_name: str = "date") -> dict[str, Any]:
    return {
        "xAxis": {
            "type": "time",
            "name": x_name,
            "nameLocation": "middle",
            "nameGap": 30,
            "axisLabel": {"color": MUTED, "hideOverlap": True},
            "nameTextStyle": {"color": MUTED},
            "splitLine": {"show": False},
        },
        "yAxis": {
            "type": "value",
            "name": y_name,
            "nameLocation": "middle",
            "nameGap": 52,
            "scale": True,
            "axisLabel": {"color": MUTED},
            "nameTextStyle": {"color": MUTED},
            "splitLine": {"lineStyle": {"color": GRID_LINE}},
        },
    }


def _line(name: str, xs: list[str], ys: list, **style: Any) -> dict[str, Any]:
    color = style.pop("color")
    return {
        "name": name,
        "type": "line",
        "data": [[x, y] for x, y in zip(xs, ys, strict=True)],
        "showSymbol": style.pop("symbols", False),
        "symbolSize": 6,
        "itemStyle": {"color": color},
        "lineStyle": {"color": color, "width": 2, **style},
    }


def _bands(one: ValidationSeries) -> list[dict[str, Any]]:
    """Stacked areas: the lower bound drawn invisibly, the width shaded on top of it."""
    out: list[dict[str, Any]] = []
    for band in sorted(one.intervals, key=lambda b: -b.level):
        width = [
            hi - lo if hi is not None and lo is not None else None
            for lo, hi in zip(band.lo, band.hi, strict=True)
        ]
        stack = f"band-{band.level}"
        common = {"type": "line", "stack": stack, "showSymbol": False, "lineStyle": {"opacity": 0}}
        out.append(
            {
                **common,
                "name": f"{band.level}% lower",
                "data": [[x, y] for x, y in zip(one.ds, band.lo, strict=True)],
                "silent": True,
                "tooltip": {"show": False},
                "itemStyle": {"color": COLORS["forecast"]},
            }
        )
        out.append(
            {
                **common,
                "name": f"{band.level}% interval",
                "data": [[x, y] for x, y in zip(one.ds, width, strict=True)],
                "areaStyle": {"color": COLORS["forecast"], "opacity": BANDS.get(band.level, 0.15)},
                "itemStyle": {"color": COLORS["forecast"], "opacity": BANDS.get(band.level, 0.15) * 2},
                "tooltip": {"show": False},
            }
        )
    return out


def series_chart(one: ValidationSeries, naive_label: str = "naive") -> dict[str, Any]:
    """History (context), then on the holdout: actuals, the forecast with its bands, and the naive."""
    series = [
        _line("history", one.history_ds, one.history_y, color=COLORS["history"], width=1.5),
        *_bands(one),
        _line(naive_label, one.ds, one.naive, color=COLORS["naive"], type="dashed"),
        _line("forecast", one.ds, one.forecast, color=COLORS["forecast"], symbols=True),
        {**_line("actual", one.ds, one.actual, color=COLORS["actual"], symbols=True), "z": 5},
    ]
    base = {
        "animation": False,
        "tooltip": {"trigger": "axis", "valueFormatter": "(v) => v == null ? '—' : (+v).toPrecision(5)"},
        # The legend sits above the plot, never on the data or the axis labels.
        "legend": {
            "top": 0,
            "textStyle": {"color": MUTED},
            "data": [s["name"] for s in series if not s["name"].endswith("lower")],
        },
        "grid": {"left": 72, "right": 24, "top": 40, "bottom": 52},
        **_axes(f"{one.unique_id} · value (the data's units)"),
        "series": series,
    }
    return {"baseOption": base, "media": NARROW}


def draws_chart(draws: DrawValidation) -> dict[str, Any]:
    """One bar per held-out draw: how much likelier the model found the drawn numbers than chance did."""
    bars = [
        {"value": [ds, v], "itemStyle": {"color": BETTER if (v or 0) > 0 else WORSE}}
        for ds, v in zip(draws.ds, draws.log_likelihood_ratio, strict=True)
    ]
    return {
        "animation": False,
        "tooltip": {
            "trigger": "axis",
            "valueFormatter": "(v) => v == null ? '—' : (+v).toFixed(3) + ' nats'",
        },
        "legend": {"top": 0, "textStyle": {"color": MUTED}, "data": ["model vs chance"]},
        "grid": {"left": 72, "right": 24, "top": 40, "bottom": 52},
        **_axes("nats above chance (0 = chance)", "held-out draw date"),
        "series": [
            {
                "name": "model vs chance",
                "type": "bar",
                "data": bars,
                "itemStyle": {"color": BETTER},
                "markLine": {
                    "symbol": "none",
                    "silent": True,
                    "lineStyle": {"color": MUTED, "type": "dashed"},
                    "label": {"show": False},  # the axis says it: 0 is chance
                    "data": [{"yAxis": 0}],
                },
            }
        ],
    }


def series_reading(one: ValidationSeries, naive: str = "naive") -> str:
    """This series' errors on the holdout in words: the model's MAE against the ``naive``
    ("naive" or "seasonal naive") forecast's from the same origin."""
    if one.mae is None or one.naive_mae is None:
        return f"{one.unique_id}: no actuals to score on this holdout."
    if one.naive_mae == 0:
        return f"{one.unique_id}: the {naive} forecast was exact here; model MAE {number(one.mae)}."
    change = 1 - one.mae / one.naive_mae
    verdict = (
        f"{change:.0%} smaller error than the {naive} forecast"
        if change > 0.005
        else f"{-change:.0%} larger error than the {naive} forecast"
        if change < -0.005
        else f"as good as the {naive} forecast"
    )
    errors = f"model MAE {number(one.mae)} vs {naive} {number(one.naive_mae)}"
    return f"{one.unique_id}: {errors}: {verdict} on this holdout."


def draws_reading(draws: DrawValidation) -> str:
    ratios = [v for v in draws.log_likelihood_ratio if v is not None]
    if not ratios:
        return "No held-out draws were scored."
    beat = sum(v > 0 for v in ratios)
    mean = sum(ratios) / len(ratios)
    matches = [v for v in draws.main_matches if v is not None]
    chance = [v for v in draws.chance_main_matches if v is not None]
    text = (
        f"It gave the drawn numbers more probability than chance on {beat} of {len(ratios)} draws "
        f"(mean {mean:+.3f} nats a draw; 0 is chance)."
    )
    if matches and chance:
        text += (
            f" Its tickets matched {sum(matches) / len(matches):.2f} main numbers a draw; "
            f"a random ticket expects {sum(chance) / len(chance):.2f}."
        )
    return text


class ValidationCard:
    """Built empty into the current container; ``load`` fills it once the job has finished."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.data: ValidationRead | None = None
        self.card = ui.card().classes("helios-card w-full gap-2").props('data-testid="validation-card"')
        with self.card:
            with ui.row().classes("w-full items-center justify-between gap-2"):
                with ui.column().classes("gap-0 min-w-0"):
                    self.title = ui.label("Forecast against the actuals on the holdout").classes(
                        "font-semibold"
                    )
                    self.subtitle = ui.label("loading…").classes("text-xs text-slate-500")
                self.picker_box = ui.row().classes("items-center")
            self.body = ui.column().classes("w-full gap-1")

    async def load(self) -> None:
        loaded = await run.io_bound(_load, self.job_id)
        if isinstance(loaded, str):
            self.subtitle.text = ""
            with self.body:
                ui.label(
                    f"No plot: {loaded.removeprefix(f'job #{self.job_id} has no validation forecast: ')}."
                ).classes("text-sm text-slate-500").props('data-testid="validation-none"')
            return
        self.data = loaded
        if loaded.kind == "draws":
            self.show_draws(loaded)
        else:
            self.show_series(loaded)

    @property
    def naive_label(self) -> str:
        return "seasonal naive" if self.data and self.data.season_length > 1 else "naive"

    def show_series(self, data: ValidationRead) -> None:
        if not data.series:
            self.subtitle.text = ""
            with self.body:
                ui.label("No plot: no series had holdout points.").classes("text-sm text-slate-500").props(
                    'data-testid="validation-none"'
                )
            return
        shown = (
            f"the first {len(data.series)} of {data.series_total} series"
            if data.series_total > len(data.series)
            else None
        )
        self.subtitle.text = (
            f"the last {data.horizon} steps of each series, unseen in training; dashed: {data.naive_method}"
            + (f" · {shown} kept" if shown else "")
        )
        names = [s.unique_id for s in data.series]
        with self.picker_box:
            ui.select(
                names, value=names[0], label="Series", with_input=True, on_change=lambda e: self.pick(e.value)
            ).props('dense outlined data-testid="validation-series"').classes("w-48")
        with self.body:
            self.chart = (
                ui.echart(series_chart(data.series[0], self.naive_label))
                .classes("w-full h-80")
                .props('data-testid="validation-chart"')
            )
            self.reading = (
                ui.label(series_reading(data.series[0], self.naive_label))
                .classes("text-sm text-slate-600 dark:text-slate-300")
                .props('data-testid="validation-reading"')
            )

    def pick(self, name: str | None) -> None:
        one = next((s for s in (self.data.series if self.data else []) if s.unique_id == name), None)
        if one is None:
            return
        self.chart.options.clear()
        self.chart.options.update(series_chart(one, self.naive_label))
        self.chart.update()
        self.reading.text = series_reading(one, self.naive_label)

    def show_draws(self, data: ValidationRead) -> None:
        self.title.text = "Each held-out draw against chance"
        self.subtitle.text = (
            f"the last {data.horizon} draws, unseen in training: a bar above 0 means the model gave the "
            "drawn numbers more probability than uniform chance did"
        )
        draws = data.draws or DrawValidation(
            ds=[], log_likelihood_ratio=[], main_matches=[], chance_main_matches=[]
        )
        with self.body:
            ui.echart(draws_chart(draws)).classes("w-full h-72").props('data-testid="validation-chart"')
            ui.label(draws_reading(draws)).classes("text-sm text-slate-600 dark:text-slate-300").props(
                'data-testid="validation-reading"'
            )
