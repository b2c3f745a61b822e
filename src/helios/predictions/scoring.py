"""Scoring predictions against what happened: incremental, idempotent, vectorised.

New actuals (rows ``unique_id, ds, y`` from a dataset version or a POST) are matched to stored
points on ``(dataset_id, unique_id, ds)`` in one read that also brings each point's current
score. A point without a score gets revision 0; a point whose actual changed gets the next
revision beside the earlier ones (the earlier score stays, only its ``latest`` flag drops); a
point whose actual is the same is left alone, so scoring twice changes nothing.

Per point: error (actual - mean), absolute % error, scaled error (|error| / in-sample naive MAE,
MASE's scale), the naive forecast's error on the same target (the origin value carried forward),
inside each interval, Winkler interval score, direction right or not (against the origin value),
and, where a sigma was predicted, QLIKE against the realised squared percent log return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import String, and_, select, type_coerce, update
from sqlalchemy.orm import Session

from helios.core.clock import as_utc, utcnow
from helios.predictions.outcomes import publish_outcomes
from helios.predictions.tables import SUPPORTED_LEVELS, Prediction, PredictionPoint, PredictionScore

CHUNK = 20_000  # ids per IN (...) and rows per executemany
SAME = 1e-9  # actuals that differ by less than this (relative) are the same actual


def score_actuals(
    session: Session, actuals: pd.DataFrame, *, dataset_ids: list[int] | None, source: str
) -> dict[str, int]:
    """Score every stored point ``actuals`` (``unique_id, ds, y``) speak for; returns counts."""
    if actuals.empty:
        return _report(0, 0, 0, 0, set())
    matched = _matched_points(session, actuals, dataset_ids)
    if matched.empty:
        return _report(0, 0, 0, 0, set())
    fresh = matched["score_id"].isna()
    changed = ~fresh & ~np.isclose(matched["y"], matched["current"], rtol=SAME, atol=0)
    todo = matched[fresh | changed].copy()
    if todo.empty:
        return _report(len(matched), 0, 0, len(matched), set())
    todo["point_id"] = todo["point_id"].astype(np.int64)
    todo["revision"] = np.where(todo["score_id"].isna(), 0, todo["current_revision"].fillna(-1) + 1).astype(
        int
    )
    _retire(session, todo.loc[todo["revision"] > 0, "point_id"].tolist())
    scores = measure(todo, realised_returns(matched))
    _insert(session, scores, source)
    publish_outcomes(session, scores, source)
    return _report(
        len(matched),
        int(fresh.sum()),
        int(changed.sum()),
        int((~fresh & ~changed).sum()),
        set(todo["prediction_id"]),
    )


def _report(matched: int, scored: int, revised: int, unchanged: int, predictions: set) -> dict[str, int]:
    return {
        "points_matched": matched,
        "scored": scored,
        "revised": revised,
        "unchanged": unchanged,
        "predictions": len(predictions),
    }


def _matched_points(session: Session, actuals: pd.DataFrame, dataset_ids: list[int] | None) -> pd.DataFrame:
    """Points the actuals speak for, each with its prediction's context and current score."""
    frame = actuals[["unique_id", "ds", "y"]].copy()
    frame["unique_id"] = frame["unique_id"].astype(str)
    frame["ds"] = pd.to_datetime(frame["ds"]).astype("datetime64[us]")
    start, end = (as_utc(frame["ds"].agg(edge).to_pydatetime()) for edge in ("min", "max"))
    current = and_(PredictionScore.point_id == PredictionPoint.id, PredictionScore.latest.is_(True))
    columns = [
        PredictionPoint.id.label("point_id"),
        PredictionPoint.prediction_id,
        PredictionPoint.unique_id,
        # As the driver gives it: the ORM's per-row datetime parsing costs more than the query.
        type_coerce(PredictionPoint.ds, String).label("ds"),
        PredictionPoint.step,
        PredictionPoint.mean,
        PredictionPoint.sigma,
        *[getattr(PredictionPoint, f"{side}_{level}") for level in SUPPORTED_LEVELS for side in ("lo", "hi")],
        Prediction.task,
        Prediction.origin_value,
        Prediction.naive_scale,
        PredictionScore.id.label("score_id"),
        PredictionScore.actual.label("current"),
        PredictionScore.revision.label("current_revision"),
    ]
    query = (
        select(*columns)
        .join(Prediction, Prediction.id == PredictionPoint.prediction_id)
        .outerjoin(PredictionScore, current)
        .where(PredictionPoint.ds >= start, PredictionPoint.ds <= end, Prediction.task != "draws")
    )
    ids = sorted(frame["unique_id"].unique())
    if len(ids) <= 500:
        query = query.where(PredictionPoint.unique_id.in_(ids))
    if dataset_ids is not None:
        query = query.where(PredictionPoint.dataset_id.in_(dataset_ids))
    rows = session.connection().execute(query).fetchall()  # Core rows: no ORM bookkeeping per row
    points = pd.DataFrame.from_records(rows, columns=[c.key for c in columns])
    if points.empty:
        return points
    # Naive UTC throughout; PostgreSQL may hand stamps back zone-aware.
    points["ds"] = (
        pd.to_datetime(points["ds"], format="ISO8601", utc=True).dt.tz_localize(None).astype("datetime64[us]")
    )
    numeric = [c for c in points.columns if c not in ("unique_id", "ds", "task")]
    points[numeric] = points[numeric].astype(float)  # None -> NaN: rows from SQL arrive as objects
    return points.merge(frame, on=["unique_id", "ds"], how="inner")


def realised_returns(matched: pd.DataFrame) -> pd.Series:
    """Percent log return into each point's ds: from the previous step's actual (or the origin
    value for step 1), where that is known in this batch. Indexed by point id."""
    ordered = matched.sort_values(["prediction_id", "step"])
    previous = ordered.groupby("prediction_id")["y"].shift(1)
    contiguous = ordered.groupby("prediction_id")["step"].diff() == 1
    previous = previous.where(contiguous)
    previous = previous.where(ordered["step"] != 1, ordered["origin_value"])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 100.0 * np.log(ordered["y"].to_numpy(float) / previous.to_numpy(float))
    return pd.Series(np.where(np.isfinite(r), r, np.nan), index=ordered["point_id"].to_numpy())


def measure(todo: pd.DataFrame, returns: pd.Series) -> pd.DataFrame:
    """Every per-point score, vectorised over the frame."""
    r = returns.reindex(todo["point_id"]).to_numpy(float)
    volatility = (todo["task"] == "volatility").to_numpy()
    # A volatility model predicts the return; its actual is the realised return.
    actual = np.where(volatility, r, todo["y"].to_numpy(float))
    mean = todo["mean"].to_numpy(float)
    origin = np.where(volatility, 0.0, todo["origin_value"].to_numpy(float))
    error = actual - mean
    out = pd.DataFrame(
        {"point_id": todo["point_id"].to_numpy(), "prediction_id": todo["prediction_id"].to_numpy()}
    )
    out["revision"] = todo["revision"].to_numpy()
    out["actual"] = actual
    out["error"] = error
    with np.errstate(divide="ignore", invalid="ignore"):
        out["abs_pct_error"] = np.where(actual != 0, 100 * np.abs(error) / np.abs(actual), np.nan)
        out["scaled_error"] = np.abs(error) / todo["naive_scale"].to_numpy(float)
    out["naive_error"] = actual - origin
    out["direction_hit"] = _direction(mean - origin, actual - origin)
    for level in SUPPORTED_LEVELS:
        lo, hi = todo[f"lo_{level}"].to_numpy(float), todo[f"hi_{level}"].to_numpy(float)
        known = ~np.isnan(lo) & ~np.isnan(hi) & ~np.isnan(actual)
        out[f"inside_{level}"] = np.where(known, (actual >= lo) & (actual <= hi), np.nan)
        out[f"winkler_{level}"] = np.where(known, winkler(actual, lo, hi, level), np.nan)
    sigma = todo["sigma"].to_numpy(float)
    out["realised_return"] = r
    with np.errstate(divide="ignore", invalid="ignore"):
        out["qlike"] = np.where(sigma > 0, np.log(sigma**2) + r**2 / sigma**2, np.nan)
    return out


def winkler(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: int) -> np.ndarray:
    """Interval width plus 2/alpha times how far the actual fell outside (Winkler 1972)."""
    alpha = 1 - level / 100
    below = np.clip(lo - actual, 0, None)
    above = np.clip(actual - hi, 0, None)
    return (hi - lo) + (2 / alpha) * (below + above)


def _direction(predicted: np.ndarray, happened: np.ndarray) -> np.ndarray:
    """Right when both moved the same way; undefined (NaN) when either stayed flat."""
    sign_p, sign_h = np.sign(predicted), np.sign(happened)
    known = (sign_p != 0) & (sign_h != 0) & ~np.isnan(sign_p) & ~np.isnan(sign_h)
    return np.where(known, sign_p == sign_h, np.nan)


def _retire(session: Session, point_ids: list[int]) -> None:
    for start in range(0, len(point_ids), CHUNK):
        chunk = point_ids[start : start + CHUNK]
        session.execute(
            update(PredictionScore)
            .where(PredictionScore.point_id.in_(chunk), PredictionScore.latest.is_(True))
            .values(latest=False)
        )


BOOLEAN_COLUMNS = ["direction_hit", *[f"inside_{level}" for level in SUPPORTED_LEVELS]]


def _insert(session: Session, scores: pd.DataFrame, source: str) -> None:
    """Straight to the driver's executemany: building a parameter dict per row through the ORM or
    Core costs several times what the database does with a million rows."""
    frame = scores.astype(object).where(scores.notna(), None)
    for column in BOOLEAN_COLUMNS:
        frame[column] = [None if v is None else bool(v) for v in frame[column]]
    for column in ("point_id", "prediction_id", "revision"):
        frame[column] = scores[column].astype(int).tolist()
    connection = session.connection()
    now = utcnow()
    sqlite = connection.dialect.name == "sqlite"
    frame["source"], frame["latest"] = source, True
    frame["scored_at"] = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    columns = list(frame.columns)
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {PredictionScore.__tablename__} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    rows = list(frame.itertuples(index=False, name=None))
    for start in range(0, len(rows), CHUNK):
        connection.exec_driver_sql(sql, rows[start : start + CHUNK])
