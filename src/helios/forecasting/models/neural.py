"""``nbeats``: one global N-BEATS network trained across every series of a dataset, with quantile
forecasts.

The network (``nn/nbeats.py``) learns from scaled windows of all series at once (``nn/windows.py``)
in the shared loop (``nn/trainer.py``): live metrics, early stopping, cooperative cancel, resumable
checkpoints and best-epoch weights. Forecasts are the quantiles the requested levels need (plus the
median, reported as ``mean``: the point the scores judge is a median). A model forecasts up to the
horizon it was trained for; asking for more is an error, since rolling a quantile model forward on
its own medians would understate the spread.

torch is imported inside functions: listing families must not load it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from helios.forecasting.base import (
    DEFAULT_LEVELS,
    DataSpec,
    FitContext,
    Fitted,
    ForecastingError,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.families import register
from helios.forecasting.panel import own_config
from helios.forecasting.stamps import long_forecast_frame, stamp_to_json

if TYPE_CHECKING:
    from helios.forecasting.nn.nbeats import NBeats, NBeatsConfig
    from helios.forecasting.nn.trainer import TrainerConfig
    from helios.forecasting.nn.windows import Panel, WindowPlan


# The lookback a fit takes where its config leaves ``input_multiple`` empty. In general 4
# horizons, chosen on M4 weekly (issue 3). Hourly data (issue 11): at least 2 horizons (the best
# multiple on 135 windows of ETTh1, where the weekly cycle is weak) and at least 192 hours, a week
# and a day, since a lookback that cannot see last week cannot learn a weekly cycle (96 hours cost
# 20% OWA on a synthetic panel with a weekend effect). At horizon 48 that is 4 horizons, as before.
# See BENCHMARKS.md, "N-BEATS / N-HiTS defaults for hourly data".
GENERAL_INPUT_MULTIPLE = 4
LOOKBACK_BY_FREQUENCY: dict[str, tuple[int, int]] = {"h": (2, 192)}  # (least horizons, least points)


# Epochs where a config leaves them empty: 10 in general (chosen on M4 weekly), 20 for hourly
# data, whose daily and weekly cycles a network needs longer to learn. Alone on the hourly choice
# sets, 10 -> 20 epochs: ETTh1 windows 0.652 -> 0.641, extra 0.900 -> 0.848, demand 0.710 ->
# 0.652, synthetic level; 40 helped only demand (BENCHMARKS.md, "Twice the training for hourly
# N-BEATS"). Inside ``auto`` the network keeps 10: the series it would win are taken already.
GENERAL_EPOCHS = 10
EPOCHS_BY_FREQUENCY: dict[str, int] = {"h": 20}


def default_epochs(freq: str) -> int:
    return EPOCHS_BY_FREQUENCY.get(freq.split("-")[0], GENERAL_EPOCHS)


def default_input_multiple(freq: str, horizon: int) -> int:
    rule = LOOKBACK_BY_FREQUENCY.get(freq.split("-")[0])
    if rule is None:
        return GENERAL_INPUT_MULTIPLE
    horizons, points = rule
    return max(horizons, -(-points // horizon))


class NeuralConfig(Hyperparameters):
    horizon: int = Field(14, ge=1, le=500, description="Steps ahead the model learns to forecast.")
    input_multiple: int | None = Field(
        None,
        ge=1,
        le=200,  # hourly data at horizon 1 resolves to 192
        json_schema_extra={"empty": "by the data's frequency"},
        description="Lookback window length, as a multiple of the horizon; empty: by the data's "
        "frequency (4; hourly: at least 2 and at least 192 hours, so 4 at horizon 48).",
    )
    members: int = Field(
        1,
        ge=1,
        le=8,
        description="Ensemble members; member k looks back (input_multiple + k) horizons. Forecasts are "
        "averaged quantile by quantile.",
    )
    history: int = Field(
        10,
        ge=1,
        le=1000,
        description="Training windows end within the last `history` horizons of each series (older data "
        "is only read as input).",
    )
    epochs: int | None = Field(
        None,
        ge=1,
        le=10_000,
        json_schema_extra={"empty": "by the data's frequency"},
        description="Training epochs (metrics are reported after each); empty: by the data's frequency "
        f"({GENERAL_EPOCHS}; hourly: {EPOCHS_BY_FREQUENCY['h']}).",
    )
    steps_per_epoch: int = Field(
        25, ge=1, le=100_000, description="Optimizer steps per epoch, each on a fresh batch of windows."
    )
    batch_size: int = Field(1024, ge=8, le=65_536, description="Windows per optimizer step.")
    learning_rate: float = Field(1e-3, gt=0, le=1.0, description="AdamW learning rate.")
    weight_decay: float = Field(0.0, ge=0, le=1.0, description="AdamW weight decay.")
    schedule: Literal["constant", "cosine"] = Field(
        "cosine", description="Learning rate over epochs: constant, or cosine decay to 5% at the last epoch."
    )
    hidden_size: int = Field(256, ge=8, le=4096, description="Width of the fully connected layers.")
    layers: int = Field(3, ge=1, le=8, description="Fully connected layers per block.")
    blocks: int = Field(3, ge=1, le=30, description="N-BEATS blocks per member.")
    dropout: float = Field(0.0, ge=0, le=0.9, description="Dropout after each hidden layer.")
    pool_sizes: tuple[int, ...] = Field(
        (),
        max_length=30,
        description="N-HiTS: block b reads its input max-pooled over pool_sizes[b] points (cycled over "
        "the blocks); empty: plain N-BEATS.",
    )
    forecast_rates: tuple[int, ...] = Field(
        (),
        max_length=30,
        description="N-HiTS: block b forecasts one point every forecast_rates[b] steps, linearly "
        "interpolated (cycled over the blocks); empty: every step.",
    )
    scaling: Literal["mase", "level"] = Field(
        "mase",
        description="Per-window scaling: 'mase' = minus last value, over mean absolute step; "
        "'level' = over mean absolute value.",
    )
    levels: tuple[int, ...] = Field(
        DEFAULT_LEVELS, min_length=1, description="Interval levels (in %) the quantile heads are trained for."
    )
    val_windows: int = Field(
        1,
        ge=0,
        le=20,
        description="Last windows of each series held out to compute val_loss and to calibrate the "
        "intervals, stretched or narrowed about the median to cover what they claim there (0 = none).",
    )
    restore_best: bool = Field(
        True,
        description="End with the weights of the epoch with the lowest val_loss (an early-stopping "
        "callback's own setting wins when one is attached).",
    )
    checkpoint_every: int = Field(1, ge=1, le=1000, description="Epochs between resumable checkpoints.")
    checkpoint_seconds: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="At most one checkpoint per this many seconds after the first (0: no limit).",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed for weights and window sampling.")
    final_epochs: int = Field(
        0,
        ge=0,
        le=100,
        description="With auto's one-network validation (validation_fit): epochs of a short fit "
        "on all the data, from the validation network's weights at a quarter of the learning rate, "
        "so the final forecast's network has learnt from the last points too (0: it has only read them).",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=256,
        json_schema_extra={"empty": "as many as the process has"},
        description="PyTorch threads while fitting and forecasting (empty: as the process has them). "
        "On a busy machine two threads spin-wait on each other: one fit on 400 hourly series took "
        "28.5 s wall with one thread and 221 s with two at load ~7.",
    )

    @field_validator("pool_sizes", "forecast_rates")
    @classmethod
    def _positive_sizes(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        if any(size < 1 for size in sizes):
            raise ValueError("pool sizes and forecast rates are whole numbers >= 1")
        return sizes

    @field_validator("levels")
    @classmethod
    def _levels_are_percentages(cls, levels: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 < level < 100 for level in levels):
            raise ValueError("levels are percentages strictly between 0 and 100")
        return tuple(sorted(set(levels)))

    def for_frequency(self, freq: str) -> NeuralConfig:
        """This config with the lookback and epochs it leaves empty taken from the defaults for ``freq``
        (a normalised alias, as ``DataSpec.freq``). A fit resolves its config first; a fitted
        model keeps the resolved one."""
        update: dict[str, int] = {}
        if self.input_multiple is None:
            update["input_multiple"] = default_input_multiple(freq, self.horizon)
        if self.epochs is None:
            update["epochs"] = default_epochs(freq)
        return self.model_copy(update=update) if update else self

    @property
    def training_epochs(self) -> int:
        return _resolved(self.epochs, "epochs")

    @property
    def lookback_multiple(self) -> int:
        return _resolved(self.input_multiple, "input_multiple")

    @property
    def input_size(self) -> int:
        return (self.lookback_multiple + self.members - 1) * self.horizon

    @property
    def quantiles(self) -> tuple[float, ...]:
        return quantiles_for(self.levels)


def _resolved(value: int | None, name: str) -> int:
    if value is None:
        raise ForecastingError(f"nbeats config: {name} is empty; resolve it with for_frequency first")
    return value


def quantiles_for(levels: Sequence[int]) -> tuple[float, ...]:
    tails = [(100 - level) / 200 for level in levels]
    return tuple(sorted({0.5, *(round(t, 6) for t in tails), *(round(1 - t, 6) for t in tails)}))


@register
class NBeatsFamily(ModelFamily):
    name = "nbeats"
    task = "timeseries"
    description = (
        "Global N-BEATS network trained across all series, quantile forecasts; for many related series."
    )
    iterative = True
    learns_across_series = True  # auto fits it on every series, not only those that chose it
    fits_beside_others = True  # torch's kernels run without the GIL
    Config = NeuralConfig

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> NBeatsFitted:
        return self._train(train, own_config(config, NeuralConfig), spec, context)

    def _train(
        self,
        train: pd.DataFrame,
        config: NeuralConfig,
        spec: DataSpec,
        context: FitContext | None = None,
        start: dict[str, np.ndarray] | None = None,
    ) -> NBeatsFitted:
        """``fit``, from the weights ``start`` when given (else a fresh network)."""
        import torch

        from helios.forecasting.nn.nbeats import NBeats
        from helios.forecasting.nn.trainer import train as run_training
        from helios.forecasting.nn.windows import Panel, plan_windows

        cfg = config.for_frequency(spec.freq)
        ids, series, last_ds = _split_series(train)
        panel = Panel.from_series([y[-_points_used(cfg) :] for y in series], cfg.input_size)
        plan = plan_windows(panel.lengths, cfg.horizon, cfg.history, cfg.val_windows)
        _require_trainable(plan, panel, cfg)
        net_cfg = network_config(cfg)
        data = _WindowData(panel, plan, cfg)

        def build() -> NBeats:
            network = NBeats(net_cfg)
            if start is not None:
                network.load_state_dict({name: torch.from_numpy(value) for name, value in start.items()})
            return network

        with torch_threads(cfg.threads):
            outcome = run_training(
                build,
                data,
                _trainer_config(cfg),
                context or FitContext(),
                fingerprint=_fingerprint(cfg, ids, series),
                info={
                    "series": len(ids),
                    "rows": int(panel.lengths.sum()),
                    "windows_per_epoch": data.epoch_size,
                },
            )
        weights = {k: v.detach().numpy().copy() for k, v in outcome.model.state_dict().items()}
        factors = data.interval_factors(outcome.model)
        return NBeatsFitted(
            cfg, ids, last_ds, spec.freq, weights, panel, outcome.summary(), interval_factors=factors
        )

    def backtest_forecasts(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> pd.DataFrame:
        """Validation forecasts for ``auto`` without a network per origin: one network trained on
        what precedes the earliest window, forecasting from every origin (``offsets``: points
        between a window's last test point and the series' end): ``unique_id, window, step, y,
        mean`` and ``lo-L``/``hi-L`` for ``levels``. Training costs the same whatever the panel
        size, so one fit instead of one per window is what makes nbeats affordable there."""
        return self.validation_fit(train, config, spec, horizon, offsets, levels)[0]

    def validation_fit(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> tuple[pd.DataFrame, NBeatsFitted]:
        """``backtest_forecasts``, and that same network ready to forecast from the end of every
        series of ``train``: a window-based network needs no refit to move its origin, only its
        inputs slid forward, so ``auto`` can forecast with it instead of training a second one
        on all the data (it has not learnt from the last ``max(offsets) + horizon`` points, only
        read them)."""
        from helios.forecasting.nn.windows import Panel

        cfg = own_config(config, NeuralConfig).for_frequency(spec.freq)
        ids, series, last_ds = _split_series(train)
        earliest = max(offsets) + horizon
        kept = [i for i, y in enumerate(series) if len(y) > earliest]
        if not kept:
            raise ForecastingError("nbeats: the series are too short for these validation windows")
        ordered = train.sort_values(["unique_id", "ds"], kind="stable")
        early = ordered[ordered.groupby("unique_id", sort=False).cumcount(ascending=False) >= earliest]
        trained = self.fit(early, cfg, spec)
        kept_ids, kept_series = [ids[i] for i in kept], [series[i] for i in kept]
        frames = [
            _origin_forecasts(
                cfg, spec.freq, trained.weights, kept_ids, kept_series, horizon, offset, levels
            ).assign(window=window)
            for window, offset in enumerate(offsets)
        ]
        at_end = Panel.from_series([y[-_points_used(cfg) :] for y in series], cfg.input_size)
        if cfg.final_epochs:
            trained = self._train(train, _final_config(cfg), spec, start=trained.weights)
        final = NBeatsFitted(cfg, ids, last_ds, spec.freq, trained.weights, at_end, trained.training)
        return pd.concat(frames, ignore_index=True), final


def _final_config(cfg: NeuralConfig) -> NeuralConfig:
    """The short last fit of ``final_epochs``: from trained weights, so a gentler rate, and on
    every window up to each series' end (none held out: the validation network already chose
    its epoch)."""
    return cfg.model_copy(
        update={"epochs": cfg.final_epochs, "learning_rate": cfg.learning_rate / 4, "val_windows": 0}
    )


def _origin_forecasts(
    cfg: NeuralConfig,
    freq: str,
    weights: dict[str, np.ndarray],
    ids: list[Any],
    series: list[np.ndarray],
    horizon: int,
    offset: int,
    levels: Sequence[int],
) -> pd.DataFrame:
    """Forecasts of a trained network from ``horizon + offset`` points before each series' end,
    beside what followed: ``unique_id, step, y, mean`` and the bounds of ``levels``."""
    from helios.forecasting.nn.windows import Panel

    seen = [y[: len(y) - offset - horizon] for y in series]
    at_origin = NBeatsFitted(cfg, ids, [0] * len(ids), freq, weights, Panel.from_series(seen, cfg.input_size))
    actual = np.concatenate([y[len(s) : len(s) + horizon] for y, s in zip(series, seen, strict=True)])
    return (
        at_origin.predict(horizon, levels)
        .drop(columns="ds")
        .assign(
            unique_id=np.repeat([str(uid) for uid in ids], horizon),
            step=np.tile(np.arange(1, horizon + 1), len(ids)),
            y=actual,
        )
    )


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """PyTorch's (process-wide) intra-op thread count set to ``count`` for the block, then put
    back; None leaves it alone. (``helios.memory.embeddings.torch_threads`` does the same under a
    lock for its threaded callers; a fit here runs on the caller's thread.)"""
    import torch

    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _points_used(cfg: NeuralConfig) -> int:
    """Training never reads further back than this from a series' end: older points are dropped
    up front, so ten years of daily data cost no more memory than the windows need."""
    return cfg.input_size + (cfg.history + cfg.val_windows) * cfg.horizon


def network_config(cfg: NeuralConfig) -> NBeatsConfig:
    from helios.forecasting.nn.nbeats import NBeatsConfig

    lookbacks = tuple((cfg.lookback_multiple + k) * cfg.horizon for k in range(cfg.members))
    return NBeatsConfig(
        horizon=cfg.horizon,
        quantiles=cfg.quantiles,
        lookbacks=lookbacks,
        hidden_size=cfg.hidden_size,
        layers=cfg.layers,
        blocks=cfg.blocks,
        dropout=cfg.dropout,
        pool_sizes=cfg.pool_sizes,
        forecast_rates=cfg.forecast_rates,
    )


def _trainer_config(cfg: NeuralConfig) -> TrainerConfig:
    from helios.forecasting.nn.trainer import TrainerConfig

    return TrainerConfig(
        epochs=cfg.training_epochs,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        restore_best=cfg.restore_best,
        checkpoint_every=cfg.checkpoint_every,
        checkpoint_seconds=cfg.checkpoint_seconds,
        schedule=cfg.schedule,
    )


def _split_series(train: pd.DataFrame) -> tuple[list[Any], list[np.ndarray], list[str | int]]:
    missing = {"unique_id", "ds", "y"} - set(train.columns)
    if missing:
        raise ForecastingError(f"training data lacks column(s) {', '.join(sorted(missing))}")
    if train.empty:
        raise ForecastingError("training data is empty")
    frame = train.sort_values(["unique_id", "ds"], kind="stable")
    ids, series, last_ds = [], [], []
    for uid, group in frame.groupby("unique_id", sort=False):
        y = group["y"].to_numpy(dtype=float)
        if not np.isfinite(y).all():
            raise ForecastingError(f"series {uid!r} has missing or infinite values in y; fill or drop them")
        ids.append(uid.item() if isinstance(uid, np.generic) else uid)
        series.append(y)
        last_ds.append(stamp_to_json(group["ds"].iloc[-1]))
    return ids, series, last_ds


def _require_trainable(plan: WindowPlan, panel: Panel, cfg: NeuralConfig) -> None:
    if plan.trainable.any():
        return
    needed = cfg.horizon * (1 + cfg.val_windows) + 1
    raise ForecastingError(
        f"no series is long enough to train on: with horizon {cfg.horizon} and {cfg.val_windows} validation "
        f"window(s) a series needs at least {needed} observations; the longest has {int(panel.lengths.max())}"
    )


def _fingerprint(cfg: NeuralConfig, ids: list[Any], series: list[np.ndarray]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed. ``restore_best`` and ``checkpoint_every`` only
    change what happens around training, so they may differ."""
    digest = hashlib.sha256(json.dumps(ids, default=str).encode())
    for y in series:
        digest.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    settings = cfg.model_dump(
        mode="json", exclude={"restore_best", "checkpoint_every", "checkpoint_seconds", "threads"}
    )
    # The N-HiTS settings and final_epochs came later: left out while unused, so a run
    # checkpointed before they existed (its lookback resolved to the same 4 horizons) still resumes.
    for added in ("pool_sizes", "forecast_rates", "final_epochs"):
        if not settings[added]:
            del settings[added]
    return {"config": settings, "data_sha256": digest.hexdigest()}


class _WindowData:
    """Feeds the loop: random windows each epoch, and the held-out last windows for ``val_loss``."""

    def __init__(self, panel: Panel, plan: WindowPlan, cfg: NeuralConfig) -> None:
        import torch

        self.panel, self.plan, self.cfg = panel, plan, cfg
        self.quantiles = torch.tensor(cfg.quantiles, dtype=torch.float32)
        self.epoch_size = cfg.steps_per_epoch * cfg.batch_size

    def batches(self, rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        from helios.forecasting.nn.windows import sample_windows, window_batch

        for _ in range(self.cfg.steps_per_epoch):
            rows, cuts = sample_windows(self.plan, self.cfg.batch_size, rng)
            batch = window_batch(self.panel, rows, cuts, self.cfg.horizon, self.cfg.scaling)
            yield _tensor(batch.inputs), _tensor(batch.targets)

    def loss(self, model: NBeats, inputs: Any, targets: Any) -> Any:
        from helios.forecasting.nn.nbeats import pinball_loss

        return pinball_loss(model(inputs), targets, self.quantiles)

    def held_out_batches(self) -> Iterator[Any]:
        """The held-out last windows, ``batch_size`` at a time (inputs and targets scaled per window)."""
        from helios.forecasting.nn.windows import window_batch

        for start in range(0, len(self.plan.val_rows), self.cfg.batch_size):
            chunk = slice(start, start + self.cfg.batch_size)
            yield window_batch(
                self.panel,
                self.plan.val_rows[chunk],
                self.plan.val_cuts[chunk],
                self.cfg.horizon,
                self.cfg.scaling,
            )

    def validation_loss(self, model: NBeats) -> float | None:
        import torch

        from helios.forecasting.nn.nbeats import pinball_loss

        if len(self.plan.val_rows) == 0:
            return None
        model.eval()
        total = 0.0
        with torch.no_grad():
            for batch in self.held_out_batches():
                forecast = model(_tensor(batch.inputs)).mean(dim=0)
                loss = pinball_loss(forecast, _tensor(batch.targets), self.quantiles)
                total += float(loss) * len(batch.inputs)
        return total / len(self.plan.val_rows)

    def held_out_forecasts(self, model: NBeats) -> tuple[np.ndarray, np.ndarray]:
        """(quantile forecasts [windows, horizon, quantiles], targets [windows, horizon]) of the
        held-out last windows, in each window's own scaled units."""
        model.eval()
        batches = list(self.held_out_batches())
        forecasts = [model.forecast(_tensor(b.inputs)).numpy().astype(np.float64) for b in batches]
        targets = [np.asarray(b.targets, dtype=np.float64) for b in batches]
        return np.concatenate(forecasts), np.concatenate(targets)

    def interval_factors(self, model: NBeats) -> dict[int, float]:
        """Per level, how far each interval must be stretched about the median (above 1) or may
        be narrowed (below 1) to cover what it claims on the held-out last windows: the split
        conformal quantile of how far outside (or inside) each point fell, in the interval's own
        half-widths. Empty (no change) with fewer than ``MIN_CALIBRATION_POINTS`` held-out points."""
        if len(self.plan.val_rows) == 0:
            return {}
        forecasts, targets = self.held_out_forecasts(model)
        median = forecasts[..., self.cfg.quantiles.index(0.5)]
        factors = {}
        for level in self.cfg.levels:
            tail = round((100 - level) / 200, 6)
            lo = forecasts[..., self.cfg.quantiles.index(tail)]
            hi = forecasts[..., self.cfg.quantiles.index(round(1 - tail, 6))]
            factor = conformal_factor(targets, median, lo, hi, level)
            if factor is not None:
                factors[level] = factor
        return factors


# Fewer held-out points than this (a few short series) leave the network's own quantiles as they are.
MIN_CALIBRATION_POINTS = 200
# A stretch outside these bounds says the held-out windows are unlike the rest, not that the
# quantiles are that far off: kept within them.
FACTOR_BOUNDS = (0.5, 4.0)


def conformal_factor(
    targets: np.ndarray, median: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: int
) -> float | None:
    """The factor f such that [median - f (median - lo), median + f (hi - median)] holds ``level``%
    of ``targets`` (split conformal, with its finite-sample correction); None with too few points."""
    above = targets >= median
    width = np.where(above, hi - median, median - lo)
    distance = np.abs(targets - median)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(width > 0, distance / width, np.where(distance > 0, np.inf, 0.0))
    ratio = ratio[np.isfinite(targets) & ~np.isnan(ratio)]
    n = len(ratio)
    if n < MIN_CALIBRATION_POINTS:
        return None
    rank = min(n, int(np.ceil((n + 1) * level / 100)))
    factor = float(np.sort(ratio)[rank - 1])
    return float(np.clip(factor, *FACTOR_BOUNDS)) if np.isfinite(factor) else FACTOR_BOUNDS[1]


def _tensor(array: np.ndarray | None) -> Any:
    import torch

    return torch.from_numpy(np.asarray(array, dtype=np.float32))


class NBeatsFitted(Fitted):
    family = "nbeats"

    def __init__(
        self,
        config: NeuralConfig,
        unique_ids: list[Any],
        last_ds: list[str | int],
        freq: str,
        weights: dict[str, np.ndarray],
        panel: Panel | None = None,
        training: dict[str, Any] | None = None,
        *,
        last_values: np.ndarray | None = None,
        last_observed: np.ndarray | None = None,
        series_scale: np.ndarray | None = None,
        interval_factors: dict[int, float] | None = None,
    ) -> None:
        from helios.forecasting.nn.windows import last_windows

        self.config, self.unique_ids, self.last_ds, self.freq = config, unique_ids, last_ds, freq
        self.weights, self.training = weights, training or {}
        # Per level, the stretch about the median its interval needed on the held-out windows
        # (none: the network's quantiles as trained, as models saved before this were).
        self.interval_factors = dict(interval_factors or {})
        if panel is not None:
            last_values, last_observed = last_windows(panel)
            series_scale = panel.series_scale
        self.last_values = np.asarray(last_values, dtype=np.float64)
        self.last_observed = np.asarray(last_observed, dtype=bool)
        self.series_scale = np.asarray(series_scale, dtype=np.float64)
        self._network: NBeats | None = None

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        self._check_request(horizon, levels)
        quantiles = self._forecast_quantiles()[:, :horizon, :]
        median = quantiles[:, :, self._quantile_index(0.5)]
        columns = {"mean": median}
        for level in levels:
            tail = (100 - level) / 200
            factor = self.interval_factors.get(level, 1.0)
            lo, hi = (
                quantiles[:, :, self._quantile_index(tail)],
                quantiles[:, :, self._quantile_index(1 - tail)],
            )
            columns[f"lo-{level}"] = median - factor * (median - lo)
            columns[f"hi-{level}"] = median + factor * (hi - median)
        return self._long_frame(horizon, columns)

    def _check_request(self, horizon: int, levels: Sequence[int]) -> None:
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ForecastingError(f"horizon must be a whole number >= 1, not {horizon!r}")
        if horizon > self.config.horizon:
            raise ForecastingError(
                f"this nbeats model was trained for a horizon of {self.config.horizon} steps and cannot "
                f"forecast {horizon}; train it again with horizon >= {horizon}"
            )
        untrained = [level for level in levels if level not in self.config.levels]
        if untrained:
            raise ForecastingError(
                f"this nbeats model has quantiles for levels {list(self.config.levels)} only, not "
                f"{untrained}; train with those levels, or calibrate intervals with conformal prediction"
            )

    def _quantile_index(self, q: float) -> int:
        return self.config.quantiles.index(round(q, 6))

    def _forecast_quantiles(self) -> np.ndarray:
        """[series, horizon, quantiles] in the data's units."""
        import torch

        from helios.forecasting.nn.windows import scaled_inputs

        batch = scaled_inputs(self.last_values, self.last_observed, self.series_scale, self.config.scaling)
        network = self._load_network()
        with torch.no_grad(), torch_threads(self.config.threads):
            scaled = network.forecast(_tensor(batch.inputs)).numpy().astype(np.float64)
        return batch.loc[:, :, None] + batch.scale[:, :, None] * scaled

    def _load_network(self) -> NBeats:
        if self._network is None:
            import torch

            from helios.forecasting.nn.nbeats import NBeats

            network = NBeats(network_config(self.config))
            network.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()})
            self._network = network.eval()
        return self._network

    def _long_frame(self, horizon: int, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        return long_forecast_frame(self.unique_ids, self.last_ds, horizon, self.freq, columns)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "config": self.config.model_dump(mode="json"),
            "unique_ids": self.unique_ids,
            "last_ds": self.last_ds,
            "freq": self.freq,
            "training": self.training,
            "interval_factors": {str(level): factor for level, factor in self.interval_factors.items()},
        }
        arrays = {f"weights.{k}": np.ascontiguousarray(v) for k, v in self.weights.items()}
        arrays |= {
            "last_values": self.last_values,
            "last_observed": self.last_observed.astype(np.uint8),
            "series_scale": self.series_scale,
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> NBeatsFitted:
        weights = {k.removeprefix("weights."): v for k, v in arrays.items() if k.startswith("weights.")}
        return cls(
            NeuralConfig.model_validate(meta["config"]),
            list(meta["unique_ids"]),
            list(meta["last_ds"]),
            meta["freq"],
            weights,
            training=meta.get("training"),
            interval_factors={int(level): float(f) for level, f in meta.get("interval_factors", {}).items()},
            last_values=arrays["last_values"],
            last_observed=arrays["last_observed"].astype(bool),
            series_scale=arrays["series_scale"],
        )


NBeatsFamily.FittedType = NBeatsFitted
