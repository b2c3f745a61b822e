"""Telling the rest of Helios how predictions did: ``PredictionScored`` events, published in the
scoring transaction (so none is sent for a rollback), and the subscriber that scores predictions
when a new dataset version arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.core.events import DatasetVersionCreated, PredictionScored, ScoredPrediction, publish
from helios.predictions.tables import SUPPORTED_LEVELS, Prediction

if TYPE_CHECKING:
    from helios.context import AppContext

BATCH = 200
SUBSCRIBER = "predictions.score-new-data"


def publish_outcomes(session: Session, scores: pd.DataFrame, source: str) -> None:
    """One ``PredictionScored`` per batch of predictions in ``scores`` (rows from ``measure``)."""
    outcomes = _outcomes(session, scores)
    for start in range(0, len(outcomes), BATCH):
        publish(session, PredictionScored(source=source, predictions=outcomes[start : start + BATCH]))


def _outcomes(session: Session, scores: pd.DataFrame) -> list[ScoredPrediction]:
    keys = scores["prediction_id"]
    summary = pd.DataFrame(
        {
            "points": keys.groupby(keys).size(),
            "revised": (scores["revision"] > 0).groupby(keys).sum(),
            "mae": scores["error"].abs().groupby(keys).mean(),  # NaN where no error was defined
        }
    )
    missed = {
        level: set(scores.loc[scores[f"inside_{level}"] == 0, "prediction_id"]) for level in SUPPORTED_LEVELS
    }
    ids = [int(i) for i in summary.index]
    found = {}
    for start in range(0, len(ids), 10_000):
        query = select(Prediction).where(Prediction.id.in_(ids[start : start + 10_000]))
        found.update({p.id: p for p in session.scalars(query)})
    return [
        ScoredPrediction(
            prediction_id=pid,
            model=found[pid].model_name,
            model_version=found[pid].model_version,
            dataset=found[pid].dataset_name,
            unique_id=found[pid].unique_id,
            points=int(row["points"]),
            revised=int(row["revised"]),
            mean_abs_error=None if np.isnan(row["mae"]) else float(row["mae"]),
            missed_levels=[level for level in SUPPORTED_LEVELS if pid in missed[level]],
        )
        for pid, row in zip(ids, summary.to_dict("records"), strict=True)
    ]


def subscribe(context: AppContext) -> None:
    """Score predictions whenever a dataset gets a new version (in whatever process made it)."""
    from helios.predictions import service

    def on_new_version(event: DatasetVersionCreated, session: Session) -> None:
        service.score_dataset_version(session, context.store, event.dataset, event.version)

    if SUBSCRIBER not in context.events.subscribers:
        context.events.subscribe(SUBSCRIBER, DatasetVersionCreated, on_new_version)
