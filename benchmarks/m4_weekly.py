"""Every forecasting family on the 359 M4 weekly series, scored as M4 scored them.

    .venv/bin/python benchmarks/m4_weekly.py                                  # every family
    .venv/bin/python benchmarks/m4_weekly.py --families naive,ensemble --limit 50
    .venv/bin/python benchmarks/m4_weekly.py --config '{"auto_ets": {"window": 260}}'
    .venv/bin/python benchmarks/m4_weekly.py --config-file benchmarks/m4_weekly_config.json   # the tuned run

``--families`` takes ``family@label`` for a variant of a family configured under that label.
``--half choice`` keeps the series at even positions (0, 2, ...; 180 series), ``--half holdout``
the odd ones (179): choose settings on one, report the other.

Horizon 13. Metrics as M4: sMAPE, MASE with m=1, OWA against Naive2 (computed here on the same
series; on all 359 it equals the official 9.161 / 2.777), MSIS and coverage of the 95% interval.
Families see a ``DataSpec`` with ``--season`` (default 52: a year of weeks; M4 scored weekly
data with m=1, which only concerns the metrics). The official Naive2, Theta, overall winner and
best weekly submission are read from ``M4_eval_*.csv`` and printed alongside. Wall and CPU time
cover fit + predict of each family. Results go to stdout and, as markdown, to ``--markdown``.

Data: ``$HELIOS_SHARED_DATA/m4-weekly`` or ``<repo>/../shared/data/m4-weekly``; without it the
script says so and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HORIZON = 13
MASE_SEASON = 1  # M4's convention for weekly data
LEVEL = 95
EXCLUDED_TASKS = ("draws", "volatility")
REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("HELIOS_SHARED_DATA") or REPO.parent / "shared" / "data")


def m4_weekly_dir() -> Path | None:
    folder = shared_data_dir() / "m4-weekly"
    return (
        folder if (folder / "Weekly-train.csv").is_file() and (folder / "Weekly-test.csv").is_file() else None
    )


@dataclass
class M4Weekly:
    train: pd.DataFrame  # long: unique_id, ds, y
    test: np.ndarray  # (series, 13), same order as ``ids``
    histories: list[np.ndarray]
    ids: list[str]


def load_m4_weekly(folder: Path, limit: int | None = None, half: str | None = None) -> M4Weekly:
    """The wide M4 files as a long frame. M4 gives no dates: weekly stamps ending 2018-12-30
    are invented (as benchmarks/neural_m4.py does), so every family sees a regular weekly series.
    ``half``: "choice" keeps the series at even positions, "holdout" the odd ones."""
    train = pd.read_csv(folder / "Weekly-train.csv", index_col=0, nrows=limit)
    test = pd.read_csv(folder / "Weekly-test.csv", index_col=0, nrows=limit)
    if half is not None:
        first = {"choice": 0, "holdout": 1}[half]
        train, test = train.iloc[first::2], test.iloc[first::2]
    histories = [row[~np.isnan(row)] for row in train.to_numpy(dtype=float)]
    ids = [str(uid) for uid in train.index]
    lengths = np.array([len(y) for y in histories])
    weeks_before_end = np.concatenate([np.arange(n - 1, -1, -1) for n in lengths])
    long = pd.DataFrame(
        {
            "unique_id": np.repeat(ids, lengths),
            "ds": pd.Timestamp("2018-12-30") - pd.to_timedelta(weeks_before_end * 7, unit="D"),
            "y": np.concatenate(histories),
        }
    )
    return M4Weekly(long, test.to_numpy(dtype=float)[:, :HORIZON], histories, ids)


# --- scoring -------------------------------------------------------------------------------------


def forecast_matrix(forecast: pd.DataFrame, ids: list[str], column: str) -> np.ndarray:
    table = forecast.assign(step=forecast.groupby("unique_id", sort=False).cumcount())
    wide = table.pivot(index="unique_id", columns="step", values=column)
    return wide.reindex(index=ids, columns=range(HORIZON)).to_numpy(dtype=float)


def score(forecast: pd.DataFrame, data: M4Weekly) -> dict[str, float]:
    """Per-series M4 metrics, averaged over series (OWA is added by the caller)."""
    from helios.forecasting import metrics

    mean = forecast_matrix(forecast, data.ids, "mean")
    result = {
        "smape": np.mean([metrics.smape(y, f) for y, f in zip(data.test, mean, strict=True)]),
        "mase": np.mean(
            [
                metrics.mase(y, f, h, MASE_SEASON)
                for y, f, h in zip(data.test, mean, data.histories, strict=True)
            ]
        ),
    }
    if {f"lo-{LEVEL}", f"hi-{LEVEL}"} <= set(forecast.columns):
        lo, hi = (
            forecast_matrix(forecast, data.ids, f"lo-{LEVEL}"),
            forecast_matrix(forecast, data.ids, f"hi-{LEVEL}"),
        )
        result["msis"] = np.mean(
            [
                metrics.msis(y, a, b, h, MASE_SEASON)
                for y, a, b, h in zip(data.test, lo, hi, data.histories, strict=True)
            ]
        )
        result["coverage"] = metrics.coverage(data.test.ravel(), lo.ravel(), hi.ravel())
    return {name: float(value) for name, value in result.items()}


def naive2_reference(data: M4Weekly) -> dict[str, float]:
    """M4's Naive2 for weekly data (seasonal test at m=1, so the plain naive) on these series."""
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family

    family = get_family("naive2")
    fitted = family.fit(
        data.train, family.parse_config({}), DataSpec(freq="W-SUN", season_length=MASE_SEASON)
    )
    return score(fitted.predict(HORIZON, (LEVEL,)), data)


# --- running families ----------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    scores: dict[str, float]
    wall_s: float
    cpu_s: float
    error: str | None = None


def run_family(name: str, data: M4Weekly, season: int, config: dict[str, Any]) -> Outcome:
    from helios.forecasting.base import DataSpec, ForecastingError
    from helios.forecasting.families import get_family

    family = get_family(name.split("@", 1)[0])  # "family@label": a variant with its own --config entry
    spec = DataSpec(freq="W-SUN", season_length=season)
    raw = dict(config)
    if "horizon" in family.Config.model_fields and "horizon" not in raw:
        raw["horizon"] = HORIZON
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        forecast = family.fit(data.train, family.parse_config(raw), spec).predict(HORIZON, (80, LEVEL))
    except (ForecastingError, RuntimeError, ValueError) as exc:
        return Outcome(
            name, {}, time.perf_counter() - wall, time.process_time() - cpu, f"{type(exc).__name__}: {exc}"
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Outcome(name, score(forecast, data), wall, cpu)


def default_families() -> list[str]:
    from helios.forecasting.families import list_families

    return [
        f.name for f in list_families() if f.task in ("price", "timeseries") and f.task not in EXCLUDED_TASKS
    ]


# --- official results ----------------------------------------------------------------------------


@dataclass
class OfficialRow:
    label: str
    smape: float | None
    mase: float | None
    owa: float | None
    msis: float | None
    coverage: float | None


def official_rows(folder: Path) -> list[OfficialRow]:
    points = list(csv.reader((folder / "M4_eval_point_forecasts_frequency.csv").open(encoding="utf-8")))
    intervals = list(
        csv.reader((folder / "M4_eval_prediction_intervals_frequency.csv").open(encoding="utf-8"))
    )
    methods = {
        row[0]: f"{row[2]} {row[3]}"
        for row in csv.reader((folder / "M4_eval_methods.csv").open(encoding="utf-8"))
    }
    # Row 0 names the metric blocks (sMAPE, MASE, OWA / MSIS, ACD); Weekly is the 4th column of a block.
    point_at = {name: points[0].index(name) + 3 for name in ("sMAPE", "MASE", "OWA")}
    interval_at = {name: intervals[0].index(name) + 3 for name in ("MSIS", "ACD")}
    point = {
        row[0]: row for row in points[2:] if len(row) > point_at["OWA"] and _number(row[point_at["OWA"]])
    }
    interval = {
        row[0]: row
        for row in intervals[2:]
        if len(row) > interval_at["ACD"] and _number(row[interval_at["MSIS"]])
    }
    best_weekly = min(
        (key for key in point if key.isdigit()), key=lambda key: float(point[key][point_at["OWA"]])
    )
    winner = next(
        row[0]
        for row in csv.reader((folder / "M4_eval_methods.csv").open(encoding="utf-8"))
        if row[-2] == "1"
    )
    wanted = [
        ("Naive2", "M4 Naive2"),
        ("Theta", "M4 Theta"),
        (winner, f"M4 winner ({methods.get(winner, winner)})"),
        (best_weekly, f"M4 best weekly OWA ({methods.get(best_weekly, best_weekly)})"),
    ]
    rows = []
    for key, label in wanted:
        p, i = point.get(key), interval.get(key)
        acd = _number(i[interval_at["ACD"]]) if i else None
        rows.append(
            OfficialRow(
                label,
                _number(p[point_at["sMAPE"]]) if p else None,
                _number(p[point_at["MASE"]]) if p else None,
                _number(p[point_at["OWA"]]) if p else None,
                _number(i[interval_at["MSIS"]]) if i else None,
                None if acd is None else acd,  # ACD is |coverage - 0.95|: the side is not published
            )
        )
    return rows


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# --- output --------------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def markdown_table(outcomes: list[Outcome], reference: dict[str, float], official: list[OfficialRow]) -> str:
    lines = [
        "| model | sMAPE | MASE | OWA | MSIS | 95% coverage | fit+predict wall s | CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in sorted(outcomes, key=lambda o: (o.error is not None, owa(o.scores, reference) or np.inf)):
        if o.error:
            lines.append(f"| {o.name} | failed: {o.error[:80]} | | | | | {o.wall_s:.1f} | {o.cpu_s:.1f} |")
            continue
        s = o.scores
        lines.append(
            f"| {o.name} | {_cell(s['smape'])} | {_cell(s['mase'])} | {_cell(owa(s, reference))} | "
            f"{_cell(s.get('msis'))} | {_cell(s.get('coverage'))} | {o.wall_s:.1f} | {o.cpu_s:.1f} |"
        )
    for row in official:
        coverage = "—" if row.coverage is None else f"ACD {row.coverage:.3f}"
        lines.append(
            f"| *{row.label}* | {_cell(row.smape)} | {_cell(row.mase)} | {_cell(row.owa)} | "
            f"{_cell(row.msis)} | {coverage} | — | — |"
        )
    return "\n".join(lines)


def owa(scores: dict[str, float], reference: dict[str, float]) -> float | None:
    from helios.forecasting.metrics import owa as m4_owa

    if "smape" not in scores:
        return None
    return m4_owa(scores["smape"], scores["mase"], reference["smape"], reference["mase"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--families", help="comma-separated family names, 'family@label' for variants (default: every family)"
    )
    parser.add_argument("--limit", type=int, help="only the first N series (default: all 359)")
    parser.add_argument(
        "--half", choices=["choice", "holdout"], help="only the even (choice) or odd (holdout) series"
    )
    parser.add_argument("--season", type=int, default=52, help="season length the families see (default 52)")
    parser.add_argument(
        "--config", default="{}", help="JSON {family or family@label: {hyperparameter: value}}"
    )
    parser.add_argument("--config-file", type=Path, help="the same JSON, read from a file")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = m4_weekly_dir()
    if folder is None:
        print(f"M4 weekly data not found under {shared_data_dir()}; set HELIOS_SHARED_DATA. Nothing to do.")
        return 0
    sys.path.insert(0, str(REPO / "src"))
    data = load_m4_weekly(folder, args.limit, args.half)
    configs = json.loads(args.config_file.read_text() if args.config_file else args.config)
    names = args.families.split(",") if args.families else default_families()
    reference = naive2_reference(data)
    print(
        f"M4 weekly: {len(data.ids)} series, horizon {HORIZON}, families see season {args.season}; "
        f"Naive2 here: sMAPE {reference['smape']:.3f}, MASE {reference['mase']:.3f}",
        flush=True,
    )
    outcomes = []
    for name in names:
        outcome = run_family(name, data, args.season, configs.get(name, {}))
        outcomes.append(outcome)
        summary = outcome.error or ", ".join(f"{k} {v:.3f}" for k, v in outcome.scores.items())
        print(f"{name:>16}: {summary}  [{outcome.wall_s:.1f} s wall, {outcome.cpu_s:.1f} s CPU]", flush=True)
    whole = args.limit is None and args.half is None
    table = markdown_table(outcomes, reference, official_rows(folder) if whole else [])
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
