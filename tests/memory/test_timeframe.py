"""Time words in a query name a window of valid time; anything else names none."""

from __future__ import annotations

import datetime as dt

import pytest

from helios.memory import timeframe

NOW = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)  # a Wednesday


def day(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "start", "end", "phrase"),
    [
        ("what did we learn about NOVA last week?", day(2026, 11, 22), day(2026, 12, 1), "last week"),
        ("anything yesterday", day(2026, 12, 1), day(2026, 12, 2), "yesterday"),
        ("what happened on March 14", day(2026, 3, 14), day(2026, 3, 15), "March 14"),
        ("on 14th of march 2025?", day(2025, 3, 14), day(2025, 3, 15), "14th of march 2025"),
        ("notes from Dec 25", day(2025, 12, 25), day(2025, 12, 26), "Dec 25"),  # latest not after now
        ("2026-06-30 review", day(2026, 6, 30), day(2026, 7, 1), "2026-06-30"),
        ("3 days ago", day(2026, 11, 28), day(2026, 12, 1), "3 days ago"),
        ("two weeks ago AAPL", day(2026, 11, 14), day(2026, 11, 23), "two weeks ago"),
        ("in May", day(2026, 5, 1), day(2026, 6, 1), "in May"),
        ("last month", day(2026, 11, 1), day(2026, 12, 1), "last month"),
    ],
)
def test_windows(text: str, start: dt.datetime, end: dt.datetime, phrase: str) -> None:
    window = timeframe.find(text, NOW)
    assert window is not None and (window.start, window.end, window.phrase) == (start, end, phrase)
    assert phrase not in timeframe.without(text, window)


@pytest.mark.parametrize(
    "text", ["", "NOVA guidance", "February 31", "c++ NEAR( 12:30", "I may 3x it", "🙂" * 500]
)
def test_no_window(text: str) -> None:
    assert timeframe.find(text, NOW) is None
