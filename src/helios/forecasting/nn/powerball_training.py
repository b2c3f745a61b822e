"""PowerballNet on the shared training loop (``nn/trainer.py``): its data, its loss, its fingerprint.

Every draw after the first is a target; the last ``val_fraction`` of them, in time order, is the validation
set, so ``val_loss`` always measures draws the weights never trained on. A batch is the positions of the
draws to predict (the net reads the ``context_draws`` before each) and the numbers those draws showed.
Epochs, callbacks, cooperative stopping, best weights, determinism for a seed and resumable checkpoints
are the shared loop's, exactly as for N-BEATS.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from helios.forecasting.base import FitContext, ForecastingError
from helios.forecasting.draw_history import DrawHistory
from helios.forecasting.nn.powerball_net import DrawEncoding, PowerballNet, context_batch
from helios.forecasting.nn.trainer import TrainerConfig, TrainingOutcome, train
from helios.forecasting.rules import GameRules

if TYPE_CHECKING:
    from helios.forecasting.models.draws import PowerballNetConfig

# Settings that only change what happens around training: a checkpoint written under other values
# of these may be resumed. ``epochs`` too: the learning rate is constant, so more epochs continue the run.
_RESUMABLE_ACROSS = {"epochs", "restore_best"}


@dataclass(frozen=True)
class DrawTensors:
    """The draws as tensors indexed by draw position."""

    tokens: torch.Tensor  # (T, token_size)
    queries: torch.Tensor  # (eras, token_size)
    eras: torch.Tensor  # (T,) era position of each draw
    main_targets: torch.Tensor  # (T, K) index of each sorted main number
    bonus_targets: torch.Tensor  # (T, M)
    main_masks: torch.Tensor  # (eras, K, main size)
    bonus_masks: torch.Tensor  # (eras, M, bonus size)
    train_targets: torch.Tensor  # positions of the draws trained on
    val_targets: torch.Tensor  # positions of the later draws validated on


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


def prepare_tensors(history: DrawHistory, rules: GameRules, val_fraction: float) -> DrawTensors:
    encoding = DrawEncoding(rules)
    eras = history.era_index(rules)
    targets = np.arange(1, len(history))  # the first draw has no past to learn from
    val_count = int(round(val_fraction * len(targets)))
    if val_fraction > 0 and val_count == 0 and len(targets) >= 2:
        val_count = 1
    if len(targets) - val_count < 1:
        raise ForecastingError(f"PowerballNet needs more draws to train on, got {len(history)}")
    main_masks, bonus_masks = encoding.slot_masks()
    return DrawTensors(
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


class DrawData:
    """Feeds the shared loop: shuffled batches of training draws, and ``val_loss`` on the held-out ones."""

    def __init__(self, tensors: DrawTensors, config: PowerballNetConfig) -> None:
        self.tensors, self.batch_size, self.context = tensors, config.batch_size, config.context_draws

    def batches(self, rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        t = self.tensors
        order = t.train_targets[torch.from_numpy(rng.permutation(len(t.train_targets)))]
        for start in range(0, len(order), self.batch_size):
            positions = order[start : start + self.batch_size]
            yield positions, self._numbers_drawn(positions)

    def loss(self, model: PowerballNet, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy averaged over the draws of the batch and over the heads (main slots, bonus balls)."""
        t = self.tensors
        eras = t.eras[inputs]
        tokens, padding = context_batch(t.tokens, t.queries, inputs, eras, self.context)
        main, bonus = model(tokens, padding, t.main_masks[eras], t.bonus_masks[eras])
        main_count = main.shape[1]
        loss = F.cross_entropy(main.flatten(0, 1), targets[:, :main_count].flatten(), reduction="sum")
        if bonus.shape[1]:
            loss = loss + F.cross_entropy(
                bonus.flatten(0, 1), targets[:, main_count:].flatten(), reduction="sum"
            )
        return loss / (len(inputs) * targets.shape[1])

    @torch.no_grad()
    def validation_loss(self, model: PowerballNet) -> float | None:
        validated = self.tensors.val_targets
        if len(validated) == 0:
            return None
        model.eval()
        total = 0.0
        for start in range(0, len(validated), self.batch_size):
            positions = validated[start : start + self.batch_size]
            total += self.loss(model, positions, self._numbers_drawn(positions)).item() * len(positions)
        return total / len(validated)

    def _numbers_drawn(self, positions: torch.Tensor) -> torch.Tensor:
        """(B, K + M): each draw's main numbers then its bonus balls, as indices into their spaces."""
        return torch.cat([self.tensors.main_targets[positions], self.tensors.bonus_targets[positions]], dim=1)


def train_powerball_net(
    history: DrawHistory, rules: GameRules, config: PowerballNetConfig, context: FitContext
) -> TrainingOutcome[PowerballNet]:
    tensors = prepare_tensors(history, rules, config.val_fraction)
    encoding = DrawEncoding(rules)
    info = {
        "draws": len(history),
        "rows": len(history),
        "train_draws": len(tensors.train_targets),
        "val_draws": len(tensors.val_targets),
    }
    return train(
        lambda: build_net(encoding, config),
        DrawData(tensors, config),
        trainer_config(config),
        context,
        fingerprint=fingerprint(history, rules, config),
        info=info,
    )


def trainer_config(config: PowerballNetConfig) -> TrainerConfig:
    return TrainerConfig(
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        grad_clip=1.0,
        seed=config.seed,
        restore_best=config.restore_best,
    )


def fingerprint(history: DrawHistory, rules: GameRules, config: PowerballNetConfig) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the draws, the rules, the settings that shape training."""
    digest = hashlib.sha256()
    for block in (history.ds.view(np.int64), history.main, history.bonus):
        digest.update(np.ascontiguousarray(block).tobytes())
    rules_json = json.dumps(rules.model_dump(mode="json"), sort_keys=True).encode()
    return {
        "config": config.model_dump(mode="json", exclude=_RESUMABLE_ACROSS),
        "rules_sha256": hashlib.sha256(rules_json).hexdigest(),
        "data_sha256": digest.hexdigest(),
    }
