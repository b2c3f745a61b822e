"""What ``auto`` learns from its validation windows inside the training data: each candidate's
forecasts at several origins, per-series scores, which candidates each series keeps (and why),
and the errors its intervals are calibrated on.

Scores are OWA-like: half a candidate's sMAPE over the candidates' mean sMAPE plus half its
MASE over theirs, per series, averaged over the windows. Candidates whose scores validation
cannot separate (within ``tolerance`` of the best) are averaged rather than picked between:
a coin toss between near-equals only adds variance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from helios.forecasting.backtest import backtest
from helios.forecasting.base import DataSpec, Fitted, Hyperparameters, ModelFamily
from helios.forecasting.metrics import seasonal_naive_scale
from helios.forecasting.panel import flat_series, split_panel
from helios.forecasting.step_calibration import StepCalibration

FORECAST_COLUMNS = ["unique_id", "window", "step", "y", "mean"]
# The interval whose half-width is a candidate's "own spread", the unit conformal errors are
# measured in (``interval_unit="own"``): how hard the model itself thinks each series and step is.
UNIT_LEVEL = 80
# How to read the scores each series' reason quotes: said once wherever the reasons are listed.
SCORES_NOTE = (
    "scores: 1 = the candidates' mean on the validation windows, lower is better; a series whose "
    "windows disagree has its scores pulled towards the panel's"
)


def window_offsets(horizon: int, n_windows: int, step: int | None) -> list[int]:
    """Points between each window's last test point and the series' end, oldest window first."""
    gap = step or horizon
    return [(n_windows - 1 - w) * gap for w in range(n_windows)]


def validation_forecasts(
    train: pd.DataFrame,
    family: ModelFamily,
    settings: Hyperparameters,
    spec: DataSpec,
    horizon: int,
    n_windows: int,
    step: int | None,
    own_widths: bool = False,
) -> pd.DataFrame:
    """``unique_id, window, step, y, mean`` of one candidate, and ``width`` (half the
    candidate's own ``UNIT_LEVEL`` interval; NaN when it gives none) with ``own_widths``. A
    family that can forecast from several origins after one fit (``backtest_forecasts``, e.g.
    gbm) does; others are refitted at each origin on the points before it."""
    offsets = window_offsets(horizon, n_windows, step)
    levels = (UNIT_LEVEL,) if own_widths else ()
    fast = getattr(family, "backtest_forecasts", None)
    if fast is not None:
        frame = fast(train, settings, spec, horizon, offsets, levels)
    else:
        frame = backtest(
            train, family, spec, horizon, n_windows, step, settings, levels=levels, min_train_size=2
        ).forecasts
    return _validation_columns(frame, own_widths)


def validation_fit(
    train: pd.DataFrame,
    family: ModelFamily,
    settings: Hyperparameters,
    spec: DataSpec,
    horizon: int,
    n_windows: int,
    step: int | None,
    own_widths: bool = False,
) -> tuple[pd.DataFrame, Fitted | None] | None:
    """``validation_forecasts`` and the one fit they came from, ready to forecast from the end
    of every series, for a family that offers it (``validation_fit``, e.g. nbeats; the fit is
    None where the family would rather be refitted on all the data); None for the others."""
    fit = getattr(family, "validation_fit", None)
    if fit is None:
        return None
    offsets = window_offsets(horizon, n_windows, step)
    frame, fitted = fit(train, settings, spec, horizon, offsets, (UNIT_LEVEL,) if own_widths else ())
    return _validation_columns(frame, own_widths), fitted


def _validation_columns(frame: pd.DataFrame, own_widths: bool) -> pd.DataFrame:
    frame = frame.assign(unique_id=frame["unique_id"].astype(str))
    if not own_widths:
        return frame[FORECAST_COLUMNS]
    return frame.assign(width=half_widths(frame))[[*FORECAST_COLUMNS, "width"]]


def half_widths(frame: pd.DataFrame, level: int = UNIT_LEVEL) -> pd.Series:
    """Half the ``level`` interval per row; NaN where there is none or it is not positive."""
    lo, hi = f"lo-{level}", f"hi-{level}"
    if lo not in frame or hi not in frame:
        return pd.Series(np.nan, index=frame.index)
    width = (frame[hi] - frame[lo]) / 2
    return width.where(np.isfinite(width) & (width > 0))


def series_scales(train: pd.DataFrame, season: int, cut: int = 0) -> pd.Series:
    """Each series' in-sample seasonal-naive MAE (the MASE scale), on all but its last ``cut``
    points; a flat series gets 1 so nothing divides by zero."""
    scales = {}
    for series in split_panel(train):
        y = series.y[: len(series.y) - cut] if cut else series.y
        scale = seasonal_naive_scale(y, season) if len(y) > 1 else float("nan")
        scales[series.unique_id] = scale if np.isfinite(scale) and scale > 0 else 1.0
    return pd.Series(scales, dtype=float)


def never_moved(train: pd.DataFrame) -> set[str]:
    """Series that never moved in their history (spread below a billionth of their level): their
    intervals have no width to calibrate in, in any unit."""
    return {series.unique_id for series in split_panel(train) if flat_series(series.y[None, :])[0]}


def never_negative(train: pd.DataFrame) -> set[str]:
    """Every series, when no value in the whole panel is below zero (counts, loads, prices,
    irradiance: a quantity that cannot be negative); none otherwise. Judged on the panel, not per
    series: in a panel of signed quantities a series can sit above zero for all of its history and
    cross it next (ETTh2's loads, 135 windows: floored per series, MSIS 10.58 -> 10.74)."""
    if train.empty or (train["y"] < 0).any():
        return set()
    return set(train["unique_id"].astype(str).unique())


def floor_at_zero(frame: pd.DataFrame, series: set[str], columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` clipped at zero on the rows of ``series`` (series that never went below it):
    there a forecast or bound under zero is further from whatever happens than zero is."""
    if not series or frame.empty:
        return frame
    rows = frame["unique_id"].astype(str).isin(series).to_numpy()
    if rows.any():
        frame = frame.copy()
        for column in columns:
            if column in frame:
                values = frame[column].to_numpy(dtype=float, copy=True)
                values[rows] = np.maximum(values[rows], 0.0)
                frame[column] = values
    return frame


def blend_parts(candidate: str) -> list[str]:
    """``gbm+nbeats`` is the equal average of ``gbm`` and ``nbeats``; any other name is itself."""
    return candidate.split("+")


def blend_forecasts(forecasts: pd.DataFrame, blend: str) -> pd.DataFrame:
    """Validation forecasts of ``blend`` (the equal average of its parts, bounds and widths
    averaged as ``auto`` averages members), on the windows and steps every part forecast; empty
    when a part is missing."""
    parts = blend_parts(blend)
    rows = forecasts[forecasts["candidate"].isin(parts)]
    if rows.empty or rows["candidate"].nunique() < len(parts):
        return forecasts.iloc[:0]
    keys = ["unique_id", "window", "step"]
    aggregates = {"y": ("y", "first"), "mean": ("mean", "mean"), "parts": ("candidate", "nunique")}
    if "width" in rows:  # a part without a width leaves the blend without one
        aggregates |= {"width": ("width", "mean"), "widths": ("width", "count")}
    blended = rows.groupby(keys, sort=False).agg(**aggregates)
    blended = blended[blended["parts"] == len(parts)]
    if "width" in rows:
        blended["width"] = blended["width"].where(blended["widths"] == len(parts))
    return blended.reset_index()[forecasts.columns.drop("candidate")].assign(candidate=blend)


def window_scores(forecasts: pd.DataFrame, scales: pd.Series) -> pd.DataFrame:
    """sMAPE and MASE per candidate, series and window: ``unique_id, candidate, window, smape, mase``."""
    absolute = (forecasts["y"] - forecasts["mean"]).abs()
    denominator = forecasts["y"].abs() + forecasts["mean"].abs()
    ratio = np.where(denominator > 0, absolute / denominator.where(denominator > 0, 1.0), 0.0)
    scored = forecasts.assign(
        smape=200 * ratio, mase=absolute / forecasts["unique_id"].map(scales).to_numpy()
    )
    keys = ["unique_id", "candidate", "window"]
    return scored.groupby(keys, sort=False)[["smape", "mase"]].mean().reset_index()


def relative_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """Series x candidate table of 0.5 * (sMAPE / mean sMAPE + MASE / mean MASE) over the
    candidates of that series; lower is better, missing candidates are +inf."""
    mean = metrics.groupby(["unique_id", "candidate"])[["smape", "mase"]].mean()
    smape = mean["smape"].unstack("candidate")
    mase = mean["mase"].unstack("candidate")
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 0.5 * (smape.div(smape.mean(axis=1), axis=0) + mase.div(mase.mean(axis=1), axis=0))
    # 0/0 (every candidate exact) or a failed candidate: +inf, never ranked.
    return score.fillna(np.inf)


def pool_scores(scores: pd.DataFrame, weight: float) -> pd.DataFrame:
    """Each series' scores pulled ``weight`` of the way towards each candidate's median score
    over the series (a candidate that failed on a series stays +inf there)."""
    if weight <= 0 or scores.empty:
        return scores
    finite = scores.where(np.isfinite(scores))
    panel = finite.median(axis=0)
    pooled = (1 - weight) * finite + weight * panel
    return pooled.where(np.isfinite(scores), np.inf)


def evidence_pooled_scores(metrics: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Each series' scores pulled towards each candidate's panel mean as far as its windows
    disagree (empirical Bayes): a candidate's score on one series is the mean of a few windows'
    scores, whose noise (their variance over the windows, over how many there are) is weighed
    against how much the series really differ (the variance of the scores across the panel,
    less that noise). Clear evidence on a series stands; what a few noisy windows cannot tell
    apart follows the panel."""
    if scores.empty or metrics.empty or "smape" not in metrics:
        return scores
    keys = ["unique_id", "window"]
    smape_mean = metrics.groupby(keys)["smape"].transform("mean")
    mase_mean = metrics.groupby(keys)["mase"].transform("mean")
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = 0.5 * (metrics["smape"] / smape_mean + metrics["mase"] / mase_mean)
    relative = relative.where(np.isfinite(relative))
    spread = metrics.assign(relative=relative).groupby(["unique_id", "candidate"])["relative"]
    noise = (spread.var() / spread.count()).unstack("candidate").reindex_like(scores)
    finite = scores.where(np.isfinite(scores))
    between = (finite.var(axis=0) - noise.mean(axis=0)).clip(lower=1e-12)
    weight = (noise / (noise + between)).fillna(0.0)  # a single window: no measure of noise
    pooled = (1 - weight) * finite + weight * finite.mean(axis=0)
    return pooled.where(np.isfinite(scores), np.inf)


def choose(
    scores: pd.DataFrame, candidates: Sequence[str], selection: str, top_k: int, tolerance: float
) -> dict[str, list[str]]:
    """Per series, the candidates kept: the best; the best ``top_k``; or ("close") the best and
    those within ``tolerance`` of it, at most ``top_k``."""
    ordered = scores.reindex(columns=list(candidates)).fillna(np.inf)
    choices = {}
    for uid, row in ordered.iterrows():
        ranked = [name for name in row.sort_values(kind="stable").index if np.isfinite(row[name])]
        if selection == "combine":
            kept = ranked[:top_k]
        elif selection == "close" and ranked:
            limit = row[ranked[0]] * (1 + tolerance)
            kept = [name for name in ranked if row[name] <= limit][:top_k]
        else:
            kept = ranked[:1]
        choices[str(uid)] = kept
    return choices


def explain(
    uid: str,
    kept: list[str],
    row: pd.Series,
    tolerance: float,
    baselines: Sequence[str],
    own: pd.Series | None = None,
) -> str:
    """One line saying what a series chose and why, in validation scores (``row``, pooled where
    ``pooling`` pulls them towards the panel's; ``own``: the series' windows alone, said beside
    them where the two differ, since scores alike on every series read as a mistake otherwise)."""
    finite = row[np.isfinite(row)].sort_values(kind="stable")
    if not kept:
        return "no candidate could be validated (series too short): the first candidate, unvalidated"
    if finite.empty:
        return f"{kept[0]}: no validation scores"
    parts = ", ".join(f"{name} {value:.3f}" for name, value in finite.items())
    how = (
        f"average of {' + '.join(kept)} (validation cannot separate them: within {tolerance:.0%})"
        if len(kept) > 1
        else f"{kept[0]} (best in validation)"
    )
    baseline = [name for name in finite.index if name in baselines]
    against = f"; the best baseline, {baseline[0]}, scored {finite[baseline[0]]:.3f}" if baseline else ""
    return f"{how}; scores {parts}{against}{_own_scores(finite, own)}"


# Short: on a phone the reason is a narrow column. SCORES_NOTE, under every list of reasons, says why.
POOLED_NOTE = "pulled towards the panel's"


def _own_scores(pooled: pd.Series, own: pd.Series | None, shown: int = 2) -> str:
    if own is None:
        return ""
    own = own[np.isfinite(own)].sort_values(kind="stable")
    moved = (own - pooled.reindex(own.index)).abs()
    if own.empty or not (moved > 5e-4).any():
        return ""
    best = ", ".join(f"{name} {value:.3f}" for name, value in own.iloc[:shown].items())
    return f" ({POOLED_NOTE}; its windows alone: {best})"


def combined_errors(
    forecasts: pd.DataFrame,
    choices: dict[str, list[str]],
    scales: pd.Series,
    horizon: int,
    unit: str = "scale",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(series x windows, horizon) errors of each series' chosen combination, the series of each
    row, and (same shape) the divisor of each error over the series' scale: what the intervals
    are calibrated on (the same averaging the forecast will do), and how wide they come out.
    Errors are over the series' scale (``unit="scale"``), or over the combination's own
    half-width (its members' widths averaged, as the forecast averages their bounds): at that
    step (``"own_steps"``) or averaged over the window's steps (``"own"``: how hard the model
    finds the series, leaving the shape over the steps to the pooled calibration)."""
    own_widths = unit != "scale"
    wanted = pd.DataFrame(
        [(uid, name) for uid, names in choices.items() for name in names], columns=["unique_id", "candidate"]
    )
    chosen = forecasts.merge(wanted, on=["unique_id", "candidate"], how="inner")
    aggregates = {"y": ("y", "first"), "mean": ("mean", "mean"), "members": ("candidate", "nunique")}
    if own_widths:
        aggregates |= {"width": ("width", "mean"), "widths": ("width", "count")}
    combined = chosen.groupby(["unique_id", "window", "step"], sort=False).agg(**aggregates)
    if own_widths:  # a member without a width of its own leaves the combination without one
        combined["width"] = combined["width"].where(combined["widths"] == combined["members"])
    counts = combined["members"].to_numpy()
    needed = combined.reset_index()["unique_id"].map(lambda uid: len(choices.get(uid, ()))).to_numpy()
    combined = combined[counts == needed].reset_index()  # every chosen member forecast that step
    if unit == "own":
        divisor = combined.groupby(["unique_id", "window"], sort=False)["width"].transform("mean")
    elif unit == "own_steps":
        divisor = combined["width"]
    else:
        divisor = combined["unique_id"].map(scales)
    scaled = (combined["y"] - combined["mean"]) / divisor
    relative = divisor / combined["unique_id"].map(scales)
    table = combined.assign(error=scaled.to_numpy(), relative=relative.to_numpy()).pivot_table(
        index=["unique_id", "window"], columns="step", values=["error", "relative"], dropna=False
    )
    steps = range(1, horizon + 1)
    matrix = table["error"].reindex(columns=steps).to_numpy(dtype=float)
    relative_matrix = table["relative"].reindex(columns=steps).to_numpy(dtype=float)
    return matrix, table.index.get_level_values("unique_id").to_numpy(), relative_matrix


def validation_width(calibration: StepCalibration, errors: np.ndarray, relative: np.ndarray) -> float:
    """Mean 95% half-width, in series-scale units, that ``calibration`` gives the validation
    errors it was fitted on. Every unit's calibration covers 95% of those errors by
    construction, so the narrower one is the unit that explains more of where errors are large."""
    widths = calibration.half_width(95, errors.shape[1])[None, :] * relative
    widths = widths[np.isfinite(errors) & np.isfinite(widths)]
    return float(widths.mean()) if widths.size else float("inf")


def typical_width_ratio(forecasts: pd.DataFrame, scales: pd.Series) -> float:
    """Median of the candidates' own half-widths over the series' scale: the width a step gets
    (times its scale) when its members give none at forecast time."""
    ratio = forecasts["width"] / forecasts["unique_id"].map(scales)
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    return float(ratio.median()) if len(ratio) else 1.0


def spread_factors(errors: np.ndarray, rows: np.ndarray, shrink: float = 0.5) -> dict[str, float]:
    """How much harder (above 1) or easier each series was than the typical one on validation:
    its mean absolute scaled error over the median series', shrunk towards 1 (a square root at
    ``shrink`` 0.5) and kept within 0.5-2, since a few windows are a noisy judge of one series."""
    own = pd.Series(np.nanmean(np.abs(errors), axis=1), index=rows).groupby(level=0).mean()
    typical = float(np.nanmedian(own)) if np.isfinite(own).any() else float("nan")
    if not np.isfinite(typical) or typical <= 0:
        return {}
    factors = np.clip((own / typical) ** shrink, 0.5, 2.0).fillna(1.0)
    return {str(uid): float(value) for uid, value in factors.items()}


def cost_table(costs: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {name: {key: round(value, 3) for key, value in entry.items()} for name, entry in costs.items()}
