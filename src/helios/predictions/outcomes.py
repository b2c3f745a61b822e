"""Telling the rest of Helios how predictions did: ``PredictionScored`` events, published in the
scoring transaction (so none is sent for a rollback), and the subscriber that scores predictions
when a new dataset version arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy.orm import Session

from helios.core.events import DatasetVersionCreated, PredictionScored, publish
from helios.predictions.tables import SUPPORTED_LEVELS

if TYPE_CHECKING:
    from helios.context import AppContext

BATCH = 200
SUBSCRIBER = "predictions.score-new-data"


def publish_outcomes(session: Session, summary: pd.DataFrame, source: str) -> None:
    """One ``PredictionScored`` per batch of predictions in ``summary``: one row per prediction
    (``prediction_id, model, model_version, dataset, unique_id, points, revised, mae`` and a
    ``missed_L`` flag per level), as scoring's ``GROUP BY`` gives it."""
    outcomes = _outcomes(summary)
    for start in range(0, len(outcomes), BATCH):
        publish(session, PredictionScored(source=source, predictions=outcomes[start : start + BATCH]))


def _outcomes(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain dicts (the event validates them in one go): 100,000 scored predictions cost
    milliseconds here, not seconds of per-row pandas and numpy scalars."""
    if summary.empty:
        return []
    mae = pd.to_numeric(summary["mae"], errors="coerce")
    missed = [
        [level for level, hit in zip(SUPPORTED_LEVELS, flags, strict=True) if hit]
        for flags in zip(
            *[summary[f"missed_{level}"].fillna(0).astype(int).tolist() for level in SUPPORTED_LEVELS],
            strict=True,
        )
    ]
    columns = zip(
        summary["prediction_id"].astype(int).tolist(),
        summary["model"].tolist(),
        summary["model_version"].astype(int).tolist(),
        summary["dataset"].tolist(),
        summary["unique_id"].tolist(),
        summary["points"].astype(int).tolist(),
        summary["revised"].fillna(0).astype(int).tolist(),
        mae.astype(object).where(mae.notna(), None).tolist(),
        missed,
        strict=True,
    )
    keys = (
        "prediction_id",
        "model",
        "model_version",
        "dataset",
        "unique_id",
        "points",
        "revised",
        "mean_abs_error",
        "missed_levels",
    )
    return [dict(zip(keys, values, strict=True)) for values in columns]


def subscribe(context: AppContext) -> None:
    """Score predictions whenever a dataset gets a new version (in whatever process made it)."""
    from helios.predictions import service

    def on_new_version(event: DatasetVersionCreated, session: Session) -> None:
        service.score_dataset_version(session, context.store, event.dataset, event.version)

    if SUBSCRIBER not in context.events.subscribers:
        context.events.subscribe(SUBSCRIBER, DatasetVersionCreated, on_new_version)
