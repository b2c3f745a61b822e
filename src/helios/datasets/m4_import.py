"""The M4 competition's wide layout: headers ``V1..Vn``, one row per series (its id, then its values from the
first step on), and no dates, so the series are placed on a calendar given at import."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from helios.core.errors import InvalidInput
from helios.datasets.tabular import (
    Problems,
    Table,
    checked_numbers,
    csv_header,
    csv_line_finder,
    normalised_labels,
    read_csv_arrow,
)
from helios.datasets.timeseries_import import series_ids
from helios.forecasting.base import ForecastingError
from helios.forecasting.frequency import expected_stamps, normalise_freq


def read_m4_wide(raw: bytes, freq: str, start: dt.date) -> tuple[pd.DataFrame, list[str]]:
    """M4 layout: the series id, then its values from the first step on, rows padded with empty cells.
    The file holds no dates, so every series is placed on the ``freq`` calendar from ``start``."""
    names, delimiter = csv_header(raw)
    normalised_labels(names, header_row=1)
    arrow = read_csv_arrow(raw, delimiter, {names[0]: pa.string(), **{n: pa.float64() for n in names[1:]}})
    table = Table(
        {"unique_id": arrow.column(names[0]).to_pandas()}, {"unique_id": names[0]}, csv_line_finder(raw)
    )
    problems = Problems(table)
    id_codes, id_names = series_ids(table.columns["unique_id"], problems)
    rows, steps, values = _m4_values(arrow, names[1:], problems)
    _refuse_m4_series_problems(id_codes, id_names, rows, problems)
    problems.raise_if_any()
    stamps = _m4_calendar(freq, start, periods=int(steps.max()) + 1)
    order = np.lexsort((steps, id_codes[rows]))
    frame = pd.DataFrame(
        {
            "unique_id": id_names.take(id_codes[rows[order]]).to_numpy(dtype=object),
            "ds": stamps.to_numpy()[steps[order]],
            "y": values[order],
        }
    )
    return frame, [f"placed {len(id_names)} series on the {stamps.freqstr} calendar from {stamps[0].date()}"]


def _m4_values(arrow: pa.Table, value_columns: list[str], problems: Problems) -> tuple[np.ndarray, ...]:
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


def _m4_column(values: pa.ChunkedArray, name: str, problems: Problems) -> np.ndarray:
    if not pa.types.is_floating(values.type):  # a column with text in it: locate the cells
        return checked_numbers(values.to_pandas(), name, problems, required=False)
    # M4 files have thousands of columns: stay in numpy, skipping pandas' per-column overhead.
    column = values.to_numpy()
    infinite = np.isinf(column)
    if infinite.any():
        problems.add_where(np.flatnonzero(infinite), name, lambda i: f"{name} is infinite ({column[i]})")
    return column


def _refuse_m4_series_problems(
    codes: np.ndarray, names: pd.Index, rows: np.ndarray, problems: Problems
) -> None:
    empty = np.flatnonzero(np.bincount(rows, minlength=len(codes)) == 0)
    problems.add_where(empty, "unique_id", lambda i: f"series {names[codes[i]]!r} has no values")
    repeated = pd.Series(codes).duplicated().to_numpy() & (codes >= 0)
    problems.add_where(
        np.flatnonzero(repeated),
        "unique_id",
        lambda i: f"series {names[codes[i]]!r} appears on more than one row",
    )


def _m4_calendar(freq: str, start: dt.date, periods: int) -> pd.DatetimeIndex:
    try:
        freq = normalise_freq(freq)
    except ForecastingError as exc:
        raise InvalidInput(f"{exc}.") from None
    first = pd.Timestamp(start)
    if freq == "W":  # weeks end on whatever weekday the series starts on, not pandas' default Sunday
        freq = f"W-{first.day_name()[:3].upper()}"
    end = first + (periods - 1) * pd.tseries.frequencies.to_offset(freq)
    stamps = expected_stamps(first, end, freq)
    if len(stamps) != periods or stamps[0] != first:
        raise InvalidInput(
            f"start {start} is not on the {freq} calendar (e.g. MS needs the 1st of a month, B a "
            "weekday); give a start date on it."
        )
    return stamps
