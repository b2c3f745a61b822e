"""Train the global ``nbeats`` family on all 359 M4 weekly series and score it as M4 did.

    .venv/bin/python benchmarks/neural_m4.py                      # defaults of the family
    .venv/bin/python benchmarks/neural_m4.py --set members=3 --set epochs=40

Prints sMAPE, MASE (m=1), OWA against the official Naive2 (weekly sMAPE 9.161, MASE 2.777), the
coverage of the 80%/95% intervals, MSIS, and the wall and CPU time of fit + predict. Data:
``$HELIOS_SHARED_DATA/m4-weekly`` or ``<repo>/../shared/data/m4-weekly``; without it the script
says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HELIOS_SHARED_DATA") or REPO.parent / "shared" / "data") / "m4-weekly"
HORIZON = 13
NAIVE2 = {"smape": 9.161, "mase": 2.777}  # official M4 weekly Naive2 scores


def load_m4_weekly(folder: Path) -> tuple[pd.DataFrame, np.ndarray, list[np.ndarray]]:
    """Long training frame (weekly stamps invented: M4 gives none), test matrix, raw train arrays."""
    train = pd.read_csv(folder / "Weekly-train.csv", index_col=0)
    test = pd.read_csv(folder / "Weekly-test.csv", index_col=0).to_numpy(dtype=float)
    series = [row[~np.isnan(row)] for row in train.to_numpy(dtype=float)]
    frames = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "y": y,
                "ds": pd.date_range(end="2018-12-30", periods=len(y), freq="W-SUN"),
            }
        )
        for uid, y in zip(train.index, series, strict=True)
    ]
    return pd.concat(frames, ignore_index=True)[["unique_id", "ds", "y"]], test, series


def score(forecast: pd.DataFrame, test: np.ndarray, series: list[np.ndarray]) -> dict[str, float]:
    """M4's scores (metrics.py): averages over series of sMAPE, MASE (m=1), MSIS and coverage;
    OWA from the averages. ``forecast`` rows in the order of the M4 files."""
    from helios.forecasting import metrics

    per_series: dict[str, list[float]] = {
        "smape": [],
        "mase": [],
        "msis": [],
        "coverage_80": [],
        "coverage_95": [],
    }
    for i, (history, y) in enumerate(zip(series, test, strict=True)):
        rows = forecast.iloc[i * HORIZON : (i + 1) * HORIZON]
        point = rows["mean"].to_numpy()
        per_series["smape"].append(metrics.smape(y, point))
        per_series["mase"].append(metrics.mase(y, point, history, m=1))
        per_series["msis"].append(metrics.msis(y, rows["lo-95"], rows["hi-95"], history, m=1))
        for level in (80, 95):
            per_series[f"coverage_{level}"].append(
                metrics.coverage(y, rows[f"lo-{level}"], rows[f"hi-{level}"])
            )
    result = {name: float(np.mean(values)) for name, values in per_series.items()}
    result["owa"] = metrics.owa(result["smape"], result["mase"], NAIVE2["smape"], NAIVE2["mase"])
    return result


def naive_check(test: np.ndarray, series: list[np.ndarray]) -> dict[str, float]:
    """Our own Naive (= Naive2 for weekly, m=1): should reproduce the official 9.161 / 2.777."""
    last = np.repeat([y[-1] for y in series], HORIZON)
    frame = pd.DataFrame({"mean": last, "lo-80": last, "hi-80": last, "lo-95": last, "hi-95": last})
    return {k: round(v, 3) for k, v in score(frame, test, series).items() if k in ("smape", "mase")}


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    overrides: dict[str, object] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        try:
            overrides[key] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key] = raw
    return overrides


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="hyperparameter")
    # One thread by default: on a 2-core box shared with other work, two OpenMP threads spin-wait on
    # each other (measured: 8x the CPU time for the same, bit-identical result).
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    if not (DATA / "Weekly-train.csv").is_file():
        print(f"M4 weekly data not found in {DATA}; skipping (set HELIOS_SHARED_DATA to the data folder)")
        return 0

    import torch

    from helios.forecasting.base import DataSpec, FitContext
    from helios.forecasting.callbacks import MetricsRecorder
    from helios.forecasting.families import get_family

    torch.set_num_threads(args.threads)
    train, test, series = load_m4_weekly(DATA)
    family = get_family("nbeats")
    config = family.parse_config({"horizon": HORIZON, **parse_overrides(args.set)})
    recorder = MetricsRecorder()
    started, cpu_started = time.perf_counter(), time.process_time()
    fitted = family.fit(train, config, DataSpec(freq="W-SUN"), FitContext(callbacks=[recorder]))
    fit_seconds = time.perf_counter() - started
    forecast = fitted.predict(HORIZON, levels=(80, 95))
    order = {uid: i for i, uid in enumerate(dict.fromkeys(train["unique_id"]))}
    forecast = forecast.sort_values("unique_id", key=lambda ids: ids.map(order), kind="stable")
    total_seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    result = {k: round(v, 4) for k, v in score(forecast, test, series).items()}
    # CPU seconds too: on a shared box the wall time says as much about the neighbours as about us.
    result |= {"fit_s": round(fit_seconds, 1), "fit_predict_s": round(total_seconds, 1)}
    result |= {"cpu_s": round(cpu_seconds, 1), "threads": args.threads}
    result |= {key: recorder.summary.get(key) for key in ("epochs_run", "best_epoch")}
    report = {"config": parse_overrides(args.set), "naive_check": naive_check(test, series), **result}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
