"""What a parsed dataset holds, in numbers a person scans before training on it, and the hash that says
whether two uploads hold the same data.

``profile(parsed)`` counts rows and series, dates, each series' frequency (``None`` when irregular) and its
gaps: the timestamps its frequency expects between its first and last that are missing. Business-day data
counts missing weekdays only, since its calendar (``B``) has no weekends. Draw histories report the draws
and the eras of the game's rules they span.

``content_hash(parsed)`` is a sha256 over the canonical frame (column names, dtypes and values) and the
rules: the same content gives the same hash whether it came as CSV or Parquet and whatever its row order,
because parsing sorts it. It hashes raw value bytes, not pandas' row hashes, so it stays stable across
pandas versions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter

import numpy as np
import pandas as pd
from pydantic import BaseModel

from helios.datasets.importers import ParsedData, era_index
from helios.forecasting.frequency import expected_stamps, infer_freq
from helios.forecasting.rules import GameRules, RuleEra


class SeriesProfile(BaseModel):
    unique_id: str
    rows: int
    start: dt.datetime
    end: dt.datetime
    frequency: str | None
    gaps: int | None  # None when the frequency is unknown: there is no calendar to miss stamps from


class EraProfile(BaseModel):
    """One era of a game's rules, with the draws of the dataset played under it."""

    start: dt.date
    end: dt.date | None
    main: str
    bonus: str | None
    draws: int


class DatasetProfile(BaseModel):
    kind: str
    rows: int
    series_count: int
    start: dt.datetime | None
    end: dt.datetime | None
    frequency: str | None  # the most common frequency among the series
    total_gaps: int | None
    series: list[SeriesProfile] = []
    draws: int | None = None
    eras: list[EraProfile] = []


def profile(parsed: ParsedData) -> DatasetProfile:
    frame = parsed.frame
    if parsed.kind == "draws":
        return _draws_profile(frame, parsed.rules)
    stamps = frame["ds"].to_numpy()
    known: dict[bytes, tuple[str | None, int | None]] = {}
    series = [_series_profile(uid, stamps[lo:hi], known) for uid, lo, hi in _series_slices(frame)]
    frequencies = Counter(s.frequency for s in series if s.frequency)
    return DatasetProfile(
        kind=parsed.kind,
        rows=len(frame),
        series_count=len(series),
        start=frame["ds"].min() if len(frame) else None,
        end=frame["ds"].max() if len(frame) else None,
        frequency=frequencies.most_common(1)[0][0] if frequencies else None,
        total_gaps=sum(s.gaps for s in series if s.gaps is not None),
        series=series,
    )


def _series_slices(frame: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(id, first row, row after last) of each series; the canonical frame is sorted by unique_id."""
    ids = frame["unique_id"].to_numpy()
    if not len(ids):
        return []
    starts = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1])
    ends = np.concatenate([starts[1:], [len(ids)]])
    return [(str(ids[lo]), int(lo), int(hi)) for lo, hi in zip(starts, ends, strict=True)]


def _series_profile(
    unique_id: str, stamps: np.ndarray, known: dict[bytes, tuple[str | None, int | None]]
) -> SeriesProfile:
    """``known`` remembers frequency and gaps by the exact stamps: series of one upload usually share
    their calendar (tickers over the same days, M4 series of one length), and inferring a frequency
    costs about a millisecond, which adds up over tens of thousands of series."""
    start, end = pd.Timestamp(stamps[0]), pd.Timestamp(stamps[-1])
    key = hashlib.blake2b(stamps.tobytes(), digest_size=16).digest()
    if key not in known:
        frequency = infer_freq(pd.Series(stamps))
        known[key] = frequency, _gaps(stamps, start, end, frequency)
    frequency, gaps = known[key]
    return SeriesProfile(
        unique_id=unique_id, rows=len(stamps), start=start, end=end, frequency=frequency, gaps=gaps
    )


def _gaps(stamps: np.ndarray, start: pd.Timestamp, end: pd.Timestamp, frequency: str | None) -> int | None:
    if frequency is None:
        return None
    expected = _calendar(start, end, frequency)
    if not len(expected) or expected[0] != start:
        # The calendar does not start where the series does (an anchor lost in the alias, e.g. quarters
        # starting in February): counting against it would report phantom gaps.
        return None
    return int(len(expected) - np.isin(expected.to_numpy(), stamps).sum())


def _calendar(start: pd.Timestamp, end: pd.Timestamp, frequency: str) -> pd.DatetimeIndex:
    # pandas builds anchored calendars (B, W-MON) one stamp at a time, ~20 us each: a few seconds on a
    # thousand series. Daily stamps less weekends, or 7-day steps from an aligned start, are the same
    # stamps built at C speed.
    if frequency == "B":
        days = expected_stamps(start, end, "D")
        return days[days.dayofweek < 5]
    if frequency.startswith("W-") and start.day_name()[:3].upper() == frequency[2:]:
        return expected_stamps(start, end, "7D")
    return expected_stamps(start, end, frequency)


def _draws_profile(frame: pd.DataFrame, rules: GameRules | None) -> DatasetProfile:
    stamps = frame["ds"].to_numpy()
    return DatasetProfile(
        kind="draws",
        rows=len(frame),
        series_count=1,  # a draw history is one sequence
        start=frame["ds"].min() if len(frame) else None,
        end=frame["ds"].max() if len(frame) else None,
        frequency=infer_freq(frame["ds"]),
        total_gaps=None,
        draws=len(frame),
        eras=_eras_spanned(stamps, rules) if rules else [],
    )


def _eras_spanned(stamps: np.ndarray, rules: GameRules) -> list[EraProfile]:
    counts = np.bincount(era_index(stamps, rules) + 1, minlength=len(rules.eras) + 1)[1:]
    return [_era_profile(era, int(count)) for era, count in zip(rules.eras, counts, strict=True) if count]


def _era_profile(era: RuleEra, draws: int) -> EraProfile:
    bonus = f"{era.bonus_count} of {era.bonus_min}-{era.bonus_max}" if era.bonus_count else None
    return EraProfile(
        start=era.start,
        end=era.end,
        main=f"{era.main_count} of {era.main_min}-{era.main_max}",
        bonus=bonus,
        draws=draws,
    )


def content_hash(parsed: ParsedData) -> str:
    digest = hashlib.sha256(f"helios-dataset/1 {parsed.kind}\n".encode())
    for name, column in parsed.frame.items():
        digest.update(f"{name}:{column.dtype}\n".encode())
        digest.update(_value_bytes(column))
    if parsed.rules is not None:
        digest.update(parsed.rules.model_dump_json().encode())
    return digest.hexdigest()


def _value_bytes(column: pd.Series) -> bytes:
    if column.dtype == object:
        texts = column.astype(str).tolist()
        # Lengths make the concatenation unambiguous ("ab"+"c" differs from "a"+"bc").
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return lengths.tobytes() + "".join(texts).encode("utf-8", "surrogatepass")
    values = column.to_numpy()
    if values.dtype.kind == "f":
        # One NaN and one zero: the bit patterns of NaN and -0.0 differ between writers, the data does not.
        values = np.where(np.isnan(values), np.nan, values + 0.0)
    return np.ascontiguousarray(values).tobytes()
