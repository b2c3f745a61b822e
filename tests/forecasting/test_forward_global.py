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


@pytest.mark.parametrize(("freq", "gap"), [("15min", False), ("2h", False), ("h", True), ("B", False)])
def test_calendar_steps_count_rows_as_the_fit_did(freq: str, gap: bool) -> None:
    """Steps read off the new last stamp disagreed with the fit's row count for 15-minute and
    2-hour data and for a series with a missing row, so gbm's phase features moved and even
    'advance to the data it was fitted on' changed the forecast (by up to 0.8 here)."""
    data = daily_cycles(400)
    data["ds"] = (
        data.groupby("unique_id")
        .cumcount()
        .map(dict(enumerate(pd.date_range("2024-01-01", periods=400, freq=freq))))
    )
    if gap:
        data = data.drop(index=data.index[(data["unique_id"] == "s1")][100])
    chosen = get_family("gbm")
    model = chosen.fit(data, chosen.parse_config({"horizon": 24}), DataSpec(freq, 24))
    same, _ = advance(model, data)
    pd.testing.assert_frame_equal(same.predict(24, (95,)), model.predict(24, (95,)))


@pytest.mark.parametrize(
    ("family", "config"), [("gbm", {"transform": "log"}), ("gbm", {}), ("global_ar", {})]
)
def test_a_series_that_never_moved_in_training_and_moves_now_stays_in_bounds(
    family: str, config: dict
) -> None:
    """Its saved scale is rounding noise (2e-16 for a constant log 5): divided by it, a later
    move became 1e15 and the forecast ran away with zero-width bounds."""
    data = daily_cycles(400)
    stamps = data[data["unique_id"] == "s0"]["ds"]
    constant = pd.DataFrame({"unique_id": "still", "ds": stamps.to_numpy(), "y": 5.0})
    model = fitted(family, pd.concat([data, constant], ignore_index=True), **config)
    moves = constant.assign(y=np.where(np.arange(len(constant)) >= len(constant) - 3, 7.0, 5.0))
    moved, _ = advance(model, pd.concat([data, moves], ignore_index=True))
    forecast = moved.predict(24, (95,)).query("unique_id == 'still'")
    assert forecast["mean"].between(3, 9).all(), forecast["mean"].describe()
    assert (forecast["hi-95"] > forecast["lo-95"]).all() and (
        forecast["hi-95"] - forecast["lo-95"]
    ).max() < 50
