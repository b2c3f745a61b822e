"""Scoring predictions against what happened: incremental, idempotent, done inside the database.

New actuals (rows ``unique_id, ds, y`` from a dataset version or a POST) go into a temporary table
(one ``executemany`` on SQLite, ``COPY`` on PostgreSQL), and everything after that is set-based
SQL, so a million points never become a million Python objects:

1. one join matches the actuals to stored points on ``(dataset_id, unique_id, ds)`` (the points'
   target index), with each point's prediction and its current (latest) score, into a second
   temporary table: the actual to score against and the realised return where it is needed;
2. a point without a score gets revision 0; a point whose actual changed gets the next revision
   beside the earlier ones (the earlier score stays, only its ``latest`` flag drops); a point
   whose actual is the same (within ``SAME``, relative) is left alone, so scoring twice changes
   nothing;
3. one ``INSERT ... SELECT`` writes the new score rows, in point order;
4. one ``GROUP BY`` sums them up per prediction for the ``PredictionScored`` events.

A score row keeps only the actual, the error, the interval hits (bits, see
``tables.inside_bits``) and the realised return; everything else (absolute % error, naive error,
scaled error, direction, Winkler score, QLIKE) is derived where it is read, by the expressions in
``derived`` (accuracy aggregates them in SQL).

Realised return: percent log return into a point's ds, from the previous step's actual when that
is in the same batch (or the origin value for step 1); computed where a sigma was predicted or the
model predicts returns (a volatility model, whose actual *is* the realised return).
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, literal_column, select, text
from sqlalchemy.orm import Session

from helios.core.clock import utcnow
from helios.predictions import per_point, rollup
from helios.predictions.outcomes import publish_outcomes
from helios.predictions.tables import (
    SUPPORTED_LEVELS,
    Prediction,
    PredictionPoint,
    PredictionScore,
    inside_bits,
)

SAME = 1e-9  # actuals that differ by less than this (relative) are the same actual
ACTUALS = "helios_score_actuals"  # temporary tables, private to the scoring connection
MATCHED = "helios_score_matched"
SQLITE_CACHE_KIB = 262_144  # page cache while scoring (per connection; restored afterwards)
STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def score_actuals(
    session: Session, actuals: pd.DataFrame, *, dataset_ids: list[int] | None, source: str
) -> dict[str, int]:
    """Score every stored point ``actuals`` (``unique_id, ds, y``) speak for; returns counts."""
    frame = _clean(actuals)
    if frame.empty:
        return _report(0, 0, 0, 0, 0)
    connection = session.connection()
    datasets = _dataset_ids(connection, dataset_ids)
    if not datasets:
        return _report(0, 0, 0, 0, 0)
    sqlite = connection.dialect.name == "sqlite"
    restore = _prepare_sqlite(connection) if sqlite else None
    try:
        _load_actuals(connection, frame, sqlite)
        connection.exec_driver_sql(_match_sql(datasets, sqlite))
        counts = dict.fromkeys((0, 1, 2), 0)
        state = _state_sql("m")
        for value, number in connection.exec_driver_sql(
            f"SELECT {state}, count(*) FROM {MATCHED} m GROUP BY {state}"
        ):
            counts[int(value)] = int(number)
        fresh, revised, unchanged = counts[0], counts[1], counts[2]
        predictions = 0
        if fresh or revised:
            predictions = _write(session, connection, source, sqlite)
        return _report(fresh + revised + unchanged, fresh, revised, unchanged, predictions)
    finally:
        # PostgreSQL drops both at commit (and a rollback takes them away with everything else).
        if restore is not None:
            for table in (MATCHED, ACTUALS):
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            restore()


def _report(matched: int, scored: int, revised: int, unchanged: int, predictions: int) -> dict[str, int]:
    return {
        "points_matched": matched,
        "scored": scored,
        "revised": revised,
        "unchanged": unchanged,
        "predictions": predictions,
    }


def _clean(actuals: pd.DataFrame) -> pd.DataFrame:
    """Naive-UTC stamps, string ids, one row per (unique_id, ds) (the last wins), no missing y:
    a missing value is nothing to score against."""
    frame = pd.DataFrame(
        {
            "unique_id": actuals["unique_id"].astype(str).to_numpy(),
            "ds": _naive_utc(actuals["ds"]),
            "y": pd.to_numeric(actuals["y"], errors="coerce").to_numpy(float),
        }
    )
    frame = frame[np.isfinite(frame["y"].to_numpy())]
    frame = frame.drop_duplicates(["unique_id", "ds"], keep="last")
    return frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def _naive_utc(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[us]").to_numpy()


def _dataset_ids(connection: Connection, dataset_ids: list[int] | None) -> list[int]:
    if dataset_ids is not None:
        return sorted({int(i) for i in dataset_ids})
    found = connection.execute(select(Prediction.dataset_id).distinct()).scalars()
    return sorted(int(i) for i in found)


def _prepare_sqlite(connection: Connection) -> Any:
    """A bigger page cache and temporary tables in memory for this connection, while it scores;
    durability settings are not touched. Returns what puts the cache back."""
    raw = connection.connection.driver_connection
    previous = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # Refused inside a transaction once this connection has opened temporary storage (a sort
    # that spilled, say): the temporary tables then live in a file, which works as well.
    with contextlib.suppress(sqlite3.OperationalError):
        raw.execute("PRAGMA temp_store=MEMORY")
    per_point.ensure_ln(raw)
    return lambda: raw.execute(f"PRAGMA cache_size={int(previous)}")


def _stamps(ds: np.ndarray, fmt: str) -> np.ndarray:
    """Format each distinct stamp once (a year of daily actuals has 365 of them, not 365,000)."""
    codes, uniques = pd.factorize(ds)
    return np.asarray([pd.Timestamp(u).strftime(fmt) for u in uniques], dtype=object)[codes]


def _load_actuals(connection: Connection, frame: pd.DataFrame, sqlite: bool) -> None:
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {MATCHED}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {ACTUALS}")
    if sqlite:
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE {ACTUALS} (unique_id TEXT NOT NULL, ds TEXT NOT NULL, y REAL NOT NULL, "
            "PRIMARY KEY (unique_id, ds))"
        )
        rows = zip(
            frame["unique_id"].tolist(),
            _stamps(frame["ds"].to_numpy(), STAMP).tolist(),
            frame["y"].tolist(),
            strict=True,
        )
        connection.exec_driver_sql(f"INSERT INTO {ACTUALS} (unique_id, ds, y) VALUES (?, ?, ?)", list(rows))
        return
    # PostgreSQL: COPY into timestamptz, as the points' ds is stored.
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE {ACTUALS} (unique_id text NOT NULL, ds timestamptz NOT NULL, "
        "y double precision NOT NULL) ON COMMIT DROP"
    )
    buffer = io.StringIO()
    pd.DataFrame(
        {
            "unique_id": frame["unique_id"],
            "ds": _stamps(frame["ds"].to_numpy(), STAMP + "+00"),
            "y": frame["y"].map(repr),
        }
    ).to_csv(buffer, sep="\t", header=False, index=False)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {ACTUALS} (unique_id, ds, y) FROM STDIN") as copy:
        copy.write(buffer.getvalue())
    connection.exec_driver_sql(f"CREATE INDEX ON {ACTUALS} (unique_id, ds)")
    connection.exec_driver_sql(f"ANALYZE {ACTUALS}")


def _match_sql(datasets: list[int], sqlite: bool) -> str:
    """Every point the actuals speak for, with the actual to score against, the realised return
    where it is needed, and the point's current score."""
    need = "(p.sigma IS NOT NULL OR pr.task = 'volatility')"
    previous = "(CASE WHEN p.step = 1 THEN pr.origin_value ELSE ap.y END)"
    ret = (
        f"(CASE WHEN {need} AND {previous} <> 0 AND a.y / {previous} > 0 "
        f"THEN 100.0 * ln(a.y / {previous}) END)"
    )
    ids = ", ".join(str(int(i)) for i in datasets)
    return f"""
        CREATE TEMP TABLE {MATCHED} {"" if sqlite else "ON COMMIT DROP"} AS
        SELECT p.id AS point_id, p.prediction_id AS prediction_id,
               CASE WHEN pr.task = 'volatility' THEN {ret} ELSE a.y END AS actual,
               {ret} AS realised_return,
               s.id AS current_id, s.revision AS current_revision, s.actual AS current_actual
        FROM {ACTUALS} a
        CROSS JOIN prediction_points p
        JOIN predictions pr ON pr.id = p.prediction_id
        LEFT JOIN prediction_points pp
               ON {need} AND p.step > 1 AND pp.prediction_id = p.prediction_id AND pp.step = p.step - 1
        LEFT JOIN {ACTUALS} ap ON ap.unique_id = pp.unique_id AND ap.ds = pp.ds
        LEFT JOIN prediction_scores s ON s.point_id = p.id AND s.latest = {_true(sqlite)}
        WHERE p.dataset_id IN ({ids}) AND p.unique_id = a.unique_id AND p.ds = a.ds
          AND pr.task <> 'draws'
    """


def _true(sqlite: bool) -> str:
    return "1" if sqlite else "true"


def _state_sql(m: str) -> str:
    """0: never scored; 1: scored against a different actual (a revision); 2: the same actual."""
    return f"""(CASE WHEN {m}.current_id IS NULL THEN 0
        WHEN {m}.actual IS NULL AND {m}.current_actual IS NULL THEN 2
        WHEN {m}.actual IS NULL OR {m}.current_actual IS NULL THEN 1
        WHEN abs({m}.actual - {m}.current_actual) <= {SAME!r} * abs({m}.current_actual) THEN 2
        ELSE 1 END)"""


def _inside_sql(actual: str) -> str:
    """The interval hits as bits: for each level, 'known' where bounds and actual exist, and
    'inside' where the actual lies within the bounds."""
    terms = []
    for level in SUPPORTED_LEVELS:
        known, inside = inside_bits(level)
        lo, hi = f"p.lo_{level}", f"p.hi_{level}"
        terms.append(
            f"(CASE WHEN {lo} IS NOT NULL AND {hi} IS NOT NULL THEN "
            f"{known} + (CASE WHEN {actual} >= {lo} AND {actual} <= {hi} THEN {inside} ELSE 0 END) "
            "ELSE 0 END)"
        )
    return f"(CASE WHEN {actual} IS NULL THEN 0 ELSE {' + '.join(terms)} END)"


def _write(session: Session, connection: Connection, source: str, sqlite: bool) -> int:
    """Retire the scores being revised, write the new ones, announce them; returns how many
    predictions had points scored."""
    state = _state_sql("m")
    # Before the flags drop: the rollup takes a retired score away only while it holds it.
    rollup.note_retired(
        connection,
        select(literal_column("m.current_id").label("score_id"))
        .select_from(text(f"{MATCHED} m"))
        .where(text(f"{state} = 1")),
    )
    connection.exec_driver_sql(
        f"UPDATE prediction_scores SET latest = {'0' if sqlite else 'false'} "
        f"WHERE id IN (SELECT m.current_id FROM {MATCHED} m WHERE {state} = 1)"
    )
    before = connection.execute(select(func.coalesce(func.max(PredictionScore.id), 0))).scalar_one()
    now = utcnow()
    stamp = now.strftime(STAMP) if sqlite else now
    connection.execute(
        text(
            f"""
            INSERT INTO prediction_scores
                (point_id, prediction_id, revision, latest, source, actual, error, inside,
                 realised_return, scored_at)
            SELECT m.point_id, m.prediction_id,
                   CASE WHEN m.current_id IS NULL THEN 0 ELSE m.current_revision + 1 END,
                   {_true(sqlite)}, :source, m.actual, m.actual - p.mean, {_inside_sql("m.actual")},
                   m.realised_return, :now
            FROM {MATCHED} m JOIN prediction_points p ON p.id = m.point_id
            WHERE {state} < 2
            ORDER BY m.point_id
            """
        ),
        {"source": source, "now": stamp},
    )
    missed = [
        f"max(CASE WHEN (s.inside & {known}) <> 0 AND (s.inside & {inside}) = 0 THEN 1 ELSE 0 END)"
        f" AS missed_{level}"
        for level in SUPPORTED_LEVELS
        for known, inside in [inside_bits(level)]
    ]
    flags = ", ".join(f"g.missed_{level}" for level in SUPPORTED_LEVELS)
    summary = connection.execute(
        text(
            f"""
            SELECT g.prediction_id, pr.model_name AS model, pr.model_version, pr.dataset_name AS dataset,
                   pr.unique_id, g.points, g.revised, g.mae, {flags}
            FROM (
                SELECT s.prediction_id, count(*) AS points,
                       sum(CASE WHEN s.revision > 0 THEN 1 ELSE 0 END) AS revised,
                       avg(abs(s.error)) AS mae, {", ".join(missed)}
                FROM prediction_scores s
                WHERE s.id > :before AND s.source = :source AND s.scored_at = :now
                GROUP BY s.prediction_id
            ) g JOIN predictions pr ON pr.id = g.prediction_id
            ORDER BY g.prediction_id
            """
        ),
        {"before": before, "source": source, "now": stamp},
    )
    frame = pd.DataFrame(summary.fetchall(), columns=list(summary.keys()))
    publish_outcomes(session, frame, source)
    return len(frame)


def point_scores(session: Session, prediction_id: int) -> pd.DataFrame:
    """Every score of one prediction's points (all revisions), with the derived ones: for
    inspection and tests; accuracy aggregates the same expressions in SQL."""
    columns = per_point.derived()
    query = (
        select(
            PredictionScore.point_id,
            PredictionScore.revision,
            PredictionScore.latest,
            PredictionPoint.step,
            *[expr.label(name) for name, expr in columns.items()],
        )
        .join(PredictionPoint, PredictionPoint.id == PredictionScore.point_id)
        .join(Prediction, Prediction.id == PredictionScore.prediction_id)
        .where(PredictionScore.prediction_id == prediction_id)
        .order_by(PredictionScore.point_id, PredictionScore.revision)
    )
    if session.get_bind().dialect.name == "sqlite":
        per_point.ensure_ln(session.connection().connection.driver_connection)
    result = session.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def winkler(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: int) -> np.ndarray:
    """Interval width plus 2/alpha times how far the actual fell outside (Winkler 1972); the
    same formula as ``derived``'s ``winkler_L``."""
    alpha = 1 - level / 100
    below = np.clip(lo - actual, 0, None)
    above = np.clip(actual - hi, 0, None)
    return (hi - lo) + (2 / alpha) * (below + above)
