"""Reading an uploaded CSV or Parquet file into named columns, and checking those columns cell by cell.

A ``Table`` holds a file's columns under normalised names, not yet validated; ``Problems`` collects what is
wrong with it, naming rows as a person finds them (for CSV the file line, the header being line 1; for
Parquet the 1-based row), so one upload reports many problems rather than one per retry.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from helios.core.errors import InvalidInput

MAX_LISTED_PROBLEMS = 20
# The widest real layout is M4's (daily series reach ~9,920 values across); a header far beyond that
# is an attack on the parser or on the error message, refused before either sees it.
MAX_COLUMNS = 20_000
# Parquet is compressed: what it would take in memory, per byte of upload, before it is refused.
MAX_PARQUET_EXPANSION = 16
PARQUET_BATCH_ROWS = 65_536
SERIES_COLUMNS = ("unique_id", "ds", "y")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")

_NAMED_UNKNOWN = 5  # an error names this many unknown columns, then counts the rest

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


@dataclass
class Table:
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


class Problems:
    """Collects everything wrong with a file, so one upload reports many problems, not one per retry."""

    def __init__(self, table: Table) -> None:
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


def refuse_too_many_columns(count: int) -> None:
    if count > MAX_COLUMNS:
        raise InvalidInput(
            f"The file has {count:,} columns; Helios reads at most {MAX_COLUMNS:,}. "
            "Long format needs only unique_id, ds and y (plus optional price columns).",
            errors=[{"row": 1, "column": None, "message": f"{count:,} columns"}],
        )


def normalised_labels(names: Sequence[str], header_row: int | None) -> dict[str, str]:
    """Normalised name -> name as written; two columns that normalise alike are refused."""
    refuse_too_many_columns(len(names))
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


# --- reading files into named columns ------------------------------------------------------------------


def csv_header(raw: bytes) -> tuple[list[str], str]:
    """The header's names and the delimiter: whichever of , ; or tab the header uses most."""
    end = raw.find(b"\n")
    line = (raw if end < 0 else raw[:end]).decode("utf-8-sig").rstrip("\r")
    if not line.strip():
        raise InvalidInput("The first line of the file is empty; it must be the header naming the columns.")
    delimiter = max((",", ";", "\t"), key=line.count)
    refuse_too_many_columns(line.count(delimiter) + 1)  # counted before the header is parsed
    return next(csv.reader([line], delimiter=delimiter)), delimiter


Relabel = Callable[[dict[str, str]], dict[str, str]]


def read_csv(
    raw: bytes, wanted: Sequence[str] | None, *, max_rows: int, relabel: Relabel | None = None
) -> Table:
    """A long-format CSV; ``wanted`` are the draw columns, or None for time series. ``relabel`` renames
    columns (a column mapping) before they are checked."""
    names, delimiter = csv_header(raw)
    if raw.count(b"\n") > max_rows + 1:  # lines bound rows from above, and counting them is cheap
        raise too_many_rows(raw.count(b"\n") - 1, max_rows, at_least=True)
    labels = normalised_labels(names, header_row=1)
    if relabel is not None:
        labels = relabel(labels)
    present = _check_columns(labels, wanted, header_row=1)
    types = {labels[name]: _arrow_type(name) for name in present}
    table = read_csv_arrow(raw, delimiter, types)
    columns = {name: table.column(labels[name]).to_pandas() for name in present}
    return Table(columns, labels, csv_line_finder(raw), decimal_comma=delimiter == ";")


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


def read_csv_arrow(raw: bytes, delimiter: str, types: dict[str, pa.DataType]) -> pa.Table:
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
    names = csv_header(raw)[0]
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


def csv_line_finder(raw: bytes) -> Callable[[int], int | None]:
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


def read_parquet(
    raw: bytes, wanted: Sequence[str] | None, *, max_rows: int, relabel: Relabel | None = None
) -> Table:
    """A Parquet file, judged by its footer before any page is decompressed: a few kilobytes can
    claim a hundred million rows. Then read in batches, counting rows as they come."""
    try:
        source = pq.ParquetFile(pa.BufferReader(raw))
        _refuse_parquet_bomb(source.metadata, len(raw), max_rows)
        labels = normalised_labels(source.schema_arrow.names, header_row=None)
        if relabel is not None:
            labels = relabel(labels)
        present = _check_columns(labels, wanted, header_row=None)
        table = _read_parquet_batches(source, [labels[name] for name in present], max_rows)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(
            f"The Parquet file is corrupt or truncated ({exc}); export it again and upload the new file."
        ) from None
    if table.num_rows == 0:
        raise InvalidInput("The Parquet file has no rows; upload a file with data.")
    return Table(
        {name: table.column(labels[name]).to_pandas(date_as_object=False) for name in present},
        labels,
        line_of=lambda position: position + 1,
    )


def _refuse_parquet_bomb(meta: pq.FileMetaData, size: int, max_rows: int) -> None:
    refuse_too_many_columns(meta.num_columns)
    if meta.num_rows > max_rows:
        raise too_many_rows(meta.num_rows, max_rows)
    expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if expanded > MAX_PARQUET_EXPANSION * max(size, 1_000_000):
        raise InvalidInput(
            f"The Parquet file would expand from {size:,} bytes to {expanded:,} in memory, more than "
            f"{MAX_PARQUET_EXPANSION}x; Helios refuses it as a decompression bomb."
        )


def _read_parquet_batches(source: pq.ParquetFile, columns: list[str], max_rows: int) -> pa.Table:
    batches, rows = [], 0
    for batch in source.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
        rows += batch.num_rows
        if rows > max_rows:  # the footer can lie: count what really comes out
            raise too_many_rows(rows, max_rows, at_least=True)
        batches.append(batch)
    if not batches:
        return source.schema_arrow.empty_table().select(columns)
    return pa.Table.from_batches(batches)


def too_many_rows(rows: int, max_rows: int, *, at_least: bool = False) -> InvalidInput:
    return InvalidInput(
        f"The file holds {'more than ' if at_least else ''}{rows:,} rows; one import may hold at most "
        f"{max_rows:,} (HELIOS_MAX_IMPORT_ROWS). Split it into smaller files."
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
            errors=(
                [
                    {"row": header_row, "column": name, "message": "required column is missing"}
                    for name in missing
                ]
                + [{"row": header_row, "column": name, "message": "unknown column"} for name in unknown]
            )[:MAX_LISTED_PROBLEMS],
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
        named = ", ".join(repr(name[:40]) for name in unknown[:_NAMED_UNKNOWN])
        more = f" and {len(unknown) - _NAMED_UNKNOWN:,} more" if len(unknown) > _NAMED_UNKNOWN else ""
        parts.append(f"has {len(unknown):,} column(s) Helios does not know: {named}{more}")
    hints = [
        f"rename {name!r} to {_RENAME_HINTS[name.strip().lower()]!r}"
        for name in unknown[:_NAMED_UNKNOWN]
        if name.strip().lower() in _RENAME_HINTS
    ]
    if any(not name.strip() or name.lower().startswith("unnamed") for name in unknown):
        hints.append("drop the unnamed index column (pandas: to_csv(index=False))")
    advice = f" Expected {expected}" + (f"; {'; '.join(hints)}." if hints else ".")
    return f"The file {' and '.join(parts)}.{advice}"


# --- cell values ---------------------------------------------------------------------------------------


def checked_stamps(column: pd.Series, name: str, problems: Problems, date_format: str | None) -> np.ndarray:
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


def _date_problem(name: str, value: Any) -> str:
    if value is None or pd.isna(value):
        return f"{name} is empty; every row needs a date"
    return f"{value!r} is not a date; write dates as YYYY-MM-DD"


def checked_numbers(column: pd.Series, name: str, problems: Problems, *, required: bool) -> np.ndarray:
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


def _parse_numbers(text: pd.Series, name: str, problems: Problems) -> pd.Series:
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
