"""Timestamps of the steps after a series ends, for ``ds`` in forecasts. Shared by families that
keep the last ``ds`` of each series in their state (as JSON text, so a loaded model needs no pandas
objects from the artifact)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from helios.forecasting.base import ForecastingError


def stamp_to_json(stamp: Any) -> str | int:
    """A ``ds`` value as JSON: ISO text for timestamps, the number itself for integer steps."""
    if isinstance(stamp, numbers.Integral) and not isinstance(stamp, bool):
        return int(stamp)
    return pd.Timestamp(stamp).isoformat()


def future_stamps(last: str | int, horizon: int, freq: str) -> list[Any]:
    """``horizon`` stamps after ``last``: integer steps count on, timestamps step by ``freq``."""
    if isinstance(last, int):
        return list(range(last + 1, last + horizon + 1))
    try:
        offset = to_offset(freq)
    except ValueError as exc:
        raise ForecastingError(f"cannot step forward by frequency {freq!r}: {exc}") from None
    start = pd.Timestamp(last)
    return [start + k * offset for k in range(1, horizon + 1)]


def long_forecast_frame(
    unique_ids: Sequence[str],
    last_ds: Sequence[str | int],
    horizon: int,
    freq: str,
    columns: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """Series-by-step arrays (``columns``, each ``(series, horizon)``) as the long forecast frame
    ``unique_id, ds, <columns>`` that every family returns."""
    stamps = [future_stamps(last, horizon, freq) for last in last_ds]
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.array(unique_ids, dtype=object), horizon),
            "ds": [stamp for per_series in stamps for stamp in per_series],
        }
    )
    for name, values in columns.items():
        frame[name] = values.reshape(-1)
    return frame
