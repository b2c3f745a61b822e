"""Files as people have them: a column mapping names which columns hold the dates, the series ids and the
values (``date,ticker,close``), and a wide file (``date,NOVA,ORBI``: one column per series) is melted into
the long form the importer checks.

    ColumnMapping(date_col="date", id_col="ticker", value_col="close")  # renames to ds, unique_id, y
    ColumnMapping(date_col="date", wide=True)                         # every other column is a series

A mapping only renames: every check of the long format (dates, numbers, repeated dates, unknown columns)
still runs on the mapped columns, and errors name the columns as the file writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from helios.core.errors import InvalidInput
from helios.datasets.tabular import (
    SERIES_COLUMNS,
    Table,
    csv_header,
    csv_line_finder,
    normalised_labels,
    read_csv_arrow,
)

# Mapping field -> the canonical column it becomes.
TARGETS = {"date_col": "ds", "id_col": "unique_id", "value_col": "y"}
DATE_NAMES = ("ds", "date", "time", "timestamp", "datetime", "day", "month", "week", "period")


class ColumnMapping(BaseModel):
    """Which of the file's columns are the dates, series ids and values; ``wide``: one column per series."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date_col: str | None = None
    id_col: str | None = None
    value_col: str | None = None
    wide: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.wide or self.date_col or self.id_col or self.value_col)

    def chosen(self) -> dict[str, str]:
        """Field -> column named, for the fields given."""
        return {field: getattr(self, field).strip() for field in TARGETS if getattr(self, field)}


def mapped_labels(labels: dict[str, str], mapping: ColumnMapping) -> dict[str, str]:
    """The file's labels (normalised name -> as written) with the mapped columns renamed to ds, unique_id
    and y. Refuses a column the file lacks, one column given twice, and a rename onto a column that exists."""
    chosen = mapping.chosen()
    _refuse_repeats(chosen)
    renamed = dict(labels)
    for field, column in chosen.items():
        key = _existing(labels, column, field)
        target = TARGETS[field]
        if key == target:
            continue
        if target in labels and labels[target] not in chosen.values():
            raise _field_error(
                field,
                column,
                f"{field} {column!r} would become {target}, but the file already has a column "
                f"{labels[target]!r}; map {field} to {labels[target]!r} or remove that column",
            )
        renamed.pop(key)
        renamed[target] = labels[key]
    return renamed


def _refuse_repeats(chosen: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for field, column in chosen.items():
        key = column.lower()
        if key in seen:
            raise _field_error(
                field,
                column,
                f"{seen[key]} and {field} both name the column {column!r}; choose a different one for each",
            )
        seen[key] = field


def _existing(labels: dict[str, str], column: str, field: str) -> str:
    key = column.strip().lower()
    if key not in labels:
        found = ", ".join(repr(label) for label in list(labels.values())[:12])
        raise _field_error(field, column, f"{field} {column!r} is not a column of the file; it has {found}")
    return key


def _field_error(field: str, column: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"The mapping is wrong: {message}.",
        errors=[{"field": field, "column": column, "row": None, "message": message}],
    )


# --- wide files ----------------------------------------------------------------------------------------


def read_wide_csv(raw: bytes, mapping: ColumnMapping, *, max_rows: int) -> Table:
    names, delimiter = csv_header(raw)
    if raw.count(b"\n") > max_rows + 1:
        raise InvalidInput(f"The file holds more than {max_rows:,} rows; split it into smaller files.")
    labels = normalised_labels(names, header_row=1)
    date_label, series = _wide_columns(labels, mapping)
    types = {date_label: pa.timestamp("ns")} | {label: pa.float64() for label in series}
    table = read_csv_arrow(raw, delimiter, types)
    return melted(table, date_label, series, csv_line_finder(raw), max_rows=max_rows)


def read_wide_parquet(raw: bytes, mapping: ColumnMapping, *, max_rows: int) -> Table:
    try:
        source = pq.ParquetFile(pa.BufferReader(raw))
        labels = normalised_labels(source.schema_arrow.names, header_row=None)
        date_label, series = _wide_columns(labels, mapping)
        if source.metadata.num_rows * len(series) > max_rows:
            raise InvalidInput(f"The file melts to more than {max_rows:,} rows; split it into smaller files.")
        table = source.read(columns=[date_label, *series])
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"The Parquet file is corrupt or truncated ({exc}); export it again.") from None
    return melted(table, date_label, series, lambda position: position + 1, max_rows=max_rows)


def _wide_columns(labels: dict[str, str], mapping: ColumnMapping) -> tuple[str, list[str]]:
    """The date column as written, and the series columns (every other one)."""
    for field in ("id_col", "value_col"):
        if getattr(mapping, field):
            raise _field_error(
                field,
                getattr(mapping, field),
                f"a wide file names its series in the header, so it has no {field}; give only date_col",
            )
    if mapping.date_col:
        date_key = _existing(labels, mapping.date_col, "date_col")
    else:
        date_key = next((key for key in labels if key in DATE_NAMES), next(iter(labels)))
    series = [label for key, label in labels.items() if key != date_key]
    if not series:
        raise _field_error("wide", "", "a wide file needs a column per series beside the date column")
    return labels[date_key], series


def melted(table: pa.Table, date_label: str, series: list[str], line_of, *, max_rows: int) -> Table:  # type: ignore[no-untyped-def]
    """Long form, series by series; empty cells are skipped (in a wide file, series start and end at
    different dates), so each row maps back to the file line its value came from."""
    rows = table.num_rows
    if rows == 0:
        raise InvalidInput("The file has a header but no data rows; add the data below the header.")
    if rows * len(series) > max_rows:
        raise InvalidInput(f"The file melts to more than {max_rows:,} rows; split it into smaller files.")
    values = pd.concat([_cells(table.column(label)) for label in series], ignore_index=True)
    present = ~(values.isna() | (values.astype(str).str.strip() == "")).to_numpy()
    kept = np.flatnonzero(present)
    if len(kept) == 0:
        raise InvalidInput("Every value cell of the wide file is empty; add the values.")
    stamps = table.column(date_label).to_pandas()
    codes = np.repeat(np.arange(len(series)), rows)[kept]
    notes = [f"the wide file's {len(series)} value columns became {len(series)} series"]
    if len(kept) < len(values):
        notes.append(f"{len(values) - len(kept):,} empty cells were skipped")
    columns = {
        "unique_id": pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(series))),
        "ds": stamps.iloc[kept % rows].reset_index(drop=True),
        "y": values.iloc[kept].reset_index(drop=True),
    }
    labels = {"unique_id": "(series column)", "ds": date_label, "y": "(value cell)"}
    return Table(columns, labels, lambda position: line_of(int(kept[position] % rows)), notes=notes)


def _cells(column: pa.ChunkedArray) -> pd.Series:
    # A column the fast reader could not take as numbers comes back as text, checked cell by cell later.
    return column.to_pandas().astype(object) if pa.types.is_string(column.type) else column.to_pandas()


# --- advice when a file's header is not the long format -------------------------------------------------


def looks_wide(names: list[str]) -> bool:
    """A date column and nothing that names series or values: one column per series."""
    keys = [name.strip().lower() for name in names]
    return len(keys) > 1 and keys[0] in DATE_NAMES and not set(keys[1:]) & set(SERIES_COLUMNS + _ID_OR_VALUE)


_ID_OR_VALUE = ("ticker", "symbol", "id", "series", "series_id", "name", "value", "price", "target", "close")


def mapping_advice(names: list[str]) -> str:
    """How to import a file with this header by mapping its columns (for the unknown-column error)."""
    found = ", ".join(repr(name[:40]) for name in names[:12]) + (" …" if len(names) > 12 else "")
    if looks_wide(names):
        how = (
            f"It looks like a wide file (one column per series): import it with wide and date_col "
            f"{names[0]!r} (CLI: --wide --date-col {names[0]!r})."
        )
    else:
        how = (
            "Or map the columns: date_col (the dates), id_col (the series names) and value_col (the values) "
            "(CLI: --date-col, --id-col, --value-col), or wide with date_col for one column per series."
        )
    return f" The file's columns are {found}. {how}"
