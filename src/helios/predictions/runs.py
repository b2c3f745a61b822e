"""Making predictions: resolve what was asked (dataset version, series, model versions), move
each model to the last observation of that data (``forecasting.forward.advance``) and forecast.

The registry's service loads versions (through the inference cache, so a warm model costs no
load) and the datasets' service reads the data; neither domain's tables are touched here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.core.errors import HeliosError, InvalidInput, NotFound
from helios.datasets import service as datasets
from helios.predictions.schemas import ModelRef, RunRequest
from helios.registry import service as registry
from helios.registry.inference import InferenceCache


@dataclass
class DataSnapshot:
    """The dataset version a run reads, and the series it predicts."""

    dataset_id: int
    name: str
    kind: str
    version: int
    version_id: int
    frame: pd.DataFrame
    series: list[str]
    # Where each series' rows are in ``frame`` (sorted by series, then ds), where known.
    spans: dict[str, tuple[int, int]] | None = field(default=None, repr=False)


@dataclass
class LoadedModel:
    name: str
    version: int
    version_id: int
    family: str
    task: str
    fitted: Any


@dataclass
class SeriesForecast:
    """One model's forecast for one series, ready to be stored."""

    model: LoadedModel
    unique_id: str
    origin: pd.Timestamp
    origin_value: float | None
    naive_scale: float | None
    start_mode: str
    frame: pd.DataFrame  # ds, step, mean, sigma, lo-L/hi-L (or probabilities per step for draws)


def field_error(error: type[HeliosError], field: str, detail: str) -> HeliosError:
    return error(detail, errors=[{"field": field, "message": detail}])


# --- resolving the request ------------------------------------------------------------------------


def snapshot(session: Session, store: ArtifactStore, request: RunRequest) -> DataSnapshot:
    try:
        dataset = datasets.get_dataset(session, request.dataset)
        version = datasets.get_version(session, request.dataset, request.dataset_version)
    except NotFound as exc:
        raise field_error(NotFound, "dataset", exc.detail) from None
    if dataset.kind == "draws":
        frame = datasets.load_frame(store, version)
        frame = frame.assign(unique_id=(version.rules or {}).get("name", dataset.name))
        available, spans = sorted(map(str, frame["unique_id"].unique())), None
    else:
        frame, available, spans = _prepared(store, version)
    return DataSnapshot(
        dataset.id,
        dataset.name,
        dataset.kind,
        version.version,
        version.id,
        frame,
        chosen_series(request.series, available, dataset.name, version.version),
        spans,
    )


# A dataset version never changes, so its frame is read, sorted and indexed once per process:
# an on-demand prediction for one ticker then slices its rows instead of filtering and sorting
# the whole version on every request.
PREPARED_KEEP = 4  # versions kept (least recently used goes first)
_prepared_frames: OrderedDict[str, tuple[pd.DataFrame, list[str], dict[str, tuple[int, int]]]] = OrderedDict()
_prepared_lock = threading.Lock()


def _prepared(
    store: ArtifactStore, version: Any
) -> tuple[pd.DataFrame, list[str], dict[str, tuple[int, int]]]:
    key = f"{version.id}:{version.artifact_key}"
    with _prepared_lock:
        if key in _prepared_frames:
            _prepared_frames.move_to_end(key)
            return _prepared_frames[key]
    frame = datasets.load_frame(store, version)
    frame = frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    ids = frame["unique_id"].astype(str).to_numpy()
    edges = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate([[0], edges]).astype(int)
    stops = np.concatenate([edges, [len(ids)]]).astype(int)
    spans = {str(ids[a]): (int(a), int(b)) for a, b in zip(starts, stops, strict=True)} if len(ids) else {}
    prepared = (frame, sorted(spans), spans)
    with _prepared_lock:
        _prepared_frames[key] = prepared
        while len(_prepared_frames) > PREPARED_KEEP:
            _prepared_frames.popitem(last=False)
    return prepared


def chosen_series(wanted: str | list[str], available: list[str], dataset: str, version: int) -> list[str]:
    if wanted == "all":
        return available
    names = [wanted] if isinstance(wanted, str) else list(dict.fromkeys(wanted))
    if not names:
        raise field_error(InvalidInput, "series", "series is empty: name a ticker, a list, or 'all'")
    known = set(available)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise field_error(
            InvalidInput,
            "series",
            f"unknown series {', '.join(map(repr, unknown[:5]))} in {dataset} v{version} "
            f"(it has {len(available)} series, e.g. {', '.join(available[:5])})",
        )
    return names


def load_model(
    session: Session, store: ArtifactStore, cache: InferenceCache, ref: ModelRef, field: str
) -> LoadedModel:
    try:
        model = registry.get_model(session, ref.name)
        version = registry.get_version(session, model, ref.version, alias=ref.alias)
    except NotFound as exc:
        detail = exc.detail
        if ref.version is None and ref.alias is None and "active" in detail:
            detail += "; deploy a version as active, or name a version or alias"
        raise field_error(InvalidInput, field, detail) from None
    if model.kind != "ml":
        raise field_error(InvalidInput, field, f"model {model.name!r} is an llm model; it makes no forecasts")
    entry, _, _ = cache.load(store, model.name, version)
    return LoadedModel(
        model.name, version.version, version.id, version.family or "", model.task, entry.fitted
    )


# --- forecasting --------------------------------------------------------------------------------


def horizon_limit(fitted: Any) -> int | None:
    """The longest horizon a model can forecast, where it has one (neural, conformal)."""
    inner = getattr(fitted, "inner", None)
    own = getattr(fitted, "horizon", None)
    config = getattr(fitted, "config", None)
    limits = [
        value
        for value in (
            own if isinstance(own, int) else None,
            getattr(config, "horizon", None) if config is not None and not isinstance(config, dict) else None,
            horizon_limit(inner) if inner is not None else None,
        )
        if isinstance(value, int)
    ]
    return min(limits) if limits else None


def forecast(model: LoadedModel, data: DataSnapshot, horizon: int, levels: list[int]) -> list[SeriesForecast]:
    from helios.forecasting.base import ForecastingError
    from helios.forecasting.forward import advance

    limit = horizon_limit(model.fitted)
    if limit is not None and horizon > limit:
        raise field_error(
            InvalidInput,
            "horizon",
            f"{model.name} v{model.version} forecasts at most {limit} steps ahead; "
            f"horizon {horizon} is beyond it",
        )
    history = history_of(data)
    try:
        moved, mode = advance(model.fitted, history)
        frame = moved.predict(horizon, levels=tuple(levels))
    except ForecastingError as exc:
        field = "horizon" if "horizon" in str(exc) else "series"
        raise field_error(InvalidInput, field, f"{model.name} v{model.version}: {exc}") from None
    if data.kind == "draws":
        return [_draw_forecast(model, data, history, frame, str(mode))]
    # Each series' own history, split once: looking it up per series in the whole chunk's history
    # made a run over many series quadratic in its chunk size.
    own = dict(iter(history.groupby(history["unique_id"].astype(str), sort=False)))
    return [
        _series_forecast(model, uid, group, own[uid], str(mode))
        for uid, group in frame.groupby(frame["unique_id"].astype(str), sort=False)
    ]


def history_of(data: DataSnapshot) -> pd.DataFrame:
    frame = data.frame
    if data.kind == "draws":
        return frame
    if data.spans is not None:  # already sorted by series and ds: slice the chosen series' rows
        spans = sorted(data.spans[uid] for uid in data.series)
        parts = [frame.iloc[start:stop] for start, stop in spans]
        chosen = parts[0] if len(parts) == 1 else pd.concat(parts)
        return chosen[["unique_id", "ds", "y"]].copy()
    chosen = frame[frame["unique_id"].astype(str).isin(data.series)]
    return chosen[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="stable")


def _series_forecast(
    model: LoadedModel, uid: str, group: pd.DataFrame, history: pd.DataFrame, mode: str
) -> SeriesForecast:
    """``history``: this series' rows only, oldest first."""
    y = history["y"].to_numpy(dtype=float)
    origin = pd.Timestamp(history["ds"].iloc[-1])
    steps = np.abs(np.diff(y))
    out = group.drop(columns="unique_id").reset_index(drop=True)
    out.insert(1, "step", np.arange(1, len(out) + 1))
    return SeriesForecast(
        model,
        uid,
        origin,
        float(y[-1]) if len(y) else None,
        float(steps.mean()) if len(steps) and steps.mean() > 0 else None,
        mode,
        out,
    )


def _draw_forecast(
    model: LoadedModel, data: DataSnapshot, history: pd.DataFrame, frame: pd.DataFrame, mode: str
) -> SeriesForecast:
    rows = []
    for (step, ds), group in frame.groupby(["step", "ds"], sort=True):
        probabilities = {}
        for slot in ("main", "bonus"):
            part = group[group["slot"] == slot].sort_values("number")
            probabilities[f"{slot}_low"] = int(part["number"].iloc[0]) if len(part) else 1
            probabilities[slot] = [round(float(p), 8) for p in part["probability"]]
        rows.append({"ds": ds, "step": int(step), "mean": None, "probabilities": probabilities})
    origin = pd.Timestamp(pd.to_datetime(history["ds"]).max())
    return SeriesForecast(model, data.series[0], origin, None, None, mode, pd.DataFrame(rows))


def volatility_sigma(model: LoadedModel, data: DataSnapshot, horizon: int) -> dict[tuple[str, int], float]:
    """Predicted sigma (percent log return) per (series, step), to lay over a price prediction."""
    if model.task != "volatility":
        raise field_error(
            InvalidInput,
            "volatility_model",
            f"{model.name} is a {model.task} model; a volatility overlay needs a garch or realized_vol model",
        )
    [forecasts] = [forecast(model, data, horizon, [80])]
    return {
        (f.unique_id, int(step)): float(sigma)
        for f in forecasts
        for step, sigma in zip(f.frame["step"], f.frame["sigma"], strict=True)
    }
