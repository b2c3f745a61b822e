"""The price chart's options: bands stacked on their lower edge even below zero, and a window that
opens on the recent history and the forecast."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from helios.predictions.schemas import PointRead, PredictionRead
from helios.ui.prediction_charts import price_chart

START = dt.datetime(2026, 4, 10, tzinfo=dt.UTC)


def returns_prediction(horizon: int = 5) -> PredictionRead:
    points = [
        PointRead(
            step=s, ds=START + dt.timedelta(days=s), mean=0.0, bounds={"80": [-1.3, 1.3], "95": [-2.0, 2.0]}
        )
        for s in range(1, horizon + 1)
    ]
    return PredictionRead(
        id=1,
        model="vol",
        model_version=1,
        family="garch",
        task="volatility",
        dataset="stocks",
        dataset_version=1,
        unique_id="AAA",
        origin=START,
        origin_value=None,
        horizon=horizon,
        levels=[80, 95],
        start_mode="state_updated",
        volatility_model=None,
        volatility_version=None,
        trigger="on_demand",
        run_id=None,
        created_at=START,
        created_by="ann",
        points=points,
    )


def test_bands_below_zero_stack_on_their_lower_edge() -> None:
    history = pd.DataFrame({"ds": pd.date_range("2026-01-01", periods=100), "y": [0.5, -0.5] * 50})
    options = price_chart(history, [returns_prediction()], unit="return (% log)")
    stacked = [s for s in options["series"] if "stack" in s]
    assert len(stacked) == 4 and all(s["stackStrategy"] == "all" for s in stacked)
    lower = next(s for s in stacked if s["name"] == "prediction 95% lower")
    band = next(s for s in stacked if s["name"] == "prediction 95% band")
    assert lower["data"][0][1] == -2.0 and band["data"][0][1] == 4.0
    assert options["yAxis"][0]["name"] == "return (% log)" and options["xAxis"]["name"] == "date (UTC)"
    # Opens on 30 points of history (4 horizons of 5 is less) plus the forecast.
    assert options["dataZoom"][0]["startValue"] == f"{history['ds'].iloc[-30]:%Y-%m-%d}"
    assert "startValue" not in price_chart(history, [])["dataZoom"][0]
