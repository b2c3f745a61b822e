"""Families for lottery draws (task ``draws``): uniform chance, historical frequency, PowerballNet.

A fair lottery is uniform chance; the other two are here to be measured against it honestly (see
``draw_metrics``). Each fits on a draws frame (``ds, n1..nK, bonus``) with the game's rules in
``spec.rules`` and returns a ``DrawFitted``: probabilities per number, sample tickets, forecasts by date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from helios.forecasting.base import (
    DataSpec,
    FitContext,
    ForecastingError,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.draw_forecast import DrawFitted, appearance_from_slots
from helios.forecasting.draw_history import DrawHistory, NumberSpace, bonus_space, draw_history, main_space
from helios.forecasting.families import register
from helios.forecasting.panel import own_config
from helios.forecasting.rules import GameRules, RuleEra

if TYPE_CHECKING:
    from helios.forecasting.nn.powerball_net import PowerballNet


def _rules_of(spec: DataSpec) -> GameRules:
    if spec.rules is None:
        raise ForecastingError("draws families need the game's rules (DataSpec.rules)")
    return spec.rules


# --- uniform chance -----------------------------------------------------------------------------------


class UniformChanceConfig(Hyperparameters):
    """Uniform chance has nothing to tune."""


class UniformChanceFitted(DrawFitted):
    family = "uniform_chance"

    def _appearance_weights(
        self, history: DrawHistory, era: RuleEra, day: pd.Timestamp
    ) -> tuple[np.ndarray, np.ndarray]:
        # Equal weights everywhere; the rules then keep exactly the numbers allowed on that day.
        return np.ones(main_space(self.rules).size), np.ones(bonus_space(self.rules).size)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self._draws_state()

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> UniformChanceFitted:
        return cls(*cls._draws_from_state(meta, arrays))


@register
class UniformChance(ModelFamily):
    name = "uniform_chance"
    task = "draws"
    description = "Every number the rules allow is equally likely: what a fair lottery is."
    Config = UniformChanceConfig
    FittedType = UniformChanceFitted

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> UniformChanceFitted:
        rules = _rules_of(spec)
        fitted = UniformChanceFitted(rules, draw_history(train, rules))
        _report_end(context, {"epochs_run": 0, "stopped_reason": "completed"})
        return fitted


# --- historical frequency -----------------------------------------------------------------------------


class HistoricalFrequencyConfig(Hyperparameters):
    smoothing: float = Field(
        default=1.0,
        ge=0.0,
        le=1000.0,
        description="Laplace smoothing: pseudo-appearances added to every number, as if each had also been "
        "seen this many times at exactly its fair rate (0 = raw frequencies).",
    )
    recent_draws: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="Count only the most recent draws (0 = every draw in the training data).",
    )


class HistoricalFrequencyFitted(DrawFitted):
    """Weights are each number's observed appearances over its fair expectation (smoothed), so a number is
    compared only with the draws in which the rules let it appear."""

    family = "historical_frequency"

    def __init__(
        self, rules: GameRules, history: DrawHistory, main_rate: np.ndarray, bonus_rate: np.ndarray
    ) -> None:
        super().__init__(rules, history)
        self.main_rate = main_rate
        self.bonus_rate = bonus_rate

    def _appearance_weights(
        self, history: DrawHistory, era: RuleEra, day: pd.Timestamp
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.main_rate, self.bonus_rate

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self._draws_state()
        return meta, arrays | {"main_rate": self.main_rate, "bonus_rate": self.bonus_rate}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> HistoricalFrequencyFitted:
        rules, history = cls._draws_from_state(meta, arrays)
        main_rate = np.asarray(arrays["main_rate"], dtype=np.float64)
        return cls(rules, history, main_rate, np.asarray(arrays["bonus_rate"], dtype=np.float64))


def era_normalised_rates(
    history: DrawHistory, rules: GameRules, smoothing: float
) -> tuple[np.ndarray, np.ndarray]:
    """(appearances + a) / (fair expectation + a) per main and bonus number, ``a`` the Laplace smoothing.

    The fair expectation of a number sums, over the draws whose era allowed it, the chance that era gave it
    (balls drawn / numbers in range): number 65 is judged only on draws since 2015, when it could appear.
    A number no draw could have shown keeps the neutral rate 1.
    """
    draws_per_era = np.bincount(history.era_index(rules), minlength=len(rules.eras))
    main_chances = _fair_chances(
        main_space(rules), [(e.main_min, e.main_max, e.main_count) for e in rules.eras]
    )
    bonus_chances = _fair_chances(
        bonus_space(rules), [(e.bonus_min, e.bonus_max, e.bonus_count) for e in rules.eras]
    )
    main = _rates(history.main, main_space(rules), draws_per_era @ main_chances, smoothing)
    bonus = _rates(history.bonus, bonus_space(rules), draws_per_era @ bonus_chances, smoothing)
    return main, bonus


def _fair_chances(space: NumberSpace, ranges: list[tuple[int, int, int]]) -> np.ndarray:
    """(eras, numbers): the chance a fair draw of each era puts each number among its balls."""
    return np.stack([space.allowed(low, high) * count / (high - low + 1) for low, high, count in ranges])


def _rates(block: np.ndarray, space: NumberSpace, expected: np.ndarray, smoothing: float) -> np.ndarray:
    seen = np.bincount((block - space.low).ravel(), minlength=space.size).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (seen + smoothing) / (expected + smoothing)
    return np.where(expected + smoothing > 0, rate, 1.0)


@register
class HistoricalFrequency(ModelFamily):
    name = "historical_frequency"
    task = "draws"
    description = (
        "How often each number came up against how often the rules in force let it (Laplace-smoothed); "
        "numbers outside the target draw's range get probability 0."
    )
    Config = HistoricalFrequencyConfig
    FittedType = HistoricalFrequencyFitted

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> HistoricalFrequencyFitted:
        settings = own_config(config, HistoricalFrequencyConfig)
        rules = _rules_of(spec)
        history = draw_history(train, rules)
        counted = history.tail(settings.recent_draws) if settings.recent_draws else history
        main_rate, bonus_rate = era_normalised_rates(counted, rules, settings.smoothing)
        _report_end(context, {"epochs_run": 0, "stopped_reason": "completed"})
        return HistoricalFrequencyFitted(rules, history, main_rate, bonus_rate)


# --- PowerballNet ---------------------------------------------------------------------------------------


class PowerballNetConfig(Hyperparameters):
    context_draws: int = Field(default=16, ge=1, le=256, description="How many past draws attention reads.")
    d_model: int = Field(default=32, ge=8, le=512, description="Width of each draw's embedding.")
    heads: int = Field(default=4, ge=1, le=16, description="Attention heads; must divide d_model.")
    layers: int = Field(default=2, ge=1, le=8, description="Transformer encoder layers.")
    dropout: float = Field(default=0.1, ge=0.0, le=0.9, description="Dropout inside the encoder.")
    epochs: int = Field(default=15, ge=1, le=1000, description="Passes over the training draws.")
    batch_size: int = Field(default=64, ge=1, le=4096, description="Draws per optimisation step.")
    learning_rate: float = Field(default=1e-3, gt=0.0, le=1.0, description="AdamW learning rate.")
    weight_decay: float = Field(default=0.01, ge=0.0, le=1.0, description="AdamW weight decay.")
    val_fraction: float = Field(
        default=0.1,
        ge=0.0,
        le=0.5,
        description="Share of the latest draws held out for val_loss (0 = none; then train_loss is watched).",
    )
    restore_best: bool = Field(
        default=True, description="End with the weights of the epoch with the lowest val_loss, not the last."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seeds weights, batch order and dropout.")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> PowerballNetConfig:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")
        return self


class PowerballNetFitted(DrawFitted):
    family = "powerball_net"

    def __init__(
        self,
        rules: GameRules,
        history: DrawHistory,
        config: PowerballNetConfig,
        net: PowerballNet,
        training: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(rules, history)
        self.config = config
        self.net = net
        self.training = training or {}

    def _appearance_weights(
        self, history: DrawHistory, era: RuleEra, day: pd.Timestamp
    ) -> tuple[np.ndarray, np.ndarray]:
        from helios.forecasting.nn.powerball_net import DrawEncoding, slot_probabilities

        main, bonus = slot_probabilities(
            self.net, DrawEncoding(self.rules), history, era, self.config.context_draws
        )
        return appearance_from_slots(main), appearance_from_slots(bonus)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self._draws_state()
        meta |= {"config": self.config.model_dump(mode="json"), "training": self.training}
        weights = {f"weights.{name}": t.detach().cpu().numpy() for name, t in self.net.state_dict().items()}
        return meta, arrays | weights

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> PowerballNetFitted:
        import torch

        from helios.forecasting.nn.powerball_net import DrawEncoding
        from helios.forecasting.nn.powerball_training import build_net

        rules, history = cls._draws_from_state(meta, arrays)
        config = PowerballNetConfig.model_validate(meta["config"])
        net = build_net(DrawEncoding(rules), config)
        weights = {
            name[len("weights.") :]: torch.from_numpy(np.array(value))
            for name, value in arrays.items()
            if name.startswith("weights.")
        }
        net.load_state_dict(weights)
        net.eval()
        return cls(rules, history, config, net, meta.get("training"))


@register
class PowerballNetFamily(ModelFamily):
    name = "powerball_net"
    task = "draws"
    description = (
        "PowerballNet: self-attention over the recent draws with one head per main-number slot and one per "
        "bonus ball, masked to the rules in force on the target date. A test of whether there is any "
        "pattern to learn; on a fair lottery it should do no better than chance."
    )
    iterative = True
    Config = PowerballNetConfig
    FittedType = PowerballNetFitted

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> PowerballNetFitted:
        from helios.forecasting.nn.powerball_training import train_powerball_net

        settings = own_config(config, PowerballNetConfig)
        rules = _rules_of(spec)
        history = draw_history(train, rules)
        outcome = train_powerball_net(history, rules, settings, context or FitContext())
        return PowerballNetFitted(rules, history, settings, outcome.model, outcome.summary())


def _report_end(context: FitContext | None, summary: dict[str, Any]) -> None:
    """Non-iterative families call ``on_train_end`` only (base.Callback)."""
    if context is None:
        return
    for callback in context.callbacks:
        callback.on_train_end(dict(summary), context.control)
