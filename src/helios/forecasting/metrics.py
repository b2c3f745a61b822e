"""Forecast accuracy metrics, with the M4 competition's definitions where M4 defines them.

Point: MAE, RMSE, MAPE, sMAPE (M4: mean 200|y-f|/(|y|+|f|)), MASE (scaled by the in-sample
seasonal-naive MAE with period m), OWA (M4: half the sum of sMAPE and MASE ratios to Naive2,
ratios of averages over all series), directional accuracy. Probabilistic: pinball loss,
interval coverage, MSIS (M4: mean interval score for a (1-alpha) interval, scaled like MASE).

Every function takes one series' actuals ``y`` and forecasts ``f`` over the same steps;
``score_forecast`` scores a long forecast frame against actuals, series by series.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

ArrayLike: TypeAlias = np.ndarray | Sequence[float] | pd.Series


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def mae(y: ArrayLike, f: ArrayLike) -> float:
    y, f = _arrays(y, f)
    return float(np.mean(np.abs(y - f)))


def rmse(y: ArrayLike, f: ArrayLike) -> float:
    y, f = _arrays(y, f)
    return float(np.sqrt(np.mean((y - f) ** 2)))


def mape(y: ArrayLike, f: ArrayLike) -> float:
    """Mean absolute percentage error, in percent; infinite when an actual is zero (undefined)."""
    y, f = _arrays(y, f)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(100 * np.mean(np.abs(y - f) / np.abs(y)))


def smape(y: ArrayLike, f: ArrayLike) -> float:
    """M4's symmetric MAPE, in percent (0..200); a step where both are zero counts as exact."""
    y, f = _arrays(y, f)
    denominator = np.abs(y) + np.abs(f)
    ratio = np.divide(np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(200 * np.mean(ratio))


def seasonal_naive_scale(history: ArrayLike, m: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast: the MASE/MSIS denominator. A history of
    one season or less falls back to m=1 so the scale still exists."""
    (h,) = _arrays(history)
    m = m if len(h) > m else 1
    return float(np.mean(np.abs(h[m:] - h[:-m]))) if len(h) > m else float("nan")


def mase(y: ArrayLike, f: ArrayLike, history: ArrayLike, m: int = 1) -> float:
    scale = seasonal_naive_scale(history, m)
    return mae(y, f) / scale if scale > 0 else float("nan")


def owa(smape_value: float, mase_value: float, smape_naive2: float, mase_naive2: float) -> float:
    """M4's overall weighted average: pass the *averages* over all series of each, not per-series
    values (the ratio of averages is the official definition)."""
    return 0.5 * (smape_value / smape_naive2 + mase_value / mase_naive2)


def pinball_loss(y: ArrayLike, q_forecast: ArrayLike, quantile: float) -> float:
    """Mean quantile (pinball) loss of a forecast of the ``quantile`` (0..1) quantile."""
    y, q = _arrays(y, q_forecast)
    diff = y - q
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def coverage(y: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Share of actuals inside [lo, hi] (bounds included)."""
    y, lo, hi = _arrays(y, lo, hi)
    return float(np.mean((y >= lo) & (y <= hi)))


def msis(
    y: ArrayLike, lo: ArrayLike, hi: ArrayLike, history: ArrayLike, m: int = 1, alpha: float = 0.05
) -> float:
    """M4's mean scaled interval score: width plus 2/alpha times each miss, scaled like MASE."""
    y, lo, hi = _arrays(y, lo, hi)
    score = (hi - lo) + (2 / alpha) * (lo - y) * (y < lo) + (2 / alpha) * (y - hi) * (y > hi)
    scale = seasonal_naive_scale(history, m)
    return float(np.mean(score) / scale) if scale > 0 else float("nan")


def directional_accuracy(y: ArrayLike, f: ArrayLike, last_value: float) -> float:
    """Share of steps whose forecast moves the same way from the last observation as the truth
    (up, down, or unchanged): "will it be above today's value?" is what an agent acts on."""
    y, f = _arrays(y, f)
    return float(np.mean(np.sign(y - last_value) == np.sign(f - last_value)))


# --- scoring forecast frames ---------------------------------------------------------------------


def series_scores(
    y: np.ndarray,
    mean: np.ndarray,
    history: np.ndarray,
    m: int = 1,
    bounds: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, float]:
    """Every metric that applies to one series' forecast: point metrics always, coverage per
    interval level, MSIS when the 95% interval is there."""
    scores = {
        "mae": mae(y, mean),
        "rmse": rmse(y, mean),
        "mape": mape(y, mean),
        "smape": smape(y, mean),
        "mase": mase(y, mean, history, m),
        "directional_accuracy": directional_accuracy(y, mean, history[-1]) if len(history) else float("nan"),
    }
    for level, (lo, hi) in (bounds or {}).items():
        scores[f"coverage_{level}"] = coverage(y, lo, hi)
        if level == 95:
            scores["msis"] = msis(y, lo, hi, history, m, alpha=0.05)
    return scores


def interval_levels(columns: Sequence[str]) -> list[int]:
    """Levels L for which both ``lo-L`` and ``hi-L`` columns exist, in column order."""
    names = set(columns)
    return [
        int(c[3:]) for c in columns if c.startswith("lo-") and c[3:].isdecimal() and f"hi-{c[3:]}" in names
    ]


def _values_by_series(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per series (in row order within each), the named columns as arrays; one stable sort and
    slicing, not a groupby per series, since panels can hold thousands of series."""
    ordered = frame.assign(unique_id=frame["unique_id"].astype(str)).sort_values("unique_id", kind="stable")
    ids = ordered["unique_id"].to_numpy()
    arrays = {c: ordered[c].to_numpy(dtype=float) for c in columns}
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(ids)]
    return {str(ids[a]): {c: v[a:b] for c, v in arrays.items()} for a, b in zip(starts, ends, strict=True)}


def score_forecast(
    forecast: pd.DataFrame, actuals: pd.DataFrame, history: pd.DataFrame, m: int = 1
) -> pd.DataFrame:
    """One row of metrics per series. ``forecast`` and ``actuals`` are long frames; their rows are
    matched per series by position (step 1, 2, ...), so irregular stamps still line up.
    ``history`` is what the model was fitted on (it scales MASE and MSIS). Rows are taken in the
    order given: sort each frame by ``ds`` within a series first."""
    levels = interval_levels(list(forecast.columns))
    predicted = _values_by_series(
        forecast, ["mean", *[f"{side}-{lv}" for lv in levels for side in ("lo", "hi")]]
    )
    truth = _values_by_series(actuals, ["y"])
    past = _values_by_series(history, ["y"])
    rows = []
    for uid, values in predicted.items():
        if uid not in truth:
            continue
        y = truth[uid]["y"]
        steps = min(len(y), len(values["mean"]))
        bounds = {lv: (values[f"lo-{lv}"][:steps], values[f"hi-{lv}"][:steps]) for lv in levels}
        history_y = past.get(uid, {"y": np.array([])})["y"]
        rows.append(
            {"unique_id": uid, **series_scores(y[:steps], values["mean"][:steps], history_y, m, bounds)}
        )
    return pd.DataFrame(rows)
