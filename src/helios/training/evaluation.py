"""Scoring a fitted model on the data it did not see: the last ``horizon`` points of every
series (time series) or the last draws (lotteries)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from helios.training.schemas import DrawValidation, IntervalBand, ValidationSeries


def split_holdout(frame: pd.DataFrame, horizon: int, kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on everything before the last ``horizon`` points of each series (or draws)."""
    if kind == "draws":
        return frame.iloc[:-horizon], frame.iloc[-horizon:]
    position = frame.groupby("unique_id", sort=False).cumcount(ascending=False)
    return frame[position >= horizon], frame[position < horizon]


LEVELS = (80, 95)


def holdout_forecast(fitted: Any, horizon: int) -> pd.DataFrame:
    """The fitted model's forecast from the end of its training data: the holdout's steps."""
    return fitted.predict(horizon, levels=LEVELS)


def score_series(
    forecast: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, season: int
) -> dict[str, float]:
    from helios.forecasting import metrics

    joined = holdout.merge(forecast, on=["unique_id", "ds"], how="inner")
    if joined.empty:
        return {}
    scores: dict[str, list[float]] = {}
    for uid, part in joined.groupby("unique_id", sort=False):
        history = train.loc[train["unique_id"] == uid, "y"].to_numpy()
        for name, value in _series_scores(metrics, part, history, season).items():
            scores.setdefault(name, []).append(value)
    return {
        name: float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        for name, values in scores.items()
    }


def _series_scores(metrics: Any, part: pd.DataFrame, history: np.ndarray, season: int) -> dict[str, float]:
    y, f = part["y"].to_numpy(), part["mean"].to_numpy()
    scores = {
        "mae": metrics.mae(y, f),
        "rmse": metrics.rmse(y, f),
        "smape": metrics.smape(y, f),
        "mase": metrics.mase(y, f, history, season),
    }
    if {"lo-95", "hi-95"} <= set(part.columns):
        lo, hi = part["lo-95"].to_numpy(), part["hi-95"].to_numpy()
        scores["coverage_95"] = metrics.coverage(y, lo, hi)
        scores["msis"] = metrics.msis(y, lo, hi, history, season)
    return {k: float(v) for k, v in scores.items()}


def draw_scores(fitted: Any, holdout: pd.DataFrame, rules: Any) -> tuple[Any, list[Any]]:
    """Each held-out draw scored in turn (the forecast for a draw sees only the draws before it)."""
    from helios.forecasting.draw_history import draw_history
    from helios.forecasting.draw_metrics import score_held_out

    held_out = draw_history(holdout, rules)
    return held_out, score_held_out(fitted, held_out)


def summarise_draws(fitted: Any, train: pd.DataFrame, held_out: Any, scores: list[Any]) -> dict[str, float]:
    from helios.forecasting.draw_metrics import summarise

    evaluation = summarise(fitted.family, len(train), held_out, scores, 10, 0.05, held_out.bonus.shape[1] > 0)
    return {
        "log_loss": evaluation.log_loss,
        "uniform_log_loss": evaluation.uniform_log_loss,
        "p_value": evaluation.p_value,
        "mean_main_matches": evaluation.mean_main_matches,
    }


# --- the validation forecast kept for the job page ------------------------------------------------------

# Enough to see what happened without turning a 10,000-series job into a 100 MB file.
MAX_SERIES = 50
MAX_HISTORY = 400


def validation_key(job_id: int) -> str:
    """Where a job's validation forecast lives in the artifact store (a server-made key)."""
    return f"jobs/{job_id}/validation.json"


def naive_forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The forecast MASE is measured against: the value one season earlier (seasonal naive), or the
    last value when the history is one season or shorter (as ``metrics.seasonal_naive_scale`` falls back)."""
    if len(history) == 0:
        return np.full(horizon, np.nan)
    m = season if len(history) > season else 1
    last = np.asarray(history[-m:], dtype=float)
    return np.array([last[step % m] for step in range(horizon)])


def naive_method(season: int) -> str:
    if season > 1:
        return f"seasonal naive: the value one season ({season} steps) earlier"
    return "naive: the last value before the holdout, carried forward"


def series_record(
    forecast: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, season: int
) -> tuple[list[ValidationSeries], int]:
    """The first ``MAX_SERIES`` series on the holdout (actuals, forecast, intervals, naive) with the
    end of their training history for context; and how many series there were in all."""
    ids = list(dict.fromkeys(holdout["unique_id"]))
    kept = set(ids[:MAX_SERIES])
    joined = holdout[holdout["unique_id"].isin(kept)].merge(forecast, on=["unique_id", "ds"], how="left")
    history = {
        uid: part for uid, part in train[train["unique_id"].isin(kept)].groupby("unique_id", sort=False)
    }
    stamps = _stamp_format(pd.concat([joined["ds"], train["ds"].tail(1)]))
    records = []
    for uid, part in joined.groupby("unique_id", sort=False):
        part = part.sort_values("ds")
        past = history.get(uid, train.iloc[:0])
        y_past = past["y"].to_numpy(dtype=float)
        shown = past.tail(min(MAX_HISTORY, max(3 * len(part), 2 * season, 30)))
        naive = naive_forecast(y_past, len(part), season)
        actual, mean = part["y"].to_numpy(dtype=float), part["mean"].to_numpy(dtype=float)
        records.append(
            ValidationSeries(
                unique_id=str(uid),
                history_ds=shown["ds"].dt.strftime(stamps).tolist(),
                history_y=_numbers(shown["y"]),
                ds=part["ds"].dt.strftime(stamps).tolist(),
                actual=_numbers(actual),
                forecast=_numbers(mean),
                naive=_numbers(naive),
                intervals=[
                    IntervalBand(
                        level=level, lo=_numbers(part[f"lo-{level}"]), hi=_numbers(part[f"hi-{level}"])
                    )
                    for level in LEVELS
                    if {f"lo-{level}", f"hi-{level}"} <= set(part.columns)
                ],
                mae=_mae(actual, mean),
                naive_mae=_mae(actual, naive),
            )
        )
    return records, len(ids)


def draws_record(held_out: Any, scores: list[Any]) -> DrawValidation:
    return DrawValidation(
        ds=pd.DatetimeIndex(held_out.ds).strftime("%Y-%m-%d").tolist(),
        log_likelihood_ratio=_numbers([s.llr for s in scores]),
        main_matches=_numbers([s.main_matches for s in scores]),
        chance_main_matches=_numbers([s.chance_main_matches for s in scores]),
    )


def _stamp_format(stamps: pd.Series) -> str:
    """Dates alone when every stamp is at midnight, else date and time (both read by ECharts' time axis)."""
    stamps = pd.to_datetime(stamps)
    return "%Y-%m-%d" if (stamps == stamps.dt.normalize()).all() else "%Y-%m-%d %H:%M"


def _numbers(values: Any) -> list[float | None]:
    """Six significant digits (plenty for a chart), and null where JSON has no number."""
    array = np.asarray(values, dtype=float)
    return [float(f"{v:.6g}") if np.isfinite(v) else None for v in array]


def _mae(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    both = np.isfinite(actual) & np.isfinite(forecast)
    return float(np.mean(np.abs(actual[both] - forecast[both]))) if both.any() else None
