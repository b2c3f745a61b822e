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
    from helios.predictions.tables import Prediction

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
    steps = np.tile(np.arange(1, HORIZON + 1), predictions)
    owner = np.repeat(np.arange(predictions), HORIZON)
    mean = 100.0 + rng.normal(size=len(steps))
    half80, half95 = 1.3 * np.sqrt(steps), 2.0 * np.sqrt(steps)
    ds = (origins[owner] + pd.to_timedelta(steps, unit="D")).strftime("%Y-%m-%d %H:%M:%S.000000")
    rows = list(
        zip(
            (owner + 1).tolist(),
            [1] * len(steps),
            np.array(ids)[owner].tolist(),
            steps.tolist(),
            list(ds),
            mean.tolist(),
            (mean - half80).tolist(),
            (mean + half80).tolist(),
            (mean - half95).tolist(),
            (mean + half95).tolist(),
            strict=True,
        )
    )
    sql = (
        "INSERT INTO prediction_points (prediction_id, dataset_id, unique_id, step, ds, mean, lo_80, hi_80, "
        "lo_95, hi_95) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    with context.db.transaction() as session:
        for start in range(0, len(rows), 100_000):
            session.connection().exec_driver_sql(sql, rows[start : start + 100_000])
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
                "INSERT INTO dataset_versions (id, dataset_id, version, content_hash, artifact_key, "
                "size_bytes, "
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


def on_demand(requests: int = 50) -> None:
    """POST /predictions/run for one ticker with a warm model, through the ASGI app (TestClient),
    beside GET /health in the same run as the floor of what any request costs here."""
    import sys

    from fastapi.testclient import TestClient

    from helios.app import create_app

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.predictions.ledger import import_prices, prices, register_model

    home = Path(tempfile.mkdtemp(prefix="helios-bench-http-"))
    app = create_app(Settings(home=home, database_url=f"sqlite:///{home / 'helios.db'}"), ui=False)
    context = app.state.helios
    for name, family in (("walk", "naive"), ("ets", "auto_ets")):
        register_model(context, name, family, prices(300))
    import_prices(context, prices(365))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for model in ("walk", "ets"):
            body = {"dataset": "stocks", "series": "AAA", "models": [model], "horizon": 7}
            client.post("/api/v1/predictions/run", json=body)  # warm: load into the inference cache
            took = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = client.post("/api/v1/predictions/run", json=body)
                assert answer.status_code == 201, answer.text
                took.append(time.perf_counter() - started)
            p50, p95 = 1000 * np.median(took), 1000 * np.percentile(took, 95)
            print(f"on-demand {model}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        floor = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get("/api/v1/health")
            floor.append(time.perf_counter() - started)
        print(f"floor GET /health: p50 {1000 * np.median(floor):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=1_000)
    parser.add_argument("--on-demand", action="store_true", help="only the on-demand latency")
    args = parser.parse_args()
    if args.on_demand:
        on_demand()
        return
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
