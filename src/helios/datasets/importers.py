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
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from helios.core.errors import InvalidInput, PayloadTooLarge
from helios.forecasting.base import ForecastingError
from helios.forecasting.draw_history import bonus_columns, main_columns
from helios.forecasting.frequency import expected_stamps, normalise_freq
from helios.forecasting.rules import POWERBALL, PRESETS, GameRules

Kind = Literal["timeseries", "draws"]
Format = Literal["auto", "csv", "parquet", "m4-wide", "ny-powerball"]
DetectedFormat = Literal["csv", "parquet", "m4-wide", "ny-powerball"]

MAX_LISTED_PROBLEMS = 20
SINGLE_SERIES_ID = "series"
SERIES_COLUMNS = ("unique_id", "ds", "y")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
PARQUET_MAGIC = b"PAR1"
NY_DATE_FORMAT = "%m/%d/%Y"
NY_COLUMNS = ("draw date", "winning numbers", "multiplier", "double_play_winning_numbers")

# Names people give these columns, offered in the error so the fix is a rename, not a guess.
_RENAME_HINTS = {
    "date": "ds",
    "time": "ds",
    "timestamp": "ds",
    "datetime": "ds",
    "day": "ds",
    "ticker": "unique_id",
    "symbol": "unique_id",
    "id": "unique_id",
    "series": "unique_id",
    "series_id": "unique_id",
    "name": "unique_id",
    "value": "y",
    "price": "y",
    "target": "y",
    "adj close": "y",
    "adj_close": "y",
}


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


@dataclass(frozen=True)
class ParsedData:
    """A validated upload: ``frame`` is canonical (see the module docstring); ``notes`` say what the
    importer did that a person may want to know (rows it sorted, the series name it chose)."""

    kind: Kind
    frame: pd.DataFrame
    rules: GameRules | None
    format: DetectedFormat
    notes: tuple[str, ...] = ()


def parse_upload(raw: bytes, options: ImportOptions, *, max_bytes: int) -> ParsedData:
    """Read, validate and canonicalise an upload; raises ``PayloadTooLarge`` or ``InvalidInput``."""
    _check_size(raw, max_bytes)
    if not raw or raw.isspace():
        raise InvalidInput("The file is empty; upload a CSV or Parquet file with a header and data rows.")
    fmt = _detect_format(raw, options.format)
    _check_options_fit(fmt, options)
    rules = _resolve_rules(options, fmt) if options.kind == "draws" else None
    if fmt == "m4-wide":
        frame, notes = _read_m4_wide(raw, options)
    elif fmt == "ny-powerball":
        assert rules is not None
        frame, notes = _canonical_draws(_read_ny_powerball(raw, rules), rules)
    else:
        wanted = _draw_columns(rules) if rules else None
        table = _read_parquet(raw, wanted) if fmt == "parquet" else _read_csv(raw, wanted)
        frame, notes = _canonical_draws(table, rules) if rules else _canonical_timeseries(table)
    return ParsedData(kind=options.kind, frame=frame, rules=rules, format=fmt, notes=tuple(notes))


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
    names = [name.strip().lower() for name in _header(raw)[0]]
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


def _header(raw: bytes) -> tuple[list[str], str]:
    """The header's names and the delimiter: whichever of , ; or tab the header uses most."""
    end = raw.find(b"\n")
    line = (raw if end < 0 else raw[:end]).decode("utf-8-sig").rstrip("\r")
    if not line.strip():
        raise InvalidInput("The first line of the file is empty; it must be the header naming the columns.")
    delimiter = max((",", ";", "\t"), key=line.count)
    return next(csv.reader([line], delimiter=delimiter)), delimiter


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


# --- reading files into named columns -----------------------------------------------------------------


@dataclass
class _Table:
    """A file's columns under normalised names, not yet validated, and how to find a row in the file."""

    columns: dict[str, pd.Series]
    labels: dict[str, str]
    line_of: Callable[[int], int | None]
    date_format: str | None = None
    decimal_comma: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values())))


class _Problems:
    """Collects everything wrong with a file, so one upload reports many problems, not one per retry."""

    def __init__(self, table: _Table) -> None:
        self.table = table
        self.listed: list[dict[str, Any]] = []
        self.total = 0

    def add(self, position: int | None, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            row = None if position is None else self.table.line_of(position)
            label = self.table.labels.get(column, column) if column else None
            self.listed.append({"row": row, "column": label, "message": message})

    def add_where(self, positions: np.ndarray, column: str, describe: Callable[[int], str]) -> None:
        """Counts every offending row but describes only the ones that will be listed."""
        room = max(MAX_LISTED_PROBLEMS - len(self.listed), 0)
        for position in positions[:room]:
            self.add(int(position), column, describe(int(position)))
        self.total += max(len(positions) - room, 0)

    def raise_if_any(self) -> None:
        if not self.total:
            return
        self.listed.sort(key=lambda problem: (problem["row"] is None, problem["row"] or 0))
        first = self.listed[0]
        where = ", ".join(f"{key} {first[key]}" for key in ("row", "column") if first[key] is not None)
        count = "1 problem" if self.total == 1 else f"{self.total:,} problems"
        listed = f" ({len(self.listed)} of them are listed)" if self.total > len(self.listed) else ""
        raise InvalidInput(
            f"The file has {count}{listed}; the first is at {where}: {first['message']}. "
            "Fix the file and upload it again.",
            errors=self.listed,
        )


def _normalised(names: Sequence[str], header_row: int | None) -> dict[str, str]:
    """Normalised name -> name as written; two columns that normalise alike are refused."""
    labels: dict[str, str] = {}
    for name in names:
        key = str(name).strip().lower()
        if key in labels:
            raise InvalidInput(
                f"The columns {labels[key]!r} and {name!r} are the same column once case and spaces are "
                "ignored; keep one of them.",
                errors=[{"row": header_row, "column": name, "message": "duplicate column"}],
            )
        labels[key] = str(name)
    return labels


def _read_csv(raw: bytes, wanted: Sequence[str] | None) -> _Table:
    """A long-format CSV; ``wanted`` are the draw columns, or None for time series."""
    names, delimiter = _header(raw)
    labels = _normalised(names, header_row=1)
    present = _check_columns(labels, wanted, header_row=1)
    types = {labels[name]: _arrow_type(name) for name in present}
    table = _read_csv_arrow(raw, delimiter, types)
    columns = {name: table.column(labels[name]).to_pandas() for name in present}
    return _Table(columns, labels, _csv_line_finder(raw), decimal_comma=delimiter == ";")


def _arrow_type(name: str) -> pa.DataType:
    # Declared types keep the fast path exact: the reader infers from the first block only and would fail
    # on a later block rather than widen. Dictionary ids share one string per series.
    if name == "unique_id":
        return pa.dictionary(pa.int32(), pa.string())
    if name == "ds":
        return pa.timestamp("ns")
    if re.fullmatch(r"n\d+|bonus\d*", name):
        return pa.int64()
    return pa.float64()


def _read_csv_arrow(raw: bytes, delimiter: str, types: dict[str, pa.DataType]) -> pa.Table:
    """Read with declared types; a column that fails (a typo, another date format) is read again as text,
    so only dirty columns take the slow path and get their problems located row by row."""
    types = dict(types)
    names = list(types)
    while True:
        ragged: list[Any] = []

        def skip_ragged(row: Any, ragged: list[Any] = ragged) -> str:
            ragged.append(row)
            return "skip"

        try:
            table = pacsv.read_csv(
                pa.BufferReader(raw),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=skip_ragged),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=names),
            )
        except pa.ArrowInvalid as exc:
            failing = _failing_column(str(exc), raw)
            if failing is None or failing not in types or types[failing] == pa.string():
                raise InvalidInput(f"The CSV file cannot be read ({exc}); check its quoting.") from None
            types[failing] = pa.string()
            continue
        _refuse_ragged(raw, ragged)
        if table.num_rows == 0:
            raise InvalidInput(
                "The file has a header but no data rows; add the data below the header.",
                errors=[{"row": 2, "column": None, "message": "no data rows"}],
            )
        return table


def _failing_column(message: str, raw: bytes) -> str | None:
    match = re.search(r"In CSV column #(\d+)", message)
    names = _header(raw)[0]
    return names[int(match.group(1))] if match and int(match.group(1)) < len(names) else None


def _refuse_ragged(raw: bytes, ragged: list[Any]) -> None:
    if not ragged:
        return
    lines: dict[str, int] = {}
    for number, line in enumerate(raw.decode("utf-8-sig").splitlines(), start=1):
        lines.setdefault(line, number)
    # A row opened by an unclosed quote spans lines: its first line is where a person should look.
    errors = [
        {
            "row": lines.get((row.text.splitlines() or [""])[0]),
            "column": None,
            "message": f"has {row.actual_columns} field(s) where the header has {row.expected_columns}",
        }
        for row in ragged[:MAX_LISTED_PROBLEMS]
    ]
    raise InvalidInput(
        f"{len(ragged):,} row(s) have a different number of fields than the header "
        f"({ragged[0].expected_columns}), first at "
        f"row {errors[0]['row']}; a value holding the delimiter must be quoted.",
        errors=errors,
    )


def _csv_line_finder(raw: bytes) -> Callable[[int], int | None]:
    """Record position -> file line. Only errors need it, so the map is built on first use; blank lines,
    which the reader skips, are why records and lines can differ."""
    record_lines: list[int] = []

    def line_of(position: int) -> int | None:
        if not record_lines:
            lines = raw.split(b"\n")
            record_lines.extend(i for i, line in enumerate(lines, start=1) if line.strip(b"\r"))
        index = position + 1  # record 0 is the header
        return record_lines[index] if index < len(record_lines) else None

    return line_of


def _read_parquet(raw: bytes, wanted: Sequence[str] | None) -> _Table:
    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(
            f"The Parquet file is corrupt or truncated ({exc}); export it again and upload the new file."
        ) from None
    if table.num_rows == 0:
        raise InvalidInput("The Parquet file has no rows; upload a file with data.")
    labels = _normalised(table.column_names, header_row=None)
    present = _check_columns(labels, wanted, header_row=None)
    return _Table(
        {name: table.column(labels[name]).to_pandas(date_as_object=False) for name in present},
        labels,
        line_of=lambda position: position + 1,
    )


def _check_columns(labels: dict[str, str], wanted: Sequence[str] | None, header_row: int | None) -> list[str]:
    """The columns to read, in canonical order; refuses missing and unknown ones, naming them."""
    present = set(labels)
    if wanted is None:
        allowed = set(SERIES_COLUMNS + PRICE_COLUMNS)
        required = {"ds"} | ({"y"} if "close" not in present else set())
    else:
        allowed = required = set(wanted)
        if "bonus1" in present and "bonus" in allowed and "bonus" not in present:
            labels["bonus"] = labels.pop("bonus1")  # one bonus ball may be written either way
            present = set(labels)
    missing = [name for name in (wanted or SERIES_COLUMNS) if name in required - present]
    unknown = [labels[name] for name in labels if name not in allowed]
    if missing or unknown:
        raise InvalidInput(
            _column_advice(missing, unknown, wanted),
            errors=[
                {"row": header_row, "column": name, "message": "required column is missing"}
                for name in missing
            ]
            + [{"row": header_row, "column": name, "message": "unknown column"} for name in unknown],
        )
    return [name for name in (wanted or SERIES_COLUMNS + PRICE_COLUMNS) if name in present]


def _column_advice(missing: list[str], unknown: list[str], wanted: Sequence[str] | None) -> str:
    expected = (
        "unique_id, ds and y (optionally open, high, low, close, volume)"
        if wanted is None
        else ", ".join(wanted)
    )
    parts = []
    if missing:
        parts.append(f"lacks the column(s) {', '.join(missing)}")
    if unknown:
        parts.append(f"has column(s) Helios does not know: {', '.join(repr(name) for name in unknown)}")
    hints = [
        f"rename {name!r} to {_RENAME_HINTS[name.strip().lower()]!r}"
        for name in unknown
        if name.strip().lower() in _RENAME_HINTS
    ]
    if any(not name.strip() or name.lower().startswith("unnamed") for name in unknown):
        hints.append("drop the unnamed index column (pandas: to_csv(index=False))")
    advice = f" Expected {expected}" + (f"; {'; '.join(hints)}." if hints else ".")
    return f"The file {' and '.join(parts)}.{advice}"


# --- time series ---------------------------------------------------------------------------------------


def _canonical_timeseries(table: _Table) -> tuple[pd.DataFrame, list[str]]:
    problems = _Problems(table)
    notes = list(table.notes)
    columns = table.columns
    if "unique_id" in columns:
        id_codes, id_names = _series_ids(columns["unique_id"], problems)
    else:
        id_codes, id_names = np.zeros(table.rows, dtype=np.intp), pd.Index([SINGLE_SERIES_ID])
        notes.append(f"the file has no unique_id column, so it is one series named {SINGLE_SERIES_ID!r}")
    stamps = _timestamps(columns["ds"], "ds", problems, table.date_format)
    if "y" not in columns:
        notes.append("the file has no y column, so y is the close")
    values = {
        name: _numbers(columns[name], name, problems, required=name == "y")
        for name in ("y",) + PRICE_COLUMNS
        if name in columns
    }
    if "y" not in values:
        values["y"] = values["close"]  # required when y is absent
    problems.raise_if_any()
    sorting = _series_order(id_codes, stamps)
    if sorting is not None:  # None: already sorted, strictly, so no repeated dates either
        _refuse_repeated_stamps(id_codes, stamps, sorting, id_names, problems)
    order = slice(None) if sorting is None else sorting
    frame = pd.DataFrame(
        {"unique_id": id_names.take(id_codes[order]).to_numpy(dtype=object), "ds": stamps[order]}
    )
    for name in ("y",) + PRICE_COLUMNS:
        if name in values:
            frame[name] = values[name][order]
    return frame, notes


def _series_order(codes: np.ndarray, stamps: np.ndarray) -> np.ndarray | None:
    """Row order by series then time; None when the file is already in it, as most exports are."""
    series_step, time_step = np.diff(codes), np.diff(stamps.view(np.int64))
    if ((series_step > 0) | ((series_step == 0) & (time_step > 0))).all():
        return None
    by_time = np.argsort(stamps, kind="stable")
    # Up to 65,536 series the codes fit 16 bits, which numpy's stable sort orders by radix, in linear time.
    keys = codes.astype(np.uint16) if codes.max() < 2**16 else codes
    return by_time[np.argsort(keys[by_time], kind="stable")]


def _series_ids(column: pd.Series, problems: _Problems) -> tuple[np.ndarray, pd.Index]:
    """Codes that sort like the trimmed ids, and the ids; each distinct id is one shared string."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    names = pd.Index(np.asarray(uniques, dtype=object)).astype(str).str.strip()
    rank, sorted_names = pd.factorize(names, sort=True)
    id_codes = np.where(codes < 0, -1, rank[np.maximum(codes, 0)])
    blank = codes < 0
    if "" in sorted_names:
        blank |= id_codes == sorted_names.get_loc("")
    problems.add_where(np.flatnonzero(blank), "unique_id", lambda _: "unique_id is empty; name the series")
    return id_codes, sorted_names


def _timestamps(column: pd.Series, name: str, problems: _Problems, date_format: str | None) -> np.ndarray:
    """datetime64[ns] values, naive (UTC when the file gave offsets); unreadable dates become problems."""
    written = column
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_datetime64_any_dtype(column.dtype):
        problems.add(0, name, f"{name} holds numbers (e.g. {column.iloc[0]}), not dates; write YYYY-MM-DD")
        return np.zeros(len(column), dtype="datetime64[ns]")
    if not pd.api.types.is_datetime64_any_dtype(column.dtype):
        column = _parse_dates(column, date_format)
    try:
        stamps = column.to_numpy(dtype="datetime64[ns]")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        problems.add(None, name, "a date lies outside the years 1677-2262 that Helios can store")
        return np.zeros(len(column), dtype="datetime64[ns]")
    unreadable = np.flatnonzero(np.isnat(stamps))
    problems.add_where(unreadable, name, lambda i: _date_problem(name, written.iloc[i]))
    return stamps


def _parse_dates(text: pd.Series, date_format: str | None) -> pd.Series:
    """ISO 8601 first (exact and fast); otherwise the format pandas infers from the first value."""
    text = text.astype(object)
    if date_format:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
    else:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        if parsed.isna().any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                guessed = pd.to_datetime(text, errors="coerce", utc=True)
            if guessed.isna().sum() < parsed.isna().sum():
                parsed = guessed
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _when(stamp: np.datetime64) -> str:
    moment = pd.Timestamp(stamp)
    return str(moment.date()) if moment == moment.normalize() else str(moment)


def _date_problem(name: str, value: Any) -> str:
    if value is None or pd.isna(value):
        return f"{name} is empty; every row needs a date"
    return f"{value!r} is not a date; write dates as YYYY-MM-DD"


def _numbers(column: pd.Series, name: str, problems: _Problems, *, required: bool) -> np.ndarray:
    """float64 values; text that is not a number, and (where required) empty cells, become problems."""
    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        column = _parse_numbers(column, name, problems)
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.flatnonzero(np.isinf(values))
    problems.add_where(infinite, name, lambda i: f"{name} is infinite ({values[i]}); give a finite number")
    if required:
        empty = np.flatnonzero(np.isnan(values))
        problems.add_where(empty, name, lambda _: f"{name} is empty or NaN; every row needs a number")
    return values


def _parse_numbers(text: pd.Series, name: str, problems: _Problems) -> pd.Series:
    text = text.astype(object)
    numbers = pd.to_numeric(text, errors="coerce")
    failed = numbers.isna() & text.notna() & (text.astype(str).str.strip() != "")
    if failed.any() and problems.table.decimal_comma:
        comma = text[failed].astype(str).str.strip()
        decimal = comma.str.fullmatch(r"-?\d+,\d+")
        numbers[comma.index[decimal]] = pd.to_numeric(comma[decimal].str.replace(",", "."))
        failed &= numbers.isna()
    problems.add_where(np.flatnonzero(failed.to_numpy()), name, lambda i: f"{text.iloc[i]!r} is not a number")
    # Refused cells are flagged once, above; NaN would flag them again as empty.
    return numbers.where(~failed, 0.0)


def _refuse_repeated_stamps(
    codes: np.ndarray, stamps: np.ndarray, order: np.ndarray, names: pd.Index, problems: _Problems
) -> None:
    sorted_codes, sorted_stamps = codes[order], stamps[order]
    same = (sorted_codes[1:] == sorted_codes[:-1]) & (sorted_stamps[1:] == sorted_stamps[:-1])
    for later in np.flatnonzero(same)[:MAX_LISTED_PROBLEMS]:
        first, again = sorted((int(order[later]), int(order[later + 1])))
        problems.add(
            again,
            "ds",
            f"series {names[codes[again]]!r} has {_when(stamps[again])} twice "
            f"(also at row {problems.table.line_of(first)}); keep one row per date",
        )
    problems.total += max(int(same.sum()) - MAX_LISTED_PROBLEMS, 0)
    problems.raise_if_any()


# --- draws ---------------------------------------------------------------------------------------------


def _draw_columns(rules: GameRules) -> list[str]:
    return ["ds", *main_columns(rules.main_count), *bonus_columns(rules.bonus_count)]


def _canonical_draws(table: _Table, rules: GameRules) -> tuple[pd.DataFrame, list[str]]:
    problems = _Problems(table)
    names = _draw_columns(rules)
    main_names, bonus_names = names[1 : 1 + rules.main_count], names[1 + rules.main_count :]
    stamps = _timestamps(table.columns["ds"], "ds", problems, table.date_format)
    main = _whole_numbers(table, main_names, problems)
    bonus = _whole_numbers(table, bonus_names, problems)
    problems.raise_if_any()
    eras = _eras_in_force(stamps, rules, problems)
    problems.raise_if_any()
    bounds = np.array([(e.main_min, e.main_max, e.bonus_min, e.bonus_max) for e in rules.eras])[eras]
    _refuse_outside(main, main_names, bounds[:, 0], bounds[:, 1], stamps, problems)
    _refuse_outside(bonus, bonus_names, bounds[:, 2], bounds[:, 3], stamps, problems)
    _refuse_repeated_numbers(main, main_names, problems)
    _refuse_repeated_numbers(bonus, bonus_names, problems)
    _refuse_repeated_draw_dates(stamps, problems)
    problems.raise_if_any()
    notes = list(table.notes)
    main, bonus = _ascending(main, table, "main", notes), _ascending(bonus, table, "bonus", notes)
    order = np.argsort(stamps, kind="stable")
    frame = pd.DataFrame({"ds": stamps[order]})
    for k, name in enumerate(main_names):
        frame[name] = main[order, k]
    for k, name in enumerate(bonus_names):
        frame[name] = bonus[order, k]
    return frame, notes


def _whole_numbers(table: _Table, names: list[str], problems: _Problems) -> np.ndarray:
    """An int64 matrix, one column per ball; empty cells and fractions are problems."""
    matrix = np.zeros((table.rows, len(names)), dtype=np.int64)
    for k, name in enumerate(names):
        values = _numbers(table.columns[name], name, problems, required=True)
        finite = np.isfinite(values)
        fractional = np.flatnonzero(finite & (values != np.floor(np.where(finite, values, 0))))
        problems.add_where(fractional, name, _not_whole(values))
        matrix[:, k] = np.where(finite, values, 0)
    return matrix


def era_index(stamps: np.ndarray, rules: GameRules) -> np.ndarray:
    """For each draw date, the index in ``rules.eras`` of the era in force on it; -1 where none is."""
    days = np.asarray(stamps).astype("datetime64[D]")
    starts = np.array([era.start for era in rules.eras], dtype="datetime64[D]")
    ends = np.array([era.end or dt.date.max for era in rules.eras], dtype="datetime64[D]")
    index = np.searchsorted(starts, days, side="right") - 1
    covered = (index >= 0) & (days <= ends[np.maximum(index, 0)])
    return np.where(covered, index, -1)


def _not_whole(values: np.ndarray) -> Callable[[int], str]:
    return lambda i: f"{values[i]:g} is not a whole number"


def _eras_in_force(stamps: np.ndarray, rules: GameRules, problems: _Problems) -> np.ndarray:
    """Index of the era in force on each draw's date; a date no era covers is a problem."""
    index = era_index(stamps, rules)
    days = stamps.astype("datetime64[D]")
    span = f"{rules.eras[0].start} to {rules.eras[-1].end or 'today'}"
    problems.add_where(
        np.flatnonzero(index < 0),
        "ds",
        lambda i: (
            f"no era of the {rules.name} rules covers the draw date {days[i]}; they cover {span} "
            "(check the date, or declare the era)"
        ),
    )
    return np.maximum(index, 0)


def _refuse_outside(
    matrix: np.ndarray,
    names: list[str],
    low: np.ndarray,
    high: np.ndarray,
    stamps: np.ndarray,
    problems: _Problems,
) -> None:
    outside = (matrix < low[:, None]) | (matrix > high[:, None])
    rows, cols = np.nonzero(outside)
    room = max(MAX_LISTED_PROBLEMS - len(problems.listed), 0)
    for row, col in zip(rows[:room], cols[:room], strict=True):
        problems.add(
            int(row),
            names[col],
            (
                f"{names[col]} = {matrix[row, col]} is outside {low[row]}-{high[row]}, the range in force on "
                f"{stamps[row].astype('datetime64[D]')}"
            ),
        )
    problems.total += max(len(rows) - room, 0)


def _refuse_repeated_numbers(matrix: np.ndarray, names: list[str], problems: _Problems) -> None:
    ordered = np.sort(matrix, axis=1)
    repeated = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    for row in repeated[:MAX_LISTED_PROBLEMS]:
        draw = matrix[row].tolist()
        second = next(k for k, number in enumerate(draw) if number in draw[:k])
        problems.add(int(row), names[second], f"{draw[second]} is drawn twice in one draw ({draw})")
    problems.total += max(len(repeated) - MAX_LISTED_PROBLEMS, 0)


def _refuse_repeated_draw_dates(stamps: np.ndarray, problems: _Problems) -> None:
    order = np.argsort(stamps, kind="stable")
    again = np.flatnonzero(stamps[order][1:] == stamps[order][:-1])
    for later in again[:MAX_LISTED_PROBLEMS]:
        first, second = int(order[later]), int(order[later + 1])
        problems.add(
            second,
            "ds",
            f"two draws on {stamps[second].astype('datetime64[D]')} "
            f"(also at row {problems.table.line_of(first)}); keep one",
        )
    problems.total += max(len(again) - MAX_LISTED_PROBLEMS, 0)


def _ascending(matrix: np.ndarray, table: _Table, role: str, notes: list[str]) -> np.ndarray:
    """Balls in ascending order within each draw; the order they came out in carries no information the
    models use, and a fixed order makes n1..nK comparable. The rows that were not already sorted are noted."""
    ordered = np.sort(matrix, axis=1)
    moved = np.flatnonzero((ordered != matrix).any(axis=1))
    if len(moved):
        rows = ", ".join(str(table.line_of(int(i))) for i in moved[:MAX_LISTED_PROBLEMS])
        more = " ..." if len(moved) > MAX_LISTED_PROBLEMS else ""
        notes.append(
            f"sorted the {role} numbers of {len(moved)} draw(s) into ascending order (rows {rows}{more})"
        )
    return ordered


def _read_ny_powerball(raw: bytes, rules: GameRules) -> _Table:
    """New York's export: "Draw Date" (MM/DD/YYYY) and "Winning Numbers" (the white balls, then the
    Powerball, space-separated). Only the main draw is kept: the Multiplier and Double Play are
    other games on the same ticket."""
    names, delimiter = _header(raw)
    labels = _normalised(names, header_row=1)
    missing = [column for column in NY_COLUMNS[:2] if column not in labels]
    if missing:
        raise InvalidInput(
            f"The file lacks the column(s) {', '.join(missing)} of the New York Powerball export; "
            "upload the export as downloaded, or use format csv.",
            errors=[{"row": 1, "column": name, "message": "required column is missing"} for name in missing],
        )
    arrow = _read_csv_arrow(raw, delimiter, {labels[name]: pa.string() for name in NY_COLUMNS[:2]})
    balls = _draw_columns(rules)[1:]
    winning = arrow.column(labels["winning numbers"]).to_pandas().fillna("").str.split(expand=True)
    winning = winning.reindex(columns=range(max(len(balls), winning.shape[1])))
    columns = {"ds": arrow.column(labels["draw date"]).to_pandas()}
    columns.update({name: winning[k] for k, name in enumerate(balls)})
    file_labels = {"ds": labels["draw date"], **{name: labels["winning numbers"] for name in balls}}
    table = _Table(columns, file_labels, _csv_line_finder(raw), date_format=NY_DATE_FORMAT)
    ignored = [labels[name] for name in labels if name not in NY_COLUMNS[:2]]
    if ignored:
        table.notes.append(f"kept only the main draw; ignored {', '.join(ignored)}")
    _refuse_wrong_ball_count(winning.notna().sum(axis=1).to_numpy(), rules, table)
    return table


def _refuse_wrong_ball_count(counts: np.ndarray, rules: GameRules, table: _Table) -> None:
    problems = _Problems(table)
    expected = rules.main_count + rules.bonus_count
    problems.add_where(
        np.flatnonzero(counts != expected),
        "n1",
        lambda i: (
            f"has {counts[i]} numbers; a draw has {rules.main_count} main numbers then "
            f"{rules.bonus_count} bonus number(s)"
        ),
    )
    problems.raise_if_any()


# --- M4 wide -------------------------------------------------------------------------------------------


def _read_m4_wide(raw: bytes, options: ImportOptions) -> tuple[pd.DataFrame, list[str]]:
    """M4 layout: the series id, then its values from the first step on, rows padded with empty cells.
    The file holds no dates, so every series is placed on the ``freq`` calendar from ``start``."""
    names, delimiter = _header(raw)
    _normalised(names, header_row=1)
    arrow = _read_csv_arrow(raw, delimiter, {names[0]: pa.string(), **{n: pa.float64() for n in names[1:]}})
    table = _Table(
        {"unique_id": arrow.column(names[0]).to_pandas()}, {"unique_id": names[0]}, _csv_line_finder(raw)
    )
    problems = _Problems(table)
    id_codes, id_names = _series_ids(table.columns["unique_id"], problems)
    rows, steps, values = _m4_values(arrow, names[1:], problems)
    _refuse_m4_series_problems(id_codes, id_names, rows, problems)
    problems.raise_if_any()
    stamps = _m4_calendar(options, periods=int(steps.max()) + 1)
    order = np.lexsort((steps, id_codes[rows]))
    frame = pd.DataFrame(
        {
            "unique_id": id_names.take(id_codes[rows[order]]).to_numpy(dtype=object),
            "ds": stamps.to_numpy()[steps[order]],
            "y": values[order],
        }
    )
    return frame, [f"placed {len(id_names)} series on the {stamps.freqstr} calendar from {stamps[0].date()}"]


def _m4_values(arrow: pa.Table, value_columns: list[str], problems: _Problems) -> tuple[np.ndarray, ...]:
    """(row, step, value) of every filled cell, column by column, so memory follows the values present
    rather than the padded rectangle."""
    rows, steps, values = [], [], []
    earlier = np.ones(arrow.num_rows, dtype=bool)
    for step, name in enumerate(value_columns):
        column = _m4_column(arrow.column(name), name, problems)
        filled = ~np.isnan(column)
        if (filled & ~earlier).any():
            problems.add_where(
                np.flatnonzero(filled & ~earlier),
                name,
                lambda _: "a value follows an empty cell; values must be contiguous, padded only at the end",
            )
        earlier = filled
        present = np.flatnonzero(filled)
        rows.append(present)
        steps.append(np.full(len(present), step))
        values.append(column[present])
    return np.concatenate(rows), np.concatenate(steps), np.concatenate(values)


def _m4_column(values: pa.ChunkedArray, name: str, problems: _Problems) -> np.ndarray:
    if not pa.types.is_floating(values.type):  # a column with text in it: locate the cells
        return _numbers(values.to_pandas(), name, problems, required=False)
    # M4 files have thousands of columns: stay in numpy, skipping pandas' per-column overhead.
    column = values.to_numpy()
    infinite = np.isinf(column)
    if infinite.any():
        problems.add_where(np.flatnonzero(infinite), name, lambda i: f"{name} is infinite ({column[i]})")
    return column


def _refuse_m4_series_problems(
    codes: np.ndarray, names: pd.Index, rows: np.ndarray, problems: _Problems
) -> None:
    empty = np.flatnonzero(np.bincount(rows, minlength=len(codes)) == 0)
    problems.add_where(empty, "unique_id", lambda i: f"series {names[codes[i]]!r} has no values")
    repeated = pd.Series(codes).duplicated().to_numpy() & (codes >= 0)
    problems.add_where(
        np.flatnonzero(repeated),
        "unique_id",
        lambda i: f"series {names[codes[i]]!r} appears on more than one row",
    )


def _m4_calendar(options: ImportOptions, periods: int) -> pd.DatetimeIndex:
    assert options.freq is not None and options.start is not None
    try:
        freq = normalise_freq(options.freq)
    except ForecastingError as exc:
        raise InvalidInput(f"{exc}.") from None
    start = pd.Timestamp(options.start)
    if freq == "W":  # weeks end on whatever weekday the series starts on, not pandas' default Sunday
        freq = f"W-{start.day_name()[:3].upper()}"
    end = start + (periods - 1) * pd.tseries.frequencies.to_offset(freq)
    stamps = expected_stamps(start, end, freq)
    if len(stamps) != periods or stamps[0] != start:
        raise InvalidInput(
            f"start {options.start} is not on the {freq} calendar (e.g. MS needs the 1st of a month, B a "
            "weekday); give a start date on it."
        )
    return stamps
