"""``auto``: per series, the candidate family that forecast best on rolling origins inside the
training data (or the mean of the best few).

Every candidate is backtested on the last ``n_windows`` origins of the *training* data only, so
the choice never sees what it will be judged on. Each series scores each candidate by an OWA-like
relative error: half its sMAPE over the candidates' mean sMAPE plus half its MASE over theirs.
The chosen candidates are then refitted on all the data. Series too short to validate take the
first candidate that fits them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from helios.forecasting.backtest import backtest
from helios.forecasting.base import (
    DEFAULT_LEVELS,
    DataSpec,
    FitContext,
    Fitted,
    ForecastingError,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.families import get_family, register
from helios.forecasting.panel import check_horizon, check_levels, interval_columns, nested_config, own_config


class AutoConfig(Hyperparameters):
    candidates: list[str] = Field(
        default=["auto_ets", "auto_theta", "naive"],
        min_length=1,
        description="Families to choose from; 'family@label' names a variant (e.g. auto_ets@recent).",
    )
    candidate_configs: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Hyperparameters per candidate, by its name in candidates."
    )
    horizon: int = Field(default=12, ge=1, le=1000, description="Steps ahead each validation window scores.")
    n_windows: int = Field(
        default=1, ge=1, le=50, description="Validation origins at the end of the training data."
    )
    step: int | None = Field(
        default=None, ge=1, description="Points between origins; empty means the horizon."
    )
    selection: Literal["best", "combine", "all"] = Field(
        default="best",
        description="Keep the best candidate per series, average the best top_k, or average all "
        "candidates everywhere ('all' skips validation: a fixed combination).",
    )
    top_k: int = Field(default=2, ge=1, le=10, description="How many candidates 'combine' averages.")


def candidate_family(candidate: str) -> str:
    """``auto_ets@recent`` is a variant of ``auto_ets``: the same family with its own config."""
    return candidate.split("@", 1)[0]


def relative_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """Series x candidate table of 0.5 * (sMAPE / mean sMAPE + MASE / mean MASE) over the
    candidates of that series; lower is better, missing candidates are +inf."""
    mean = metrics.groupby(["unique_id", "candidate"])[["smape", "mase"]].mean()
    smape = mean["smape"].unstack("candidate")
    mase = mean["mase"].unstack("candidate")
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 0.5 * (smape.div(smape.mean(axis=1), axis=0) + mase.div(mase.mean(axis=1), axis=0))
    # 0/0 (every candidate exact) or a failed candidate: +inf, never ranked; a series left with no
    # finite score takes the first candidate.
    return score.fillna(np.inf)


def choose(
    scores: pd.DataFrame, candidates: Sequence[str], selection: str, top_k: int
) -> dict[str, list[str]]:
    ordered = scores.reindex(columns=list(candidates)).fillna(np.inf)
    count = top_k if selection == "combine" else 1
    choices = {}
    for uid, row in ordered.iterrows():
        ranked = [name for name in row.sort_values(kind="stable").index if np.isfinite(row[name])]
        choices[str(uid)] = ranked[:count]
    return choices


class AutoFitted(Fitted):
    family = "auto"

    def __init__(self, members: dict[str, Fitted], choices: dict[str, list[str]], scores: pd.DataFrame):
        self.members = members  # candidate name -> fitted on the series that chose it
        self.choices = choices  # series -> chosen candidates
        self.scores = scores  # validation scores, series x candidate (for people asking "why this one?")

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        frames = [
            fitted.predict(horizon, levels).assign(_candidate=name) for name, fitted in self.members.items()
        ]
        every = pd.concat(frames, ignore_index=True)
        wanted = pd.DataFrame(
            [(uid, name) for uid, names in self.choices.items() for name in names],
            columns=["unique_id", "_candidate"],
        )
        chosen = every.merge(wanted, on=["unique_id", "_candidate"], how="inner")
        value_columns = ["mean", *interval_columns(levels)]
        # Averaging bounds as well as means: quantile averaging, as ensemble does.
        combined = chosen.groupby(["unique_id", "ds"], sort=False)[value_columns].mean().reset_index()
        series_order = pd.Categorical(combined["unique_id"], categories=list(self.choices), ordered=True)
        return (
            combined.assign(_order=series_order)
            .sort_values(["_order", "ds"], kind="stable")
            .drop(columns="_order")
            .reset_index(drop=True)
        )

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta: dict[str, Any] = {
            "choices": self.choices,
            "members": {},
            "score_series": list(map(str, self.scores.index)),
            "score_candidates": list(self.scores.columns),
        }
        arrays = {"scores": self.scores.to_numpy(dtype=float)}
        for name, fitted in self.members.items():
            member_meta, member_arrays = fitted.to_state()
            meta["members"][name] = {"family": fitted.family, "state": member_meta}
            arrays |= {f"member/{name}/{key}": value for key, value in member_arrays.items()}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> AutoFitted:
        members = {}
        for name, entry in meta["members"].items():
            prefix = f"member/{name}/"
            own = {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}
            members[name] = get_family(entry["family"]).FittedType.from_state(entry["state"], own)
        scores = pd.DataFrame(arrays["scores"], index=meta["score_series"], columns=meta["score_candidates"])
        return cls(members, {uid: list(names) for uid, names in meta["choices"].items()}, scores)


@register
class Auto(ModelFamily):
    name = "auto"
    task = "timeseries"
    description = (
        "Per series, the candidate family that validated best on rolling origins (or the best few, averaged)."
    )
    Config = AutoConfig
    FittedType = AutoFitted

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> AutoFitted:
        config = own_config(config, AutoConfig)
        if any(candidate_family(name) == self.name for name in config.candidates):
            raise ForecastingError("auto cannot be its own candidate")
        families = {name: get_family(candidate_family(name)) for name in config.candidates}
        settings = {
            name: nested_config(families[name], config.candidate_configs.get(name), f"candidate {name}")
            for name in families
        }
        series_ids = sorted(pd.unique(train["unique_id"].astype(str)))  # the order every family returns
        if config.selection == "all":
            scores = pd.DataFrame(np.nan, index=series_ids, columns=config.candidates)
            choices = {uid: list(config.candidates) for uid in series_ids}
        else:
            metrics = self._validate(train, families, settings, spec, config)
            scores = relative_scores(metrics).reindex(index=series_ids, columns=config.candidates)
            choices = choose(scores.fillna(np.inf), config.candidates, config.selection, config.top_k)
        for uid, names in choices.items():
            if not names:  # too short to validate: the first candidate, as configured
                choices[uid] = [config.candidates[0]]
        context = context or FitContext()
        members = self._fit_members(
            train, families, settings, spec, choices, FitContext(control=context.control)
        )
        summary = {
            "epochs_run": 0,
            "series": len(choices),
            "family": self.name,
            "stopped_reason": None,
            "chosen": {name: sum(name in names for names in choices.values()) for name in config.candidates},
        }
        for callback in context.callbacks:
            callback.on_train_end(summary, context.control)
        return AutoFitted(members, choices, scores)

    def _validate(
        self,
        train: pd.DataFrame,
        families: dict[str, ModelFamily],
        settings: dict[str, Hyperparameters],
        spec: DataSpec,
        config: AutoConfig,
    ) -> pd.DataFrame:
        results = []
        for name, family in families.items():
            try:
                result = backtest(
                    train,
                    family,
                    spec,
                    config.horizon,
                    config.n_windows,
                    config.step,
                    settings[name],
                    levels=(),
                    min_train_size=2,
                )
            except ForecastingError:
                continue  # a candidate that cannot fit this data (e.g. mstl without a season) is not chosen
            results.append(result.metrics.assign(candidate=name))
        if not results:
            return pd.DataFrame(columns=["unique_id", "candidate", "smape", "mase"])
        return pd.concat(results, ignore_index=True)

    def _fit_members(
        self,
        train: pd.DataFrame,
        families: dict[str, ModelFamily],
        settings: dict[str, Hyperparameters],
        spec: DataSpec,
        choices: dict[str, list[str]],
        context: FitContext,
    ) -> dict[str, Fitted]:
        ids = train["unique_id"].astype(str)
        members = {}
        for name, family in families.items():
            wanted = {uid for uid, names in choices.items() if name in names}
            if wanted:
                members[name] = family.fit(train[ids.isin(wanted)], settings[name], spec, context)
        return members
