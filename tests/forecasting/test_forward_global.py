"""Global models forecast from newer data than they were trained on (``forward.advance``): the
same trees or weights and each series' saved scale, their inputs read from the new history.
Before, gbm and global_ar refused, and so did every ``auto`` that had chosen one of them, which
left the ledger unable to run the default family's models at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.families import get_family
from helios.forecasting.forward import StartMode, advance
from helios.forecasting.models.auto import AutoFitted

COLUMNS = ["mean", "lo-95", "hi-95"]


def daily_cycles(points: int, integer_steps: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    stamps = (
        np.arange(1, points + 1) if integer_steps else pd.date_range("2024-01-01", periods=points, freq="h")
    )
    hours = np.arange(points)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": stamps,
                    "y": 50
                    + 10 * i
                    + 8 * np.sin(2 * np.pi * (hours + 3 * i) / 24)
                    + rng.normal(0, 1, points),
                }
            )
            for i in range(5)
        ],
        ignore_index=True,
    )


def fitted(family: str, data: pd.DataFrame, **config: object):  # type: ignore[no-untyped-def]
    chosen = get_family(family)
    return chosen.fit(data, chosen.parse_config({"horizon": 24, **config}), DataSpec("h", 24))


@pytest.mark.parametrize("integer_steps", [False, True])
@pytest.mark.parametrize(
    ("family", "config"),
    [("gbm", {}), ("gbm", {"transform": "log"}), ("global_ar", {}), ("global_ar", {"transform": "log"})],
)
def test_a_global_model_moves_to_newer_data_and_forecasts_from_its_end(
    family: str, config: dict, integer_steps: bool
) -> None:
    data = daily_cycles(500, integer_steps)
    older = data.groupby("unique_id").head(470)
    model = fitted(family, older, **config)

    same, mode = advance(model, older)
    assert mode == StartMode.window_input
    pd.testing.assert_frame_equal(same.predict(24, (95,)), model.predict(24, (95,)))

    moved, _ = advance(model, data)
    forecast = moved.predict(24, (95,))
    first = forecast.groupby("unique_id")["ds"].min()
    assert (
        first == data.groupby("unique_id")["ds"].max() + (1 if integer_steps else pd.Timedelta(hours=1))
    ).all()
    # Read from the new end, it forecasts what a model refitted there forecasts, to within noise
    # (the series' noise is 1); the forecast from the old end is a day and more out of phase.
    refit = fitted(family, data, **config).predict(24, (95,))
    assert np.abs(forecast["mean"].to_numpy() - refit["mean"].to_numpy()).mean() < 0.6
    assert (forecast["lo-95"] < forecast["mean"]).all() and (forecast["mean"] < forecast["hi-95"]).all()


def test_an_auto_that_chose_global_models_moves_to_newer_data() -> None:
    data = daily_cycles(500)
    older = data.groupby("unique_id").head(470)
    model = fitted("auto", older, candidates=["gbm", "global_ar"])
    assert isinstance(model, AutoFitted) and set(model.members) & {"gbm", "global_ar"}
    same, _ = advance(model, older)
    pd.testing.assert_frame_equal(same.predict(24, (95,)), model.predict(24, (95,)))
    moved, _ = advance(model, data)
    assert moved.predict(24, (95,))["ds"].min() == data["ds"].max() + pd.Timedelta(hours=1)


def test_only_the_series_asked_for_are_moved_and_an_unknown_one_is_named() -> None:
    data = daily_cycles(500)
    model = fitted("gbm", data.groupby("unique_id").head(470))
    moved, _ = advance(model, data[data["unique_id"].isin(["s1", "s3"])])
    assert list(moved.predict(5, (95,))["unique_id"].unique()) == ["s1", "s3"]
    stranger = data[data["unique_id"] == "s0"].assign(unique_id="new")
    with pytest.raises(ForecastingError, match="series new: this gbm model was not trained on it"):
        advance(model, stranger)
