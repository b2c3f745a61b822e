"""Draw histories in canonical form: ``ds``, ``n1..nK`` ascending within each draw, then the bonus ball(s),
every number checked against the era of the game's rules in force on its date; and New York State's
open-data export of Powerball draws, read into that shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from helios.core.errors import InvalidInput
from helios.datasets.tabular import (
    MAX_LISTED_PROBLEMS,
    Problems,
    Table,
    checked_numbers,
    checked_stamps,
    csv_header,
    csv_line_finder,
    normalised_labels,
    read_csv_arrow,
)
from helios.forecasting.draw_history import bonus_columns, main_columns
from helios.forecasting.rules import GameRules

NY_DATE_FORMAT = "%m/%d/%Y"
NY_COLUMNS = ("draw date", "winning numbers", "multiplier", "double_play_winning_numbers")


def draw_columns(rules: GameRules) -> list[str]:
    return ["ds", *main_columns(rules.main_count), *bonus_columns(rules.bonus_count)]


def canonical_draws(table: Table, rules: GameRules) -> tuple[pd.DataFrame, list[str]]:
    problems = Problems(table)
    names = draw_columns(rules)
    main_names, bonus_names = names[1 : 1 + rules.main_count], names[1 + rules.main_count :]
    stamps = checked_stamps(table.columns["ds"], "ds", problems, table.date_format)
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


def _whole_numbers(table: Table, names: list[str], problems: Problems) -> np.ndarray:
    """An int64 matrix, one column per ball; empty cells and fractions are problems."""
    matrix = np.zeros((table.rows, len(names)), dtype=np.int64)
    for k, name in enumerate(names):
        values = checked_numbers(table.columns[name], name, problems, required=True)
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


def _eras_in_force(stamps: np.ndarray, rules: GameRules, problems: Problems) -> np.ndarray:
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
    problems: Problems,
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


def _refuse_repeated_numbers(matrix: np.ndarray, names: list[str], problems: Problems) -> None:
    ordered = np.sort(matrix, axis=1)
    repeated = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    for row in repeated[:MAX_LISTED_PROBLEMS]:
        draw = matrix[row].tolist()
        second = next(k for k, number in enumerate(draw) if number in draw[:k])
        problems.add(int(row), names[second], f"{draw[second]} is drawn twice in one draw ({draw})")
    problems.total += max(len(repeated) - MAX_LISTED_PROBLEMS, 0)


def _refuse_repeated_draw_dates(stamps: np.ndarray, problems: Problems) -> None:
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


def _ascending(matrix: np.ndarray, table: Table, role: str, notes: list[str]) -> np.ndarray:
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


# --- New York Powerball export -------------------------------------------------------------------------


def read_ny_powerball(raw: bytes, rules: GameRules) -> Table:
    """New York's export: "Draw Date" (MM/DD/YYYY) and "Winning Numbers" (the white balls, then the
    Powerball, space-separated). Only the main draw is kept: the Multiplier and Double Play are
    other games on the same ticket."""
    names, delimiter = csv_header(raw)
    labels = normalised_labels(names, header_row=1)
    missing = [column for column in NY_COLUMNS[:2] if column not in labels]
    if missing:
        raise InvalidInput(
            f"The file lacks the column(s) {', '.join(missing)} of the New York Powerball export; "
            "upload the export as downloaded, or use format csv.",
            errors=[{"row": 1, "column": name, "message": "required column is missing"} for name in missing],
        )
    arrow = read_csv_arrow(raw, delimiter, {labels[name]: pa.string() for name in NY_COLUMNS[:2]})
    balls = draw_columns(rules)[1:]
    winning = arrow.column(labels["winning numbers"]).to_pandas().fillna("").str.split(expand=True)
    winning = winning.reindex(columns=range(max(len(balls), winning.shape[1])))
    columns = {"ds": arrow.column(labels["draw date"]).to_pandas()}
    columns.update({name: winning[k] for k, name in enumerate(balls)})
    file_labels = {"ds": labels["draw date"], **{name: labels["winning numbers"] for name in balls}}
    table = Table(columns, file_labels, csv_line_finder(raw), date_format=NY_DATE_FORMAT)
    ignored = [labels[name] for name in labels if name not in NY_COLUMNS[:2]]
    if ignored:
        table.notes.append(f"kept only the main draw; ignored {', '.join(ignored)}")
    _refuse_wrong_ball_count(winning.notna().sum(axis=1).to_numpy(), rules, table)
    return table


def _refuse_wrong_ball_count(counts: np.ndarray, rules: GameRules, table: Table) -> None:
    problems = Problems(table)
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
