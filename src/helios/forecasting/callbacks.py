"""Reusable training callbacks: early stopping and a metrics history.

Both work with any iterative family, because they only speak the ``Callback`` hooks and the
``TrainingControl``. A loop that can restore weights looks for a callback with ``restore_best``
set and a ``best_epoch`` (``EarlyStopping`` has both) and keeps a copy of the weights of that
epoch. Callbacks with ``state_dict``/``load_state_dict`` are saved in resumable checkpoints, so a
resumed run stops at the same epoch an uninterrupted one would.
"""

from __future__ import annotations

import math
import threading
import warnings
from typing import Any, Literal

from helios.forecasting.base import Callback, ForecastingError, TrainingControl

Mode = Literal["min", "max"]
EARLY_STOPPING_REASON = "early_stopping"


class EarlyStopping(Callback):
    """Ask the loop to stop when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs in a row. Settings can be changed while training runs (``update``): the
    training page edits them live, from another thread than the loop's."""

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: Mode = "min",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self.monitor = monitor
        self.mode: Mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best
        _check_settings(monitor=monitor, mode=mode, patience=patience, min_delta=min_delta)
        self._reset_progress()

    def _reset_progress(self) -> None:
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.epochs_without_improvement = 0
        self.stopped_epoch: int | None = None
        self._warned_missing = False

    def update(self, **settings: Any) -> None:
        """Change ``monitor``, ``mode``, ``patience``, ``min_delta`` or ``restore_best`` on the fly.
        A new monitor or mode makes the best value so far meaningless, so progress starts over."""
        unknown = set(settings) - {"monitor", "mode", "patience", "min_delta", "restore_best"}
        if unknown:
            raise ForecastingError(f"unknown early-stopping setting(s): {', '.join(sorted(unknown))}")
        merged: dict[str, Any] = {"monitor": self.monitor, "mode": self.mode, "patience": self.patience}
        merged |= {"min_delta": self.min_delta} | {k: v for k, v in settings.items() if k != "restore_best"}
        _check_settings(**merged)
        with self._lock:
            target_changed = (merged["monitor"], merged["mode"]) != (self.monitor, self.mode)
            self.monitor, self.mode = merged["monitor"], merged["mode"]
            self.patience, self.min_delta = int(merged["patience"]), float(merged["min_delta"])
            if "restore_best" in settings:
                self.restore_best = bool(settings["restore_best"])
            if target_changed:
                self._reset_progress()

    def settings(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "restore_best": self.restore_best,
        }

    def on_train_begin(self, info: dict[str, Any], control: TrainingControl) -> None:
        with self._lock:
            self._reset_progress()

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], control: TrainingControl) -> None:
        with self._lock:
            value = metrics.get(self.monitor)
            if value is None:
                self._warn_missing(metrics)
                return
            if self._is_improvement(float(value)):
                self.best_value, self.best_epoch = float(value), epoch
                self.epochs_without_improvement = 0
                return
            self.epochs_without_improvement += 1
            if self.epochs_without_improvement >= self.patience:
                self.stopped_epoch = epoch
                control.request_stop(EARLY_STOPPING_REASON)

    def _is_improvement(self, value: float) -> bool:
        if not math.isfinite(value):
            return False  # a diverged loss never counts as progress
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def _warn_missing(self, metrics: dict[str, float]) -> None:
        # Warn once rather than raise: a family without validation data must still train.
        if not self._warned_missing:
            self._warned_missing = True
            known = ", ".join(sorted(metrics)) or "none"
            warnings.warn(
                f"early stopping monitors {self.monitor!r}, which this training does not report "
                f"(it reports: {known}); it will never stop the run",
                stacklevel=2,
            )

    @property
    def message(self) -> str:
        """A sentence for the training journal."""
        if self.stopped_epoch is None:
            return f"early stopping watching {self.monitor} ({self.mode}), patience {self.patience}"
        return (
            f"stopped early at epoch {self.stopped_epoch}: {self.monitor} did not improve by more than "
            f"{self.min_delta:g} for {self.patience} epochs; best {self.best_value:.6g} at epoch "
            f"{self.best_epoch}"
        )

    def state_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "monitor": self.monitor,
                "mode": self.mode,
                "best_value": self.best_value,
                "best_epoch": self.best_epoch,
                "epochs_without_improvement": self.epochs_without_improvement,
            }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Progress from a checkpoint; ignored when it watched another metric than now."""
        with self._lock:
            if (state.get("monitor"), state.get("mode")) != (self.monitor, self.mode):
                return
            self.best_value = state.get("best_value")
            self.best_epoch = state.get("best_epoch")
            self.epochs_without_improvement = int(state.get("epochs_without_improvement", 0))


def _check_settings(*, monitor: Any, mode: Any, patience: Any, min_delta: Any) -> None:
    if not isinstance(monitor, str) or not monitor:
        raise ForecastingError("early stopping needs the name of the metric to monitor, e.g. 'val_loss'")
    if mode not in ("min", "max"):
        raise ForecastingError(f"early-stopping mode must be 'min' or 'max', not {mode!r}")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise ForecastingError(f"early-stopping patience must be a whole number >= 0, not {patience!r}")
    if isinstance(min_delta, bool) or not isinstance(min_delta, int | float) or not min_delta >= 0:
        raise ForecastingError(f"early-stopping min_delta must be a number >= 0, not {min_delta!r}")


class MetricsRecorder(Callback):
    """Keeps what a run reported: the begin info, one row per epoch, and the end summary."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.history: list[dict[str, float]] = []
        self.summary: dict[str, Any] = {}

    def on_train_begin(self, info: dict[str, Any], control: TrainingControl) -> None:
        self.info, self.history, self.summary = dict(info), [], {}

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], control: TrainingControl) -> None:
        self.history.append({"epoch": epoch, **metrics})

    def on_train_end(self, summary: dict[str, Any], control: TrainingControl) -> None:
        self.summary = dict(summary)

    def values(self, name: str) -> list[float]:
        """The series of one metric, in epoch order (epochs that did not report it are skipped)."""
        return [row[name] for row in self.history if name in row]

    @property
    def epochs(self) -> list[int]:
        return [int(row["epoch"]) for row in self.history]

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(row) for row in self.history]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = [dict(row) for row in state.get("history", [])]
