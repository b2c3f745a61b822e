"""Helios ``gbm`` against Nixtla's mlforecast (LightGBM) on the 135 ETT windows of
``hourly.py --windows``: the same data, the same scoring (sMAPE, MASE m=24, OWA against Naive2,
MSIS and coverage of the 95% interval), fit + predict timed the same way.

    .venv/bin/pip install mlforecast          # or: pip install -e '.[bench]'
    .venv/bin/python benchmarks/mlforecast_compare.py --dataset ETTh1      # the choice data
    .venv/bin/python benchmarks/mlforecast_compare.py --dataset ETTh1 --conformal-windows 0

mlforecast is not a Helios dependency; it is imported only here. Its intervals are its conformal
ones (``PredictionIntervals(n_windows=2, h=48)``: two more fits, on the windows without their last
48 and 96 hours; ``--conformal-windows`` changes the count, 0 skips them). The configurations:

- ``mlf-scaled``: Helios' ingredients the mlforecast way: lags 1..24 and 48..168 by 24, means over
  the last 24 and 168 hours, hour and day of week, each series standardised
  (``LocalStandardScaler``), and Helios' LightGBM settings (300 rounds, rate 0.05, 31 leaves).
- ``mlf-diff24``: the same on the change over 24 hours (``Differences([24])``, then scaled).
- ``mlf-diff1-24``: the same on the change over 1 and 24 hours (``Differences([1, 24])``).
- ``mlf-docs``: mlforecast's end-to-end walkthrough for hourly data: lags 24..168 by 24, means over
  24 hours at lags 1 and 24, an exponentially weighted mean at lag 48, ``Differences([24])``, and
  LightGBM's own defaults (100 rounds, rate 0.1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import hourly
import pandas as pd
from hourly import HORIZON, LEVEL, Tally

# Helios gbm's LightGBM settings (GBMConfig defaults), so the comparison is of features, not trees.
HELIOS_TREES = {
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "colsample_bytree": 0.9,
}
HELIOS_LAGS = [*range(1, 25), *range(48, 169, 24)]
CONFORMAL_WINDOWS = 2


def require_mlforecast() -> None:
    try:
        import mlforecast  # noqa: F401
    except ImportError:
        sys.exit("mlforecast is not installed: .venv/bin/pip install mlforecast (or the 'bench' extra)")


SEED = {"random_state": 0}  # --seed changes it: feature sampling is the trees' only randomness


def lightgbm_model(trees: dict[str, Any]) -> Any:
    import lightgbm

    return lightgbm.LGBMRegressor(
        **trees,
        random_state=SEED["random_state"],
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbosity=-1,
    )


def helios_like(*differences: int) -> Any:
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import Differences, LocalStandardScaler

    transforms: list[Any] = [Differences(list(differences))] if differences else []
    return MLForecast(
        models={"lgbm": lightgbm_model(HELIOS_TREES)},
        freq="h",
        lags=HELIOS_LAGS,
        lag_transforms={1: [RollingMean(window_size=24), RollingMean(window_size=168)]},
        date_features=["hour", "dayofweek"],
        target_transforms=[*transforms, LocalStandardScaler()],
    )


def walkthrough() -> Any:
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import ExponentiallyWeightedMean, RollingMean
    from mlforecast.target_transforms import Differences

    return MLForecast(
        models={"lgbm": lightgbm_model({})},
        freq="h",
        lags=[24 * (i + 1) for i in range(7)],
        lag_transforms={
            1: [RollingMean(window_size=24)],
            24: [RollingMean(window_size=24)],
            48: [ExponentiallyWeightedMean(alpha=0.3)],
        },
        target_transforms=[Differences([24])],
    )


CONFIGURATIONS: dict[str, Callable[[], Any]] = {
    "mlf-scaled": helios_like,
    "mlf-diff24": lambda: helios_like(24),
    "mlf-diff1-24": lambda: helios_like(1, 24),
    "mlf-docs": walkthrough,
}


def run_mlforecast(
    build: Callable[[], Any], train: pd.DataFrame, test: pd.DataFrame, conformal_windows: int
) -> Tally:
    from mlforecast.utils import PredictionIntervals

    tally = Tally()
    wall, cpu = time.perf_counter(), time.process_time()
    model = build()
    # mlforecast takes each series' quantile over its own windows' errors (not pooled across
    # series), so with few windows the 95% bound is about the largest of a handful of errors.
    conformal = PredictionIntervals(n_windows=conformal_windows, h=HORIZON) if conformal_windows else None
    model.fit(train, prediction_intervals=conformal)
    raw = model.predict(HORIZON, level=[LEVEL] if conformal else None)
    tally.wall_s = time.perf_counter() - wall
    tally.cpu_s = time.process_time() - cpu
    forecast = raw.rename(
        columns={"lgbm": "mean", f"lgbm-lo-{LEVEL}": f"lo-{LEVEL}", f"lgbm-hi-{LEVEL}": f"hi-{LEVEL}"}
    )
    tally.rows = hourly.score_origin(forecast, test, train)
    return tally


def summary(name: str, tally: Tally, reference: Tally) -> str:
    scores = tally.error or (
        f"OWA {hourly.owa(tally, reference):.3f} sMAPE {tally.mean('smape'):.3f} "
        f"MASE {tally.mean('mase'):.3f} MSIS {tally.mean('msis'):.2f} cov {tally.mean('coverage'):.3f}"
    )
    return f"{name:>16}: {scores}  [{tally.wall_s:.1f} s wall, {tally.cpu_s:.1f} s CPU]"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="ETTh1", choices=["ETTh1", "ETTh2"])
    parser.add_argument("--families", default="gbm", help="comma-separated Helios families ('family@label')")
    parser.add_argument(
        "--config", default="{}", help="JSON {family@label: {param: value}} for Helios families"
    )
    parser.add_argument(
        "--mlforecast", default=",".join(CONFIGURATIONS), help="comma-separated mlforecast configurations"
    )
    parser.add_argument(
        "--conformal-windows",
        type=int,
        default=CONFORMAL_WINDOWS,
        help="mlforecast's n_windows; 0: points only",
    )
    parser.add_argument("--seed", type=int, default=0, help="LightGBM seed of the mlforecast models")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = hourly.ett_dir()
    if folder is None:
        print("ETT data not found under ../shared/data/ett; set HELIOS_SHARED_DATA. Nothing to do.")
        return 0
    require_mlforecast()
    SEED["random_state"] = args.seed
    sys.path.insert(0, str(hourly.REPO / "src"))
    warnings.simplefilter("ignore")
    train, test = hourly.window_split(hourly.load_ett(folder, args.dataset))
    splits = [(train, test)]
    print(
        f"{args.dataset}: {train['unique_id'].nunique()} windows of 700-960 hours, one fit, horizon {HORIZON}"
    )
    reference = hourly.run_family("naive2", {}, splits)
    configs = json.loads(args.config)
    tallies: dict[str, Tally] = {}
    for name in dict.fromkeys([*args.families.split(","), "seasonal_naive"]):
        tallies[name] = hourly.run_family(name, configs.get(name, {}), splits)
        print(summary(name, tallies[name], reference), flush=True)
    for name in args.mlforecast.split(","):
        tallies[name] = run_mlforecast(CONFIGURATIONS[name], train, test, args.conformal_windows)
        print(summary(name, tallies[name], reference), flush=True)
    print()
    print(hourly.markdown_table(tallies, reference))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
