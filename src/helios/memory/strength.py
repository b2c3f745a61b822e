"""Strength: one number in 0-1 made of parts a person can check.

    base       = importance * (FLOOR + (1 - FLOOR) * decay)     decay = 0.5 ** (days since use / half-life)
    total      = min(1, base + access + corroboration) * penalty

Decay has a floor so an old memory ranks lower but never drops to zero: decay never hides a
memory. Reinforcement grows with the log of reads and with other memories backing the same
facts, both capped so that neither can outweigh importance. Each prediction the memory fed that
scored far outside its interval multiplies strength by ``WRONG_FACTOR``.
"""

from __future__ import annotations

import datetime as dt
import math

from helios.core.clock import as_utc
from helios.memory.schemas import StrengthParts

FLOOR = 0.25
ACCESS_STEP, ACCESS_CAP = 0.05, 0.2
CORROBORATION_STEP, CORROBORATION_CAP = 0.05, 0.2
WRONG_FACTOR = 0.7


def decay(days_since_use: float, half_life_days: float) -> float:
    return 0.5 ** (max(days_since_use, 0.0) / half_life_days)


def strength_parts(
    *,
    importance: float,
    last_used: dt.datetime,
    now: dt.datetime,
    half_life_days: float,
    access_count: int,
    corroborations: int,
    wrong_predictions: int,
) -> StrengthParts:
    days, kept, access, corroboration, penalty, total = _parts(
        importance, last_used, now, half_life_days, access_count, corroborations, wrong_predictions
    )
    return StrengthParts(
        total=round(total, 4),
        importance=importance,
        decay=round(kept, 4),
        days_since_use=round(max(days, 0.0), 2),
        half_life_days=half_life_days,
        access=round(access, 4),
        corroboration=round(corroboration, 4),
        wrong_predictions=wrong_predictions,
        penalty=round(penalty, 4),
    )


def strength_total(
    *,
    importance: float,
    last_used: dt.datetime,
    now: dt.datetime,
    half_life_days: float,
    access_count: int,
    corroborations: int,
    wrong_predictions: int,
) -> float:
    """``strength_parts(...).total`` without building the parts (search ranks hundreds of
    candidates and shows the parts of the few it returns)."""
    parts = _parts(
        importance, last_used, now, half_life_days, access_count, corroborations, wrong_predictions
    )
    return round(parts[5], 4)


def _parts(
    importance: float,
    last_used: dt.datetime,
    now: dt.datetime,
    half_life_days: float,
    access_count: int,
    corroborations: int,
    wrong_predictions: int,
) -> tuple[float, float, float, float, float, float]:
    days = (as_utc(now) - as_utc(last_used)).total_seconds() / 86_400
    kept = decay(days, half_life_days)
    access = min(ACCESS_CAP, ACCESS_STEP * math.log1p(access_count))
    corroboration = min(CORROBORATION_CAP, CORROBORATION_STEP * corroborations)
    penalty = WRONG_FACTOR**wrong_predictions
    base = importance * (FLOOR + (1 - FLOOR) * kept)
    total = min(1.0, base + access + corroboration) * penalty
    return days, kept, access, corroboration, penalty, total
