"""EarlyStopping and MetricsRecorder, driven the way a training loop drives them."""

from __future__ import annotations

import math

import pytest

from helios.forecasting.base import ForecastingError, TrainingControl
from helios.forecasting.callbacks import EARLY_STOPPING_REASON, EarlyStopping, MetricsRecorder


def feed(callback: EarlyStopping, values: list[float], monitor: str = "val_loss") -> TrainingControl:
    """Report ``values`` epoch by epoch until the callback asks to stop, like a loop would."""
    control = TrainingControl()
    callback.on_train_begin({"epochs": len(values)}, control)
    for epoch, value in enumerate(values, start=1):
        callback.on_epoch_end(epoch, {monitor: value, "train_loss": 1.0}, control)
        if control.should_stop:
            break
    return control


def test_stops_after_patience_epochs_without_improvement() -> None:
    early = EarlyStopping(patience=2)
    control = feed(early, [1.0, 0.8, 0.9, 0.85, 0.7])
    assert control.stop_reason == EARLY_STOPPING_REASON
    assert (early.stopped_epoch, early.best_epoch, early.best_value) == (4, 2, 0.8)
    assert "epoch 4" in early.message and "best 0.8 at epoch 2" in early.message


def test_keeps_going_while_it_improves() -> None:
    early = EarlyStopping(patience=1)
    control = feed(early, [5.0, 4.0, 3.0, 2.0])
    assert not control.should_stop
    assert early.best_epoch == 4


def test_min_delta_ignores_tiny_improvements() -> None:
    early = EarlyStopping(patience=2, min_delta=0.1)
    control = feed(early, [1.0, 0.95, 0.92, 0.5])
    assert control.should_stop and early.stopped_epoch == 3
    assert early.best_epoch == 1


def test_mode_max_watches_a_metric_that_should_grow() -> None:
    early = EarlyStopping(monitor="coverage", mode="max", patience=1)
    control = feed(early, [0.5, 0.7, 0.6], monitor="coverage")
    assert control.should_stop and early.best_value == 0.7


def test_a_diverged_loss_never_counts_as_improvement() -> None:
    early = EarlyStopping(patience=2)
    control = feed(early, [1.0, math.nan, math.inf])
    assert control.should_stop and early.best_epoch == 1


def test_patience_can_change_while_training() -> None:
    early = EarlyStopping(patience=10)
    control = TrainingControl()
    early.on_train_begin({}, control)
    for epoch, value in enumerate([1.0, 1.1, 1.2], start=1):
        early.on_epoch_end(epoch, {"val_loss": value}, control)
    assert not control.should_stop
    early.update(patience=3, min_delta=0.5)
    early.on_epoch_end(4, {"val_loss": 0.9}, control)  # better, but not by 0.5: still no improvement
    assert control.should_stop and early.stopped_epoch == 4
    assert early.settings()["patience"] == 3 and early.best_epoch == 1


def test_a_new_monitor_starts_progress_over() -> None:
    early = EarlyStopping(patience=1)
    feed(early, [1.0, 0.5])
    early.update(monitor="train_loss")
    assert early.best_value is None and early.epochs_without_improvement == 0
    early.update(patience=4)  # same monitor: progress kept
    assert early.monitor == "train_loss"


@pytest.mark.parametrize(
    "settings",
    [
        {"patience": -1},
        {"patience": 1.5},
        {"min_delta": -0.1},
        {"mode": "sideways"},
        {"monitor": ""},
        {"speed": 1},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(settings: dict[str, object]) -> None:
    early = EarlyStopping(patience=3)
    with pytest.raises(ForecastingError):
        early.update(**settings)
    assert early.settings() == EarlyStopping(patience=3).settings()


def test_bad_settings_are_refused_at_creation() -> None:
    with pytest.raises(ForecastingError, match="patience"):
        EarlyStopping(patience=-2)


def test_a_missing_metric_warns_once_and_never_stops() -> None:
    early = EarlyStopping(monitor="val_loss", patience=0)
    control = TrainingControl()
    with pytest.warns(UserWarning, match="train_loss"):
        for epoch in range(1, 4):
            early.on_epoch_end(epoch, {"train_loss": 1.0}, control)
    assert not control.should_stop


def test_progress_survives_a_state_round_trip() -> None:
    early = EarlyStopping(patience=3)
    feed(early, [1.0, 0.5, 0.7])
    resumed = EarlyStopping(patience=3)
    resumed.on_train_begin({}, TrainingControl())
    resumed.load_state_dict(early.state_dict())
    assert (resumed.best_value, resumed.best_epoch, resumed.epochs_without_improvement) == (0.5, 2, 1)
    other = EarlyStopping(monitor="train_loss")
    other.load_state_dict(early.state_dict())  # watched another metric: its progress means nothing here
    assert other.best_value is None


def test_reuse_for_a_second_run_starts_fresh() -> None:
    early = EarlyStopping(patience=1)
    feed(early, [1.0, 2.0])
    control = feed(early, [3.0, 2.0])
    assert not control.should_stop and early.best_value == 2.0


def test_recorder_keeps_the_history() -> None:
    recorder = MetricsRecorder()
    control = TrainingControl()
    recorder.on_train_begin({"epochs": 2}, control)
    recorder.on_epoch_end(1, {"train_loss": 2.0, "val_loss": 3.0}, control)
    recorder.on_epoch_end(2, {"train_loss": 1.0}, control)
    recorder.on_train_end({"epochs_run": 2}, control)
    assert recorder.values("train_loss") == [2.0, 1.0]
    assert recorder.values("val_loss") == [3.0]
    assert recorder.epochs == [1, 2]
    assert (recorder.info, recorder.summary) == ({"epochs": 2}, {"epochs_run": 2})
    restored = MetricsRecorder()
    restored.load_state_dict(recorder.state_dict())
    assert restored.history == recorder.history
