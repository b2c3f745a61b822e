"""Time series in canonical form: ``unique_id``, ``ds``, ``y`` and any price columns, one row per series and
date, sorted by series then date (the full contract is in ``helios.datasets.importers``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helios.datasets.tabular import (
    MAX_LISTED_PROBLEMS,
    PRICE_COLUMNS,
    Problems,
    Table,
    checked_numbers,
    checked_stamps,
)

SINGLE_SERIES_ID = "series"


def canonical_timeseries(table: Table) -> tuple[pd.DataFrame, list[str]]:
    problems = Problems(table)
    notes = list(table.notes)
    columns = table.columns
    if "unique_id" in columns:
        id_codes, id_names = series_ids(columns["unique_id"], problems)
    else:
        id_codes, id_names = np.zeros(table.rows, dtype=np.intp), pd.Index([SINGLE_SERIES_ID])
        notes.append(f"the file has no unique_id column, so it is one series named {SINGLE_SERIES_ID!r}")
    stamps = checked_stamps(columns["ds"], "ds", problems, table.date_format)
    if "y" not in columns:
        notes.append("the file has no y column, so y is the close")
    values = {
        name: checked_numbers(columns[name], name, problems, required=name == "y")
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


def series_ids(column: pd.Series, problems: Problems) -> tuple[np.ndarray, pd.Index]:
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


def _refuse_repeated_stamps(
    codes: np.ndarray, stamps: np.ndarray, order: np.ndarray, names: pd.Index, problems: Problems
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


def _when(stamp: np.datetime64) -> str:
    moment = pd.Timestamp(stamp)
    return str(moment.date()) if moment == moment.normalize() else str(moment)
