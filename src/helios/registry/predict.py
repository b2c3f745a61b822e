"""Turning a loaded model's forecast into JSON-ready rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from helios.core.errors import InvalidInput


def forecast_rows(fitted: Any, horizon: int, levels: list[int]) -> tuple[list[str], list[list[Any]]]:
    from helios.forecasting.base import ForecastingError

    limit = getattr(fitted, "max_horizon", 1000)
    if horizon > limit:
        raise InvalidInput(
            f"a {fitted.family} model forecasts at most {limit} steps ahead; ask for fewer",
            errors=[{"field": "horizon", "message": f"at most {limit}"}],
        )
    try:
        frame: pd.DataFrame = fitted.predict(horizon, levels=tuple(levels))
    except ForecastingError as exc:
        raise InvalidInput(str(exc)) from None
    except (ValueError, IndexError, KeyError, TypeError, OverflowError) as exc:
        # A version registered before registration tried a forecast may hold a nonsense state.
        raise InvalidInput(f"this version cannot forecast: {exc!r}"[:500]) from None
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%dT%H:%M:%S")
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    rows = [[_plain(v) for v in row] for row in values]
    return list(map(str, frame.columns)), rows


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
