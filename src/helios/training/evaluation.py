"""Scoring a fitted model on the data it did not see: the last ``horizon`` points of every
series (time series) or the last draws (lotteries)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def split_holdout(frame: pd.DataFrame, horizon: int, kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on everything before the last ``horizon`` points of each series (or draws)."""
    if kind == "draws":
        return frame.iloc[:-horizon], frame.iloc[-horizon:]
    position = frame.groupby("unique_id", sort=False).cumcount(ascending=False)
    return frame[position >= horizon], frame[position < horizon]


def score_series(
    fitted: Any, train: pd.DataFrame, holdout: pd.DataFrame, horizon: int, season: int
) -> dict[str, float]:
    from helios.forecasting import metrics

    forecast = fitted.predict(horizon, levels=(80, 95))
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


def score_draws(fitted: Any, train: pd.DataFrame, holdout: pd.DataFrame, rules: Any) -> dict[str, float]:
    from helios.forecasting.draw_history import draw_history
    from helios.forecasting.draw_metrics import score_held_out, summarise

    held_out = draw_history(holdout, rules)
    scores = score_held_out(fitted, held_out)
    evaluation = summarise(fitted.family, len(train), held_out, scores, 10, 0.05, held_out.bonus.shape[1] > 0)
    return {
        "log_loss": evaluation.log_loss,
        "uniform_log_loss": evaluation.uniform_log_loss,
        "p_value": evaluation.p_value,
        "mean_main_matches": evaluation.mean_main_matches,
    }
