"""Small files for the datasets tests, written the way people and exporters write them."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from helios.core.errors import InvalidInput
from helios.datasets.importers import ImportOptions, ParsedData, parse_upload
from tests.conftest import shared_data

MAX_BYTES = 50_000_000
POWERBALL_EXPORT = Path("powerball") / "Lottery_Powerball_Winning_Numbers__Beginning_2010.csv"
M4_WEEKLY_TRAIN = Path("m4-weekly") / "Weekly-train.csv"

# Newest first, like the real export. One draw per era: 2010 (bonus 1-39), 2013 (bonus 1-35), 2016 on
# (5 of 1-69 + 1 of 1-26); the 2016-01-02 row lists its white balls out of order.
NY_EXPORT = """\
"Draw Date","Winning Numbers","Multiplier","double_play_winning_numbers"
"07/11/2026","08 10 14 45 59 05","2","05 07 17 26 28 05"
"01/02/2016","61 03 12 40 69 26","",
"06/01/2013","04 07 25 46 59 35","3",
"02/03/2010","17 22 36 37 52 39","2",
"""


def parse(raw: bytes | str, **options: object) -> ParsedData:
    data = raw.encode() if isinstance(raw, str) else raw
    return parse_upload(data, ImportOptions(**options), max_bytes=MAX_BYTES)  # type: ignore[arg-type]


def refusal(raw: bytes | str, **options: object) -> InvalidInput:
    """The InvalidInput a bad file raises (fails the test when it parses)."""
    try:
        parse(raw, **options)
    except InvalidInput as refused:
        return refused
    raise AssertionError("the file was accepted")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def shared_file(relative: Path) -> Path | None:
    path = shared_data() / relative
    return path if path.is_file() else None
