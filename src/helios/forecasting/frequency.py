"""Frequencies as people write them (``h``, ``D``, ``W``, ``M``...), normalised to pandas aliases,
inferred from timestamps, and mapped to a default seasonal period."""

from __future__ import annotations

import pandas as pd

from helios.forecasting.base import ForecastingError

# Canonical alias -> default seasonal period (the M4 convention: weekly m=1, hourly 24...).
_SEASON = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 1, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1}
_ALIASES = {
    "t": "min",
    "min": "min",
    "h": "h",
    "hourly": "h",
    "d": "D",
    "daily": "D",
    "b": "B",
    "w": "W",
    "weekly": "W",
    "m": "MS",
    "ms": "MS",
    "me": "ME",
    "monthly": "MS",
    "q": "QS",
    "qs": "QS",
    "qe": "QE",
    "quarterly": "QS",
    "y": "YS",
    "a": "YS",
    "ys": "YS",
    "ye": "YE",
    "yearly": "YS",
    "annual": "YS",
}


def normalise_freq(freq: str) -> str:
    """Case-insensitive alias (``"h"``, ``"H"``, ``"w"``, ``"W-SUN"``, ``"m"``) -> canonical alias."""
    raw = freq.strip()
    base, _, anchor = raw.partition("-")
    canonical = _ALIASES.get(base.lower())
    if canonical is None:
        raise ForecastingError(
            f"unknown frequency {freq!r}; use a pandas alias such as h, D, B, W, M, Q or Y"
        )
    if anchor and canonical == "W":
        return f"W-{anchor.upper()}"
    return canonical


# Every cycle worth testing for, per frequency (the first is the default season above, unless
# M4's convention sets it to 1): hourly data has days and weeks, daily data weeks and years.
_CANDIDATE_SEASONS = {
    "min": (60, 1440),
    "h": (24, 168),
    "D": (7, 365),
    "B": (5, 260),
    "W": (52,),
    "MS": (12,),
    "ME": (12,),
    "QS": (4,),
    "QE": (4,),
}


def candidate_seasons(freq: str) -> tuple[int, ...]:
    """Cycles the calendar suggests for ``freq``, shortest first; a test on the data decides
    which are really there (``seasonality.confirm_seasons``)."""
    return _CANDIDATE_SEASONS.get(freq.split("-")[0], ())


def freq_for_season(season: int) -> str | None:
    """The frequency whose calendar has ``season`` among its cycles (24 or 168: hourly; 7 or
    365: daily; 52: weekly; 12: monthly...), for data whose ``ds`` are integer steps: the
    season a person declares is the only sign of the unit, and with it the other cycles worth
    testing (a day of hours also has a week of hours). None when no calendar has that cycle."""
    return next((freq for freq, cycles in _CANDIDATE_SEASONS.items() if season in cycles), None)


def calendar_cycles() -> tuple[int, ...]:
    """Each calendar's usual cycle (hours' day, days' week, months' year...): what integer steps
    without a declared season are tested for (``seasonality.strongest_cycle``)."""
    return tuple(dict.fromkeys(cycles[0] for cycles in _CANDIDATE_SEASONS.values()))


# What each calendar's steps are called, for messages.
UNITS = {"min": "minutes", "h": "hours", "D": "days", "B": "business days", "W": "weeks"}
UNITS |= {"MS": "months", "ME": "months", "QS": "quarters", "QE": "quarters"}


def season_length(freq: str) -> int:
    """Default seasonal period for a (normalised) frequency; 1 when there is no usual season."""
    return _SEASON.get(freq.split("-")[0], 1)


def infer_freq(ds: pd.Series) -> str | None:
    """The series' regular step as a canonical alias, tolerating gaps: the most common step
    decides. ``None`` when fewer than three timestamps or no recognisable step."""
    stamps = pd.DatetimeIndex(ds).sort_values().unique()
    if len(stamps) < 3:
        return None
    exact = pd.infer_freq(stamps) if len(stamps) >= 3 else None
    if exact:
        try:
            return normalise_freq(exact.replace("WOM", "W"))
        except ForecastingError:
            return exact
    step = pd.Series(stamps[1:] - stamps[:-1]).mode().iloc[0]
    days = step / pd.Timedelta(days=1)
    if step == pd.Timedelta(hours=1):
        return "h"
    if step == pd.Timedelta(minutes=1):
        return "min"
    if days == 1:
        # Weekday-only data (stock prices) steps 1 day most often but never lands on a weekend.
        return "B" if stamps.dayofweek.max() < 5 else "D"
    if days == 7:
        return f"W-{stamps[0].day_name()[:3].upper()}"
    if 28 <= days <= 31:
        return "MS" if (stamps.day == 1).all() else "ME"
    if 89 <= days <= 92:
        return "QS"
    if 365 <= days <= 366:
        return "YS"
    return None


def expected_stamps(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """Every timestamp a regular series of ``freq`` should have from ``start`` to ``end``."""
    return pd.date_range(start, end, freq=freq)
