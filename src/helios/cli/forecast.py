"""``helios forecast``: fit a family on a long CSV and print (or write) its forecasts. No server,
no database: the forecasting engine alone, for a quick look or a script."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import pandas as pd
import typer
from pydantic import ValidationError
from rich.console import Console

from helios.forecasting.base import DataSpec, ForecastingError, ModelFamily
from helios.forecasting.frequency import (
    UNITS,
    calendar_cycles,
    freq_for_season,
    infer_freq,
    normalise_freq,
    season_length,
)
from helios.forecasting.seasonality import data_seasons, strongest_cycle

_FORECASTING_TASKS = ("timeseries", "price")
_err = Console(stderr=True, soft_wrap=True)  # long messages stay one line, paths unbroken


def forecast(
    input: Annotated[
        Path, typer.Option("--input", "-i", help="long CSV with columns unique_id, ds, y (or --wide)")
    ],
    horizon: Annotated[int, typer.Option("--horizon", help="steps to forecast")],
    freq: Annotated[
        str | None, typer.Option(help="frequency (h, D, B, W, M, Q, Y); inferred when empty")
    ] = None,
    season: Annotated[
        int | None,
        typer.Option(
            help="seasonal period; default from the frequency (with integer ds it also names the "
            "unit: 24 counts hours, 7 days, 12 months)"
        ),
    ] = None,
    family_name: Annotated[
        str, typer.Option("--family", "-f", help="model family, see `helios families`")
    ] = "auto",
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", hidden=True, help="deprecated: the family, now --family"),
    ] = None,
    levels: Annotated[str, typer.Option(help="interval levels in percent, comma-separated")] = "80,95",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV to write; stdout when empty")
    ] = None,
    params: Annotated[
        str | None, typer.Option(help='family hyperparameters as JSON, e.g. {"window": 260}')
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="auto: say per series what it chose and why (on stderr)")
    ] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="the CSV has a date column and one column per series (e.g. ETT, electricity)"
        ),
    ] = False,
    date_col: Annotated[
        str | None,
        typer.Option(
            "--date-col", help="with --wide: the date column; default the first one named like a date"
        ),
    ] = None,
) -> None:
    """Forecast every series of a long CSV and write unique_id, ds, mean, lo-L, hi-L."""
    if horizon < 1:
        raise typer.BadParameter(f"must be at least 1, got {horizon}", param_hint="--horizon")
    wanted_levels = parse_levels(levels)
    _note_server_unused()
    if model is not None:
        # --model named a family, which misled people who passed a registry model's name.
        _err.print("[yellow]warning:[/] --model is deprecated and names a family; use --family")
        family_name = model
    family = forecasting_family(family_name)
    if date_col is not None and not wide:
        raise typer.BadParameter("names the date column of a wide file: add --wide", param_hint="--date-col")
    frame = read_wide_csv(input, date_col) if wide else read_long_csv(input)
    spec = data_spec(frame, freq, season)
    config = family_config(family, params, horizon)
    check_lengths(frame, spec.season_length)
    try:
        fitted = family.fit(frame, config, spec)
        result = fitted.predict(horizon, wanted_levels)
    except ForecastingError as exc:
        _fail(str(exc))
    # Here, not at the top: the panel module imports scipy.stats (~0.6 s of CPU), and every
    # `helios` command, `serve` and `worker` included, imports this module to register the command.
    from helios.forecasting.panel import interval_columns

    columns = ["unique_id", "ds", "mean", *interval_columns(wanted_levels)]
    write_forecast(result[columns], output)
    if explain:
        explain_choices(fitted)


def explain_choices(fitted: object) -> None:
    """What ``auto`` chose per series and why, then what each candidate cost."""
    explanations = getattr(fitted, "explanations", None)
    if not explanations:
        _err.print(f"{getattr(fitted, 'family', 'this model')} makes no per-series choice to explain")
        return
    from helios.forecasting.auto_validation import SCORES_NOTE

    _err.print(f"{len(explanations)} series ({SCORES_NOTE})", markup=False, highlight=False)
    for uid, reason in explanations.items():
        _err.print(f"{uid}: {reason}", markup=False, highlight=False)
    for name, cost in getattr(fitted, "costs", {}).items():
        spent = ", ".join(f"{key} {value:.1f}" for key, value in cost.items()) or "not run"
        _err.print(f"cost of {name}: {spent}", markup=False, highlight=False)


def _fail(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of whole percents", param_hint="--levels"
        ) from None
    if not levels or any(not 0 < level < 100 for level in levels):
        raise typer.BadParameter(
            f"levels must lie strictly between 0 and 100, got {text!r}", param_hint="--levels"
        )
    return levels


def _note_server_unused() -> None:
    # The CSV and the engine are both here: a server given with --url/HELIOS_URL has nothing to add.
    from helios.cli.common import target

    if url := target().url:
        _err.print(
            f"[yellow]note:[/] helios forecast computes here, from the CSV; the server at {url} is not used "
            "(to forecast with a model registered there: helios predict)"
        )


def forecasting_family(name: str) -> ModelFamily:
    from helios.forecasting.families import get_family, list_families

    try:
        family = get_family(name)
    except ForecastingError:
        known = ", ".join(f.name for f in list_families() if f.task in _FORECASTING_TASKS)
        raise typer.BadParameter(
            f"unknown family {name!r}; choose one of: {known}", param_hint="--family"
        ) from None
    if family.task not in _FORECASTING_TASKS:
        raise typer.BadParameter(
            f"{name} forecasts {family.task}, not numeric series; see `helios families`",
            param_hint="--family",
        )
    return family


def read_long_csv(path: Path) -> pd.DataFrame:
    """The CSV as ``unique_id`` (text), ``ds`` (timestamps or integer steps) and ``y`` (floats);
    a bad value stops everything with its series and line named."""
    frame = _read_csv(path, dtype={"unique_id": str})
    missing = [c for c in ("unique_id", "ds", "y") if c not in frame.columns]
    if missing:
        _fail(f"{path} lacks column(s) {', '.join(missing)}; expected unique_id, ds, y{_wide_advice(frame)}")
    if frame.empty:
        _fail(f"{path} has no rows")
    frame = frame[["unique_id", "ds", "y"]].assign(unique_id=frame["unique_id"].astype(str))
    return frame.assign(ds=_stamps(frame), y=_values(frame))


def read_wide_csv(path: Path, date_col: str | None) -> pd.DataFrame:
    """A date column and one column per series (named by its header), as the long frame
    ``read_long_csv`` gives; empty cells are left out, since series in one file start and end at
    different dates."""
    from helios.datasets.column_mapping import DATE_NAMES

    frame = _read_csv(path, dtype=str)
    if date_col is None:
        date_col = next((c for c in frame.columns if c.strip().lower() in DATE_NAMES), frame.columns[0])
    elif date_col not in frame.columns:
        _fail(f"{path} has no column {date_col!r} (--date-col); its columns are {', '.join(frame.columns)}")
    series = [c for c in frame.columns if c != date_col]
    if not series:
        _fail(
            f"{path} has only the date column {date_col!r}; a wide file has one column per series beside it"
        )
    long = frame.melt(id_vars=[date_col], value_vars=series, var_name="unique_id", value_name="y")
    long = long.assign(line=[_line(row) for row in range(len(frame))] * len(series))
    long = long[long["y"].notna() & (long["y"].str.strip() != "")].reset_index(drop=True)
    if long.empty:
        _fail(f"{path} has no values beside its dates")
    long = long.rename(columns={date_col: "ds"})
    steps = pd.to_numeric(long["ds"], errors="coerce")
    if steps.notna().all() and (steps == steps.round()).all():  # integer steps, as a long file may have
        long = long.assign(ds=steps.astype("int64"))
    lines = long["line"].to_numpy()
    frame = long[["unique_id", "ds", "y"]]
    return frame.assign(ds=_stamps(frame, lines), y=_values(frame, lines))


def _read_csv(path: Path, dtype: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=dtype)
    except FileNotFoundError:
        raise typer.BadParameter(f"{path} does not exist", param_hint="INPUT") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{path} is not a readable CSV: {exc}", param_hint="INPUT") from None


def _wide_advice(frame: pd.DataFrame) -> str:
    from helios.datasets.column_mapping import looks_wide

    names = [str(c) for c in frame.columns]
    if not looks_wide(names):
        return ""
    return f". It looks like a wide file (one column per series): add --wide (its dates: {names[0]!r})"


def _line(row: int) -> int:
    return row + 2  # one header line, and people count lines from 1


def _file_line(row: int, lines: Any) -> int:
    return int(lines[row]) if lines is not None else _line(row)


def _stamps(frame: pd.DataFrame, lines: Any = None) -> pd.Series:
    if pd.api.types.is_integer_dtype(frame["ds"]):
        return frame["ds"]
    stamps = pd.to_datetime(frame["ds"], errors="coerce", format="mixed")
    bad = stamps.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        uid, raw = frame["unique_id"].iloc[row], frame["ds"].iloc[row]
        _fail(f"series {uid}, line {_file_line(row, lines)}: ds {raw!r} is not a date")
    return stamps


def _values(frame: pd.DataFrame, lines: Any = None) -> pd.Series:
    values = pd.to_numeric(frame["y"], errors="coerce")
    bad = values.isna() | values.isin([float("inf"), float("-inf")])
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raw = frame["y"].iloc[row]
        line = _file_line(row, lines)
        _fail(f"series {frame['unique_id'].iloc[row]}, line {line}: y {raw!r} is not a number")
    return values.astype(float)


def data_spec(frame: pd.DataFrame, freq: str | None, season: int | None) -> DataSpec:
    if season is not None and season < 1:
        raise typer.BadParameter(f"must be at least 1, got {season}", param_hint="--season")
    if freq is not None:
        try:
            canonical = normalise_freq(freq)
        except ForecastingError as exc:
            raise typer.BadParameter(str(exc), param_hint="--freq") from None
    elif pd.api.types.is_integer_dtype(frame["ds"]):
        # Integer steps have no calendar: the declared season says which one they count in
        # (24: hours, so weeks of 168 are tested too), or else the cycle the data shows most
        # clearly; "D" reads as no particular unit. Taking them as days whatever the season
        # made 7 and 365 candidates of hourly data, and a 365 cycle that never fits twice in
        # 960 points kept the global models out of auto.
        canonical = (freq_for_season(season) if season else _steps_calendar(frame)) or "D"
    else:
        canonical = _inferred_freq(frame)
    spec = DataSpec(freq=canonical, season_length=season or season_length(canonical))
    # Every cycle the calendar suggests (hourly: days and weeks) that the data confirms, once
    # for all families; the main season stays whatever was given or is usual for the frequency.
    try:
        return dataclasses.replace(spec, seasons=data_seasons(frame, spec))
    except ForecastingError as exc:
        _fail(str(exc))


def _steps_calendar(frame: pd.DataFrame) -> str | None:
    """The calendar whose usual cycle integer steps show most clearly, said on stderr (None:
    none shows one)."""
    from helios.forecasting.panel import split_panel

    try:
        series = split_panel(frame)
    except ForecastingError as exc:  # e.g. a step twice in one series
        _fail(str(exc))
    cycle = strongest_cycle([s.y for s in series], calendar_cycles())
    freq = freq_for_season(cycle) if cycle else None
    if freq is not None:
        _err.print(
            f"ds are integer steps and no --season was given: the data repeats every {cycle} "
            f"steps, so they are read as {UNITS.get(freq, freq)} (pass --season to say otherwise)"
        )
    return freq


def _inferred_freq(frame: pd.DataFrame) -> str:
    longest = frame["unique_id"].value_counts().index[0]
    inferred = infer_freq(frame.loc[frame["unique_id"] == longest, "ds"])
    if inferred is None:
        _fail(f"could not infer the frequency of series {longest}; pass --freq (e.g. D, W, M)")
    return str(inferred)


def family_config(family: ModelFamily, params: str | None, horizon: int) -> Any:
    try:
        raw = json.loads(params) if params else {}
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint="--params") from None
    if not isinstance(raw, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--params")
    # Families that validate or calibrate on backtests do so for the horizon asked for.
    if "horizon" in family.Config.model_fields and "horizon" not in raw:
        raw["horizon"] = horizon
    try:
        return family.parse_config(raw)
    except ValidationError as exc:
        # One line per field in words, without pydantic's type tags and documentation links.
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems, param_hint="--params") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--params") from None


def check_lengths(frame: pd.DataFrame, season: int) -> None:
    """Seasonal models need two full seasons to tell a season from noise; say which series lacks them."""
    sizes = frame.groupby("unique_id", sort=False).size()
    needed = max(2, 2 * season if season > 1 else 2)
    short = sizes[sizes < needed]
    if len(short):
        uid, size = short.index[0], int(short.iloc[0])
        hint = (
            f"season {season} needs at least {needed} (two full seasons); pass --season 1"
            if season > 1
            else ("at least 2 are needed")
        )
        more = f" (and {len(short) - 1} more series)" if len(short) > 1 else ""
        _fail(f"series {uid} has {size} observations{more}; {hint}")


# Six significant digits: more than a price or a meter reading carries, without float noise.
FLOAT_FORMAT = "%.6g"


def write_forecast(result: pd.DataFrame, output: Path | None) -> None:
    if output is None:
        result.to_csv(sys.stdout, index=False, float_format=FLOAT_FORMAT)
    else:
        result.to_csv(output, index=False, float_format=FLOAT_FORMAT)
        _err.print(f"wrote {len(result)} rows for {result['unique_id'].nunique()} series to {output}")
