"""How good the predictions were: per model version and series over a window, by horizon step and
rolling over time, from the latest score of every scored point.

Honesty first: coverage comes with a Wilson binomial interval beside its nominal level; skill
against the naive forecast (the origin value carried forward, scored on the very same targets)
is a relative MAE with a delta-method confidence interval; when the interval spans 1 the answer
says so and estimates how many more scored points would settle it. Draws get a one-sided test
of log-loss against fair chance.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.predictions.schemas import (
    AccuracyGroup,
    AccuracyReport,
    Coverage,
    DrawSkill,
    Period,
    Skill,
    StepAccuracy,
)
from helios.predictions.tables import SUPPORTED_LEVELS, Prediction, PredictionPoint, PredictionScore

Z95 = 1.959964
MIN_POINTS = 10  # fewer scored points than this and no verdict is given at all


def accuracy(
    session: Session,
    *,
    model: str | None = None,
    version: int | None = None,
    unique_id: str | None = None,
    dataset: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    per_series: bool = True,
    rolling: str = "W",
) -> AccuracyReport:
    frame = scored_points(session, model, version, unique_id, dataset, start, end)
    keys = ["model", "version", "unique_id"] if per_series else ["model", "version"]
    groups = (
        []
        if frame.empty
        else [
            _group(dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)), part, rolling)
            for key, part in frame[frame["task"] != "draws"].groupby(keys, sort=True)
        ]
    )
    draws = (
        []
        if frame.empty
        else [
            draw_skill(name, int(number), part)
            for (name, number), part in frame[frame["task"] == "draws"].groupby(["model", "version"])
        ]
    )
    return AccuracyReport(groups=groups, draws=draws, scored_points=len(frame))


def scored_points(
    session: Session,
    model: str | None,
    version: int | None,
    unique_id: str | None,
    dataset: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> pd.DataFrame:
    levels = [c for level in SUPPORTED_LEVELS for c in (f"inside_{level}", f"winkler_{level}")]
    columns = [
        Prediction.model_name.label("model"),
        Prediction.model_version.label("version"),
        Prediction.unique_id,
        Prediction.task,
        PredictionPoint.step,
        PredictionPoint.ds,
        PredictionScore.actual,
        PredictionScore.error,
        PredictionScore.abs_pct_error,
        PredictionScore.naive_error,
        PredictionScore.scaled_error,
        PredictionScore.direction_hit,
        PredictionScore.qlike,
        PredictionScore.log_loss,
        PredictionScore.log_loss_uniform,
        PredictionScore.matches,
        *[getattr(PredictionScore, c) for c in levels],
    ]
    query = (
        select(*columns)
        .join(PredictionPoint, PredictionPoint.id == PredictionScore.point_id)
        .join(Prediction, Prediction.id == PredictionScore.prediction_id)
        .where(PredictionScore.latest.is_(True))
    )
    for column, value in (
        (Prediction.model_name, model),
        (Prediction.model_version, version),
        (Prediction.unique_id, unique_id),
        (Prediction.dataset_name, dataset),
    ):
        if value is not None:
            query = query.where(column == value)
    if start is not None:
        query = query.where(PredictionPoint.ds >= start)
    if end is not None:
        query = query.where(PredictionPoint.ds <= end)
    frame = pd.DataFrame(session.execute(query).all(), columns=[c.key for c in columns])
    if not frame.empty:
        numeric = [c for c in frame.columns if c not in ("model", "unique_id", "task", "ds")]
        frame[numeric] = frame[numeric].astype(float)
        frame["ds"] = pd.to_datetime(frame["ds"], utc=True).dt.tz_localize(None)  # UTC, for periods
    return frame


def _group(key: dict, part: pd.DataFrame, rolling: str) -> AccuracyGroup:
    return AccuracyGroup(
        model=key["model"],
        version=int(key["version"]),
        unique_id=key.get("unique_id"),
        **point_metrics(part),
        coverage=coverage(part),
        skill=skill(part),
        by_step=[
            StepAccuracy(step=int(step), **point_metrics(p), coverage=coverage(p))
            for step, p in part.groupby("step")
        ],
        rolling=[
            Period(start=pd.Timestamp(when).to_pydatetime(), **point_metrics(p), coverage=coverage(p))
            for when, p in part.groupby(part["ds"].dt.to_period(rolling).dt.start_time)
        ],
    )


def point_metrics(part: pd.DataFrame) -> dict:
    error = part["error"].to_numpy(float)
    actual = part["actual"].to_numpy(float)
    forecast = actual - error
    with np.errstate(divide="ignore", invalid="ignore"):
        smape = 200 * np.abs(error) / (np.abs(actual) + np.abs(forecast))
    return {
        "n": int(np.isfinite(error).sum()),
        "mae": _mean(np.abs(error)),
        "rmse": _sqrt(_mean(error**2)),
        "mape": _mean(part["abs_pct_error"].to_numpy(float)),
        "smape": _mean(smape),
        "mase": _mean(part["scaled_error"].to_numpy(float)),
        "directional_accuracy": _mean(part["direction_hit"].to_numpy(float)),
        "qlike": _mean(part["qlike"].to_numpy(float)),
        "interval_score": {
            str(level): value
            for level in SUPPORTED_LEVELS
            if (value := _mean(part[f"winkler_{level}"].to_numpy(float))) is not None
        },
    }


def coverage(part: pd.DataFrame) -> list[Coverage]:
    out = []
    for level in SUPPORTED_LEVELS:
        inside = part[f"inside_{level}"].to_numpy(float)
        inside = inside[np.isfinite(inside)]
        if len(inside):
            lo, hi = wilson(int(inside.sum()), len(inside))
            out.append(
                Coverage(
                    level=level,
                    nominal=level / 100,
                    observed=float(inside.mean()),
                    lo=lo,
                    hi=hi,
                    n=len(inside),
                )
            )
    return out


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion: sensible even at 0 or n successes."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def skill(part: pd.DataFrame) -> Skill:
    """Relative MAE against naive on the same targets, with a delta-method 95% interval."""
    a = np.abs(part["error"].to_numpy(float))
    b = np.abs(part["naive_error"].to_numpy(float))
    keep = np.isfinite(a) & np.isfinite(b)
    a, b, n = a[keep], b[keep], int(keep.sum())
    if n < 2 or b.mean() == 0:
        need = max(MIN_POINTS - n, 1)
        return Skill(n=n, verdict=f"cannot tell yet: need ~{need} more scored points")
    ratio = a.mean() / b.mean()
    gradient = np.array([1 / b.mean(), -a.mean() / b.mean() ** 2])
    spread = math.sqrt(max(float(gradient @ np.cov(a, b) @ gradient), 0.0))  # per-point sd of the ratio
    half = Z95 * spread / math.sqrt(n)
    return Skill(
        n=n, relative_mae=ratio, lo=ratio - half, hi=ratio + half, verdict=verdict(ratio, half, spread, n)
    )


def verdict(ratio: float, half: float, spread: float, n: int) -> str:
    if n < MIN_POINTS:
        return f"cannot tell yet: only {n} scored points, need ~{MIN_POINTS - n} more"
    if ratio + half < 1:
        return f"beats naive: {100 * (1 - ratio):.0f}% lower MAE on the same targets ({n} points)"
    if ratio - half > 1:
        return f"worse than naive: {100 * (ratio - 1):.0f}% higher MAE on the same targets ({n} points)"
    if abs(ratio - 1) < 1e-9 or spread == 0:
        return f"no difference from naive on {n} points"
    needed = math.ceil((Z95 * spread / abs(ratio - 1)) ** 2)
    return f"cannot tell yet: the interval spans equal skill; need ~{max(needed - n, 1)} more scored points"


def draw_skill(model: str, version: int, part: pd.DataFrame) -> DrawSkill:
    """One-sided paired t-test: is the model's log-loss below fair chance's?"""
    gain = (part["log_loss_uniform"] - part["log_loss"]).to_numpy(float)
    gain = gain[np.isfinite(gain)]
    n = len(gain)
    matches = _mean(part["matches"].to_numpy(float))
    if n < 2 or gain.std(ddof=1) == 0:
        return DrawSkill(
            model=model,
            version=version,
            draws=n,
            mean_matches=matches,
            verdict=f"cannot tell yet: {n} scored draw(s)",
        )
    t = gain.mean() / (gain.std(ddof=1) / math.sqrt(n))
    p = float(stats.t.sf(t, n - 1))
    words = (
        f"beats chance: lower log-loss than fair odds (one-sided p = {p:.3f}) over {n} draws"
        if p < 0.05
        else f"no evidence of skill over chance after {n} draws (one-sided p = {p:.2f})"
    )
    return DrawSkill(
        model=model,
        version=version,
        draws=n,
        mean_matches=matches,
        mean_log_loss_gain=float(gain.mean()),
        p_value=p,
        verdict=words,
    )


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else None


def _sqrt(value: float | None) -> float | None:
    return math.sqrt(value) if value is not None else None
