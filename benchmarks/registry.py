"""Registry latency at scale: 10,000 models with 100,000 versions in SQLite, over HTTP.

    .venv/bin/python benchmarks/registry.py [--models 10000] [--versions-per-model 10] [--requests 300]

Seeds the registry with set-based inserts, serves Helios, and from this (second) process times
GET /api/v1/ai/models (first pages, later pages by cursor, a stage filter) and
POST /api/v1/ai/models/{name}/deploy (promote a random version active, which archives the
previous one). GET /api/v1/health in the same run is the floor for HTTP + auth overhead.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def seed(home: Path, models: int, per_model: int) -> None:
    from sqlalchemy import insert

    from helios.config import Settings
    from helios.context import AppContext
    from helios.core.clock import utcnow
    from helios.db import migrate
    from helios.registry.tables import Model, ModelVersion

    context = AppContext.build(Settings(home=home))
    migrate.upgrade(context.db.write_engine)
    now = utcnow()
    rng = random.Random(0)
    with context.db.transaction() as session:
        session.execute(
            insert(Model),
            [
                {
                    "name": f"model-{i:05d}",
                    "kind": "ml",
                    "task": rng.choice(["price", "volatility", "draws"]),
                    "description": f"benchmark model {i}",
                    "tags": [],
                    "key_metric": "mase",
                    "created_at": now,
                    "created_by": "bench",
                    "updated_at": now,
                }
                for i in range(models)
            ],
        )
        rows = [
            {
                "model_id": m + 1,
                "version": v,
                "stage": "active" if v == per_model else "none",
                "family": "naive",
                "params": {"season_length": 7},
                "metrics": {"mase": (mase := round(rng.uniform(0.5, 1.5), 4))},
                "key_metric_value": mase,
                "description": "",
                "created_at": now,
                "created_by": "bench",
            }
            for m in range(models)
            for v in range(1, per_model + 1)
        ]
        for start in range(0, len(rows), 20_000):
            session.execute(insert(ModelVersion), rows[start : start + 20_000])
    context.db.dispose()


def timed(client, method: str, paths: list, body_for=None) -> list[float]:  # type: ignore[no-untyped-def]
    timings = []
    for path in paths:
        kwargs = {"json": body_for(path)} if body_for else {}
        start = time.perf_counter()
        response = client.request(method, path if isinstance(path, str) else path[0], **kwargs)
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return timings


def row(label: str, timings: list[float]) -> str:
    return (
        f"| {label} | {len(timings)} | {statistics.median(timings):.1f} ms | "
        f"{np.percentile(timings, 95):.1f} ms | {np.percentile(timings, 99):.1f} ms |"
    )


def main() -> None:
    import httpx
    from tests.live import live_server

    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions-per-model", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        started = time.perf_counter()
        seed(home, args.models, args.versions_per_model)
        seeded = time.perf_counter() - started
        with live_server(home) as url, httpx.Client(base_url=url + "/api/v1", timeout=30) as client:
            client.get("/ai/models")  # warm up
            first = timed(client, "GET", ["/ai/models?limit=50"] * args.requests)
            cursors = []
            for _ in range(args.requests):
                name = f"model-{rng.randrange(args.models):05d}"
                import base64

                cursors.append(
                    "/ai/models?limit=50&cursor="
                    + base64.urlsafe_b64encode(f"after:{name}".encode()).decode()
                )
            later = timed(client, "GET", cursors)
            staged = timed(client, "GET", ["/ai/models?limit=50&stage=active&task=price"] * args.requests)
            targets = [
                f"/ai/models/model-{rng.randrange(args.models):05d}/deploy" for _ in range(args.requests)
            ]
            deploys = timed(
                client,
                "POST",
                targets,
                body_for=lambda _: {"version": rng.randrange(1, args.versions_per_model), "stage": "active"},
            )
            health = timed(client, "GET", ["/health"] * args.requests)
    total_versions = args.models * args.versions_per_model
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite (WAL)")
    print(f"registry: {args.models:,} models, {total_versions:,} versions (seeded in {seeded:.1f} s)")
    print("| request (sequential, over HTTP from a second process) | n | p50 | p95 | p99 |")
    print("|---|---|---|---|---|")
    print(row("GET /api/v1/ai/models?limit=50 (first page)", first))
    print(row("GET /api/v1/ai/models?limit=50&cursor=… (random page)", later))
    print(row("GET /api/v1/ai/models?stage=active&task=price", staged))
    print(row("POST /api/v1/ai/models/{name}/deploy (promote, archive previous)", deploys))
    print(row("floor: GET /api/v1/health", health))


if __name__ == "__main__":
    main()
