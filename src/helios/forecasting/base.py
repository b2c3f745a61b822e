"""The one interface every model family speaks.

A ``ModelFamily`` knows its name, its task, and its hyperparameter schema (a pydantic model:
defaults, ranges and descriptions; the training form and the API validate against it).
``fit(train, config, spec, callbacks)`` returns a ``Fitted``; ``Fitted.predict(horizon, levels)``
returns long format ``unique_id, ds, mean, lo-80, hi-80, lo-95, hi-95`` (volatility adds
``sigma``; draws return probabilities and tickets through ``DrawForecast``).

A ``Fitted`` turns itself into plain JSON plus named numpy arrays (``to_state``), and back
(``from_state``); ``artifacts.save_fitted``/``load_fitted`` write that as safetensors + JSON with a
sha256 manifest, so loading an artifact never executes code.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from helios.forecasting.rules import GameRules

Task = Literal["price", "volatility", "draws", "timeseries"]
DEFAULT_LEVELS: tuple[int, ...] = (80, 95)


class ForecastingError(ValueError):
    """Bad input to the engine (series too short, unknown family, bad horizon). The message
    names the series or field; callers turn it into their own error type."""


class ArtifactError(ForecastingError):
    """An artifact that is missing, tampered with, or of a kind Helios refuses to load."""


class Hyperparameters(BaseModel):
    """Base of every family's config: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class DataSpec:
    """What the engine must know about the data beyond the values themselves."""

    freq: str = "D"  # pandas offset alias, already normalised (see ``frequency.normalise_freq``)
    season_length: int = 1  # the main season; 1 when non-seasonal
    rules: GameRules | None = None  # only for draws
    # Every cycle the data shows, shortest first (hourly: 24 and 168). Empty means "not yet
    # looked at": ``seasonality.data_seasons`` then infers them from the frequency and confirms
    # them on the data. ``season_length`` is always kept among them when above 1.
    seasons: tuple[int, ...] = ()

    @property
    def declared_seasons(self) -> tuple[int, ...]:
        """The seasons given, or the main season alone when none were listed."""
        if self.seasons:
            return tuple(sorted(set(self.seasons)))
        return (self.season_length,) if self.season_length > 1 else ()


class TrainingControl:
    """Shared between the loop and its callbacks: a callback may ask to stop; the caller may
    cancel cooperatively (checked between epochs/steps)."""

    def __init__(self, cancelled: Callable[[], bool] | None = None) -> None:
        self._cancelled = cancelled or (lambda: False)
        self.stop_requested = False
        self.stop_reason: str | None = None

    def request_stop(self, reason: str) -> None:
        if not self.stop_requested:
            self.stop_requested = True
            self.stop_reason = reason

    @property
    def cancelled(self) -> bool:
        return self._cancelled()

    @property
    def should_stop(self) -> bool:
        return self.stop_requested or self.cancelled


class Callback:
    """Hooks called by iterative families. Non-iterative families call ``on_train_end`` only."""

    def on_train_begin(self, info: dict[str, Any], control: TrainingControl) -> None:
        """``info`` carries e.g. ``{"epochs": 50, "series": 12, "rows": 3000}``."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], control: TrainingControl) -> None:
        """``metrics`` like ``{"train_loss": 0.3, "val_loss": 0.4}``; may call ``control.request_stop``."""

    def on_train_end(self, summary: dict[str, Any], control: TrainingControl) -> None:
        """``summary`` like ``{"epochs_run": 12, "best_epoch": 9, "stopped_reason": "early_stopping"}``."""


@dataclass
class FitContext:
    """Where a fit may keep resumable checkpoints, and how it is told to stop."""

    callbacks: Sequence[Callback] = ()
    control: TrainingControl = field(default_factory=TrainingControl)
    checkpoint_dir: Path | None = None  # iterative families write resumable checkpoints here
    resume: bool = False  # continue from the latest checkpoint in checkpoint_dir, if any

    def fitted_without_epochs(self, family: str, series: int) -> None:
        """Tell the callbacks that a fit with no epochs (one solve, one booster) is over."""
        summary = {"epochs_run": 0, "series": series, "family": family, "stopped_reason": None}
        for callback in self.callbacks:
            callback.on_train_end(summary, self.control)


class Fitted(abc.ABC):
    """A trained model, ready to forecast from the end of its training data."""

    family: ClassVar[str]
    # The longest forecast a caller may ask for: beyond it the answer costs seconds and megabytes
    # and says nothing a shorter one does not. Families whose steps are expensive lower it.
    max_horizon: ClassVar[int] = 1000

    @abc.abstractmethod
    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        """Long format: ``unique_id, ds, mean`` and ``lo-L, hi-L`` for each level."""

    @abc.abstractmethod
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-serialisable metadata and named arrays that fully describe the model."""

    @classmethod
    @abc.abstractmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Fitted:
        """Inverse of ``to_state``; must give identical predictions."""


class ModelFamily(abc.ABC):
    """A kind of model: its name, task, hyperparameter schema and how to fit it."""

    name: ClassVar[str]
    task: ClassVar[Task]
    description: ClassVar[str]
    iterative: ClassVar[bool] = False  # trains in epochs: live metrics and early stopping apply
    # Its fit spends its time in native code that lets go of the GIL and touches no process-wide
    # state other than its own (no warning filters): auto may validate it in a thread beside the
    # other candidates, on a second core.
    fits_beside_others: ClassVar[bool] = False
    Config: ClassVar[type[Hyperparameters]]
    FittedType: ClassVar[type[Fitted]]

    def parse_config(self, raw: dict[str, Any] | None) -> Hyperparameters:
        return self.Config.model_validate(raw or {})

    @abc.abstractmethod
    def fit(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        context: FitContext | None = None,
    ) -> Fitted:
        """``train`` is long format (``unique_id, ds, y`` or draws columns), sorted by id and ds."""

    def schema(self) -> dict[str, Any]:
        return self.Config.model_json_schema()
