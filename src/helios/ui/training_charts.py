"""What the Training pages share: status colours and labels, number formats, and the ECharts
options of the live loss chart and the run comparison."""

from __future__ import annotations

import math
from typing import Any

from nicegui import ui

from helios.training.schemas import FINISHED, JobStatus  # noqa: F401  (FINISHED: pages read it here)

MUTED = "#64748b"  # slate-500: readable on white cards and on dark ones
GRID_LINE = "rgba(148,163,184,0.25)"
# train before val, so the colours of a run's curves are the same on every page
METRIC_COLORS = {"train_loss": "#2563eb", "val_loss": "#f59e0b"}
PALETTE = ["#2563eb", "#f59e0b", "#16a34a", "#db2777", "#0891b2", "#7c3aed", "#dc2626", "#65a30d"]

# status -> (Quasar colour, icon, words)
STATUS = {
    JobStatus.queued: ("grey-6", "schedule", "queued"),
    JobStatus.running: ("blue-6", "autorenew", "running"),
    JobStatus.succeeded: ("green-7", "check_circle", "succeeded"),
    JobStatus.failed: ("red-7", "error", "failed"),
    JobStatus.cancelled: ("blue-grey-5", "block", "cancelled"),
    JobStatus.stopped_early: ("amber-8", "stop_circle", "stopped early"),
}


def status_chip(status: str, testid: str = "job-status") -> ui.chip:
    chip = (
        ui.chip()
        .props(f'square dense text-color=white data-testid="{testid}"')
        .classes("text-xs font-medium")
    )
    set_status(chip, status)
    return chip


def set_status(chip: ui.chip, status: str) -> None:
    color, icon, words = STATUS.get(status, ("grey-6", "help", status))
    chip.text = words
    chip.props(f"color={color} icon={icon}")


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _axes() -> dict[str, Any]:
    return {
        "xAxis": {
            "type": "value",
            "name": "epoch",
            "nameLocation": "middle",
            "nameGap": 26,
            "minInterval": 1,
            "min": "dataMin",
            "max": "dataMax",
            "axisLabel": {"color": MUTED},
            "nameTextStyle": {"color": MUTED},
            "splitLine": {"show": False},
        },
        "yAxis": {
            "type": "value",
            "scale": True,
            "axisLabel": {"color": MUTED},
            "splitLine": {"lineStyle": {"color": GRID_LINE}},
        },
    }


def _line(name: str, points: list, color: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "line",
        "data": points,
        "showSymbol": len(points) <= 40,
        "symbolSize": 5,
        "lineStyle": {"width": 2, "color": color},
        "itemStyle": {"color": color},
        "emphasis": {"focus": "series"},
    }


def metric_color(name: str, index: int) -> str:
    return METRIC_COLORS.get(name) or PALETTE[(index + 2) % len(PALETTE)]


def live_chart() -> dict[str, Any]:
    """The job page's chart: one line per metric name, x = epoch; lines are added as points arrive."""
    return {
        "animation": False,  # points arrive twice a second; re-animating each update only flickers
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "textStyle": {"color": MUTED}, "inactiveColor": "#94a3b866"},
        "grid": {"left": 60, "right": 28, "top": 52, "bottom": 44},
        **_axes(),
        "dataZoom": [{"type": "inside", "filterMode": "none"}],
        "series": [],
    }


def add_points(options: dict[str, Any], points: list[tuple[str, int, float]]) -> None:
    """Appends (name, step, value) points to the live chart, adding a line per new metric name."""
    lines = {s["name"]: s for s in options["series"]}
    for name, step, value in points:
        if name not in lines:
            options["series"].append(_line(name, [], metric_color(name, len(lines))))
            lines[name] = options["series"][-1]  # the options copy what they are given: use the stored one
        lines[name]["data"].append([step, value])
    for line in options["series"]:
        line["showSymbol"] = len(line["data"]) <= 40


def mark_best(options: dict[str, Any], monitor: str | None, epoch: int | None) -> None:
    for line in options["series"]:
        if line["name"] == monitor and epoch:
            line["markLine"] = {
                "symbol": "none",
                "silent": True,
                "animation": False,
                "lineStyle": {"type": "dashed", "color": MUTED},
                # Beside the line's top, on its right: at epoch 1 the line is the y axis, whose tick
                # labels sit to its left, so a centred label would cover the top one.
                "label": {
                    "formatter": "best",
                    "color": MUTED,
                    "position": "end",
                    "align": "left",
                    "padding": [0, 0, 0, 4],
                },
                "data": [{"xAxis": epoch}],
            }
        else:
            line.pop("markLine", None)


def best_point(options: dict[str, Any], monitor: str) -> tuple[float, int] | None:
    """The lowest value of ``monitor`` on the chart and its epoch, for jobs without early stopping."""
    line = next((s for s in options["series"] if s["name"] == monitor), None)
    if not line or not line["data"]:
        return None
    step, value = min(line["data"], key=lambda point: point[1])
    return value, step


def set_epochs(options: dict[str, Any], epochs: int | None) -> bool:
    """While a job runs the x axis reaches its planned last epoch, so the curve shows how far along
    it is; once done (``None``) the axis fits the epochs that ran. True when the axis changed."""
    wanted = epochs or "dataMax"
    if options["xAxis"].get("max") == wanted:
        return False
    options["xAxis"]["max"] = wanted
    return True


def set_log_scale(options: dict[str, Any], log: bool) -> None:
    options["yAxis"]["type"] = "log" if log else "value"


def comparison_chart(metric: str, runs: list[tuple[str, list]], colors: list[str]) -> dict[str, Any]:
    """One metric, one line per run."""
    return {
        "animation": False,
        "title": {"text": metric, "left": 8, "top": 4, "textStyle": {"fontSize": 13, "color": MUTED}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 4, "right": 8, "textStyle": {"color": MUTED}, "inactiveColor": "#94a3b866"},
        "grid": {"left": 60, "right": 24, "top": 44, "bottom": 44},
        **_axes(),
        "dataZoom": [{"type": "inside", "filterMode": "none"}],
        "series": [
            _line(label, [list(p) for p in points], colors[i % len(colors)])
            for i, (label, points) in enumerate(runs)
        ],
    }
