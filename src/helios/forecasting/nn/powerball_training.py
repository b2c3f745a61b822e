"""The training loop of PowerballNet: epochs of cross-entropy, callbacks, best weights, resumable checkpoints.

Every draw after the first is a target; the last ``val_fraction`` of them, in time order, is the validation
set, so ``val_loss`` always measures draws the weights never trained on. The loop is deterministic for a
seed: weights are initialised, batches shuffled and dropout drawn from RNGs seeded by the config, and a
checkpoint carries those RNG states, so stopping and resuming gives the same weights as one straight run.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from helios.forecasting.base import Callback, FitContext, ForecastingError
from helios.forecasting.draw_history import DrawHistory
from helios.forecasting.nn.powerball_checkpoints import read_latest_checkpoint, write_checkpoint
from helios.forecasting.nn.powerball_net import DrawEncoding, PowerballNet, context_batch
from helios.forecasting.rules import GameRules

if TYPE_CHECKING:
    from helios.forecasting.models.draws import PowerballNetConfig

CHECKPOINT_PREFIX = "powerball_net"


@dataclass(frozen=True)
class TrainingData:
    """Everything one epoch needs, as tensors indexed by draw position."""

    tokens: torch.Tensor  # (T, token_size)
    queries: torch.Tensor  # (eras, token_size)
    eras: torch.Tensor  # (T,) era position of each draw
    main_targets: torch.Tensor  # (T, K) index of each sorted main number
    bonus_targets: torch.Tensor  # (T, M)
    main_masks: torch.Tensor  # (eras, K, main size)
    bonus_masks: torch.Tensor  # (eras, M, bonus size)
    train_targets: torch.Tensor  # positions of the draws trained on
    val_targets: torch.Tensor  # positions of the later draws validated on


@dataclass
class RunState:
    """Where a run stands; what a checkpoint saves besides tensors."""

    epoch: int = 0
    best_epoch: int | None = None
    best_loss: float = math.inf
    best_weights: dict[str, torch.Tensor] | None = None
    metrics: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingOutcome:
    net: PowerballNet
    summary: dict[str, Any]


def build_net(encoding: DrawEncoding, config: PowerballNetConfig) -> PowerballNet:
    return PowerballNet(
        token_size=encoding.token_size,
        main_size=encoding.main_space.size,
        bonus_size=encoding.bonus_space.size,
        main_count=encoding.rules.main_count,
        bonus_count=encoding.rules.bonus_count,
        context_draws=config.context_draws,
        d_model=config.d_model,
        heads=config.heads,
        layers=config.layers,
        dropout=config.dropout,
    )


def prepare_data(history: DrawHistory, rules: GameRules, val_fraction: float) -> TrainingData:
    encoding = DrawEncoding(rules)
    eras = history.era_index(rules)
    targets = np.arange(1, len(history))  # the first draw has no past to learn from
    val_count = int(round(val_fraction * len(targets)))
    if val_fraction > 0 and val_count == 0 and len(targets) >= 2:
        val_count = 1
    if len(targets) - val_count < 1:
        raise ForecastingError(f"PowerballNet needs more draws to train on, got {len(history)}")
    main_masks, bonus_masks = encoding.slot_masks()
    return TrainingData(
        tokens=torch.from_numpy(encoding.draw_tokens(history, eras)),
        queries=torch.from_numpy(encoding.query_tokens()),
        eras=torch.from_numpy(eras),
        main_targets=torch.from_numpy(history.main - encoding.main_space.low),
        bonus_targets=torch.from_numpy(history.bonus - encoding.bonus_space.low),
        main_masks=torch.from_numpy(main_masks),
        bonus_masks=torch.from_numpy(bonus_masks),
        train_targets=torch.from_numpy(targets[: len(targets) - val_count]),
        val_targets=torch.from_numpy(targets[len(targets) - val_count :]),
    )


def train_powerball_net(
    history: DrawHistory, rules: GameRules, config: PowerballNetConfig, context: FitContext
) -> TrainingOutcome:
    # Seeding torch's global RNG (dropout draws from it) must not leak into whoever called us.
    with torch.random.fork_rng(devices=[]):
        return _train(history, rules, config, context)


def _train(
    history: DrawHistory, rules: GameRules, config: PowerballNetConfig, context: FitContext
) -> TrainingOutcome:
    torch.manual_seed(config.seed)
    data = prepare_data(history, rules, config.val_fraction)
    net = build_net(DrawEncoding(rules), config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    shuffler = torch.Generator().manual_seed(config.seed)
    fingerprint = _fingerprint(history, rules, config)
    saved = _latest_checkpoint(context, fingerprint)
    run = _restore(saved, net, optimizer, shuffler) if saved else RunState()
    info = {
        "epochs": config.epochs,
        "draws": len(history),
        "rows": len(history),
        "train_draws": len(data.train_targets),
        "val_draws": len(data.val_targets),
        "start_epoch": run.epoch + 1,
    }
    for callback in context.callbacks:
        callback.on_train_begin(info, context.control)
    if saved:
        _restore_callbacks(saved[0], context.callbacks)
    for epoch in range(run.epoch + 1, config.epochs + 1):
        if context.control.should_stop:
            break
        _run_epoch(epoch, net, optimizer, shuffler, data, config, context, run)
        if context.checkpoint_dir is not None:
            _save(
                context.checkpoint_dir, context.callbacks, epoch, net, optimizer, shuffler, run, fingerprint
            )
    return _finish(net, run, config, context)


def _run_epoch(
    epoch: int,
    net: PowerballNet,
    optimizer: torch.optim.Optimizer,
    shuffler: torch.Generator,
    data: TrainingData,
    config: PowerballNetConfig,
    context: FitContext,
    run: RunState,
) -> None:
    metrics = {"train_loss": _train_epoch(net, optimizer, shuffler, data, config)}
    if len(data.val_targets):
        metrics["val_loss"] = _validation_loss(net, data, config)
    for callback in context.callbacks:
        callback.on_epoch_end(epoch, dict(metrics), context.control)
    run.epoch = epoch
    run.metrics.append({"epoch": epoch, **metrics})
    monitored = metrics.get("val_loss", metrics["train_loss"])
    if math.isfinite(monitored) and monitored < run.best_loss:
        run.best_epoch, run.best_loss = epoch, monitored
    if _keep_these_weights(epoch, run, config, context.callbacks):
        run.best_weights = {name: t.detach().clone() for name, t in net.state_dict().items()}


def _keep_these_weights(
    epoch: int, run: RunState, config: PowerballNetConfig, callbacks: Sequence[Callback]
) -> bool:
    # Callbacks that restore weights (EarlyStopping's ``restore_best`` and ``best_epoch``) decide which epoch
    # is best; without one, the config's ``restore_best`` keeps the epoch with the lowest monitored loss.
    for callback in callbacks:
        if getattr(callback, "restore_best", False) and hasattr(callback, "best_epoch"):
            return callback.best_epoch == epoch
    return config.restore_best and run.best_epoch == epoch


def _train_epoch(
    net: PowerballNet,
    optimizer: torch.optim.Optimizer,
    shuffler: torch.Generator,
    data: TrainingData,
    config: PowerballNetConfig,
) -> float:
    net.train()
    order = data.train_targets[torch.randperm(len(data.train_targets), generator=shuffler)]
    total = 0.0
    for start in range(0, len(order), config.batch_size):
        batch = order[start : start + config.batch_size]
        loss = _mean_head_loss(net, data, batch, config.context_draws)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(order)


@torch.no_grad()
def _validation_loss(net: PowerballNet, data: TrainingData, config: PowerballNetConfig) -> float:
    net.eval()
    total = 0.0
    for start in range(0, len(data.val_targets), config.batch_size):
        batch = data.val_targets[start : start + config.batch_size]
        total += _mean_head_loss(net, data, batch, config.context_draws).item() * len(batch)
    return total / len(data.val_targets)


def _mean_head_loss(
    net: PowerballNet, data: TrainingData, targets: torch.Tensor, context: int
) -> torch.Tensor:
    """Cross-entropy averaged over the draws of the batch and over the heads (main slots and bonus balls)."""
    eras = data.eras[targets]
    inputs, padding = context_batch(data.tokens, data.queries, targets, eras, context)
    main, bonus = net(inputs, padding, data.main_masks[eras], data.bonus_masks[eras])
    loss = F.cross_entropy(main.flatten(0, 1), data.main_targets[targets].flatten(), reduction="sum")
    if bonus.shape[1]:
        loss = loss + F.cross_entropy(
            bonus.flatten(0, 1), data.bonus_targets[targets].flatten(), reduction="sum"
        )
    return loss / (len(targets) * (main.shape[1] + bonus.shape[1]))


def _finish(
    net: PowerballNet, run: RunState, config: PowerballNetConfig, context: FitContext
) -> TrainingOutcome:
    control = context.control
    restore = config.restore_best or any(getattr(c, "restore_best", False) for c in context.callbacks)
    restored = False
    if restore and run.best_weights is not None:
        net.load_state_dict(run.best_weights)
        restored = True
    net.eval()
    if control.stop_requested:
        reason = control.stop_reason
    else:
        reason = "cancelled" if control.cancelled else "completed"
    summary = {
        "epochs_run": run.epoch,
        "best_epoch": run.best_epoch,
        "best_loss": run.best_loss if math.isfinite(run.best_loss) else None,
        "restored_best": restored,
        "stopped_reason": reason,
        "metrics": run.metrics,
    }
    for callback in context.callbacks:
        callback.on_train_end(dict(summary), control)
    return TrainingOutcome(net, summary)


# --- checkpoints --------------------------------------------------------------------------------------


def _fingerprint(history: DrawHistory, rules: GameRules, config: PowerballNetConfig) -> str:
    """What a checkpoint must match to be resumed: the data, the rules and every setting but ``epochs``
    (resuming with more epochs continues the same run)."""
    digest = hashlib.sha256()
    settings = config.model_dump(mode="json", exclude={"epochs"})
    digest.update(
        json.dumps({"rules": rules.model_dump(mode="json"), "config": settings}, sort_keys=True).encode()
    )
    for block in (history.ds.view(np.int64), history.main, history.bonus):
        digest.update(np.ascontiguousarray(block).tobytes())
    return digest.hexdigest()


def _latest_checkpoint(
    context: FitContext, fingerprint: str
) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
    if not context.resume or context.checkpoint_dir is None:
        return None
    saved = read_latest_checkpoint(context.checkpoint_dir, CHECKPOINT_PREFIX)
    if saved is not None and saved[0].get("fingerprint") != fingerprint:
        raise ForecastingError(
            f"the checkpoint in {context.checkpoint_dir} was written for other draws or settings; "
            "train afresh (resume=False) or point to another checkpoint directory"
        )
    return saved


def _save(
    directory: Path,
    callbacks: Sequence[Callback],
    epoch: int,
    net: PowerballNet,
    optimizer: torch.optim.Optimizer,
    shuffler: torch.Generator,
    run: RunState,
    fingerprint: str,
) -> None:
    tensors = {f"model.{name}": t for name, t in net.state_dict().items()}
    tensors |= {f"best.{name}": t for name, t in (run.best_weights or {}).items()}
    for index, state in optimizer.state_dict()["state"].items():
        tensors |= {f"optimizer.{index}.{key}": value for key, value in state.items()}
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.shuffle"] = shuffler.get_state()
    meta = {
        "format": "helios.powerball_net.checkpoint/1",
        "fingerprint": fingerprint,
        "best_epoch": run.best_epoch,
        "best_loss": run.best_loss if math.isfinite(run.best_loss) else None,
        "metrics": run.metrics,
        "callbacks": _callback_states(callbacks),
    }
    write_checkpoint(directory, CHECKPOINT_PREFIX, epoch, tensors, meta)


def _restore(
    saved: tuple[dict[str, Any], dict[str, torch.Tensor]],
    net: PowerballNet,
    optimizer: torch.optim.Optimizer,
    shuffler: torch.Generator,
) -> RunState:
    meta, tensors = saved
    net.load_state_dict(_with_prefix(tensors, "model."))
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in _with_prefix(tensors, "optimizer.").items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    shuffler.set_state(tensors["rng.shuffle"])
    best = _with_prefix(tensors, "best.")
    return RunState(
        epoch=int(meta["epoch"]),
        best_epoch=meta["best_epoch"],
        best_loss=math.inf if meta["best_loss"] is None else float(meta["best_loss"]),
        best_weights=best or None,
        metrics=list(meta["metrics"]),
    )


def _with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {name[len(prefix) :]: value for name, value in tensors.items() if name.startswith(prefix)}


def _callback_states(callbacks: Sequence[Callback]) -> list[dict[str, Any] | None]:
    return [
        {"type": type(c).__name__, "state": c.state_dict()} if hasattr(c, "state_dict") else None
        for c in callbacks
    ]


def _restore_callbacks(meta: dict[str, Any], callbacks: Sequence[Callback]) -> None:
    # Matched by position and type: a resumed run is started with the same callbacks as the first one.
    saved = meta.get("callbacks", [])
    for callback, entry in zip(callbacks, saved, strict=False):
        if entry and entry["type"] == type(callback).__name__ and hasattr(callback, "load_state_dict"):
            callback.load_state_dict(entry["state"])
