"""Per-point scores as SQL expressions, and the sums accuracy is made of.

A score row keeps only what cannot be derived; absolute % error, naive error, scaled error,
direction, Winkler scores and QLIKE are expressions over a join of scores, points and
predictions (``derived``). Every accuracy metric is a ratio of sums of those (``SUMS``): accuracy
reads the sums from the points (``accuracy.scored_sums``) or from the daily rollup that scoring
keeps (``rollup``), and divides in Python.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, literal

from helios.predictions.tables import (
    SUMS,
    SUPPORTED_LEVELS,
    Prediction,
    PredictionPoint,
    PredictionScore,
    inside_bits,
)

AT = {name: i for i, name in enumerate(SUMS)}


def ensure_ln(raw: Any) -> None:
    """SQLite builds without the math functions get ``ln`` (QLIKE's) from Python, same values;
    ``raw`` is the driver's connection."""
    try:
        raw.execute("SELECT ln(1.0)").fetchone()
    except Exception:  # noqa: BLE001 - sqlite3.OperationalError: no such function
        raw.create_function(
            "ln", 1, lambda x: math.log(x) if x is not None and x > 0 else None, deterministic=True
        )


def with_ln(connection: Connection) -> Connection:
    """``connection``, able to evaluate ``derived`` (``ln``) whatever the SQLite build."""
    if connection.dialect.name == "sqlite":
        ensure_ln(connection.connection.driver_connection)
    return connection


def derived(
    score: Any = PredictionScore, point: Any = PredictionPoint, prediction: Any = Prediction
) -> dict[str, ColumnElement[Any]]:
    """SQL expressions for every per-point score over a join of scores, points and predictions
    (NULL where a score is undefined, as NaN was before): accuracy aggregates these."""
    volatility = prediction.task == "volatility"
    origin = case((volatility, literal(0.0)), else_=prediction.origin_value)
    actual, error, mean = score.actual, score.error, point.mean
    magnitude = func.abs(actual) + func.abs(actual - error)
    moved, happened = mean - origin, actual - origin
    sigma, r = point.sigma, score.realised_return
    out: dict[str, ColumnElement[Any]] = {
        "actual": actual,
        "error": error,
        "abs_pct_error": case((actual != 0, 100.0 * func.abs(error) / func.abs(actual))),
        "smape": case((magnitude > 0, 200.0 * func.abs(error) / magnitude)),
        "naive_error": actual - origin,
        "scaled_error": func.abs(error) / func.nullif(prediction.naive_scale, 0),
        "direction_hit": case((moved * happened > 0, literal(1.0)), (moved * happened < 0, literal(0.0))),
        "realised_return": r,
        "qlike": case(
            ((sigma > 0) & r.is_not(None), func.ln(sigma * sigma) + r * r / (sigma * sigma)),
        ),
    }
    for level in SUPPORTED_LEVELS:
        known, inside = inside_bits(level)
        lo, hi = getattr(point, f"lo_{level}"), getattr(point, f"hi_{level}")
        is_known = score.inside.bitwise_and(known) != 0
        out[f"inside_{level}"] = case(
            (is_known, case((score.inside.bitwise_and(inside) != 0, literal(1.0)), else_=literal(0.0)))
        )
        miss = case((lo > actual, lo - actual), else_=literal(0.0)) + case(
            (actual > hi, actual - hi), else_=literal(0.0)
        )
        out[f"winkler_{level}"] = case((is_known, (hi - lo) + (2 / (1 - level / 100)) * miss))
    return out


@cache
def sum_expressions() -> tuple[ColumnElement, ...]:
    """The aggregate expression of each of ``SUMS``, in order, built once."""
    d = derived()
    error, naive = d["error"], d["naive_error"]
    both = error.is_not(None) & naive.is_not(None)
    a, b = func.abs(error), func.abs(naive)
    out = [func.count(), func.count(error), func.sum(func.abs(error)), func.sum(error * error)]
    for metric in ("abs_pct_error", "smape", "scaled_error", "direction_hit", "qlike"):
        out += [func.count(d[metric]), func.sum(d[metric])]
    for level in SUPPORTED_LEVELS:
        inside = d[f"inside_{level}"]
        out += [func.count(inside), func.sum(inside), func.sum(d[f"winkler_{level}"])]
    out += [func.count(case((both, 1))), *[func.sum(case((both, x))) for x in (a, b, a * a, b * b, a * b)]]
    return tuple(out)


def sum_columns() -> list[ColumnElement]:
    """``sum_expressions`` labelled with their names."""
    return [expr.label(name) for expr, name in zip(sum_expressions(), SUMS, strict=True)]
