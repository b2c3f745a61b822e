"""Training jobs: metric ingestion into SQLite, and epoch end -> point on the live stream.

    .venv/bin/python benchmarks/training.py [--points 200000] [--epochs 60]

1. Ingestion: the JobReporter's write path (one multi-row INSERT per epoch, in its own
   transaction, as a running job does), with a realistic 50 metrics per epoch and with one
   big batch; beside it, raw sqlite3 executemany of the same rows as the floor.
2. Latency: `helios serve` (one worker process) trains a real nbeats job; this process reads
   /api/v1/ml/jobs/{id}/metrics/stream and, for every point, takes (time received - time the
   epoch's row was written). Both clocks are this machine's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def ingestion(points: int, per_epoch: int) -> tuple[float, float]:
    from tests.training.conftest import prices_csv

    from helios.config import Settings
    from helios.context import AppContext
    from helios.core.auth import LOCAL_USER
    from helios.datasets import service as datasets
    from helios.datasets.schemas import ImportRequest
    from helios.db import migrate
    from helios.training import service
    from helios.training.schemas import JobCreate

    with tempfile.TemporaryDirectory() as tmp:
        context = AppContext.build(Settings(home=Path(tmp)))
        migrate.upgrade(context.db.write_engine)
        with context.db.transaction() as session:
            datasets.import_file(
                session, context.store, ImportRequest(name="p"), prices_csv(), LOCAL_USER, max_bytes=10**7
            )
            job_id = service.create_job(session, JobCreate(dataset="p", family="naive"), LOCAL_USER).id
        epochs = points // per_epoch
        started = time.perf_counter()
        for epoch in range(epochs):
            points = [(epoch, f"m{i}", float(i)) for i in range(per_epoch)]
            with context.db.transaction() as session:
                service.record_metrics(session, job_id, points)
        helios_rate = epochs * per_epoch / (time.perf_counter() - started)
        raw = sqlite3.connect(Path(tmp) / "raw.db")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE m (job_id INT, step INT, name TEXT, value REAL, at TEXT)")
        started = time.perf_counter()
        for epoch in range(epochs):
            stamp = dt.datetime.now(dt.UTC).isoformat()
            raw.executemany(
                "INSERT INTO m VALUES (?,?,?,?,?)",
                [(1, epoch, f"m{i}", float(i), stamp) for i in range(per_epoch)],
            )
            raw.commit()
        raw_rate = epochs * per_epoch / (time.perf_counter() - started)
        context.db.dispose()
    return helios_rate, raw_rate


def stream_latency(epochs: int) -> list[float]:
    import httpx
    from tests.live import live_server
    from tests.training.conftest import prices_csv

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        with (
            live_server(home, env={"HELIOS_WORKERS": "1"}) as url,
            httpx.Client(base_url=url, timeout=120) as client,
        ):
            client.post(
                "/api/v1/datasets",
                data={"name": "p"},
                files={"file": ("p.csv", prices_csv(series=4, days=400))},
            )
            job = client.post(
                "/api/v1/ml/train",
                json={
                    "dataset": "p",
                    "family": "nbeats",
                    "validation": {"horizon": 7, "refit": False},
                    "hyperparameters": {
                        "epochs": epochs,
                        "hidden_size": 32,
                        "layers": 2,
                        "blocks": 1,
                        "steps_per_epoch": 4,
                        "batch_size": 32,
                        "horizon": 7,
                        "input_multiple": 2,
                    },
                },
            ).json()
            return _read_stream(client, job["id"])


def _read_stream(client, job_id: int) -> list[float]:  # type: ignore[no-untyped-def]
    delays = []
    with client.stream("GET", f"/api/v1/ml/jobs/{job_id}/metrics/stream") as response:
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "metric":
                received = dt.datetime.now(dt.UTC)
                written = dt.datetime.fromisoformat(json.loads(line[6:])["at"])
                if written.tzinfo is None:
                    written = written.replace(tzinfo=dt.UTC)
                delays.append((received - written).total_seconds() * 1000)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    per_epoch_rate, per_epoch_raw = ingestion(args.points, 50)
    batch_rate, batch_raw = ingestion(args.points, 5000)
    delays = stream_latency(args.epochs)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite (WAL)")
    print(
        "| metric ingestion into SQLite | Helios (record_metrics, one transaction per batch) "
        "| floor: raw sqlite3 |"
    )
    print("|---|---|---|")
    for label, rate, raw in (
        ("50 per epoch", per_epoch_rate, per_epoch_raw),
        ("5,000 per batch", batch_rate, batch_raw),
    ):
        print(f"| {args.points:,} points, {label} | {rate:,.0f} points/s | {raw:,.0f} points/s |")
    print()
    title = f"epoch end -> point on /metrics/stream ({len(delays)} points, {args.epochs} epochs)"
    print(f"| {title} | p50 | p95 | max |")
    print("|---|---|---|---|")
    print(
        f"| nbeats job in a `helios serve` worker | {statistics.median(delays):.0f} ms | "
        f"{np.percentile(delays, 95):.0f} ms | {max(delays):.0f} ms |"
    )


if __name__ == "__main__":
    main()
