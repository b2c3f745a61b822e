"""Statistical families on statsforecast: ``auto_ets``, ``auto_arima``, ``auto_theta``, ``mstl``
and ``ensemble`` (a combination of several of them).

Saving without pickle: a fit searches each series' best specification (ETS components, ARIMA
orders, Theta variant); the state keeps that *specification* and the values it was fitted on,
never statsforecast's objects. Loading refits the pinned specification, which runs the same
deterministic optimisation the search ran for that candidate, so forecasts are identical
(``tests/forecasting/test_statistical.py`` checks it bit for bit).

Seasons longer than ETS and ARIMA model natively (more than 24, e.g. 52 weeks) are handled the
M4 way: test for seasonality, divide by classical multiplicative indices, model the adjusted
series, multiply the forecast back. Theta always does that itself. ``mstl`` needs a season
(length > 1): asked for on non-seasonal data it refuses with a ``ForecastingError`` rather than
silently becoming another family.

statsforecast is imported inside functions: listing families must not pay for it.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from helios.forecasting.base import DataSpec, FitContext, ForecastingError, Hyperparameters, ModelFamily
from helios.forecasting.families import register
from helios.forecasting.local import LocalFitted, SeriesState, fit_each_series
from helios.forecasting.panel import (
    Series,
    SeriesForecast,
    check_levels,
    observed_rows,
    own_config,
    split_panel,
    window_rows,
)
from helios.forecasting.seasonality import SeasonalAdjustment, data_seasons

# ETS has no seasonal states beyond 24 and seasonal ARIMA past that is slow and fragile.
NATIVE_SEASON_LIMIT = 24
# Two full seasons are enough evidence for the adjustment test (M4 asked for three; on M4
# weekly, two lets five-year windows be adjusted and forecasts better).
ADJUSTMENT_MIN_SEASONS = 2

MethodName = Literal["ets", "arima", "theta", "mstl"]


@dataclass(frozen=True)
class Method:
    """How one statsforecast model is searched (``search`` -> spec, model) and rebuilt from a
    pinned spec (``refit``); ``adjusts`` says whether long seasons are divided out first."""

    name: str
    search: Callable[[np.ndarray, Any], tuple[dict[str, Any], Any]]  # Any: MSTL takes a list
    refit: Callable[[dict[str, Any], np.ndarray, int], Any]
    adjusts_long_seasons: bool


def _ets_model(components: str, season_length: int) -> Any:
    from statsforecast.models import AutoETS

    return AutoETS(season_length=season_length, model=components[:3], damped=components[3] == "D")


def _search_ets(y: np.ndarray, m: int) -> tuple[dict[str, Any], Any]:
    from statsforecast.models import AutoETS

    model = AutoETS(season_length=m).fit(y)
    return {"components": model.model_["components"]}, model


def _refit_ets(spec: dict[str, Any], y: np.ndarray, m: int) -> Any:
    return _ets_model(spec["components"], m).fit(y)


def _search_arima(y: np.ndarray, m: int) -> tuple[dict[str, Any], Any]:
    from statsforecast.models import AutoARIMA

    model = AutoARIMA(season_length=m).fit(y)
    p, q, seasonal_p, seasonal_q, period, d, seasonal_d = model.model_["arma"]
    coef = model.model_["coef"]
    spec = {
        "order": [p, d, q],
        "seasonal_order": [seasonal_p, seasonal_d, seasonal_q],
        "period": period,
        "include_mean": "intercept" in coef,
        "include_drift": "drift" in coef,
    }
    return spec, model


def _refit_arima(spec: dict[str, Any], y: np.ndarray, m: int) -> Any:
    from statsforecast.models import ARIMA

    return ARIMA(
        order=tuple(spec["order"]),
        seasonal_order=tuple(spec["seasonal_order"]),
        season_length=spec["period"],
        include_mean=spec["include_mean"],
        include_drift=spec["include_drift"],
    ).fit(y)


def _search_theta(y: np.ndarray, m: int) -> tuple[dict[str, Any], Any]:
    from statsforecast.models import AutoTheta

    model = AutoTheta(season_length=m).fit(y)
    spec = {
        "model": model.model_["modeltype"],
        "decomposition_type": model.model_.get("decomposition_type", "multiplicative"),
    }
    return spec, model


def _refit_theta(spec: dict[str, Any], y: np.ndarray, m: int) -> Any:
    from statsforecast.models import AutoTheta

    model = AutoTheta(season_length=m, model=spec["model"], decomposition_type=spec["decomposition_type"])
    return model.fit(y)


def _mstl_model(season_lengths: list[int], trend: Any) -> Any:
    from statsforecast.models import MSTL

    return MSTL(season_length=season_lengths, trend_forecaster=trend)


def _search_mstl(y: np.ndarray, m: int | list[int]) -> tuple[dict[str, Any], Any]:
    from statsforecast.models import AutoETS

    # Every season the data has (hourly: 24 and 168), each short enough for two cycles to fit.
    given = m if isinstance(m, list) else [m]
    seasons = [s for s in given if s > 1 and 2 * s < len(y)] or given[:1]
    model = _mstl_model(list(seasons), AutoETS(model="ZZN")).fit(y)
    return {"trend": model.trend_forecaster.model_["components"], "seasons": list(seasons)}, model


def _refit_mstl(spec: dict[str, Any], y: np.ndarray, m: int) -> Any:
    return _mstl_model(spec.get("seasons", [m]), _ets_model(spec["trend"], 1)).fit(y)


METHODS: dict[str, Method] = {
    "ets": Method("ets", _search_ets, _refit_ets, adjusts_long_seasons=True),
    "arima": Method("arima", _search_arima, _refit_arima, adjusts_long_seasons=True),
    "theta": Method("theta", _search_theta, _refit_theta, adjusts_long_seasons=False),
    "mstl": Method("mstl", _search_mstl, _refit_mstl, adjusts_long_seasons=False),
}


class StatisticalConfig(Hyperparameters):
    season_length: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        json_schema_extra={"empty": "the data's season"},
        description="Seasonal period; empty uses the data's. ETS/ARIMA divide seasons above 24 out first.",
    )
    window: int | None = Field(
        default=None,
        ge=8,
        json_schema_extra={"empty": "all points"},
        description="Fit on the last N observations only; recent history often forecasts better and faster.",
    )


class EnsembleConfig(StatisticalConfig):
    members: list[MethodName] = Field(
        default=["ets", "arima", "theta"], min_length=1, description="Models combined for every series."
    )
    combination: Literal["mean", "median"] = Field(
        default="mean", description="How member forecasts (and their interval bounds) are combined."
    )


# --- fitting one series --------------------------------------------------------------------------


@dataclass
class MemberFit:
    method: str
    season_length: int  # the period the model itself sees (1 after a long season is divided out)
    spec: dict[str, Any]
    model: Any = None  # statsforecast object; rebuilt from spec after loading


def _model_season(method: Method, season_length: int) -> int:
    return 1 if method.adjusts_long_seasons and season_length > NATIVE_SEASON_LIMIT else season_length


@contextmanager
def _quiet() -> Iterator[None]:
    # statsforecast warns on every short or flat series; the family reports real failures itself.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def fit_statistical_series(
    series: Series,
    members: Sequence[str],
    season_length: int,
    window: int | None,
    family: str,
    seasons: Sequence[int] = (),
) -> tuple[SeriesState, list[MemberFit]]:
    y = series.y[-window:] if window else series.y
    adjustment = _series_adjustment(y, members, season_length)
    fits, failures = [], []
    for name in members:
        method = METHODS[name]
        m = _model_season(method, season_length)
        values = adjustment.adjust(y) if m != season_length else y
        try:
            with _quiet():
                # MSTL decomposes every season of the data at once; the others model one.
                season_arg: Any = [*seasons] if name == "mstl" and seasons else m
                spec, model = method.search(values, season_arg)
        except Exception as exc:  # statsforecast raises bare Exceptions on degenerate series
            failures.append(f"{name}: {exc}")
            continue
        fits.append(MemberFit(name, m, spec, model))
    if not fits:
        raise ForecastingError(f"series {series.unique_id}: {family} could not fit ({'; '.join(failures)})")
    params = {
        "members": [{"method": f.method, "season_length": f.season_length, "spec": f.spec} for f in fits],
        "failed": failures,  # members left out of this series' combination, and why
    }
    arrays = {"y": y.copy(), "seasonal_indices": adjustment.indices}
    return SeriesState(series.unique_id, series.last_ds, params, arrays), fits


class PinnedFitFailed(Exception):
    """statsforecast could not fit a pinned specification on these points."""


def refit_statistical_series(
    series: Series, pinned: Sequence[dict[str, Any]], season_length: int, window: int | None
) -> tuple[SeriesState, list[MemberFit]]:
    """``fit_statistical_series`` with each member's specification given (``pinned``, the
    ``members`` of an earlier fit's params): only the parameters are estimated on ``series``,
    the search is not run again. statsforecast failing on these points is ``PinnedFitFailed``;
    anything else (a bug here) propagates."""
    y = series.y[-window:] if window else series.y
    adjustment = _series_adjustment(y, [member["method"] for member in pinned], season_length)
    fits = refit_members(pinned, y, adjustment, season_length)
    params = {"members": [dict(member) for member in pinned], "failed": []}
    arrays = {"y": y.copy(), "seasonal_indices": adjustment.indices}
    return SeriesState(series.unique_id, series.last_ds, params, arrays), fits


def refit_members(
    pinned: Sequence[dict[str, Any]], y: np.ndarray, adjustment: SeasonalAdjustment, season_length: int
) -> list[MemberFit]:
    """Each pinned member's model fitted on ``y`` (long seasons divided out where it needs them)."""
    fits = []
    for member in pinned:
        method, m = METHODS[member["method"]], member["season_length"]
        values = adjustment.adjust(y) if m != season_length else y
        try:
            with _quiet():
                model = method.refit(member["spec"], values, m)
        except Exception as exc:  # statsforecast raises bare Exceptions on degenerate series
            raise PinnedFitFailed(f"{member['method']}: {exc}") from exc
        fits.append(MemberFit(member["method"], m, member["spec"], model))
    return fits


def _series_adjustment(y: np.ndarray, members: Sequence[str], season_length: int) -> SeasonalAdjustment:
    """The seasonal indices long seasons are divided by, where a member needs them."""
    if any(_model_season(METHODS[m], season_length) != season_length for m in members):
        return SeasonalAdjustment.fit(y, season_length, ADJUSTMENT_MIN_SEASONS)
    return SeasonalAdjustment.none(len(y))


class StatisticalFitted(LocalFitted):
    """Per series: pinned member specs, the fitted values and the seasonal indices."""

    family = "statistical"

    def __init__(self, series: list[SeriesState], freq: str, season_length: int, config: dict[str, Any]):
        super().__init__(series, freq, season_length, config)
        self._models: dict[str, list[MemberFit]] = {}

    def remember_models(self, fits: dict[str, list[MemberFit]]) -> None:
        """Keep the models the search fitted, so predicting right after fitting refits nothing."""
        self._models = dict(fits)

    def _member_fits(self, state: SeriesState) -> list[MemberFit]:
        if state.unique_id not in self._models:
            self._models[state.unique_id] = self._refit(state)
        return self._models[state.unique_id]

    def _refit(self, state: SeriesState) -> list[MemberFit]:
        return refit_members(
            state.params["members"], state.arrays["y"], self._adjustment(state), self.season_length
        )

    def _adjustment(self, state: SeriesState) -> SeasonalAdjustment:
        return SeasonalAdjustment(state.arrays["seasonal_indices"], len(state.arrays["y"]))

    def forecast_series(self, state: SeriesState, horizon: int, levels: Sequence[int]) -> SeriesForecast:
        return self.forecast_from(state, self._member_fits(state), horizon, levels)

    def forecast_from(
        self, state: SeriesState, fits: Sequence[MemberFit], horizon: int, levels: Sequence[int]
    ) -> SeriesForecast:
        """The combined forecast of ``fits``, models fitted on ``state``'s values."""
        adjustment = self._adjustment(state)
        forecasts = [self._member_forecast(fit, adjustment, horizon, levels) for fit in fits]
        return combine_forecasts(forecasts, levels, self.config.get("combination", "mean"))

    def _member_forecast(
        self, fit: MemberFit, adjustment: SeasonalAdjustment, horizon: int, levels: Sequence[int]
    ) -> SeriesForecast:
        with _quiet():
            raw = fit.model.predict(h=horizon, level=list(levels))
        scale = adjustment.future_indices(horizon) if fit.season_length != self.season_length else 1.0
        bounds = {level: (raw[f"lo-{level}"] * scale, raw[f"hi-{level}"] * scale) for level in levels}
        return SeriesForecast(raw["mean"] * scale, bounds)


def combine_forecasts(
    forecasts: Sequence[SeriesForecast], levels: Sequence[int], combination: str = "mean"
) -> SeriesForecast:
    """Combine members point by point; bounds are combined the same way (quantile averaging,
    which keeps lo <= mean <= hi and is what M4's interval combinations did)."""
    if len(forecasts) == 1:
        return forecasts[0]
    combine = np.median if combination == "median" else np.mean
    mean = combine(np.stack([f.mean for f in forecasts]), axis=0)
    bounds = {
        level: tuple(combine(np.stack([f.bounds[level][side] for f in forecasts]), axis=0) for side in (0, 1))
        for level in levels
    }
    return SeriesForecast(mean, bounds)  # type: ignore[arg-type]


def check_season(family: str, members: Sequence[str], season_length: int) -> None:
    """MSTL decomposes seasons; without one it would silently be another model, so refuse."""
    if "mstl" in members and season_length <= 1:
        raise ForecastingError(
            f"{family}: mstl needs a seasonal period above 1 (set season_length, e.g. 7 for daily data); "
            "for non-seasonal data use auto_ets, auto_theta or ensemble without mstl"
        )


# --- families ------------------------------------------------------------------------------------


class _StatisticalFamily(ModelFamily):
    task = "timeseries"
    Config: ClassVar[type[StatisticalConfig]] = StatisticalConfig
    FittedType: ClassVar[type[StatisticalFitted]]
    members: tuple[str, ...] = ()

    def member_names(self, config: StatisticalConfig) -> Sequence[str]:
        return self.members

    def fit(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        context: FitContext | None = None,
    ) -> StatisticalFitted:
        config = own_config(config, self.Config)
        season = config.season_length or spec.season_length
        members = self.member_names(config)
        check_season(self.name, members, season)
        fits: dict[str, list[MemberFit]] = {}
        seasons = (
            data_seasons(train, dataclasses.replace(spec, season_length=season)) if "mstl" in members else ()
        )

        def fit_one(series: Series) -> SeriesState:
            state, fits[series.unique_id] = fit_statistical_series(
                series, members, season, config.window, self.name, seasons
            )
            return state

        states = fit_each_series(train, fit_one, context, self.name)
        fitted = self.FittedType(states, spec.freq, season, config.model_dump())
        fitted.remember_models(fits)
        return fitted

    def backtest_forecasts(
        self,
        train: pd.DataFrame,
        config: Hyperparameters,
        spec: DataSpec,
        horizon: int,
        offsets: list[int],
        levels: Sequence[int] = (),
    ) -> pd.DataFrame:
        """Validation forecasts for ``auto`` (``unique_id, window, step, y, mean`` and
        ``lo-L``/``hi-L``), each window fitted only on what precedes it. Each series'
        specification (ETS form, ARIMA orders, Theta variant) is searched once, at its earliest
        window, and kept at the later ones, whose parameters are estimated again: the search
        costs ~10x the pinned fit (AutoETS, 1,000 daily points: 0.3 s against 0.03 s), and
        searching at every origin made ``auto`` take 20 s on nine daily series."""
        config = own_config(config, self.Config)
        season = config.season_length or spec.season_length
        members = self.member_names(config)
        check_season(self.name, members, season)
        seasons = self._seasons_before(train, members, spec, season, max(offsets, default=0) + horizon)
        levels = check_levels(levels) if levels else ()
        forecaster = self.FittedType([], spec.freq, season, config.model_dump())
        frames = []
        for series in split_panel(train):
            pinned: list[dict[str, Any]] | None = None
            for window, offset in enumerate(offsets):  # oldest first, as auto's windows
                cut = len(series) - offset - horizon
                if cut < 2:  # as the refitting backtest: too short to have a history here
                    continue
                head = Series(series.unique_id, series.ds[:cut], series.y[:cut])
                state, fits = self._window_fit(head, pinned, members, season, config.window, seasons)
                pinned = state.params["members"]
                forecast = forecaster.forecast_from(state, fits, horizon, levels)
                bounds = {level: (lo[None, :], hi[None, :]) for level, (lo, hi) in forecast.bounds.items()}
                actual = series.y[cut : cut + horizon][None, :]
                frames.append(window_rows([series.unique_id], window, actual, forecast.mean[None, :], bounds))
        if not frames:
            raise ForecastingError(f"{self.name}: no series is long enough for the validation windows")
        # Window by window, as the other families' validation forecasts are ordered.
        return observed_rows(frames).sort_values(
            ["window", "unique_id", "step"], kind="stable", ignore_index=True
        )

    @staticmethod
    def _seasons_before(
        train: pd.DataFrame, members: Sequence[str], spec: DataSpec, season: int, withheld: int
    ) -> Sequence[int]:
        """The seasons MSTL decomposes, confirmed on what precedes the earliest window only."""
        if "mstl" not in members:
            return ()
        spec = dataclasses.replace(spec, season_length=season)
        ordered = train.sort_values(["unique_id", "ds"], kind="stable")  # a CSV may come newest first
        seen = ordered[ordered.groupby("unique_id").cumcount(ascending=False) >= withheld]
        if seen.empty:  # no series reaches back that far: the declared seasons alone
            return spec.declared_seasons or (season,)
        return data_seasons(seen, spec)

    def _window_fit(
        self,
        head: Series,
        pinned: list[dict[str, Any]] | None,
        members: Sequence[str],
        season: int,
        window: int | None,
        seasons: Sequence[int],
    ) -> tuple[SeriesState, list[MemberFit]]:
        if pinned is not None:
            try:
                return refit_statistical_series(head, pinned, season, window)
            except PinnedFitFailed:  # a form these points cannot carry: search again
                pass
        return fit_statistical_series(head, members, season, window, self.name, seasons)


class AutoETSFitted(StatisticalFitted):
    family = "auto_ets"


class AutoARIMAFitted(StatisticalFitted):
    family = "auto_arima"


class AutoThetaFitted(StatisticalFitted):
    family = "auto_theta"


class MSTLFitted(StatisticalFitted):
    family = "mstl"


class EnsembleFitted(StatisticalFitted):
    family = "ensemble"


@register
class AutoETSFamily(_StatisticalFamily):
    name = "auto_ets"
    description = "Exponential smoothing (ETS) with error, trend and season chosen per series by AICc."
    FittedType = AutoETSFitted
    members = ("ets",)


@register
class AutoARIMAFamily(_StatisticalFamily):
    name = "auto_arima"
    description = "ARIMA with orders chosen per series by a stepwise AICc search (Hyndman-Khandakar)."
    FittedType = AutoARIMAFitted
    members = ("arima",)


@register
class AutoThetaFamily(_StatisticalFamily):
    name = "auto_theta"
    description = "Theta method (standard, optimised or dynamic variant chosen per series), an M4 benchmark."
    FittedType = AutoThetaFitted
    members = ("theta",)


@register
class MSTLFamily(_StatisticalFamily):
    name = "mstl"
    description = "Seasonal-trend decomposition (MSTL) with ETS on the trend; for seasonal data only."
    FittedType = MSTLFitted
    members = ("mstl",)


@register
class EnsembleFamily(_StatisticalFamily):
    name = "ensemble"
    description = "Mean (or median) of ETS, ARIMA and Theta forecasts per series; robust when no model wins."
    Config = EnsembleConfig
    FittedType = EnsembleFitted

    def member_names(self, config: StatisticalConfig) -> Sequence[str]:
        assert isinstance(config, EnsembleConfig)
        return config.members
