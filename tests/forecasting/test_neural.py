"""The global N-BEATS family: forecasts, determinism, state round trips, stopping, checkpoints, resume."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from helios.forecasting import atomic_files
from helios.forecasting.artifacts import load_fitted, save_fitted
from helios.forecasting.base import Callback, DataSpec, FitContext, ForecastingError, TrainingControl
from helios.forecasting.callbacks import EarlyStopping, MetricsRecorder
from helios.forecasting.checkpoint_header import saved_epoch
from helios.forecasting.families import get_family
from helios.forecasting.models.neural import NBeatsFitted
from helios.forecasting.nn import checkpoint as checkpoints

torch.set_num_threads(1)

HORIZON = 4
SMALL = {
    "horizon": HORIZON,
    "input_multiple": 2,
    "hidden_size": 16,
    "layers": 2,
    "blocks": 2,
    "epochs": 4,
    "steps_per_epoch": 4,
    "batch_size": 32,
    "seed": 7,
}
SPEC = DataSpec(freq="W-SUN")


def weekly_panel(series: int = 5, length: int = 48, seed: int = 0) -> pd.DataFrame:
    """Seasonal, trending series at different levels, so a scale-free global model has work to do."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(series):
        t = np.arange(length - 3 * i)
        y = 50 * (i + 1) + 5 * np.sin(2 * np.pi * t / 8) + 0.3 * t + rng.normal(0, 0.5, len(t))
        stamps = pd.date_range("2020-01-05", periods=len(t), freq="W-SUN")
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": stamps, "y": y}))
    return pd.concat(frames, ignore_index=True)


def fit(
    train: pd.DataFrame | None = None, context: FitContext | None = None, **overrides: Any
) -> NBeatsFitted:
    family = get_family("nbeats")
    fitted = family.fit(
        weekly_panel() if train is None else train, family.parse_config({**SMALL, **overrides}), SPEC, context
    )
    assert isinstance(fitted, NBeatsFitted)
    return fitted


class CancelAfter(Callback):
    """Cancels the run cooperatively after ``epoch``, as a person pressing Cancel would."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.cancelled = epoch, False

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], control: TrainingControl) -> None:
        self.cancelled = self.cancelled or epoch >= self.epoch


def cancellable(callback: CancelAfter) -> TrainingControl:
    return TrainingControl(cancelled=lambda: callback.cancelled)


def test_forecast_frame_has_the_contract_columns_and_ordered_bounds() -> None:
    forecast = fit().predict(HORIZON)
    assert list(forecast.columns) == ["unique_id", "ds", "mean", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert len(forecast) == 5 * HORIZON and forecast["unique_id"].nunique() == 5
    bounds = forecast[["lo-95", "lo-80", "mean", "hi-80", "hi-95"]].to_numpy()
    assert np.isfinite(bounds).all() and (np.diff(bounds, axis=1) >= 0).all()
    first = forecast[forecast["unique_id"] == "s0"]["ds"]
    last_seen = weekly_panel().query("unique_id == 's0'")["ds"].max()
    assert list(first) == list(pd.date_range(last_seen, periods=HORIZON + 1, freq="W-SUN")[1:])


def test_forecasts_follow_each_series_level() -> None:
    forecast = fit(epochs=8).predict(HORIZON)
    means = forecast.groupby("unique_id")["mean"].mean()
    last = weekly_panel().groupby("unique_id")["y"].last()
    assert (abs(means - last) / last < 0.25).all()


def test_same_seed_gives_identical_forecasts_and_another_seed_does_not() -> None:
    first, again, other = fit().predict(HORIZON), fit().predict(HORIZON), fit(seed=8).predict(HORIZON)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["mean"], other["mean"])


def test_fitting_leaves_the_callers_torch_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(epochs=1)
    assert torch.equal(torch.rand(3), expected)


def test_state_round_trip_and_artifact_give_identical_forecasts(tmp_path: Path) -> None:
    fitted = fit()
    meta, arrays = fitted.to_state()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    pd.testing.assert_frame_equal(NBeatsFitted.from_state(meta, arrays).predict(3), fitted.predict(3))
    save_fitted(fitted, tmp_path / "model")
    pd.testing.assert_frame_equal(load_fitted(tmp_path / "model").predict(HORIZON), fitted.predict(HORIZON))


def test_shorter_horizon_is_a_prefix_and_longer_is_refused() -> None:
    fitted = fit()
    full, short = fitted.predict(HORIZON), fitted.predict(2)
    pd.testing.assert_frame_equal(
        short.reset_index(drop=True), full.groupby("unique_id").head(2).reset_index(drop=True)
    )
    with pytest.raises(ForecastingError, match="horizon of 4 steps"):
        fitted.predict(HORIZON + 1)


def test_levels_without_quantile_heads_are_refused() -> None:
    fitted = fit(levels=[90])
    assert list(fitted.predict(HORIZON, levels=[90]).columns)[-2:] == ["lo-90", "hi-90"]
    with pytest.raises(ForecastingError, match="conformal"):
        fitted.predict(HORIZON, levels=[80])


def test_series_shorter_than_the_input_window_are_padded() -> None:
    train = pd.concat([weekly_panel(), weekly_panel(series=1, length=5).assign(unique_id="tiny")])
    forecast = fit(train).predict(HORIZON)
    tiny = forecast[forecast["unique_id"] == "tiny"]
    assert len(tiny) == HORIZON and np.isfinite(tiny["mean"]).all()


def test_too_short_to_train_and_missing_values_are_clear_errors() -> None:
    with pytest.raises(ForecastingError, match="needs at least 9 observations"):
        fit(weekly_panel(series=2, length=6))
    holes = weekly_panel()
    holes.loc[3, "y"] = np.nan
    with pytest.raises(ForecastingError, match="'s0'"):
        fit(holes)


def test_callbacks_see_every_epoch_with_train_and_val_loss() -> None:
    recorder = MetricsRecorder()
    fit(context=FitContext(callbacks=[recorder]))
    assert recorder.epochs == [1, 2, 3, 4]
    assert all({"train_loss", "val_loss"} <= set(row) for row in recorder.history)
    assert recorder.info["series"] == 5 and recorder.info["parameters"] > 0
    assert recorder.summary["epochs_run"] == 4 and recorder.summary["stopped_reason"] is None


def test_without_validation_windows_only_train_loss_is_reported() -> None:
    recorder = MetricsRecorder()
    fit(val_windows=0, context=FitContext(callbacks=[recorder]))
    assert recorder.values("val_loss") == [] and len(recorder.values("train_loss")) == 4


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    # min_delta so large that nothing after epoch 1 counts as better: stop at 2, keep epoch 1's weights.
    early = EarlyStopping(patience=1, min_delta=1e9)
    recorder = MetricsRecorder()
    stopped = fit(context=FitContext(callbacks=[early, recorder]))
    assert recorder.summary["stopped_reason"] == "early_stopping"
    assert recorder.summary["epochs_run"] == 2 and recorder.summary["best_epoch"] == 1
    pd.testing.assert_frame_equal(stopped.predict(HORIZON), fit(epochs=1).predict(HORIZON))


def test_early_stopping_without_restore_keeps_the_last_weights() -> None:
    early = EarlyStopping(patience=1, min_delta=1e9, restore_best=False)
    stopped = fit(context=FitContext(callbacks=[early]))
    assert not np.allclose(stopped.predict(HORIZON)["mean"], fit(epochs=1).predict(HORIZON)["mean"])


def test_cancel_stops_between_epochs() -> None:
    canceller, recorder = CancelAfter(2), MetricsRecorder()
    fit(context=FitContext(callbacks=[canceller, recorder], control=cancellable(canceller)))
    assert recorder.epochs == [1, 2] and recorder.summary["stopped_reason"] == "cancelled"


def test_resume_continues_where_it_stopped_and_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = MetricsRecorder()
    expected = fit(epochs=6, context=FitContext(callbacks=[straight])).predict(HORIZON)

    canceller = CancelAfter(3)
    callbacks = [MetricsRecorder(), canceller]  # the recorder's history travels in the checkpoint
    first = FitContext(callbacks=callbacks, control=cancellable(canceller), checkpoint_dir=tmp_path)
    fit(epochs=6, context=first)
    assert checkpoints.load_checkpoint(tmp_path).epoch == 3
    assert saved_epoch(tmp_path) == 3  # what the job supervisor reads from the header, without torch

    resumed = MetricsRecorder()
    again = FitContext(callbacks=[resumed], checkpoint_dir=tmp_path, resume=True)
    forecast = fit(epochs=6, context=again).predict(HORIZON)
    assert resumed.info["resumed_from_epoch"] == 3
    assert resumed.history == straight.history  # epochs 1-3 from the checkpoint, 4-6 trained again
    pd.testing.assert_frame_equal(forecast, expected)


def test_resume_keeps_early_stopping_progress_and_a_stopped_run_stays_stopped(tmp_path: Path) -> None:
    def run(resume: bool) -> tuple[pd.DataFrame, MetricsRecorder]:
        recorder = MetricsRecorder()
        context = FitContext([EarlyStopping(patience=1, min_delta=1e9), recorder], checkpoint_dir=tmp_path)
        context.resume = resume
        return fit(epochs=6, context=context).predict(HORIZON), recorder

    stopped, _ = run(resume=False)
    again, recorder = run(resume=True)
    pd.testing.assert_frame_equal(again, stopped)
    assert recorder.summary["stopped_reason"] == "early_stopping" and recorder.summary["epochs_run"] == 2


def test_resume_without_a_checkpoint_starts_fresh_and_ignores_half_written_files(tmp_path: Path) -> None:
    stale = tmp_path / f".{checkpoints.CHECKPOINT_NAME}.crashed.tmp"
    stale.write_bytes(b"half a checkpoint")
    recorder = MetricsRecorder()
    forecast = fit(context=FitContext(callbacks=[recorder], checkpoint_dir=tmp_path, resume=True))
    assert recorder.info["resumed_from_epoch"] is None and not stale.exists()
    pd.testing.assert_frame_equal(forecast.predict(HORIZON), fit().predict(HORIZON))


def test_a_damaged_checkpoint_is_reported_not_used(tmp_path: Path) -> None:
    fit(context=FitContext(checkpoint_dir=tmp_path))
    path = checkpoints.checkpoint_path(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ForecastingError, match="cannot be read"):
        fit(context=FitContext(checkpoint_dir=tmp_path, resume=True))


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    fit(context=FitContext(checkpoint_dir=tmp_path))
    with pytest.raises(ForecastingError, match="different config"):
        fit(hidden_size=8, context=FitContext(checkpoint_dir=tmp_path, resume=True))
    with pytest.raises(ForecastingError, match="data_sha256"):
        fit(weekly_panel(seed=1), context=FitContext(checkpoint_dir=tmp_path, resume=True))


def test_a_crash_while_writing_leaves_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fit(epochs=1, context=FitContext(checkpoint_dir=tmp_path))
    before = checkpoints.checkpoint_path(tmp_path).read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk vanished")

    monkeypatch.setattr(atomic_files.os, "replace", crash)
    with pytest.raises(OSError, match="disk vanished"):
        fit(epochs=2, context=FitContext(checkpoint_dir=tmp_path))
    assert checkpoints.checkpoint_path(tmp_path).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoints.CHECKPOINT_NAME]


def test_checkpoint_holds_model_optimizer_rng_and_progress(tmp_path: Path) -> None:
    fit(context=FitContext(callbacks=[EarlyStopping(patience=9)], checkpoint_dir=tmp_path))
    ckpt = checkpoints.load_checkpoint(tmp_path)
    assert ckpt is not None and (ckpt.epoch, ckpt.step) == (4, 16)
    assert ckpt.model and ckpt.optimizer_state and ckpt.best_model is not None
    assert ckpt.torch_rng.dtype == torch.uint8 and ckpt.numpy_rng["bit_generator"] == "PCG64"
    assert ckpt.progress["best_epoch"] is not None and "0:EarlyStopping" in ckpt.progress["callbacks"]
    assert ckpt.fingerprint["config"]["hidden_size"] == 16


def test_listing_families_does_not_import_torch_or_arch() -> None:
    code = (
        "import sys, helios.forecasting.models.neural, helios.forecasting.models.volatility\n"
        "print(sorted(m for m in ('torch', 'arch') if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_integer_steps_count_on_from_the_last_step() -> None:
    train = weekly_panel()
    train["ds"] = train.groupby("unique_id").cumcount()
    forecast = fit(train, epochs=1).predict(2)
    s1 = forecast[forecast["unique_id"] == "s1"]
    assert list(s1["ds"]) == [45, 46]  # s1 has 45 points: steps 0..44


def test_history_older_than_the_training_windows_is_not_kept() -> None:
    recent = weekly_panel()
    old = recent.groupby("unique_id", as_index=False).head(1).assign(y=1e6)
    old = pd.concat([old.assign(ds=old["ds"] - pd.Timedelta(weeks=k)) for k in range(1, 500)])
    # Windows end within the last 2 horizons, plus 1 validation window and an 8-point input: 20 points.
    with_old = fit(pd.concat([old, recent]), history=2)
    pd.testing.assert_frame_equal(with_old.predict(HORIZON), fit(recent, history=2).predict(HORIZON))
