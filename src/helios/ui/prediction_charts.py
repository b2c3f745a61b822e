"""ECharts options for the Prediction Dashboard: price with interval bands and a volatility
overlay, rolling coverage against nominal, and draw probabilities against fair chance."""

from __future__ import annotations

from typing import Any

import pandas as pd

from helios.predictions.schemas import AccuracyGroup, PredictionRead

PALETTE = ["#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed", "#0891b2"]
BANDS = (("95", 0.12), ("80", 0.22))
FOCUS_MIN_POINTS, FOCUS_HORIZONS = 30, 4


def _iso(stamp: Any) -> str:
    return pd.Timestamp(stamp).strftime("%Y-%m-%d")


def price_chart(
    history: pd.DataFrame, predictions: list[PredictionRead], unit: str = "price"
) -> dict[str, Any]:
    """History, then per model its mean and shaded 80/95% bands; actuals as points; sigma on a
    second axis. Bands are stacked areas (lower bound invisible, width shaded on top of it)."""
    series: list[dict[str, Any]] = [
        {
            "name": "history",
            "type": "line",
            "showSymbol": False,
            "lineStyle": {"color": "#64748b", "width": 1.5},
            "itemStyle": {"color": "#64748b"},
            "data": [[_iso(d), round(float(y), 6)] for d, y in zip(history["ds"], history["y"], strict=True)],
        }
    ]
    for i, prediction in enumerate(predictions):
        series += _prediction_series(prediction, PALETTE[i % len(PALETTE)], len(predictions) > 1)
    actuals = sorted(
        {(_iso(p.ds), p.actual) for pr in predictions for p in pr.points if p.actual is not None}
    )
    if actuals:
        series.append(
            {
                "name": "actual",
                "type": "scatter",
                "symbolSize": 9,
                "itemStyle": {"color": "#111827"},
                "data": [[d, a] for d, a in actuals],
                "z": 5,
            }
        )
    sigma = predictions[0].points if predictions and predictions[0].volatility_model else []
    if sigma:
        series.append(
            {
                "name": "sigma (volatility)",
                "type": "line",
                "yAxisIndex": 1,
                "lineStyle": {"type": "dashed"},
                "itemStyle": {"color": "#7c3aed"},
                "data": [[_iso(p.ds), p.sigma] for p in sigma],
            }
        )
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        # The invisible lower edges of the bands stay out of the legend.
        "legend": {
            "top": 0,
            "type": "scroll",
            "data": [s["name"] for s in series if not s["name"].endswith("lower")],
        },
        "grid": {"left": 60, "right": 70 if sigma else 24, "top": 48, "bottom": 56},
        "xAxis": {
            "type": "time",
            "name": "date (UTC)",
            "nameLocation": "middle",
            "nameGap": 32,
            "axisLabel": {"hideOverlap": True},
        },
        "yAxis": [
            {"type": "value", "name": unit, "scale": True},
            {
                "type": "value",
                "name": "sigma (% log return)",
                "show": bool(sigma),
                "splitLine": {"show": False},
            },
        ],
        "dataZoom": [{"type": "inside", **_focus(history, predictions)}],
        "series": series,
    }


def _focus(history: pd.DataFrame, predictions: list[PredictionRead]) -> dict[str, Any]:
    """With a prediction, the chart opens on the last few horizons of history and the prediction,
    not on months of history with the forecast squeezed into its right edge; zoom out to see more."""
    horizon = max((p.horizon for p in predictions), default=0)
    window = max(FOCUS_MIN_POINTS, FOCUS_HORIZONS * horizon)
    if not horizon or len(history) <= window:
        return {}
    return {"startValue": _iso(history["ds"].iloc[-window])}


def _prediction_series(prediction: PredictionRead, color: str, named: bool) -> list[dict[str, Any]]:
    label = f"{prediction.model} v{prediction.model_version}" if named else "prediction"
    stack = f"band-{prediction.id}"
    out: list[dict[str, Any]] = []
    for level, opacity in BANDS:
        if level not in (prediction.points[0].bounds if prediction.points else {}):
            continue
        lower = [[_iso(p.ds), p.bounds[level][0]] for p in prediction.points]
        width = [[_iso(p.ds), p.bounds[level][1] - p.bounds[level][0]] for p in prediction.points]
        out.append(
            {
                "name": f"{label} {level}% lower",
                "type": "line",
                "stack": f"{stack}-{level}",
                "stackStrategy": "all",  # a band below zero (returns) still sits on its lower edge
                "data": lower,
                "lineStyle": {"opacity": 0},
                "showSymbol": False,
                "silent": True,
                "tooltip": {"show": False},
                "legendHoverLink": False,
                "itemStyle": {"color": color},
            }
        )
        out.append(
            {
                "name": f"{label} {level}% band",
                "type": "line",
                "stack": f"{stack}-{level}",
                "stackStrategy": "all",
                "data": width,
                "lineStyle": {"opacity": 0},
                "showSymbol": False,
                "areaStyle": {"color": color, "opacity": opacity},
                "itemStyle": {"color": color},
            }
        )
    out.append(
        {
            "name": f"{label} mean",
            "type": "line",
            "data": [[_iso(p.ds), p.mean] for p in prediction.points],
            "itemStyle": {"color": color},
            "lineStyle": {"width": 2},
        }
    )
    return out


def coverage_chart(groups: list[AccuracyGroup]) -> dict[str, Any]:
    """Rolling coverage per model version and level, with the nominal level as a dashed line."""
    series: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        for level, dash in (("95", "solid"), ("80", "dotted")):
            points = [
                [_iso(p.start), round(100 * c.observed, 1)]
                for p in group.rolling
                for c in p.coverage
                if str(c.level) == level
            ]
            if points:
                series.append(
                    {
                        "name": f"{group.model} v{group.version} {level}%",
                        "type": "line",
                        "data": points,
                        "itemStyle": {"color": color},
                        "lineStyle": {"type": dash},
                    }
                )
    for level in (80, 95):
        series.append(
            {
                "name": f"nominal {level}%",
                "type": "line",
                "data": [],
                "itemStyle": {"color": "#94a3b8"},  # the legend's mark looks like the line it names
                "lineStyle": {"color": "#94a3b8", "type": "dashed"},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"color": "#94a3b8", "type": "dashed"},
                    "data": [{"yAxis": level}],
                },
            }
        )
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 60, "right": 24, "top": 48, "bottom": 48},
        "xAxis": {
            "type": "time",
            "name": "week starting (UTC)",
            "nameLocation": "middle",
            "nameGap": 30,
            "axisLabel": {"hideOverlap": True},
        },
        "yAxis": {"type": "value", "name": "coverage (%)", "min": 0, "max": 100},
        "series": series,
    }


def probability_chart(prediction: PredictionRead) -> dict[str, Any]:
    """The next draw's main-ball probabilities against fair chance."""
    point = prediction.points[0]
    chances = (point.probabilities or {}).get("main", [])
    low = (point.probabilities or {}).get("main_low", 1)
    allowed = sum(1 for p in chances if p > 0) or 1
    fair = round(100 * 5 / allowed, 3)
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 24, "top": 40, "bottom": 48},
        "xAxis": {
            "type": "category",
            "name": "number",
            "nameLocation": "middle",
            "nameGap": 30,
            "data": [str(low + i) for i in range(len(chances))],
        },
        "yAxis": {"type": "value", "name": "probability (%)"},
        "series": [
            {"name": "model", "type": "bar", "data": [round(100 * p, 3) for p in chances]},
            {
                "name": "fair chance",
                "type": "line",
                "showSymbol": False,
                "data": [fair] * len(chances),
                "lineStyle": {"type": "dashed", "color": "#94a3b8"},
            },
        ],
    }
