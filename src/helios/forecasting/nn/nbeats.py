"""N-BEATS (Oreshkin et al., 2020), generic blocks, with quantile forecasts.

Each block reads what the blocks before it could not explain (the backcast residual) and adds its
share of the forecast. The forecast head emits ``horizon x quantiles`` values in scaled units.
An ensemble of members with different lookbacks (the N-BEATS paper's strongest trick) lives in
one module, so it trains, checkpoints and early-stops as a single model.

N-HiTS (Challu et al., 2023) is the same stack with two changes per block, both optional here:
the block reads its input max-pooled by ``pool_sizes[b]`` (coarse blocks see the slow shape, not
the hourly noise), and its forecast head emits one knot every ``forecast_rates[b]`` steps,
linearly interpolated to the horizon (a coarse block can only draw a smooth curve, leaving the
fine detail to the blocks after it). Empty tuples are plain N-BEATS, with identical weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional


@dataclass(frozen=True)
class NBeatsConfig:
    horizon: int
    quantiles: tuple[float, ...]
    lookbacks: tuple[int, ...]  # one ensemble member per lookback; the input window is the longest
    hidden_size: int = 256
    layers: int = 3  # fully connected layers per block
    blocks: int = 3
    dropout: float = 0.0
    pool_sizes: tuple[int, ...] = ()  # N-HiTS input pooling per block, cycled; () = none
    forecast_rates: tuple[int, ...] = ()  # N-HiTS steps per forecast knot per block, cycled; () = 1

    @property
    def input_size(self) -> int:
        return max(self.lookbacks)

    def pool_size(self, block: int) -> int:
        return self.pool_sizes[block % len(self.pool_sizes)] if self.pool_sizes else 1

    def forecast_rate(self, block: int) -> int:
        return self.forecast_rates[block % len(self.forecast_rates)] if self.forecast_rates else 1


class Block(nn.Module):
    def __init__(self, lookback: int, cfg: NBeatsConfig, pool: int = 1, rate: int = 1) -> None:
        super().__init__()
        self.pool: nn.Module = nn.MaxPool1d(pool, ceil_mode=True) if pool > 1 else nn.Identity()
        self.horizon, self.quantiles = cfg.horizon, len(cfg.quantiles)
        self.knots = -(-cfg.horizon // rate)  # ceil: the last knot still reaches the horizon's end
        sizes = [-(-lookback // pool)] + [cfg.hidden_size] * cfg.layers
        layers: list[nn.Module] = []
        for fan_in, fan_out in pairwise(sizes):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
            if cfg.dropout:
                layers.append(nn.Dropout(cfg.dropout))
        self.body = nn.Sequential(*layers)
        self.backcast = nn.Linear(cfg.hidden_size, lookback)
        self.forecast = nn.Linear(cfg.hidden_size, self.knots * self.quantiles)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.body(self.pool(x.unsqueeze(1)).squeeze(1))
        return self.backcast(hidden), self._to_horizon(self.forecast(hidden))

    def _to_horizon(self, knots: torch.Tensor) -> torch.Tensor:
        """``[batch, knots * q]`` to ``[batch, horizon * q]`` (horizon-major, as the head's view expects)."""
        if self.knots == self.horizon:
            return knots
        curves = knots.view(-1, self.knots, self.quantiles).transpose(1, 2)
        dense = functional.interpolate(curves, size=self.horizon, mode="linear", align_corners=True)
        return dense.transpose(1, 2).reshape(len(knots), -1)


class Member(nn.Module):
    """One N-BEATS network reading the last ``lookback`` points of the window."""

    def __init__(self, lookback: int, cfg: NBeatsConfig) -> None:
        super().__init__()
        self.lookback = lookback
        self.blocks = nn.ModuleList(
            Block(lookback, cfg, cfg.pool_size(b), cfg.forecast_rate(b)) for b in range(cfg.blocks)
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        residual = window[:, -self.lookback :]
        forecast = torch.zeros((), dtype=window.dtype)
        for block in self.blocks:
            backcast, block_forecast = block(residual)
            residual = residual - backcast
            forecast = forecast + block_forecast
        return forecast


class NBeats(nn.Module):
    """``forward(window [batch, input_size]) -> [members, batch, horizon, quantiles]``."""

    def __init__(self, cfg: NBeatsConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.members = nn.ModuleList(Member(lookback, cfg) for lookback in cfg.lookbacks)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        shape = (window.shape[0], self.cfg.horizon, len(self.cfg.quantiles))
        return torch.stack([member(window).view(shape) for member in self.members])

    @torch.no_grad()
    def forecast(self, window: torch.Tensor) -> torch.Tensor:
        """Members averaged quantile by quantile, then sorted so quantiles never cross."""
        combined = self(window).mean(dim=0)
        return combined.sort(dim=-1).values


def pinball_loss(forecast: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile loss; ``forecast [(members,) batch, horizon, q]``, ``target [batch, horizon]``.
    Averaged over members too, so the value reads the same whatever the ensemble size."""
    error = target.unsqueeze(-1) - forecast
    return torch.maximum(quantiles * error, (quantiles - 1) * error).mean()
