"""Scoring and accuracy over a large ledger, on SQLite in a temp home.

    nice -n 10 .venv/bin/python benchmarks/predictions.py --points 1000000

Builds ``points`` prediction points (predictions of horizon 10 over 1,000 series, written with
bulk inserts, as a year of daily runs would leave them), then times: scoring them all against
new actuals (first pass), the same actuals again (idempotent pass: nothing changes), and the
accuracy report (per model version and series) over everything scored. Peak RSS is the
process's high-water mark (ru_maxrss) after each step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert

from helios.config import Settings
from helios.context import AppContext
from helios.db import migrate

HORIZON = 10


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_ledger(context: AppContext, points: int, series: int) -> pd.DataFrame:
    """Rows straight into the tables (the run path is measured elsewhere); returns the actuals."""
    from helios.predictions.tables import Prediction, PredictionPoint

    predictions = points // HORIZON
    origins = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(predictions) // series, unit="D")
    ids = [f"S{i % series:04d}" for i in range(predictions)]
    rng = np.random.default_rng(0)
    with context.db.transaction() as session:
        session.execute(
            insert(Prediction),
            [
                {
                    "id": i + 1,
                    "model_name": "bench",
                    "model_version": 1,
                    "model_version_id": 1,
                    "family": "naive",
                    "task": "timeseries",
                    "dataset_id": 1,
                    "dataset_name": "bench",
                    "dataset_version": 1,
                    "dataset_version_id": 1,
                    "unique_id": ids[i],
                    "origin": origins[i].to_pydatetime(),
                    "origin_value": 100.0,
                    "naive_scale": 1.0,
                    "horizon": HORIZON,
                    "levels": [80, 95],
                    "start_mode": "state_updated",
                    "trigger": "api",
                    "created_by": "bench",
                }
                for i in range(predictions)
            ],
        )
        batch = []
        for i in range(predictions):
            for step in range(1, HORIZON + 1):
                mean = 100.0 + rng.normal()
                batch.append(
                    {
                        "prediction_id": i + 1,
                        "dataset_id": 1,
                        "unique_id": ids[i],
                        "step": step,
                        "ds": (origins[i] + pd.Timedelta(days=step)).to_pydatetime(),
                        "mean": mean,
                        "lo_80": mean - 1.3 * step**0.5,
                        "hi_80": mean + 1.3 * step**0.5,
                        "lo_95": mean - 2.0 * step**0.5,
                        "hi_95": mean + 2.0 * step**0.5,
                    }
                )
            if len(batch) >= 50_000:
                session.execute(insert(PredictionPoint), batch)
                batch = []
        if batch:
            session.execute(insert(PredictionPoint), batch)
    days = pd.date_range("2025-01-01", origins.max() + pd.Timedelta(days=HORIZON), freq="D")
    grid = pd.MultiIndex.from_product([sorted(set(ids)), days], names=["unique_id", "ds"]).to_frame(
        index=False
    )
    grid["y"] = 100.0 + rng.normal(size=len(grid))
    return grid


def seed_references(context: AppContext) -> None:
    """A dataset, version and model version for the foreign keys to point at."""
    from sqlalchemy import text

    with context.db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO datasets (id, name, kind, description, created_at, created_by) "
                "VALUES (1, 'bench', 'timeseries', '', CURRENT_TIMESTAMP, 'bench')"
            )
        )
        session.execute(
            text(
                "INSERT INTO dataset_versions (id, dataset_id, version, content_hash, artifact_key, size_bytes, "
                "rows, "
                "series_count, source_format, source_filename, profile, created_at, created_by) VALUES "
                "(1, 1, 1, 'x', 'x', 0, 0, 0, 'csv', '', '{}', CURRENT_TIMESTAMP, 'bench')"
            )
        )
        session.execute(
            text(
                "INSERT INTO models (id, name, kind, task, description, tags, created_at, created_by, "
                "updated_at) VALUES (1, 'bench', 'ml', 'price', '', '[]', CURRENT_TIMESTAMP, 'bench', "
                "CURRENT_TIMESTAMP)"
            )
        )
        session.execute(
            text(
                "INSERT INTO model_versions (id, model_id, version, stage, params, metrics, description, "
                "created_at, created_by) VALUES (1, 1, 1, 'none', '{}', '{}', '', CURRENT_TIMESTAMP, "
                "'bench')"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=1_000)
    args = parser.parse_args()
    from helios.predictions import accuracy, scoring

    home = Path(tempfile.mkdtemp(prefix="helios-bench-"))
    context = AppContext.build(Settings(home=home, database_url=f"sqlite:///{home / 'helios.db'}"))
    migrate.upgrade(context.db.write_engine)
    seed_references(context)
    started = time.perf_counter()
    actuals = build_ledger(context, args.points, args.series)
    print(f"built {args.points:,} points in {time.perf_counter() - started:.1f} s; rss {rss_mb():.0f} MB")
    for label in ("first pass", "same actuals again"):
        started = time.perf_counter()
        with context.db.transaction() as session:
            report = scoring.score_actuals(session, actuals, dataset_ids=[1], source="bench")
        print(f"scoring, {label}: {time.perf_counter() - started:.2f} s {report}; peak rss {rss_mb():.0f} MB")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        with context.db.reading() as session:
            result = accuracy.accuracy(session, model="bench", unique_id="S0001")
        timings.append(time.perf_counter() - started)
    print(
        f"accuracy, one series ({result.scored_points:,} points): median {1000 * np.median(timings):.0f} ms"
    )
    started = time.perf_counter()
    with context.db.reading() as session:
        result = accuracy.accuracy(session, model="bench", per_series=False)
    print(
        f"accuracy, all {result.scored_points:,} points: {time.perf_counter() - started:.2f} s; "
        f"peak rss {rss_mb():.0f} MB; at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )


if __name__ == "__main__":
    main()
