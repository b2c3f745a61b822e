"""Phases for data without a calendar (``forecasting/phases.py``): series given as integer steps,
each counted from its own start, get a common phase from their own seasonal profiles, and ``gbm``
forecasts them better for it; series whose steps already agree keep them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helios.forecasting import phases
from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family
from helios.forecasting.metrics import mase

WEEK, HOURS = 168, 24 * 35


def weekly_shape(hour_of_week: np.ndarray) -> np.ndarray:
    """A day's peak and a quieter weekend: the shape every series shares."""
    day = 2 * np.sin(2 * np.pi * hour_of_week / 24)
    weekend = np.where(hour_of_week // 24 >= 5, -3.0, 0.0)
    return day + weekend


def recordings(series: int, offsets: np.ndarray, seed: int = 3, noise: float = 0.4) -> np.ndarray:
    """(series, HOURS): series ``i`` starts at hour-of-week ``offsets[i]``."""
    rng = np.random.default_rng(seed)
    t = np.arange(HOURS)
    return np.stack(
        [10 + weekly_shape((t + offsets[i]) % WEEK) + rng.normal(0, noise, HOURS) for i in range(series)]
    )


def test_series_counted_from_their_own_starts_are_lined_up_by_their_profiles():
    offsets = np.random.default_rng(0).integers(0, WEEK, 12)
    values = recordings(12, offsets)
    starts = phases.aligned_starts(values, np.ones(12, dtype=np.int64), WEEK)
    # Every series' column 0 now sits at its true hour of the week, up to one shift for all.
    assert phase_spread(starts - offsets) == 0


def test_series_whose_steps_already_agree_keep_them():
    values = recordings(12, np.zeros(12, dtype=np.int64))
    given = np.ones(12, dtype=np.int64)
    assert np.array_equal(phases.aligned_starts(values, given, WEEK), given)


NOTHING_TO_LINE_UP = {
    "flat series: no shape to line up": lambda: np.full((5, HOURS), 3.0),
    "one series: nothing to line it up with": lambda: recordings(1, np.array([40])),
}


@pytest.mark.parametrize("case", NOTHING_TO_LINE_UP)
def test_nothing_to_line_up_leaves_the_steps_as_given(case):
    values = NOTHING_TO_LINE_UP[case]()
    given = np.arange(len(values), dtype=np.int64)
    assert np.array_equal(phases.aligned_starts(values, given, WEEK), given)


def test_short_series_padded_on_the_left_still_find_their_phase():
    offsets = np.random.default_rng(1).integers(0, WEEK, 8)
    values = recordings(8, offsets)
    values[::2, : HOURS // 3] = np.nan  # every other series a third shorter
    starts = phases.aligned_starts(values, np.ones(8, dtype=np.int64), WEEK)
    assert phase_spread(starts - offsets) == 0


def random_offsets(series: int) -> np.ndarray:
    return np.random.default_rng(5).integers(0, WEEK, series)


def integer_step_panel(series: int, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Series cut at random hours of the week (``random_offsets``), ``ds`` counted 1, 2, 3...
    per series."""
    values = recordings(series, random_offsets(series), seed=9, noise=1.5)
    frames = [
        pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(1, HOURS + 1), "y": values[i]})
        for i in range(series)
    ]
    panel = pd.concat(frames, ignore_index=True)
    last = panel.groupby("unique_id").cumcount(ascending=False) < horizon
    return panel[~last].reset_index(drop=True), panel[last].reset_index(drop=True)


def gbm_error(train: pd.DataFrame, test: pd.DataFrame, phases_setting: str, horizon: int) -> float:
    gbm = get_family("gbm")
    config = gbm.Config(n_estimators=150, phases=phases_setting, horizon=horizon)
    forecast = gbm.fit(train, config, DataSpec("h", 24)).predict(horizon, (80,))
    errors = []
    for uid, truth in test.groupby("unique_id"):
        history = train.loc[train["unique_id"] == uid, "y"].to_numpy()
        mean = forecast.loc[forecast["unique_id"] == uid, "mean"].to_numpy()
        errors.append(mase(truth["y"].to_numpy(), mean, history, 24))
    return float(np.mean(errors))


def test_gbm_reads_integer_steps_at_their_true_hours_of_the_week():
    train, _ = integer_step_panel(series=10, horizon=24)
    gbm = get_family("gbm")
    fitted = gbm.fit(train, gbm.Config(n_estimators=5, horizon=24), DataSpec("h", 24))
    # Every series is as long, so each one's saved history starts at the same point of it: its
    # phase there is its own start's plus a constant, the same for all once lined up (within an
    # hour: noise 1.5 on a peak of 2 can move one series' best match by one).
    assert phase_spread(fitted.steps - random_offsets(10)) <= 1
    as_given = gbm.fit(train, gbm.Config(n_estimators=5, horizon=24, phases="given"), DataSpec("h", 24))
    assert phase_spread(as_given.steps - random_offsets(10)) > 24


def phase_spread(differences: np.ndarray) -> int:
    """The largest circular distance, in hours of the week, from the first difference."""
    gaps = np.mod(differences - differences[0], WEEK)
    return int(np.minimum(gaps, WEEK - gaps).max())


def test_gbm_forecasts_integer_steps_better_with_the_phases_lined_up():
    train, test = integer_step_panel(series=16, horizon=48)
    as_given = gbm_error(train, test, "given", 48)
    lined_up = gbm_error(train, test, "auto", 48)
    # Given as counted, "hour of week" means a different hour in every series: the weekend
    # must come from the noisy lags alone. Lined up, the trees learn it once for all (3.5%
    # lower MASE here; 1-5% over noise 0.6-3 and 16-40 series).
    assert lined_up < 0.98 * as_given


def test_gbm_on_timestamps_keeps_the_calendar():
    train, _ = integer_step_panel(series=6, horizon=24)
    # One clock for every series, though their shapes sit at different hours: with a calendar,
    # the calendar is what the phases follow.
    timed = train.assign(ds=pd.Timestamp("2024-01-01") + pd.to_timedelta(train["ds"], unit="h"))
    gbm = get_family("gbm")
    spec = DataSpec("h", 24)
    forecasts = [
        gbm.fit(timed, gbm.Config(n_estimators=20, phases=setting, horizon=24), spec).predict(24, (80,))
        for setting in ("auto", "given")
    ]
    pd.testing.assert_frame_equal(forecasts[0], forecasts[1])
