"""``auto`` picks per series by validation inside the training data, never beyond it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helios.forecasting import auto_validation
from helios.forecasting.base import DataSpec, ForecastingError
from helios.forecasting.families import get_family
from helios.forecasting.models import auto as auto_module
from helios.forecasting.models.auto import AutoFitted

HORIZON = 5


def mixed_panel() -> pd.DataFrame:
    """Trending series (drift wins) and noise around a fixed level (mean wins)."""
    rng = np.random.default_rng(4)
    stamps = pd.date_range("2023-01-01", periods=60, freq="D")
    frames = []
    for i in range(4):
        trend = 10 + 3.0 * np.arange(60) + rng.normal(scale=0.5, size=60)
        noise = 50 + rng.normal(scale=5, size=60)
        frames.append(pd.DataFrame({"unique_id": f"trend{i}", "ds": stamps, "y": trend}))
        frames.append(pd.DataFrame({"unique_id": f"flat{i}", "ds": stamps, "y": noise}))
    return pd.concat(frames, ignore_index=True)


def fit_auto(data: pd.DataFrame, **config: object) -> AutoFitted:
    family = get_family("auto")
    settings = {"candidates": ["mean", "drift", "naive"], "horizon": HORIZON, "n_windows": 4, **config}
    return family.fit(data, family.parse_config(settings), DataSpec("D", 1))  # type: ignore[return-value]


def test_each_series_gets_the_candidate_that_validated_best() -> None:
    fitted = fit_auto(mixed_panel())
    assert all(fitted.choices[f"trend{i}"] == ["drift"] for i in range(4))
    assert all(fitted.choices[f"flat{i}"] == ["mean"] for i in range(4))
    forecast = fitted.predict(HORIZON)
    assert list(forecast["unique_id"].unique()) == sorted(fitted.choices)
    assert len(forecast) == 8 * HORIZON and forecast[["mean", "lo-95", "hi-95"]].notna().all().all()


def test_validation_never_sees_past_the_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = mixed_panel()
    end = data["ds"].max()
    fits: list[pd.Timestamp] = []
    real_get_family = auto_module.get_family

    class Recording:
        backtest_forecasts = None  # the generic per-window refits, whose fits can be recorded

        def __init__(self, family):  # type: ignore[no-untyped-def]
            self.family = family

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(self.family, name)

        def fit(self, train, config, spec, context=None):  # type: ignore[no-untyped-def]
            fits.append(train["ds"].max())
            return self.family.fit(train, config, spec, context)

    monkeypatch.setattr(auto_module, "get_family", lambda name: Recording(real_get_family(name)))
    fit_auto(data, candidates=["mean", "drift"], n_windows=2)
    validation, final = fits[:4], fits[4:]
    assert validation == [end - pd.Timedelta(days=2 * HORIZON), end - pd.Timedelta(days=HORIZON)] * 2
    assert all(stamp == end for stamp in final)


def test_combine_averages_the_best_candidates() -> None:
    data = mixed_panel()
    fitted = fit_auto(data, selection="combine", top_k=2)
    assert all(len(names) == 2 for names in fitted.choices.values())
    series = "trend0"
    parts = []
    for name in fitted.choices[series]:
        family = get_family(name)
        one = family.fit(data[data["unique_id"] == series], family.parse_config({}), DataSpec("D", 1))
        parts.append(one.predict(HORIZON)["mean"].to_numpy())
    combined = fitted.predict(HORIZON).query("unique_id == @series")["mean"].to_numpy()
    np.testing.assert_allclose(combined, np.mean(parts, axis=0))


def test_variants_of_one_family_compete_under_their_own_names() -> None:
    fitted = fit_auto(
        mixed_panel(),
        candidates=["auto_ets@recent", "drift"],
        candidate_configs={"auto_ets@recent": {"window": 20}},
    )
    assert set(fitted.members) <= {"auto_ets@recent", "drift"}
    assert set(fitted.scores.columns) == {"auto_ets@recent", "drift"}


def test_auto_cannot_be_its_own_candidate() -> None:
    with pytest.raises(ForecastingError, match="own candidate"):
        fit_auto(mixed_panel(), candidates=["auto"])


def test_a_bad_candidate_config_is_reported_as_bad_input() -> None:
    with pytest.raises(ForecastingError, match="candidate naive \\(naive\\) config: windw: Extra inputs"):
        fit_auto(mixed_panel(), candidates=["naive"], candidate_configs={"naive": {"windw": 3}})


def test_all_is_a_fixed_combination_without_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto_validation, "backtest", lambda *a, **k: pytest.fail("'all' must not validate"))
    data = mixed_panel()
    fitted = fit_auto(data, candidates=["mean", "drift"], selection="all")
    assert all(names == ["mean", "drift"] for names in fitted.choices.values())
    parts = [
        fit_auto(data, candidates=[name], selection="all").predict(HORIZON) for name in ("mean", "drift")
    ]
    np.testing.assert_allclose(fitted.predict(HORIZON)["mean"], (parts[0]["mean"] + parts[1]["mean"]) / 2)


def test_a_saved_auto_keeps_its_reasons_costs_and_calibrated_intervals(tmp_path: Path) -> None:
    from helios.forecasting.artifacts import load_fitted, save_fitted

    fitted = fit_auto(mixed_panel())
    assert fitted.calibration is not None  # conformal by default
    assert set(fitted.costs) == {"mean", "drift", "naive"}
    assert all("validation" in reason for reason in fitted.explanations.values())
    save_fitted(fitted, tmp_path / "auto")
    loaded = load_fitted(tmp_path / "auto")
    assert isinstance(loaded, AutoFitted)
    assert loaded.explanations == fitted.explanations and loaded.costs == fitted.costs
    pd.testing.assert_frame_equal(loaded.predict(HORIZON, (80, 95)), fitted.predict(HORIZON, (80, 95)))


def test_near_ties_are_averaged_and_said_so() -> None:
    scores = pd.DataFrame({"a": [1.0, 1.0], "b": [1.02, 1.5], "c": [1.04, 2.0]}, index=["tie", "clear"])
    choices = auto_validation.choose(scores, ["a", "b", "c"], "close", top_k=2, tolerance=0.05)
    assert choices == {"tie": ["a", "b"], "clear": ["a"]}
    reason = auto_validation.explain("tie", choices["tie"], scores.loc["tie"], 0.05, ["c"])
    assert "average of a + b" in reason and "the best baseline, c, scored 1.040" in reason


def unequal_panel(seed: int, length: int = 80) -> pd.DataFrame:
    """Many smooth trends (drift forecasts them within a hair, yet they move a lot per week: a
    large seasonal-naive scale) and a few noisy flat series (hard, small scale)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2023-01-01", periods=length, freq="D")
    frames = []
    for i in range(24):
        y = 100 + (8 + i % 3) * np.arange(length) + rng.normal(scale=1.0, size=length)
        frames.append(pd.DataFrame({"unique_id": f"trend{i}", "ds": stamps, "y": y}))
    for i in range(8):
        y = 100 + rng.normal(scale=4.0, size=length)
        frames.append(pd.DataFrame({"unique_id": f"noisy{i}", "ds": stamps, "y": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("unit", ["own", "scale"])
def test_intervals_from_two_windows_cover_hard_and_easy_series_alike(unit: str) -> None:
    """With two validation windows, errors measured in each forecast's own spread keep every kind
    of series near 95%; in seasonal-naive units the easy trends' large scale swamps the hard
    series, which then undercover (M4 weekly's regression, in miniature)."""
    hits: dict[str, list[bool]] = {"trend": [], "noisy": []}
    for seed in range(3):
        panel = unequal_panel(seed)
        from_end = panel.groupby("unique_id").cumcount(ascending=False)
        train, test = panel[from_end >= HORIZON], panel[from_end < HORIZON]
        fitted = fit_auto(train, candidates=["drift", "mean"], n_windows=2, interval_unit=unit)
        assert fitted.unit == unit
        forecast = fitted.predict(HORIZON, (95,))
        joined = forecast.assign(step=forecast.groupby("unique_id").cumcount()).merge(
            test.assign(step=test.groupby("unique_id").cumcount()), on=["unique_id", "step"]
        )
        inside = (joined["y"] >= joined["lo-95"]) & (joined["y"] <= joined["hi-95"])
        for kind in hits:
            hits[kind].extend(inside[joined["unique_id"].str.startswith(kind)].tolist())
    coverage = {kind: float(np.mean(values)) for kind, values in hits.items()}
    if unit == "own":
        assert all(0.85 <= value <= 1.0 for value in coverage.values()), coverage
    else:
        assert coverage["noisy"] < 0.85 and coverage["trend"] > 0.99, coverage


def test_a_shorter_forecast_keeps_the_widths_of_its_steps() -> None:
    """The own-spread unit is taken over the calibrated steps whatever horizon is asked for, so the
    first steps of a short forecast are those of a long one."""
    fitted = fit_auto(mixed_panel(), interval_unit="own")
    assert fitted.unit == "own"
    long = fitted.predict(HORIZON, (80, 95))
    short = fitted.predict(2, (80, 95))
    first = long[long.groupby("unique_id").cumcount() < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(short, first)


@pytest.mark.parametrize("unit", ["scale", "own"])
def test_a_series_that_never_moved_is_forecast_at_its_level_with_no_width(unit: str) -> None:
    """Before, its scale fell back to 1: a constant 0.002 got 95% bounds of about +/-3."""
    data = mixed_panel()
    stamps = data[data["unique_id"] == "flat0"]["ds"]
    constant = pd.DataFrame({"unique_id": "still", "ds": stamps.to_numpy(), "y": 0.002})
    fitted = fit_auto(pd.concat([data, constant], ignore_index=True), interval_unit=unit)
    forecast = fitted.predict(HORIZON, (80, 95))
    still = forecast[forecast["unique_id"] == "still"]
    np.testing.assert_allclose(still["mean"], 0.002)
    assert (still["lo-95"] == still["mean"]).all() and (still["hi-95"] == still["mean"]).all()
    moving = forecast[forecast["unique_id"] != "still"]
    assert (moving["hi-95"] > moving["lo-95"]).all()
    again = AutoFitted.from_state(*fitted.to_state())
    pd.testing.assert_frame_equal(again.predict(HORIZON, (80, 95)), forecast)


def counts_panel() -> pd.DataFrame:
    """Counts falling to zero (drift carries them below it) beside the mixed panel's positive series."""
    stamps = pd.date_range("2023-01-01", periods=60, freq="D")
    rng = np.random.default_rng(8)
    falling = np.maximum(0.0, 40 - 1.0 * np.arange(60)) + rng.uniform(0, 0.5, 60)
    return pd.concat(
        [pd.DataFrame({"unique_id": "counts", "ds": stamps, "y": falling}), mixed_panel()], ignore_index=True
    )


@pytest.mark.parametrize("unit", ["scale", "own"])
def test_data_never_below_zero_is_forecast_and_bounded_at_zero_or_above(unit: str) -> None:
    data = counts_panel()
    fitted = fit_auto(data, candidates=["drift", "naive"], interval_unit=unit)
    forecast = fitted.predict(HORIZON, (80, 95))
    assert (forecast[["mean", "lo-80", "hi-80", "lo-95", "hi-95"]] >= 0).all().all()
    assert fitted.floored == set(forecast["unique_id"])
    # The floor is kept with the model; 'none' leaves what the candidates forecast.
    again = AutoFitted.from_state(*fitted.to_state())
    pd.testing.assert_frame_equal(again.predict(HORIZON, (80, 95)), forecast)
    free = fit_auto(data, candidates=["drift", "naive"], interval_unit=unit, floor="none")
    free_counts = free.predict(HORIZON, (80, 95)).query("unique_id == 'counts'")
    assert (free_counts["lo-95"] < 0).any() and not free.floored


def test_a_panel_with_a_value_below_zero_is_not_floored() -> None:
    """Signed quantities: a series above zero all its history may cross it next (ETT's loads)."""
    data = counts_panel()
    stamps = data[data["unique_id"] == "counts"]["ds"].to_numpy()
    signed = pd.DataFrame({"unique_id": "signed", "ds": stamps, "y": np.linspace(3, -1, len(stamps))})
    fitted = fit_auto(pd.concat([data, signed], ignore_index=True), candidates=["drift", "naive"])
    forecast = fitted.predict(HORIZON, (95,))
    assert not fitted.floored
    assert (forecast.query("unique_id == 'counts'")["lo-95"] < 0).any()


def test_an_auto_model_moved_to_newer_data_keeps_its_calibrated_intervals() -> None:
    """advance() rebuilt auto from its members alone, dropping the conformal calibration: moved
    to newer data (the ledger's on-demand and scheduled runs), it averaged its members' own,
    uncalibrated bounds. Moved to the data it was fitted on, it must forecast exactly as fitted."""
    from helios.forecasting.forward import advance

    data = counts_panel()
    fitted = fit_auto(data)
    moved, _ = advance(fitted, data)
    assert isinstance(moved, AutoFitted) and moved.calibration is fitted.calibration
    pd.testing.assert_frame_equal(moved.predict(HORIZON, (80, 95)), fitted.predict(HORIZON, (80, 95)))
    newer = pd.concat(
        [data, data.groupby("unique_id").tail(1).assign(ds=lambda f: f["ds"] + pd.Timedelta(days=1))],
        ignore_index=True,
    )
    ahead, _ = advance(fitted, newer)
    assert ahead.predict(HORIZON, (95,))["ds"].min() == newer["ds"].max() + pd.Timedelta(days=1)
    assert ahead.explanations == fitted.explanations and ahead.floored == fitted.floored


def test_an_explanation_gives_the_series_own_scores_where_the_panel_moved_them() -> None:
    """Pooled scores can be alike on every series (a candidate whose windows are noisy follows the
    panel): the explanation then also says what the series' own windows alone scored."""
    pooled = pd.Series({"gbm": 0.863, "seasonal_naive": 0.933})
    own = pd.Series({"gbm": 0.912, "seasonal_naive": 0.801})
    reason = auto_validation.explain("OT", ["gbm"], pooled, 0.05, ["seasonal_naive"], own)
    assert reason.startswith("gbm (best in validation); scores gbm 0.863, seasonal_naive 0.933")
    assert auto_validation.POOLED_NOTE in reason
    assert reason.endswith("(pulled towards the panel's; its windows alone: seasonal_naive 0.801, gbm 0.912)")
    assert auto_validation.POOLED_NOTE not in auto_validation.explain(
        "OT", ["gbm"], pooled, 0.05, ["seasonal_naive"], pooled.copy()
    )
    panel = mixed_panel()
    alone = fit_auto(panel, pooling=0)
    assert not any(auto_validation.POOLED_NOTE in reason for reason in alone.explanations.values())
    pulled = fit_auto(panel, pooling=0.5)
    assert all(auto_validation.POOLED_NOTE in reason for reason in pulled.explanations.values())
