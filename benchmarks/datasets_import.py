"""Import of a 1,000,000-row long-format CSV, and the data endpoint's latency on it.

    .venv/bin/python benchmarks/datasets_import.py [--rows 1000000] [--requests 400]

1. Writes a CSV of 100 series x 10,000 daily rows (unique_id, ds, y, volume).
2. Imports it through the service (what `helios datasets import` and the API call) in a fresh
   process, measuring wall time and that process's peak RSS; beside it, in the same run, a bare
   `pandas.read_csv` of the same file in its own process, as the floor to compare against.
3. Serves Helios on it and times GET /api/v1/datasets/{name}/versions/1/data from this (second)
   process: pages of 500 rows with a series filter and a date range, against /api/v1/health as the
   HTTP floor.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def write_csv(path: Path, rows: int) -> None:
    series = 100
    per = rows // series
    rng = np.random.default_rng(0)
    stamps = pd.date_range("1995-01-01", periods=per, freq="D")
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat([f"T{i:03d}" for i in range(series)], per),
            "ds": np.tile(stamps, series),
            "y": (100 + rng.standard_normal(series * per).cumsum()).round(4),
            "volume": rng.integers(1_000, 1_000_000, series * per),
        }
    )
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")


IMPORT = """
import resource, sys, time, json
from pathlib import Path
from helios.context import AppContext
from helios.config import Settings
from helios.core.auth import LOCAL_USER
from helios.datasets import service
from helios.datasets.schemas import ImportRequest
from helios.db import migrate
ctx = AppContext.build(Settings(home=Path(sys.argv[2])))
migrate.upgrade(ctx.db.write_engine)
start = time.perf_counter()
raw = Path(sys.argv[1]).read_bytes()
with ctx.db.transaction() as session:
    _, version, _ = service.import_file(session, ctx.store, ImportRequest(name="bench"), raw, LOCAL_USER,
                                        max_bytes=1 << 31)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": version.rows}))
"""

READ_CSV = """
import resource, sys, time, json
import pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1], engine="pyarrow")
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": len(frame)}))
"""


def run_python(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def time_requests(url: str, paths: list[str]) -> list[float]:
    import httpx

    with httpx.Client(base_url=url, timeout=30) as client:
        client.get(paths[0])  # warm the cache of the version's table
        timings = []
        for path in paths:
            start = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    return timings


def endpoint_latency(home: Path, requests: int) -> tuple[list[float], list[float]]:
    from tests.live import live_server

    rng = np.random.default_rng(1)
    paths = []
    for _ in range(requests):
        series = f"T{rng.integers(0, 100):03d}"
        day = pd.Timestamp("1995-01-01") + pd.Timedelta(days=int(rng.integers(0, 9000)))
        offset = int(rng.integers(0, 3)) * 500
        paths.append(
            f"/api/v1/datasets/bench/versions/1/data?series={series}&start={day.date()}"
            f"&limit=500&offset={offset}"
        )
    with live_server(home):
        pass  # started once to prove it comes up; measure below on a fresh one with the warm OS cache
    with live_server(home) as url:
        data = time_requests(url, paths)
        health = time_requests(url, ["/api/v1/health"] * requests)
    return data, health


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        csv = tmp_path / "long.csv"
        write_csv(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        home = tmp_path / "home"
        floor = run_python(READ_CSV, str(csv))
        result = run_python(IMPORT, str(csv), str(home))
        data, health = endpoint_latency(home, args.requests)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"file: {args.rows:,} rows, {size_mb:.1f} MB CSV")
    print("| step | wall time | peak RSS |")
    print("|---|---|---|")
    print(
        f"| Helios import (parse, validate, profile, hash, Parquet, DB) | {result['seconds']:.2f} s "
        f"| {result['rss_mb']:.0f} MB |"
    )
    print(
        f"| floor: bare pandas.read_csv(engine=pyarrow) | {floor['seconds']:.2f} s "
        f"| {floor['rss_mb']:.0f} MB |"
    )
    print()
    print(f"| endpoint ({args.requests} requests, sequential, over HTTP) | p50 | p95 | p99 |")
    print("|---|---|---|---|")
    for label, timings in (
        ("GET .../versions/1/data (500 rows, series + date filter)", data),
        ("floor: GET /api/v1/health", health),
    ):
        print(
            f"| {label} | {statistics.median(timings):.1f} ms | {percentile(timings, 95):.1f} ms "
            f"| {percentile(timings, 99):.1f} ms |"
        )


if __name__ == "__main__":
    main()
