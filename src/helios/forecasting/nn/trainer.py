"""The one training loop of the neural families: epochs, callbacks, stopping, checkpoints, best weights.

N-BEATS (``models/neural.py``) and PowerballNet (``nn/powerball_training.py``) both train here. The
loop knows nothing of forecasting: a ``TrainingData`` gives it batches, a loss and a validation
loss. What it guarantees, for every model alike:

* deterministic for a seed: the global torch RNG is forked (the caller's is left alone) and seeded,
  and batches come from a numpy generator seeded the same way;
* cooperative stopping: ``control.should_stop`` is honoured after every epoch, a cancel also
  between steps (an interrupted epoch is dropped, not counted). A stop a callback asks for
  (early stopping, a person's Stop) is final: resumed, the run stays stopped. A cancel or a
  killed process is not: resumed, the run goes on;
* resumable: with ``context.resume`` the run continues after the last checkpointed epoch with the
  same weights, optimizer moments, RNG states and callback progress, so it ends exactly as an
  uninterrupted run with the same settings and data would (same thread count assumed);
* best weights: when a callback with ``restore_best`` (``EarlyStopping``) is present it names the
  best epoch; otherwise the loop's own lowest ``val_loss`` does, if ``restore_best`` is set.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import torch
from torch import nn

from helios.forecasting.base import Callback, FitContext, ForecastingError, TrainingControl
from helios.forecasting.nn.checkpoint import (
    Checkpoint,
    load_checkpoint,
    remove_stale_temps,
    save_checkpoint,
)

_CANCEL_CHECK_SECONDS = 0.5  # ``cancelled`` may query a database: ask at most this often mid-epoch

ModelT = TypeVar("ModelT", bound=nn.Module)


class TrainingData(Protocol):
    """What a model brings to the loop. ``inputs`` is whatever its ``loss`` reads (windows of values for
    N-BEATS, the positions of the draws to predict for PowerballNet); ``len(inputs)`` is the number of
    examples, which weighs the batch's mean loss in the epoch's ``train_loss``."""

    def batches(self, rng: np.random.Generator) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of batches, shuffled or sampled with ``rng`` only (it is checkpointed)."""
        ...

    def loss(self, model: Any, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch, with a gradient."""
        ...

    def validation_loss(self, model: Any) -> float | None:
        """Mean loss on held-out data (``model.eval()``, no gradient), or None when there is none."""
        ...


@dataclass(frozen=True)
class TrainerConfig:
    epochs: int
    learning_rate: float
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    seed: int = 0
    restore_best: bool = True
    checkpoint_every: int = 1
    # Measured: a checkpoint costs ~40 ms (8 MiB, fsync); every epoch that was ~7% of a fit. The
    # first epoch always writes one (a killed job can resume); then at most one per this many seconds.
    checkpoint_seconds: float = 10.0
    schedule: str = "constant"  # or "cosine": the learning rate falls to 5% by the last epoch

    def learning_rate_at(self, epoch: int) -> float:
        """A pure function of the epoch, so a resumed run needs no scheduler state."""
        if self.schedule == "constant" or self.epochs <= 1:
            return self.learning_rate
        progress = (epoch - 1) / (self.epochs - 1)
        return self.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class TrainingOutcome(Generic[ModelT]):
    model: ModelT
    epochs_run: int
    best_epoch: int | None
    best_value: float | None
    stopped_reason: str | None
    resumed_from_epoch: int | None
    history: list[dict[str, float]] = field(default_factory=list)
    restored_best: bool = False  # the model ends with the best epoch's weights, not the last one's

    def summary(self) -> dict[str, Any]:
        return {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_value,
            "restored_best": self.restored_best,
            "stopped_reason": self.stopped_reason,
            "resumed_from_epoch": self.resumed_from_epoch,
        }


@dataclass
class _Progress:
    epoch: int = 0
    step: int = 0
    best_value: float | None = None  # lowest monitored loss (val_loss, or train_loss without validation)
    best_epoch: int | None = None
    snapshot_epoch: int | None = None
    snapshot: dict[str, torch.Tensor] | None = None


def train(
    build_model: Callable[[], ModelT],
    data: TrainingData,
    cfg: TrainerConfig,
    context: FitContext,
    fingerprint: dict[str, Any],
    info: dict[str, Any] | None = None,
) -> TrainingOutcome[ModelT]:
    """Train a model built by ``build_model`` (called after seeding, so its init is reproducible)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_model()
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        rng = np.random.default_rng(cfg.seed)
        loop = _Loop(model, optimizer, rng, data, cfg, context, fingerprint)
        return loop.run(info or {})


class _Loop(Generic[ModelT]):
    def __init__(
        self,
        model: ModelT,
        optimizer: torch.optim.Optimizer,
        rng: np.random.Generator,
        data: TrainingData,
        cfg: TrainerConfig,
        context: FitContext,
        fingerprint: dict[str, Any],
    ) -> None:
        self.model, self.optimizer, self.rng, self.data, self.cfg = model, optimizer, rng, data, cfg
        self.callbacks: Sequence[Callback] = tuple(context.callbacks)
        self.control: TrainingControl = context.control
        self.folder = context.checkpoint_dir
        self.resume = context.resume
        # Compared with the checkpoint's after a JSON round trip, so normalise it the same way now.
        self.fingerprint = json.loads(json.dumps(fingerprint))
        self.progress = _Progress()
        self.history: list[dict[str, float]] = []
        self.finished_reason: str | None = None  # an early-stopped run that is resumed stays stopped
        self._saved_callback_states: dict[str, Any] = {}

    def run(self, info: dict[str, Any]) -> TrainingOutcome[ModelT]:
        resumed_from = self._resume_if_asked()
        begin = dict(info, epochs=self.cfg.epochs, parameters=_parameter_count(self.model))
        begin["resumed_from_epoch"] = resumed_from
        for callback in self.callbacks:
            callback.on_train_begin(begin, self.control)
        if resumed_from is not None:
            self._restore_callbacks()
        stopped_reason = self.finished_reason or self._epochs()
        restored = self._restore_best_weights()
        self.model.eval()  # ready to forecast: no dropout
        outcome = TrainingOutcome(
            self.model,
            self.progress.epoch,
            self._best_epoch_source(),
            self._best_value(),
            stopped_reason,
            resumed_from,
            self.history,
            restored,
        )
        summary = outcome.summary()
        for callback in self.callbacks:
            callback.on_train_end(summary, self.control)
        return outcome

    # -- epochs ---------------------------------------------------------------------------------

    def _epochs(self) -> str | None:
        for epoch in range(self.progress.epoch + 1, self.cfg.epochs + 1):
            if self.control.should_stop:
                return self._stop_reason()
            train_loss = self._train_one_epoch()
            if train_loss is None:
                return "cancelled"
            self.progress.epoch = epoch
            metrics = {"train_loss": train_loss}
            val_loss = self.data.validation_loss(self.model)
            if val_loss is not None:
                metrics["val_loss"] = val_loss
            self.history.append({"epoch": epoch, **metrics})
            for callback in self.callbacks:
                callback.on_epoch_end(epoch, dict(metrics), self.control)
            self._track_best(epoch, val_loss if val_loss is not None else train_loss)
            if self.control.should_stop and not self.control.cancelled:
                self.finished_reason = self._stop_reason()
            if self._checkpoint_due(epoch):
                self._save()
            if self.control.should_stop:
                return self._stop_reason()
        return None

    def _train_one_epoch(self) -> float | None:
        """Mean training loss, or None when cancelled mid-epoch (the partial epoch is dropped)."""
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.learning_rate_at(self.progress.epoch + 1)
        total, count = 0.0, 0
        last_check = time.monotonic()
        for inputs, targets in self.data.batches(self.rng):
            if time.monotonic() - last_check > _CANCEL_CHECK_SECONDS:
                last_check = time.monotonic()
                if self.control.cancelled:
                    return None
            loss = self.data.loss(self.model, inputs, targets)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.grad_clip:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            self.progress.step += 1
            total += float(loss.detach()) * len(inputs)
            count += len(inputs)
        if count == 0:
            raise ForecastingError("no training windows: every series is too short for this horizon")
        return total / count

    def _stop_reason(self) -> str:
        if self.control.cancelled:
            return "cancelled"
        return self.control.stop_reason or "stopped"

    def _checkpoint_due(self, epoch: int) -> bool:
        if self.folder is None:
            return False
        if epoch == self.cfg.epochs or self.control.should_stop:
            return True
        if epoch % self.cfg.checkpoint_every:
            return False
        last = getattr(self, "_last_checkpoint_at", None)
        if last is not None and time.monotonic() - last < self.cfg.checkpoint_seconds:
            return False
        self._last_checkpoint_at = time.monotonic()
        return True

    # -- best weights ---------------------------------------------------------------------------

    def _restoring_callback(self) -> Callback | None:
        for callback in self.callbacks:
            if hasattr(callback, "restore_best") and hasattr(callback, "best_epoch"):
                return callback
        return None

    def _best_epoch_source(self) -> int | None:
        callback = self._restoring_callback()
        return callback.best_epoch if callback is not None else self.progress.best_epoch  # type: ignore[attr-defined]

    def _best_value(self) -> float | None:
        callback = self._restoring_callback()
        if callback is not None:
            return getattr(callback, "best_value", None)
        return self.progress.best_value

    def _track_best(self, epoch: int, monitored: float) -> None:
        p = self.progress
        if math.isfinite(monitored) and (p.best_value is None or monitored < p.best_value):
            p.best_value, p.best_epoch = monitored, epoch
        # Keep the weights of whichever epoch is "best" now: restore_best may be switched on later.
        if self._best_epoch_source() == epoch:
            p.snapshot_epoch = epoch
            p.snapshot = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _restore_best_weights(self) -> bool:
        """True when the model ends with the best epoch's weights (loaded here, or already the last's)."""
        callback = self._restoring_callback()
        wanted = getattr(callback, "restore_best", False) if callback is not None else self.cfg.restore_best
        p = self.progress
        target = self._best_epoch_source()
        if not wanted or p.snapshot is None or target != p.snapshot_epoch:
            return False
        if target != p.epoch:
            self.model.load_state_dict(p.snapshot)
        return True

    # -- checkpoints ----------------------------------------------------------------------------

    def _save(self) -> None:
        assert self.folder is not None  # _checkpoint_due said so
        p = self.progress
        progress = {
            "best_value": p.best_value,
            "best_epoch": p.best_epoch,
            "snapshot_epoch": p.snapshot_epoch,
            "history": self.history,
            "callbacks": self._callback_states(),
            "finished_reason": self.finished_reason,
        }
        save_checkpoint(
            self.folder,
            Checkpoint(
                epoch=p.epoch,
                step=p.step,
                fingerprint=self.fingerprint,
                model=self.model.state_dict(),
                optimizer_state=self.optimizer.state_dict()["state"],
                torch_rng=torch.get_rng_state(),
                numpy_rng=dict(self.rng.bit_generator.state),
                progress=progress,
                best_model=p.snapshot,
            ),
        )

    def _callback_states(self) -> dict[str, Any]:
        return {
            _callback_key(i, cb): cb.state_dict()  # type: ignore[attr-defined]
            for i, cb in enumerate(self.callbacks)
            if hasattr(cb, "state_dict")
        }

    def _resume_if_asked(self) -> int | None:
        if not self.resume or self.folder is None:
            return None
        remove_stale_temps(self.folder)
        ckpt = load_checkpoint(self.folder)
        if ckpt is None:
            return None
        _check_fingerprint(ckpt.fingerprint, self.fingerprint, self.folder)
        self.model.load_state_dict(ckpt.model)
        groups = self.optimizer.state_dict()["param_groups"]
        self.optimizer.load_state_dict({"state": ckpt.optimizer_state, "param_groups": groups})
        torch.set_rng_state(ckpt.torch_rng)
        self.rng.bit_generator.state = ckpt.numpy_rng
        pr = ckpt.progress
        self.progress = _Progress(
            ckpt.epoch, ckpt.step, pr["best_value"], pr["best_epoch"], pr["snapshot_epoch"], ckpt.best_model
        )
        self.history = list(pr["history"])
        self._saved_callback_states = pr["callbacks"]
        self.finished_reason = pr.get("finished_reason")
        return ckpt.epoch

    def _restore_callbacks(self) -> None:
        for i, callback in enumerate(self.callbacks):
            state = self._saved_callback_states.get(_callback_key(i, callback))
            if state is not None and hasattr(callback, "load_state_dict"):
                callback.load_state_dict(state)


def _callback_key(index: int, callback: Callback) -> str:
    return f"{index}:{type(callback).__name__}"


def _check_fingerprint(saved: dict[str, Any], current: dict[str, Any], folder: Any) -> None:
    if saved == current:
        return
    differing = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    raise ForecastingError(
        f"the checkpoint in {folder} belongs to another run (different {', '.join(differing)}); "
        "resume with the same settings and data, or start without resume"
    )


def _parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
