"""Draw predictions scored against the real draw: matches of the model's most likely numbers,
and the log-loss of the drawn numbers under the model beside the same under fair chance.

Draws are few (a few hundred a year), so this goes point by point. A draw is never revised.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from helios.core.clock import utcnow
from helios.predictions.tables import Prediction, PredictionPoint, PredictionScore

FLOOR = 1e-12  # a probability of exactly zero for a drawn number would make the loss infinite


def score_draws(session: Session, frame: pd.DataFrame, *, dataset_id: int, source: str) -> dict[str, int]:
    draws = _draws_by_day(frame)
    scored = select(PredictionScore.id).where(PredictionScore.point_id == PredictionPoint.id)
    query = (
        select(PredictionPoint)
        .join(Prediction, Prediction.id == PredictionPoint.prediction_id)
        .where(and_(PredictionPoint.dataset_id == dataset_id, Prediction.task == "draws"), ~scored.exists())
    )
    rows, now = [], utcnow()
    points = list(session.scalars(query))
    for point in points:
        drawn = draws.get(_day(point.ds))
        if drawn is not None:
            rows.append(
                {
                    **draw_score(point.probabilities, drawn),
                    "point_id": point.id,
                    "prediction_id": point.prediction_id,
                    "revision": 0,
                    "latest": True,
                    "source": source,
                    "scored_at": now,
                }
            )
    if rows:
        session.execute(insert(PredictionScore), rows)
    return {
        "points_matched": len(rows),
        "scored": len(rows),
        "revised": 0,
        "unchanged": 0,
        "predictions": len({r["prediction_id"] for r in rows}),
    }


def _day(stamp: object) -> pd.Timestamp:
    """The calendar day of a draw, naive (stored stamps may come back zone-aware)."""
    day = pd.Timestamp(stamp)
    return (day.tz_convert(None) if day.tzinfo else day).normalize()


def _draws_by_day(frame: pd.DataFrame) -> dict[pd.Timestamp, dict[str, list[int]]]:
    main = sorted(c for c in frame.columns if c.startswith("n") and c[1:].isdecimal())
    bonus = sorted(c for c in frame.columns if c.startswith("bonus"))
    out = {}
    for record in frame.to_dict("records"):
        out[_day(record["ds"])] = {
            "main": [int(record[c]) for c in main if pd.notna(record[c])],
            "bonus": [int(record[c]) for c in bonus if pd.notna(record[c])],
        }
    return out


def draw_score(probabilities: dict[str, Any], drawn: dict[str, list[int]]) -> dict[str, Any]:
    matches, loss, uniform = {}, 0.0, 0.0
    for slot in ("main", "bonus"):
        p = np.asarray(probabilities.get(slot) or [], dtype=float)
        numbers = drawn[slot]
        if not len(p) or not numbers:
            matches[slot] = 0
            continue
        low = int(probabilities.get(f"{slot}_low", 1))
        picks = set((np.argsort(-p, kind="stable")[: len(numbers)] + low).tolist())
        matches[slot] = len(picks & set(numbers))
        allowed = int((p > 0).sum()) or len(p)
        for number in numbers:
            index = number - low
            chance = p[index] if 0 <= index < len(p) else 0.0
            loss -= math.log(max(chance / len(numbers), FLOOR))
            uniform -= math.log(1 / allowed)
    return {
        "actual_draw": drawn,
        "matches": matches["main"],
        "bonus_matches": matches["bonus"],
        "log_loss": loss,
        "log_loss_uniform": uniform,
    }
