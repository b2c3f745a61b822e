"""How good the predictions were: per model version and series over a window, by horizon step and
rolling over time, from the latest score of every scored point.

Every metric is a mean, so the database sums (one ``GROUP BY`` per group, step and period over
the per-point expressions of ``per_point.derived``) and Python divides: the answer over a million
scored points costs one aggregate query, not a million rows through pandas.

Honesty first: coverage comes with a Wilson binomial interval beside its nominal level; skill
against the naive forecast (the origin value carried forward, scored on the very same targets)
is a relative MAE with a delta-method confidence interval; when the interval spans 1 the answer
says so and estimates how many more scored points would settle it. Draws get a one-sided test
of log-loss against fair chance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from helios.predictions import per_point, rollup
from helios.predictions.per_point import AT, SUMS
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
    filters = _filters(model, version, unique_id, dataset, start, end)
    keys = ["model", "version", "unique_id"] if per_series else ["model", "version"]
    if rollup.covers(unique_id, per_series, start, end):
        query = rollup.sums_query(
            session.get_bind().dialect.name,
            model=model,
            version=version,
            dataset=dataset,
            start=start,
            rolling=rolling,
            point_period=period_start(session, rolling),
        )
        totals, steps, periods, scored = _summed(session, query, len(keys))
    else:
        totals, steps, periods, scored = scored_sums(session, keys, filters, rolling)
    groups = [
        AccuracyGroup(
            model=key[0],
            version=int(key[1]),
            unique_id=key[2] if per_series else None,
            **point_metrics(total),
            coverage=coverage(total),
            skill=skill(total),
            by_step=[
                StepAccuracy(step=int(step), **point_metrics(part), coverage=coverage(part))
                for step, part in sorted(steps[key].items())
            ],
            rolling=[
                Period(start=when, **point_metrics(part), coverage=coverage(part))
                for when, part in sorted(periods[key].items())
            ],
        )
        for key, total in sorted(totals.items())
    ]
    draw_rows = scored_draws(session, filters)
    draws = [
        draw_skill(name, int(number), part)
        for (name, number), part in draw_rows.groupby(["model", "version"], sort=True)
    ]
    return AccuracyReport(groups=groups, draws=draws, scored_points=scored + len(draw_rows))


def _filters(
    model: str | None,
    version: int | None,
    unique_id: str | None,
    dataset: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list:
    where = [PredictionScore.latest.is_(True)]
    for column, value in (
        (Prediction.model_name, model),
        (Prediction.model_version, version),
        (Prediction.unique_id, unique_id),
        (Prediction.dataset_name, dataset),
    ):
        if value is not None:
            where.append(column == value)
    if start is not None:
        where.append(PredictionPoint.ds >= start)
    if end is not None:
        where.append(PredictionPoint.ds <= end)
    return where


def _joined(query: Select) -> Select:
    return query.join(PredictionPoint, PredictionPoint.id == PredictionScore.point_id).join(
        Prediction, Prediction.id == PredictionScore.prediction_id
    )


def period_start(session: Session, rolling: str) -> ColumnElement:
    """The start of the rolling period (day, Monday-started week, month) of each point's ds, in
    SQL, as pandas' ``to_period(rolling).start_time`` has it."""
    if session.get_bind().dialect.name == "postgresql":
        unit = {"D": "day", "W": "week", "M": "month"}[rolling]
        return func.date_trunc(unit, func.timezone("UTC", PredictionPoint.ds))
    modifiers = {"D": (), "W": ("-6 days", "weekday 1"), "M": ("start of month",)}[rolling]
    return func.date(PredictionPoint.ds, *modifiers)


Sums = dict  # key -> numpy vector of SUMS


def scored_sums(
    session: Session, keys: list[str], filters: list, rolling: str
) -> tuple[Sums, dict[tuple, Sums], dict[tuple, Sums], int]:
    """Sums per group, per (group, step) and per (group, rolling period), from one aggregate
    query over (group, step, period): a million scored points never leave the database as rows.
    Returns (totals, by step, by period, scored points)."""
    group = {
        "model": Prediction.model_name,
        "version": Prediction.model_version,
        "unique_id": Prediction.unique_id,
    }
    by = [group[k] for k in keys] + [PredictionPoint.step, period_start(session, rolling)]
    query = (
        _joined(select(*by, *per_point.sum_columns()).select_from(PredictionScore))
        .where(*filters, Prediction.task != "draws")
        .group_by(*by)
    )
    return _summed(session, query, len(keys))


def _summed(
    session: Session, query: Select, width: int
) -> tuple[Sums, dict[tuple, Sums], dict[tuple, Sums], int]:
    """Add up rows of (``width`` key columns, step, period, *SUMS) per group, step and period
    (the same key may come in several rows: the rollup's days, newer scores, retired ones)."""
    per_point.with_ln(session.connection())
    rows = session.execute(query).all()
    totals: Sums = {}
    steps: dict[tuple, Sums] = defaultdict(dict)
    periods: dict[tuple, Sums] = defaultdict(dict)
    if not rows:
        return totals, steps, periods, 0
    values = np.nan_to_num(
        np.asarray([row[width + 2 :] for row in rows], dtype=float)
    )  # SUM of nothing: NULL
    starts: dict[object, dt.datetime] = {}
    for row, vector in zip(rows, values, strict=True):
        key, step, when = tuple(row[:width]), row[width], row[width + 1]
        if when not in starts:
            starts[when] = _period(when)
        when = starts[when]
        for bucket, sub in ((totals, None), (steps[key], step), (periods[key], when)):
            slot = key if sub is None else sub
            if slot in bucket:
                bucket[slot] = bucket[slot] + vector
            else:
                bucket[slot] = vector
    return totals, steps, periods, int(values[:, AT["rows"]].sum())


def scored_draws(session: Session, filters: list) -> pd.DataFrame:
    """Draw scores row by row: a few hundred a year, and their test wants the values."""
    columns = [
        Prediction.model_name.label("model"),
        Prediction.model_version.label("version"),
        PredictionScore.log_loss,
        PredictionScore.log_loss_uniform,
        PredictionScore.matches,
    ]
    result = session.execute(
        _joined(select(*columns).select_from(PredictionScore)).where(*filters, Prediction.task == "draws")
    )
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in ("log_loss", "log_loss_uniform", "matches"):
        frame[column] = frame[column].astype(float)
    return frame


def _period(value: object) -> dt.datetime:
    """A period start as the database gives it ('2026-01-05' on SQLite, a timestamp on
    PostgreSQL), naive UTC as pandas' periods were."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp).to_pydatetime()


def _ratio(total: float, n: float) -> float | None:
    return float(total / n) if n > 0 and math.isfinite(total / n) else None


def point_metrics(vector: np.ndarray) -> dict:
    s = dict(zip(SUMS, vector.tolist(), strict=True))
    rmse = _ratio(s["s_sq"], s["n"])
    return {
        "n": int(s["n"]),
        "mae": _ratio(s["s_abs"], s["n"]),
        "rmse": math.sqrt(rmse) if rmse is not None else None,
        "mape": _ratio(s["s_ape"], s["n_ape"]),
        "smape": _ratio(s["s_smape"], s["n_smape"]),
        "mase": _ratio(s["s_scaled"], s["n_scaled"]),
        "directional_accuracy": _ratio(s["s_dir"], s["n_dir"]),
        "qlike": _ratio(s["s_qlike"], s["n_qlike"]),
        "interval_score": {
            str(level): value
            for level in SUPPORTED_LEVELS
            if (value := _ratio(s[f"s_wk_{level}"], s[f"n_in_{level}"])) is not None
        },
    }


def coverage(vector: np.ndarray) -> list[Coverage]:
    s = dict(zip(SUMS, vector.tolist(), strict=True))
    out = []
    for level in SUPPORTED_LEVELS:
        n = int(s[f"n_in_{level}"])
        if n:
            inside = int(round(s[f"s_in_{level}"]))
            lo, hi = wilson(inside, n)
            out.append(Coverage(level=level, nominal=level / 100, observed=inside / n, lo=lo, hi=hi, n=n))
    return out


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion: sensible even at 0 or n successes."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def skill(vector: np.ndarray) -> Skill:
    """Relative MAE against naive on the same targets, with a delta-method 95% interval, from
    the sums of |error|, |naive error|, their squares and product over the points both exist."""
    s = dict(zip(SUMS, vector.tolist(), strict=True))
    n = int(s["n_ab"])
    if n < 2 or s["s_b"] == 0:
        need = max(MIN_POINTS - n, 1)
        return Skill(n=n, verdict=f"cannot tell yet: need ~{need} more scored points")
    mean_a, mean_b = s["s_a"] / n, s["s_b"] / n
    ratio = mean_a / mean_b
    var_a = (s["s_aa"] - n * mean_a * mean_a) / (n - 1)
    var_b = (s["s_bb"] - n * mean_b * mean_b) / (n - 1)
    cov = (s["s_ab"] - n * mean_a * mean_b) / (n - 1)
    g_a, g_b = 1 / mean_b, -mean_a / mean_b**2
    spread = math.sqrt(max(g_a * g_a * var_a + 2 * g_a * g_b * cov + g_b * g_b * var_b, 0.0))
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
    # Imported here, not at the top: scipy.stats costs ~0.9 s of CPU to import, a third of a
    # server's start-up, for this one test that a draws verdict runs.
    from scipy import stats

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
