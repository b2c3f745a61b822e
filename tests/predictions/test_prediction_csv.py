"""A stored prediction as CSV: one row per step with the bounds per level, or for a draw
prediction one row per step, slot and number."""

from __future__ import annotations

import csv
import datetime as dt
import io

from helios.predictions.schemas import PointRead, PredictionRead
from helios.predictions.views import csv_filename, prediction_csv

ORIGIN = dt.datetime(2026, 4, 10, tzinfo=dt.UTC)


def prediction(task: str, points: list[PointRead], levels: list[int]) -> PredictionRead:
    return PredictionRead(
        id=7,
        model="walk/one",
        model_version=2,
        family="naive",
        task=task,
        dataset="stocks",
        dataset_version=3,
        unique_id="BRK/A",
        origin=ORIGIN,
        origin_value=10.0,
        horizon=len(points),
        levels=levels,
        start_mode="state_updated",
        volatility_model=None,
        volatility_version=None,
        trigger="on_demand",
        run_id=None,
        created_at=ORIGIN,
        created_by="ann",
        points=points,
    )


def test_price_prediction_rows_carry_bounds_per_level_and_the_actual() -> None:
    points = [
        PointRead(
            step=step,
            ds=ORIGIN + dt.timedelta(days=step),
            mean=10.0 + step,
            bounds={"50": [9.5 + step, 10.5 + step], "99": [7.0 + step, 13.0 + step]},
            actual=11.25 if step == 1 else None,
        )
        for step in (1, 2)
    ]
    rows = list(csv.DictReader(io.StringIO(prediction_csv(prediction("price", points, [50, 99])))))
    assert [r["lo_50"] for r in rows] == ["10.5", "11.5"] and rows[1]["hi_99"] == "15.0"
    assert rows[0]["actual"] == "11.25" and rows[1]["actual"] == "" and rows[0]["unique_id"] == "BRK/A"
    assert rows[0]["ds"].startswith("2026-04-11") and rows[0]["origin"].startswith("2026-04-10")
    assert csv_filename(prediction("price", points, [50])) == "walk_one-v2-BRK_A-prediction-7.csv"


def test_draw_prediction_rows_are_numbers_with_probabilities() -> None:
    chances = {"main_low": 1, "main": [0.25, 0.5, 0.25], "bonus_low": 1, "bonus": [0.5, 0.5]}
    points = [PointRead(step=1, ds=ORIGIN, mean=None, probabilities=chances)]
    rows = list(csv.DictReader(io.StringIO(prediction_csv(prediction("draws", points, [80])))))
    assert list(rows[0]) == ["step", "ds", "slot", "number", "probability"]
    assert [(r["slot"], r["number"], r["probability"]) for r in rows] == [
        ("main", "1", "0.25"),
        ("main", "2", "0.5"),
        ("main", "3", "0.25"),
        ("bonus", "1", "0.5"),
        ("bonus", "2", "0.5"),
    ]
