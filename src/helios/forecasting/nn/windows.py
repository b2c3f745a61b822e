"""Series as a padded panel, cut into scaled (input, target) windows for a global model.

Every series sits in one row of a matrix, left-padded by ``input_size`` copies of its first value,
so a window may start before the series does (short series are padded, not refused). Windows are
scaled one by one from their input alone, so one network learns across series of any level:

* ``mase``: subtract the last input value, divide by the mean absolute step of the input. The
  pinball loss in these units is a per-window MASE, the measure the forecasts are judged by.
* ``level``: divide by the mean absolute input value (N-BEATS' choice for M4), no shift.

This module is numpy only; the loop turns batches into tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Scaling = Literal["mase", "level"]


@dataclass(frozen=True)
class Panel:
    values: np.ndarray  # [series, input_size + longest], float64, left-padded with the first value
    observed: np.ndarray  # same shape, False on padding and after a series ends
    lengths: np.ndarray  # observations per series
    series_scale: np.ndarray  # mean absolute step of each whole series: fallback for flat windows
    input_size: int

    @classmethod
    def from_series(cls, series: list[np.ndarray], input_size: int) -> Panel:
        lengths = np.array([len(s) for s in series], dtype=np.int64)
        width = input_size + int(lengths.max())
        values = np.zeros((len(series), width))
        observed = np.zeros((len(series), width), dtype=bool)
        for row, y in enumerate(series):
            values[row, :input_size] = y[0]
            values[row, input_size : input_size + len(y)] = y
            values[row, input_size + len(y) :] = y[-1]
            observed[row, input_size : input_size + len(y)] = True
        return cls(values, observed, lengths, _series_scale(series), input_size)


def _series_scale(series: list[np.ndarray]) -> np.ndarray:
    steps = np.array([np.abs(np.diff(y)).mean() if len(y) > 1 else 0.0 for y in series])
    levels = np.array([np.abs(y).mean() for y in series])
    # A constant series has no steps; its level (or 1 for an all-zero series) is the next best unit.
    return np.where(steps > 0, steps, np.where(levels > 0, levels, 1.0))


@dataclass(frozen=True)
class Batch:
    inputs: np.ndarray  # [batch, input_size], scaled
    targets: np.ndarray | None  # [batch, horizon], scaled; None when forecasting the future
    loc: np.ndarray  # [batch, 1]: value = loc + scale * scaled
    scale: np.ndarray  # [batch, 1]


def window_batch(panel: Panel, rows: np.ndarray, cuts: np.ndarray, horizon: int, scaling: Scaling) -> Batch:
    """Windows whose input ends just before observation ``cuts[i]`` of series ``rows[i]``."""
    offsets = cuts[:, None] + np.arange(panel.input_size)
    batch = scaled_inputs(
        panel.values[rows[:, None], offsets],
        panel.observed[rows[:, None], offsets],
        panel.series_scale[rows],
        scaling,
    )
    target_cols = cuts[:, None] + panel.input_size + np.arange(horizon)
    targets = (panel.values[rows[:, None], target_cols] - batch.loc) / batch.scale
    return Batch(batch.inputs, targets, batch.loc, batch.scale)


def last_windows(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """Each series' final input window (values, observed): what a forecast starts from."""
    offsets = panel.lengths[:, None] + np.arange(panel.input_size)
    rows = np.arange(len(panel.lengths))[:, None]
    return panel.values[rows, offsets], panel.observed[rows, offsets]


def scaled_inputs(
    inputs: np.ndarray, observed: np.ndarray, series_scale: np.ndarray, scaling: Scaling
) -> Batch:
    loc, scale = _window_scale(inputs, observed, series_scale, scaling)
    return Batch((inputs - loc) / scale, None, loc, scale)


def _window_scale(
    inputs: np.ndarray, observed: np.ndarray, fallback: np.ndarray, scaling: Scaling
) -> tuple[np.ndarray, np.ndarray]:
    if scaling == "level":
        count = observed.sum(axis=1)
        scale = (np.abs(inputs) * observed).sum(axis=1) / np.maximum(count, 1)
        return np.zeros((len(inputs), 1)), _floored(scale, fallback)[:, None]
    both = observed[:, 1:] & observed[:, :-1]
    steps = (np.abs(np.diff(inputs, axis=1)) * both).sum(axis=1) / np.maximum(both.sum(axis=1), 1)
    return inputs[:, -1:].copy(), _floored(steps, fallback)[:, None]


def _floored(scale: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    # A flat input window would divide by zero; a tiny one would blow the window up. A tenth of the
    # series' own typical step is a floor that keeps units sane without changing normal windows.
    return np.maximum(scale, 0.1 * fallback)


@dataclass(frozen=True)
class WindowPlan:
    """Where training windows may end, and the held-out validation windows."""

    low: np.ndarray  # per series, first allowed cut for training windows
    high: np.ndarray  # per series, last allowed cut (inclusive); series with high < low give none
    val_rows: np.ndarray
    val_cuts: np.ndarray

    @property
    def trainable(self) -> np.ndarray:
        return self.high >= self.low


def plan_windows(lengths: np.ndarray, horizon: int, history: int, val_windows: int) -> WindowPlan:
    """The last ``val_windows * horizon`` points of each series are validation targets; training
    targets end before them, and start within the last ``history`` horizons (N-BEATS' L_H)."""
    train_end = lengths - val_windows * horizon
    high = train_end - horizon
    low = np.maximum(1, train_end - history * horizon)
    rows, cuts = [], []
    for k in range(1, val_windows + 1):
        cut = lengths - k * horizon
        usable = cut >= 1
        rows.append(np.flatnonzero(usable))
        cuts.append(cut[usable])
    val_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    val_cuts = np.concatenate(cuts) if cuts else np.zeros(0, dtype=np.int64)
    return WindowPlan(low, high, val_rows, val_cuts)


def sample_windows(plan: WindowPlan, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` training windows: a series drawn uniformly, then a cut uniformly within its range.
    Every series weighs the same, as it does in the scores, however long it is."""
    series = np.flatnonzero(plan.trainable)
    rows = series[rng.integers(len(series), size=count)]
    cuts = rng.integers(plan.low[rows], plan.high[rows] + 1)
    return rows, cuts
