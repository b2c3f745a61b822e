"""When a query asks about a time ("what did we learn about NOVA last week?", "on March 14",
"3 days ago"): the window it names, in valid time (when the remembered thing happened).

Only plain English forms are read; anything else is no window, never an error. A window is a
half-open UTC interval [start, end). Named days and months without a year mean the latest one not
after ``now``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_COUNT = r"(\d{1,3}|a|an|one|two|three|four|five|six|seven)"
_PATTERNS = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("month_day", re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.I)),
    (
        "day_month",
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?\b", re.I),
    ),
    ("ago", re.compile(rf"\b{_COUNT}\s+(day|week|month)s?\s+ago\b", re.I)),
    ("relative", re.compile(r"\b(yesterday|today|(?:last|this|past)\s+(?:week|month))\b", re.I)),
    ("in_month", re.compile(rf"\b(?:in|during)\s+{_MONTH}(?:\s+(\d{{4}}))?\b", re.I)),
]


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    phrase: str  # the words that named it, as typed

    def holds(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def find(text: str, now: dt.datetime) -> Window | None:
    """The first time window ``text`` names, or None."""
    text = text[:2_000]
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            window = _window(kind, match, now)
            if window is not None:
                start, end = window
                return Window(start, end, match.group(0))
    return None


def without(text: str, window: Window | None) -> str:
    """The query with the time words taken out: they say when, not what."""
    if window is None:
        return text
    return " ".join(text.replace(window.phrase, " ").split())


def _window(kind: str, match: re.Match[str], now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    today = now.astimezone(dt.UTC).date()
    try:
        if kind == "iso":
            return _days(dt.date(int(match[1]), int(match[2]), int(match[3])), 1)
        if kind == "month_day":
            return _days(_latest(today, MONTHS[match[1].lower()], int(match[2]), match[3]), 1)
        if kind == "day_month":
            return _days(_latest(today, MONTHS[match[2].lower()], int(match[1]), match[3]), 1)
        if kind == "ago":
            return _ago(today, _count(match[1]), match[2].lower())
        if kind == "relative":
            return _relative(today, " ".join(match[1].lower().split()))
        if kind == "in_month":
            return _month(_latest(today, MONTHS[match[1].lower()], 1, match[2]))
    except ValueError:  # 31 February and the like: not a date, so no window
        return None
    return None


def _count(word: str) -> int:
    return int(word) if word.isdecimal() else _NUMBERS[word.lower()]


def _latest(today: dt.date, month: int, day: int, year: str | None) -> dt.date:
    if year:
        return dt.date(int(year), month, day)
    candidate = dt.date(today.year, month, day)
    return candidate if candidate <= today else dt.date(today.year - 1, month, day)


def _days(first: dt.date, count: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=count)


def _ago(today: dt.date, count: int, unit: str) -> tuple[dt.datetime, dt.datetime]:
    # "3 days ago" is that day, a day either side; "2 weeks ago" that week, give or take a day.
    if unit == "day":
        return _days(today - dt.timedelta(days=count + 1), 3)
    if unit == "week":
        return _days(today - dt.timedelta(days=7 * count + 4), 9)
    back = today.replace(day=1)
    for _ in range(count):
        back = (back - dt.timedelta(days=1)).replace(day=1)
    return _month(back)


def _relative(today: dt.date, words: str) -> tuple[dt.datetime, dt.datetime]:
    monday = today - dt.timedelta(days=today.weekday())
    if words == "yesterday":
        return _days(today - dt.timedelta(days=1), 1)
    if words == "today":
        return _days(today, 1)
    if words == "last week":  # the calendar week before this one, give or take a day
        return _days(monday - dt.timedelta(days=8), 9)
    if words == "this week":
        return _days(monday, (today - monday).days + 1)
    if words == "past week":
        return _days(today - dt.timedelta(days=7), 8)
    if words == "this month":
        return _days(today.replace(day=1), today.day)
    if words == "past month":
        return _days(today - dt.timedelta(days=31), 32)
    return _month((today.replace(day=1) - dt.timedelta(days=1)).replace(day=1))  # last month


def _month(first: dt.date) -> tuple[dt.datetime, dt.datetime]:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return _days(first, (following - first).days)
