"""PowerballNet: self-attention over recent draws, one softmax head per main-number slot and per bonus ball.

Each past draw becomes one token: the multi-hot of its main numbers, the multi-hot of its bonus ball(s) and
the features of the era it was played under (its ranges, scaled to the game's widest). A query token carrying
the target draw's era features closes the sequence; a Transformer encoder reads the tokens and the query's
output feeds the heads. Main-number slot i predicts the i-th smallest number of the draw, so a draw is one
cross-entropy target per head. Logits of numbers the target era cannot put in a slot are set to -inf, so
those numbers get exactly zero probability; that is how the 2012 and 2015 Powerball range changes are obeyed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from helios.forecasting.draw_history import DrawHistory, NumberSpace, bonus_space, main_space
from helios.forecasting.rules import GameRules, RuleEra

ERA_FEATURES = 4


@dataclass(frozen=True)
class DrawEncoding:
    """How the draws of one game become tokens, targets and masks."""

    rules: GameRules

    @property
    def main_space(self) -> NumberSpace:
        return main_space(self.rules)

    @property
    def bonus_space(self) -> NumberSpace:
        return bonus_space(self.rules)

    @property
    def token_size(self) -> int:
        # numbers, era features, and a flag telling the query token from the draws
        return self.main_space.size + self.bonus_space.size + ERA_FEATURES + 1

    def era_features(self, era: RuleEra) -> np.ndarray:
        main, bonus = self.main_space, self.bonus_space
        return np.array(
            [
                (era.main_min - main.low) / main.size,
                (era.main_max - main.low + 1) / main.size,
                (era.bonus_min - bonus.low) / bonus.size if bonus.size else 0.0,
                (era.bonus_max - bonus.low + 1) / bonus.size if bonus.size else 0.0,
            ],
            dtype=np.float32,
        )

    def draw_tokens(self, history: DrawHistory, era_index: np.ndarray) -> np.ndarray:
        """(T, token_size): one token per draw."""
        main, bonus = self.main_space, self.bonus_space
        tokens = np.zeros((len(history), self.token_size), dtype=np.float32)
        rows = np.arange(len(history))[:, None]
        tokens[rows, history.main - main.low] = 1.0
        tokens[rows, main.size + history.bonus - bonus.low] = 1.0
        features = np.stack([self.era_features(era) for era in self.rules.eras])
        tokens[:, main.size + bonus.size : -1] = features[era_index]
        return tokens

    def query_tokens(self) -> np.ndarray:
        """(eras, token_size): the query token for a target draw of each era."""
        queries = np.zeros((len(self.rules.eras), self.token_size), dtype=np.float32)
        start = self.main_space.size + self.bonus_space.size
        for position, era in enumerate(self.rules.eras):
            queries[position, start:-1] = self.era_features(era)
        queries[:, -1] = 1.0
        return queries

    def slot_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(eras, K, main size) and (eras, M, bonus size): which numbers each sorted slot may hold."""
        main = np.stack(
            [
                _sorted_slot_mask(self.main_space, e.main_min, e.main_max, e.main_count)
                for e in self.rules.eras
            ]
        )
        bonus = np.stack(
            [
                _sorted_slot_mask(self.bonus_space, e.bonus_min, e.bonus_max, e.bonus_count)
                for e in self.rules.eras
            ]
        )
        return main, bonus


def _sorted_slot_mask(space: NumberSpace, low: int, high: int, count: int) -> np.ndarray:
    # The i-th smallest of `count` distinct numbers from low..high lies in low+i .. high-(count-1-i).
    numbers = space.numbers
    mask = np.zeros((count, space.size), dtype=bool)
    for slot in range(count):
        mask[slot] = (numbers >= low + slot) & (numbers <= high - (count - 1 - slot))
    return mask


class PowerballNet(nn.Module):
    """Transformer encoder over ``context_draws`` past draws plus a query token; one head per slot."""

    def __init__(
        self,
        *,
        token_size: int,
        main_size: int,
        bonus_size: int,
        main_count: int,
        bonus_count: int,
        context_draws: int,
        d_model: int,
        heads: int,
        layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(token_size, d_model)
        # Positions are counted back from the query (the last token), so "one draw ago" is always the same.
        self.position = nn.Parameter(torch.randn(context_draws + 1, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.main_heads = nn.ModuleList(nn.Linear(d_model, main_size) for _ in range(main_count))
        self.bonus_heads = nn.ModuleList(nn.Linear(d_model, bonus_size) for _ in range(bonus_count))
        self.bonus_size = bonus_size

    def forward(
        self, tokens: torch.Tensor, padding: torch.Tensor, main_mask: torch.Tensor, bonus_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``tokens`` (B, L+1, token_size) with the query last; ``padding`` (B, L+1) True where no draw;
        masks (B, K, main size) and (B, M, bonus size). Returns masked logits shaped like the masks."""
        hidden = self.embed(tokens) + self.position[-tokens.shape[1] :]
        hidden = self.encoder(hidden, src_key_padding_mask=padding)
        query = self.norm(hidden[:, -1])
        main = torch.stack([head(query) for head in self.main_heads], dim=1)
        if self.bonus_heads:
            bonus = torch.stack([head(query) for head in self.bonus_heads], dim=1)
        else:
            bonus = query.new_zeros((query.shape[0], 0, self.bonus_size))
        return main.masked_fill(~main_mask, float("-inf")), bonus.masked_fill(~bonus_mask, float("-inf"))


def context_batch(
    tokens: torch.Tensor,
    queries: torch.Tensor,
    targets: torch.Tensor,
    target_eras: torch.Tensor,
    context: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs for predicting draws ``targets`` (positions in ``tokens``) from the ``context`` draws
    before each: (B, context+1, token_size) tokens, left-padded where history is shorter, and the padding."""
    offsets = torch.arange(context, 0, -1)
    positions = targets[:, None] - offsets[None, :]
    padding = positions < 0
    seen = tokens[positions.clamp(min=0)] * (~padding)[..., None]
    inputs = torch.cat([seen, queries[target_eras][:, None, :]], dim=1)
    padding = torch.cat([padding, torch.zeros_like(padding[:, :1])], dim=1)
    return inputs, padding


@torch.no_grad()
def slot_probabilities(
    net: PowerballNet, encoding: DrawEncoding, history: DrawHistory, era: RuleEra, context: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot distributions for a draw of ``era`` right after ``history``: (K, main size), (M, bonus size)
    as float64, each row summing to 1."""
    recent = history.tail(context)
    era_position = encoding.rules.eras.index(era)
    tokens = torch.from_numpy(encoding.draw_tokens(recent, recent.era_index(encoding.rules)))
    queries = torch.from_numpy(encoding.query_tokens())
    main_masks, bonus_masks = (torch.from_numpy(m) for m in encoding.slot_masks())
    targets, eras = torch.tensor([len(recent)]), torch.tensor([era_position])
    inputs, padding = context_batch(
        torch.cat([tokens, tokens.new_zeros((1, tokens.shape[1]))]), queries, targets, eras, context
    )
    net.eval()
    main, bonus = net(inputs, padding, main_masks[eras], bonus_masks[eras])
    return (
        torch.softmax(main[0].double(), dim=-1).numpy(),
        torch.softmax(bonus[0].double(), dim=-1).numpy() if bonus.shape[1] else np.zeros((0, bonus.shape[2])),
    )
