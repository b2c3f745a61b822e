"""Volatility families: ``garch`` (GARCH(1,1) and kin, via ``arch``) and ``realized_vol`` (the
rolling standard deviation of returns, the baseline any volatility model must beat).

Both read ``y`` as prices (or, with ``y_kind="return"``, as returns already in percent) and work on
percent log returns, ``100 * diff(log(price))``: the scale ``arch`` optimises best on. Forecasts are
for the return of each step ahead: ``mean`` and ``sigma`` (its conditional standard deviation), and
``lo-L``/``hi-L`` from the fitted error distribution.

A fitted ``garch`` keeps its parameters and the returns it was fitted on, not the ``arch`` result
object: forecasts are made again from the parameters (``model.forecast(params=...)``) on the same
returns, so a model loaded from an artifact gives identical forecasts and nothing is pickled.
EGARCH forecasts beyond one step are simulated; a seeded distribution makes them repeatable.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

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
from helios.forecasting.stamps import future_stamps, stamp_to_json

MIN_GARCH_RETURNS = 30  # fewer and the four parameters are a guess, not an estimate

YKind = Literal["price", "return"]
_Y_KIND_HELP = "What y holds: prices (percent log returns are taken) or returns already in percent."


class _SeriesReturns:
    """Percent log returns per series, and where each series ends (forecasts start after it)."""

    def __init__(self, unique_ids: list[Any], returns: list[np.ndarray], last_ds: list[str | int]) -> None:
        self.unique_ids, self.returns, self.last_ds = unique_ids, returns, last_ds

    @classmethod
    def from_frame(cls, train: pd.DataFrame, y_kind: YKind, min_returns: int) -> _SeriesReturns:
        missing = {"unique_id", "ds", "y"} - set(train.columns)
        if missing:
            raise ForecastingError(f"training data lacks column(s) {', '.join(sorted(missing))}")
        if train.empty:
            raise ForecastingError("training data is empty")
        ids, returns, last_ds = [], [], []
        frame = train.sort_values(["unique_id", "ds"], kind="stable")
        for uid, group in frame.groupby("unique_id", sort=False):
            r = _percent_returns(uid, group["y"].to_numpy(dtype=float), y_kind)
            if len(r) < min_returns:
                raise ForecastingError(
                    f"series {uid!r} has {len(r)} returns; this model needs at least {min_returns}"
                )
            ids.append(uid.item() if isinstance(uid, np.generic) else uid)
            returns.append(r)
            last_ds.append(stamp_to_json(group["ds"].iloc[-1]))
        return cls(ids, returns, last_ds)


def _percent_returns(uid: Any, y: np.ndarray, y_kind: YKind) -> np.ndarray:
    if not np.isfinite(y).all():
        raise ForecastingError(f"series {uid!r} has missing or infinite values in y; fill or drop them")
    if y_kind == "return":
        return y
    if (y <= 0).any():
        raise ForecastingError(
            f"series {uid!r} has prices <= 0, which have no log return; "
            "use y_kind='return' if y holds returns"
        )
    return 100.0 * np.diff(np.log(y))


def _report_end(context: FitContext | None, summary: dict[str, Any]) -> None:
    """Non-iterative families only tell callbacks that training ended."""
    if context is not None:
        for callback in context.callbacks:
            callback.on_train_end(summary, context.control)


class _VolatilityFitted(Fitted):
    """Shared by both families: turns per-series mean/sigma paths into the long forecast frame."""

    def __init__(self, unique_ids: list[Any], last_ds: list[str | int], freq: str) -> None:
        self.unique_ids, self.last_ds, self.freq = unique_ids, last_ds, freq

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ForecastingError(f"horizon must be a whole number >= 1, not {horizon!r}")
        if any(not 0 < level < 100 for level in levels):
            raise ForecastingError(f"levels are percentages strictly between 0 and 100, not {list(levels)}")
        frames = [self._series_frame(i, horizon, levels) for i in range(len(self.unique_ids))]
        return pd.concat(frames, ignore_index=True)

    def _series_frame(self, index: int, horizon: int, levels: Sequence[int]) -> pd.DataFrame:
        mean, sigma = self._paths(index, horizon)
        frame = pd.DataFrame(
            {
                "unique_id": [self.unique_ids[index]] * horizon,
                "ds": future_stamps(self.last_ds[index], horizon, self.freq),
                "mean": mean,
                "sigma": sigma,
            }
        )
        for level in levels:
            tail = (100 - level) / 200
            low, high = self._standard_quantiles(index, np.array([tail, 1 - tail]))
            frame[f"lo-{level}"] = mean + low * sigma
            frame[f"hi-{level}"] = mean + high * sigma
        return frame

    @abc.abstractmethod
    def _paths(self, index: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sigma of the return, one value per step ahead."""

    def _standard_quantiles(self, index: int, probabilities: np.ndarray) -> np.ndarray:
        from scipy.stats import norm

        return norm.ppf(probabilities)


# -- GARCH ----------------------------------------------------------------------------------------


class GarchConfig(Hyperparameters):
    vol: Literal["GARCH", "GJR", "EGARCH"] = Field(
        "GARCH", description="Variance process: GARCH(1,1), GJR-GARCH(1,1,1) (leverage), or EGARCH(1,1)."
    )
    dist: Literal["normal", "t"] = Field("normal", description="Distribution of standardised errors.")
    mean: Literal["Constant", "Zero"] = Field("Constant", description="Mean of the returns.")
    y_kind: YKind = Field("price", description=_Y_KIND_HELP)
    simulations: int = Field(
        1000, ge=100, le=100_000, description="Paths simulated for EGARCH forecasts beyond one step."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the EGARCH simulations.")


def _distribution(cfg: GarchConfig, seed: int | None = None) -> Any:
    from arch.univariate import Normal, StudentsT

    generator = np.random.default_rng(seed)
    return StudentsT(seed=generator) if cfg.dist == "t" else Normal(seed=generator)


def _arch_model(returns: np.ndarray, cfg: GarchConfig, seed: int | None = None) -> Any:
    """A fresh ``arch`` model on ``returns``; a seeded distribution makes simulations repeatable."""
    from arch.univariate import EGARCH, GARCH, ConstantMean, ZeroMean

    volatility = EGARCH(p=1, o=0, q=1) if cfg.vol == "EGARCH" else GARCH(p=1, o=int(cfg.vol == "GJR"), q=1)
    mean_model = ConstantMean if cfg.mean == "Constant" else ZeroMean
    return mean_model(returns, volatility=volatility, distribution=_distribution(cfg, seed), rescale=False)


def _fit_garch(uid: Any, returns: np.ndarray, cfg: GarchConfig) -> tuple[np.ndarray, bool]:
    """Fitted parameters and whether the optimiser converged."""
    from arch.utility.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # Non-convergence is reported per series in the model's state, not as a warning storm.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _arch_model(returns, cfg).fit(disp="off", show_warning=False)
    params = result.params.to_numpy(dtype=float)
    if not np.isfinite(params).all():
        raise ForecastingError(f"GARCH estimation failed for series {uid!r} (parameters are not finite)")
    return params, result.convergence_flag == 0


@register
class GarchFamily(ModelFamily):
    name = "garch"
    task = "volatility"
    description = "GARCH(1,1), GJR or EGARCH on percent log returns (arch): sigma for each step ahead."
    Config = GarchConfig

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> GarchFitted:
        cfg = own_config(config, GarchConfig)
        data = _SeriesReturns.from_frame(train, cfg.y_kind, MIN_GARCH_RETURNS)
        fits = [_fit_garch(uid, r, cfg) for uid, r in zip(data.unique_ids, data.returns, strict=True)]
        params = np.stack([p for p, _ in fits])
        converged = [ok for _, ok in fits]
        fitted = GarchFitted(cfg, data.unique_ids, data.last_ds, spec.freq, params, data.returns, converged)
        _report_end(context, {"series": len(data.unique_ids), "not_converged": fitted.not_converged})
        return fitted


class GarchFitted(_VolatilityFitted):
    family = "garch"

    def __init__(
        self,
        config: GarchConfig,
        unique_ids: list[Any],
        last_ds: list[str | int],
        freq: str,
        params: np.ndarray,
        returns: list[np.ndarray],
        converged: list[bool],
    ) -> None:
        super().__init__(unique_ids, last_ds, freq)
        self.config, self.params, self.returns, self.converged = config, params, returns, converged

    @property
    def not_converged(self) -> list[Any]:
        return [uid for uid, ok in zip(self.unique_ids, self.converged, strict=True) if not ok]

    def _paths(self, index: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        model = _arch_model(self.returns[index], self.config, seed=self.config.seed)
        simulate = self.config.vol == "EGARCH" and horizon > 1  # arch has no closed form there
        forecast = model.forecast(
            self.params[index],
            horizon=horizon,
            method="simulation" if simulate else "analytic",
            simulations=self.config.simulations,
            reindex=False,
        )
        return forecast.mean.to_numpy()[-1], np.sqrt(forecast.variance.to_numpy()[-1])

    def _standard_quantiles(self, index: int, probabilities: np.ndarray) -> np.ndarray:
        shape = self.params[index][-1:] if self.config.dist == "t" else None  # nu is the last parameter
        return _distribution(self.config).ppf(probabilities, shape)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "config": self.config.model_dump(mode="json"),
            "unique_ids": self.unique_ids,
            "last_ds": self.last_ds,
            "freq": self.freq,
            "converged": self.converged,
        }
        lengths = np.array([len(r) for r in self.returns], dtype=np.int64)
        arrays = {"params": self.params, "returns": np.concatenate(self.returns), "return_counts": lengths}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> GarchFitted:
        bounds = np.cumsum(arrays["return_counts"])[:-1]
        returns = [np.asarray(r, dtype=np.float64) for r in np.split(arrays["returns"], bounds)]
        return cls(
            GarchConfig.model_validate(meta["config"]),
            list(meta["unique_ids"]),
            list(meta["last_ds"]),
            meta["freq"],
            np.asarray(arrays["params"], dtype=np.float64),
            returns,
            list(meta["converged"]),
        )


GarchFamily.FittedType = GarchFitted


# -- realized volatility --------------------------------------------------------------------------


class RealizedVolConfig(Hyperparameters):
    window: int = Field(
        20, ge=2, le=10_000, description="Returns in the rolling window (20 ~ a trading month)."
    )
    mean: Literal["zero", "window"] = Field(
        "zero", description="Mean return forecast: zero, or the mean of the window's returns."
    )
    y_kind: YKind = Field("price", description=_Y_KIND_HELP)


@register
class RealizedVolFamily(ModelFamily):
    name = "realized_vol"
    task = "volatility"
    description = "Baseline: sigma = standard deviation of the last N percent log returns, flat ahead."
    Config = RealizedVolConfig

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> RealizedVolFitted:
        cfg = own_config(config, RealizedVolConfig)
        data = _SeriesReturns.from_frame(train, cfg.y_kind, cfg.window)
        recent = [r[-cfg.window :] for r in data.returns]
        sigma = np.array([r.std(ddof=1) for r in recent])
        mean = np.array([r.mean() for r in recent]) if cfg.mean == "window" else np.zeros(len(recent))
        fitted = RealizedVolFitted(cfg, data.unique_ids, data.last_ds, spec.freq, mean, sigma)
        _report_end(context, {"series": len(data.unique_ids)})
        return fitted


class RealizedVolFitted(_VolatilityFitted):
    family = "realized_vol"

    def __init__(
        self,
        config: RealizedVolConfig,
        unique_ids: list[Any],
        last_ds: list[str | int],
        freq: str,
        mean: np.ndarray,
        sigma: np.ndarray,
    ) -> None:
        super().__init__(unique_ids, last_ds, freq)
        self.config, self.mean, self.sigma = config, mean, sigma

    def _paths(self, index: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full(horizon, self.mean[index]), np.full(horizon, self.sigma[index])

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "config": self.config.model_dump(mode="json"),
            "unique_ids": self.unique_ids,
            "last_ds": self.last_ds,
            "freq": self.freq,
        }
        return meta, {"mean": self.mean, "sigma": self.sigma}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> RealizedVolFitted:
        return cls(
            RealizedVolConfig.model_validate(meta["config"]),
            list(meta["unique_ids"]),
            list(meta["last_ds"]),
            meta["freq"],
            np.asarray(arrays["mean"], dtype=np.float64),
            np.asarray(arrays["sigma"], dtype=np.float64),
        )


RealizedVolFamily.FittedType = RealizedVolFitted
