"""The forecast ledger's speed targets (issue 10), each step in its own process so its peak memory
is its own:

    nice -n 10 .venv/bin/python benchmarks/ledger.py all --points 1000000 --dir /tmp/ledger/after
    nice -n 10 .venv/bin/python benchmarks/ledger.py on-demand
    nice -n 10 .venv/bin/python benchmarks/ledger.py job --series 1000

``all`` = ``build`` (a ledger of ``points`` prediction points: horizon-10 predictions over
``series`` series, written with bulk inserts as daily runs would leave them; actuals saved beside
it), then ``score`` (a fresh process: the first pass over every point, the same actuals again,
then 1% of the actuals revised), then ``accuracy`` (``GET /api/v1/predictions/accuracy`` through
the ASGI app: one ticker, one model over everything, every series).

The comparison in the same run: point ``PYTHONPATH`` at another checkout's ``src`` (e.g.
``git archive <commit> src | tar -x -C /tmp/old``) and run the same command; ``score_actuals`` and
``accuracy`` keep their signatures, and the ledger is built by that checkout's migrations.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_s() -> float:
    """This process's CPU seconds (user + system): on a shared box, what a step cost, whatever
    the wait for a core added to its wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def say(line: str) -> None:
    print(f"{line}  [load {load()}]", flush=True)


def context_for(db: Path):  # type: ignore[no-untyped-def]
    from helios.config import Settings
    from helios.context import AppContext

    return AppContext.build(Settings(home=db.parent / "home", database_url=f"sqlite:///{db}"))


def percentiles(took: list[float]) -> str:
    return f"p50 {1000 * np.median(took):.1f} ms, p95 {1000 * np.percentile(took, 95):.1f} ms (n={len(took)})"


# --- build ----------------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> None:
    from benchmarks.predictions import build_ledger, seed_references

    from helios.db import migrate

    out = Path(args.dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    context = context_for(out / "ledger.db")
    migrate.upgrade(context.db.write_engine)
    seed_references(context)
    started = time.perf_counter()
    actuals = build_ledger(context, args.points, args.series)
    context.db.dispose()
    actuals.to_pickle(out / "actuals.pkl")
    say(f"build: {args.points:,} points, {len(actuals):,} actuals in {time.perf_counter() - started:.1f} s")


# --- scoring --------------------------------------------------------------------------------------


def score(args: argparse.Namespace) -> None:
    from helios.predictions import rollup, scoring

    out = Path(args.dir)
    context = context_for(out / "ledger.db")
    actuals = pd.read_pickle(out / "actuals.pkl")
    revised = actuals.copy()
    rng = np.random.default_rng(1)
    changed = rng.random(len(revised)) < 0.01
    revised.loc[changed, "y"] += 0.5
    results = {}
    for label, frame in (("first pass", actuals), ("same actuals again", actuals), ("1% revised", revised)):
        started, cpu = time.perf_counter(), cpu_s()
        with context.db.transaction() as session:
            report = scoring.score_actuals(session, frame, dataset_ids=[1], source="bench")
        took = time.perf_counter() - started
        results[label] = took
        say(
            f"scoring, {label}: {took:.2f} s wall, {cpu_s() - cpu:.2f} s cpu {report}; "
            f"peak rss {rss_mb():.0f} MB"
        )
        # What the accuracy-rollup subscriber does after the scoring commit, in its own transaction.
        started, cpu = time.perf_counter(), cpu_s()
        with context.db.transaction() as session:
            moved = rollup.fold(session.connection())
        say(
            f"rollup fold after {label}: {time.perf_counter() - started:.2f} s wall, "
            f"{cpu_s() - cpu:.2f} s cpu, watermark moved over {moved:,} score ids; peak rss {rss_mb():.0f} MB"
        )
    context.db.dispose()


# --- accuracy -------------------------------------------------------------------------------------


def accuracy(args: argparse.Namespace) -> None:
    from fastapi.testclient import TestClient

    from helios.app import create_app
    from helios.config import Settings

    out = Path(args.dir)
    db = out / "ledger.db"
    app = create_app(Settings(home=out / "home", database_url=f"sqlite:///{db}"), ui=False)
    client = TestClient(app, base_url="http://127.0.0.1")  # no lifespan: no workers competing
    cases = [
        ("one ticker (the dashboard's request)", {"ticker": "S0001"}, args.requests),
        ("one ticker, one model version", {"ticker": "S0001", "model": "bench", "version": 1}, args.requests),
        (
            "one model, all series together (the rollup)",
            {"model": "bench", "per_series": "false"},
            args.requests,
        ),
        ("every model, all series together (the rollup)", {"per_series": "false"}, args.requests),
        (
            "one model from a day on (the rollup)",
            {"model": "bench", "per_series": "false", "start": "2025-03-01"},
            args.requests,
        ),
        (
            "one model up to a time (every point)",
            {"model": "bench", "per_series": "false", "end": "2025-03-01T12:00:00"},
            3,
        ),
        ("every model and series, per series (every point)", {}, 3),
    ]
    for label, params, requests in cases:
        client.get("/api/v1/predictions/accuracy", params=params)  # warm: caches, pages
        took, cpu = [], cpu_s()
        for _ in range(requests):
            started = time.perf_counter()
            answer = client.get("/api/v1/predictions/accuracy", params=params)
            took.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        body = answer.json()
        say(
            f"accuracy, {label}: {percentiles(took)}, "
            f"{1000 * (cpu_s() - cpu) / requests:.1f} ms cpu/request; "
            f"{body['scored_points']:,} scored points, "
            f"{len(body['groups'])} group(s); peak rss {rss_mb():.0f} MB"
        )
    floor = []
    for _ in range(args.requests):
        started = time.perf_counter()
        client.get("/api/v1/health")
        floor.append(time.perf_counter() - started)
    say(f"floor GET /api/v1/health: {percentiles(floor)}")


def run_all(args: argparse.Namespace) -> None:
    """Each step in a fresh interpreter, so ``ru_maxrss`` is that step's own peak."""
    common = ["--dir", args.dir, "--points", str(args.points), "--series", str(args.series)]
    for step in ("build", "score", "accuracy"):
        subprocess.run(
            [sys.executable, __file__, step, *common, "--requests", str(args.requests)], check=True
        )


# --- on-demand over HTTP ----------------------------------------------------------------------------


def serve(app, port: int):  # type: ignore[no-untyped-def]
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread


def on_demand(args: argparse.Namespace) -> None:
    """POST /predictions/run for one ticker with the model warm in the inference cache, over a
    real socket (uvicorn in this process, httpx with keep-alive), beside GET /health."""
    import httpx
    from tests.predictions.ledger import import_prices, prices, register_model

    from helios.app import create_app
    from helios.config import Settings

    home = Path(tempfile.mkdtemp(prefix="helios-bench-http-"))
    app = create_app(Settings(home=home, database_url=f"sqlite:///{home / 'helios.db'}"), ui=False)
    context = app.state.helios
    tickers = tuple(f"T{i:03d}" for i in range(args.tickers))
    for name, family in (("walk", "naive"), ("ets", "auto_ets")):
        register_model(context, name, family, prices(300, tickers=tickers))
    import_prices(context, prices(365, tickers=tickers))
    server, thread = serve(app, args.port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60) as client:
            for model in ("walk", "ets"):
                body = {"dataset": "stocks", "series": tickers[1], "models": [model], "horizon": 7}
                client.post("/api/v1/predictions/run", json=body)  # warm: load into the inference cache
                took, cpu = [], cpu_s()
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = client.post("/api/v1/predictions/run", json=body)
                    took.append(time.perf_counter() - started)
                    assert answer.status_code == 201, answer.text
                say(
                    f"on-demand {model} ({len(tickers)} series in the dataset, 365 days): "
                    f"{percentiles(took)}, "
                    f"{1000 * (cpu_s() - cpu) / args.requests:.1f} ms cpu/request (client and server)"
                )
            floor = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get("/api/v1/health")
                floor.append(time.perf_counter() - started)
            say(f"floor GET /api/v1/health: {percentiles(floor)}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- a run over many series as a job -------------------------------------------------------------------


def job(args: argparse.Namespace) -> None:
    """POST /predictions/run with series 'all' (a queued run), done by the server's
    PredictionWorker; end to end from the POST to the run's 'succeeded'."""
    from fastapi.testclient import TestClient
    from tests.predictions.ledger import import_prices, prices, register_model

    from helios.app import create_app
    from helios.config import Settings

    home = Path(tempfile.mkdtemp(prefix="helios-bench-job-"))
    app = create_app(Settings(home=home, database_url=f"sqlite:///{home / 'helios.db'}"), ui=False)
    context = app.state.helios
    tickers = tuple(f"S{i:04d}" for i in range(args.series))
    started = time.perf_counter()
    register_model(context, "walk", args.family, prices(300, tickers=tickers))
    import_prices(context, prices(365, tickers=tickers))
    say(
        f"job setup: {args.series} series x 365 days, {args.family} fitted "
        f"in {time.perf_counter() - started:.1f} s"
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:  # lifespan: the worker runs
        body = {"dataset": "stocks", "series": "all", "models": ["walk"], "horizon": 7}
        started, cpu = time.perf_counter(), cpu_s()
        answer = client.post("/api/v1/predictions/run", json=body)
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run"]["id"]
        while True:
            run = client.get(f"/api/v1/predictions/runs/{run_id}").json()
            if run["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        took = time.perf_counter() - started
    say(
        f"job: {run['series_done']}/{run['series_total']} series, {run['predictions']} predictions, "
        f"{run['status']} in {took:.1f} s end to end, {cpu_s() - cpu:.1f} s cpu; peak rss {rss_mb():.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["all", "build", "score", "accuracy", "on-demand", "job"])
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "helios-ledger-bench"))
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--tickers", type=int, default=2, help="on-demand: series in the dataset")
    parser.add_argument("--family", default="naive", help="job: the model family")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    import helios.predictions.scoring as code

    say(f"{args.step}: helios from {Path(code.__file__).parents[2]}; {json.dumps(vars(args))}")
    {
        "all": run_all,
        "build": build,
        "score": score,
        "accuracy": accuracy,
        "on-demand": on_demand,
        "job": job,
    }[args.step](args)


if __name__ == "__main__":
    main()
