"""Turn an uploaded file into a canonical, validated DataFrame: the one door every dataset comes in by.

    parse_upload(raw, ImportOptions(kind=..., format=...), max_bytes=...) -> ParsedData

Formats: CSV (``,`` ``;`` or tab, found from the header; UTF-8, with or without a BOM), Parquet (found by
its ``PAR1`` magic), ``m4-wide`` (the M4 competition layout) and ``ny-powerball`` (New York State's open-data
export of Powerball draws). ``auto`` recognises all four.

Canonical time series: ``unique_id`` (str), ``ds`` (datetime64[ns], naive), ``y`` (float64), then any of
``open, high, low, close, volume`` (float64); sorted by unique_id then ds, with a RangeIndex.
  - column names match trimmed and case-insensitively; unknown columns are refused rather than dropped, so a
    typo never silently loses data;
  - a file without ``unique_id`` is one series named ``"series"``; without ``y`` but with ``close``, y is
    the close (the usual target for prices);
  - timezone-aware stamps are converted to UTC, then made naive; ISO dates are expected, other formats are
    inferred from the first value (month first when ambiguous);
  - y must be a finite number on every row: a gap is a missing row, not an empty cell. Price columns may be
    empty (NaN) but not infinite;
  - a ``;``-delimited file may use decimal commas (``1,5``); a ``,``-delimited one may not (``1,500`` is
    ambiguous).

Canonical draws: ``ds``, ``n1..nK`` (int64, ascending within the draw: exports do not always list them in
order, and the importer notes the rows it sorted), then ``bonus`` (one bonus ball) or ``bonus1..bonusM``;
sorted by ds. Each number is checked against the era of the game's rules in force on its date.

Errors name rows as a person finds them: for CSV the file line, the header being line 1; for Parquet the
1-based row. At most ``MAX_LISTED_PROBLEMS`` are listed, in row order; the detail says how many there were.

This module detects the format and dispatches; the work lives beside it: ``tabular`` (CSV and Parquet into
named columns, cell checks, problem collection), ``timeseries_import``, ``draws_import`` (with the New York
export) and ``m4_import``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import partial
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from helios.core.errors import InvalidInput, PayloadTooLarge
from helios.datasets.column_mapping import (
    ColumnMapping,
    mapped_labels,
    mapping_advice,
    read_wide_csv,
    read_wide_parquet,
)
from helios.datasets.draws_import import (
    NY_COLUMNS,
    NY_DATE_FORMAT,
    canonical_draws,
    draw_columns,
    era_index,
    read_ny_powerball,
)
from helios.datasets.m4_import import read_m4_wide
from helios.datasets.tabular import (
    MAX_LISTED_PROBLEMS,
    PRICE_COLUMNS,
    SERIES_COLUMNS,
    csv_header,
    read_csv,
    read_parquet,
)
from helios.datasets.timeseries_import import SINGLE_SERIES_ID, canonical_timeseries
from helios.forecasting.rules import POWERBALL, PRESETS, GameRules

__all__ = [
    "MAX_LISTED_PROBLEMS",
    "NY_COLUMNS",
    "NY_DATE_FORMAT",
    "PARQUET_MAGIC",
    "PRICE_COLUMNS",
    "SERIES_COLUMNS",
    "SINGLE_SERIES_ID",
    "DetectedFormat",
    "Format",
    "ImportOptions",
    "Kind",
    "ParsedData",
    "era_index",
    "parse_upload",
]

Kind = Literal["timeseries", "draws"]
Format = Literal["auto", "csv", "parquet", "m4-wide", "ny-powerball"]
DetectedFormat = Literal["csv", "parquet", "m4-wide", "ny-powerball"]

PARQUET_MAGIC = b"PAR1"


class ImportOptions(BaseModel):
    """How to read an upload. ``freq`` and ``start`` place the values of an ``m4-wide`` file in time;
    ``rules`` (or a ``game`` preset name) declare what a valid draw is. ``rules`` wins over ``game``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind = "timeseries"
    format: Format = "auto"
    freq: str | None = None
    start: dt.date | None = None
    rules: GameRules | None = None
    game: str | None = None
    mapping: ColumnMapping = ColumnMapping()


@dataclass(frozen=True)
class ParsedData:
    """A validated upload: ``frame`` is canonical (see the module docstring); ``notes`` say what the
    importer did that a person may want to know (rows it sorted, the series name it chose)."""

    kind: Kind
    frame: pd.DataFrame
    rules: GameRules | None
    format: DetectedFormat
    notes: tuple[str, ...] = ()


DEFAULT_MAX_ROWS = 20_000_000


def parse_upload(
    raw: bytes, options: ImportOptions, *, max_bytes: int, max_rows: int = DEFAULT_MAX_ROWS
) -> ParsedData:
    """Read, validate and canonicalise an upload; raises ``PayloadTooLarge`` or ``InvalidInput``."""
    _check_size(raw, max_bytes)
    if not raw or raw.isspace():
        raise InvalidInput("The file is empty; upload a CSV or Parquet file with a header and data rows.")
    fmt = _detect_format(raw, options.format)
    _check_options_fit(fmt, options)
    _check_mapping_fits(fmt, options)
    rules = _resolve_rules(options, fmt) if options.kind == "draws" else None
    if fmt == "m4-wide":
        assert options.freq is not None and options.start is not None  # _check_options_fit saw to it
        frame, notes = read_m4_wide(raw, options.freq, options.start)
    elif fmt == "ny-powerball":
        assert rules is not None
        frame, notes = canonical_draws(read_ny_powerball(raw, rules), rules)
    elif options.mapping.wide:
        reader = read_wide_parquet if fmt == "parquet" else read_wide_csv
        frame, notes = canonical_timeseries(reader(raw, options.mapping, max_rows=max_rows))
    else:
        wanted = draw_columns(rules) if rules else None
        reader = read_parquet if fmt == "parquet" else read_csv
        relabel = None if options.mapping.is_empty else partial(mapped_labels, mapping=options.mapping)
        table = _with_mapping_advice(
            raw, fmt, options, lambda: reader(raw, wanted, max_rows=max_rows, relabel=relabel)
        )
        frame, notes = canonical_draws(table, rules) if rules else canonical_timeseries(table)
    return ParsedData(kind=options.kind, frame=frame, rules=rules, format=fmt, notes=tuple(notes))


def _with_mapping_advice(raw: bytes, fmt: DetectedFormat, options: ImportOptions, read):  # type: ignore[no-untyped-def]
    """A time-series header Helios does not know, with no mapping given: the error says which columns
    the file has and how to map them, rather than only how to rename them."""
    try:
        return read()
    except InvalidInput as exc:
        unknown_header = any(
            error.get("message") in ("unknown column", "required column is missing") for error in exc.errors
        )
        if options.kind != "timeseries" or not options.mapping.is_empty or not unknown_header:
            raise
        names = _header_names(raw, fmt)
        raise InvalidInput(exc.detail + mapping_advice(names), errors=exc.errors) from None


def _header_names(raw: bytes, fmt: DetectedFormat) -> list[str]:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(pa.BufferReader(raw)).schema_arrow.names)
    return csv_header(raw)[0]


def _check_mapping_fits(fmt: DetectedFormat, options: ImportOptions) -> None:
    if options.mapping.is_empty:
        return
    if options.kind != "timeseries" or fmt in ("m4-wide", "ny-powerball"):
        raise InvalidInput(
            "Column mapping (date_col, id_col, value_col, wide) applies to time-series CSV and Parquet; "
            f"this is a {options.kind} import of a {fmt} file.",
            errors=[{"field": "date_col", "row": None, "column": None, "message": "mapping not applicable"}],
        )


# --- what kind of file this is ---------------------------------------------------------------------


def _check_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"The file is {_megabytes(len(raw))}, over the {_megabytes(max_bytes)} upload limit; "
            "split it into smaller files or ask an admin to raise the limit."
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _detect_format(raw: bytes, declared: Format) -> DetectedFormat:
    is_parquet = raw[:4] == PARQUET_MAGIC
    if declared == "parquet" and not is_parquet:
        raise InvalidInput("The file is not Parquet (it lacks the PAR1 signature); choose format auto.")
    if is_parquet:
        if declared not in ("auto", "parquet"):
            raise InvalidInput(f"The file is Parquet, not {declared}; choose format parquet or auto.")
        return "parquet"
    _check_text(raw)
    if declared != "auto":
        return declared
    names = [name.strip().lower() for name in csv_header(raw)[0]]
    if names[:2] == ["draw date", "winning numbers"]:
        return "ny-powerball"
    if len(names) > 1 and all(re.fullmatch(r"v\d+", name) for name in names):
        return "m4-wide"
    return "csv"


def _check_text(raw: bytes) -> None:
    """Refuse what is not UTF-8 text before the CSV reader turns it into confusing errors."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput('The file is UTF-16 text; save it as UTF-8 ("CSV UTF-8") and upload it again.')
    if b"\x00" in raw:
        raise InvalidInput("The file is binary (it holds NUL bytes), not CSV text; upload CSV or Parquet.")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            f"The file is not UTF-8 text: line {line} holds the byte 0x{raw[exc.start]:02X}. "
            'Save it as UTF-8 ("CSV UTF-8") and upload it again.',
            errors=[{"row": line, "column": None, "message": "not UTF-8 text"}],
        ) from None


def _check_options_fit(fmt: DetectedFormat, options: ImportOptions) -> None:
    if fmt == "ny-powerball" and options.kind != "draws":
        raise InvalidInput("This is a New York Powerball export, a draw history: import it with kind draws.")
    if fmt == "m4-wide" and options.kind != "timeseries":
        raise InvalidInput("An M4 wide file holds time series: import it with kind timeseries.")
    if fmt == "m4-wide" and (options.freq is None or options.start is None):
        raise InvalidInput(
            "An M4 wide file does not say when its values were observed: give freq (e.g. W) and start "
            "(the date of every series' first value)."
        )


def _resolve_rules(options: ImportOptions, fmt: DetectedFormat) -> GameRules:
    if options.rules is not None:
        return options.rules
    if options.game is not None:
        preset = PRESETS.get(options.game.strip().lower())
        if preset is None:
            raise InvalidInput(f"Unknown game {options.game!r}; known presets: {', '.join(sorted(PRESETS))}.")
        return preset
    if fmt == "ny-powerball":
        return POWERBALL
    raise InvalidInput(
        "A draw history needs the game's rules to be checked: give rules, or a game preset "
        f"({', '.join(sorted(PRESETS))})."
    )
