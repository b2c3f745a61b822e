"""Outcomes from the forecast ledger: when predictions an assistant explained during an experiment
are scored, each such call gets an outcome in its variant: 1 when every interval held (no level
missed), else 0. Delivered by the event bus after the scoring commit, at least once; a call
already settled is skipped, so a redelivery adds nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from helios.assistants import experiments

SUBSCRIBER = "assistants.experiment-outcomes"


def on_scored(event: Any, session: Session) -> None:
    values = {p.prediction_id: 0.0 if p.missed_levels else 1.0 for p in event.predictions}
    experiments.outcomes_from_ledger(session, values)


def subscribe(context: Any) -> None:
    from helios.core.events import PredictionScored

    if SUBSCRIBER not in context.events.subscribers:
        context.events.subscribe(SUBSCRIBER, PredictionScored, on_scored)
