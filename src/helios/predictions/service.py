"""Prediction operations: run (inline for one series, a job for many), store, read; scoring and
accuracy live in ``scoring`` and ``accuracy``. Services only flush; the boundary commits."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.core.auth import Principal, record_audit
from helios.core.clock import as_utc, utcnow
from helios.core.errors import InvalidInput, NotFound
from helios.predictions import runs, scoring
from helios.predictions.schemas import MAX_SERIES_INLINE, ActualsRequest, RunRequest, Trigger
from helios.predictions.tables import Prediction, PredictionPoint, PredictionRun
from helios.registry.inference import InferenceCache


def run_inline(
    session: Session,
    store: ArtifactStore,
    cache: InferenceCache,
    request: RunRequest,
    actor: Principal,
    *,
    trigger: Trigger = Trigger.api,
    run_id: int | None = None,
    schedule_id: int | None = None,
    data: runs.DataSnapshot | None = None,
) -> list[Prediction]:
    """Forecast every asked series with every asked model from the dataset version's last
    observation, and store one immutable prediction per (model, series). ``data``: the request's
    snapshot where the caller already has it (one read of the dataset per request, not two)."""
    data = data or runs.snapshot(session, store, request)
    models = [
        runs.load_model(session, store, cache, ref, f"models[{i}]")
        for i, ref in enumerate(request.model_refs())
    ]
    vol_ref = request.volatility_ref()
    volatility = runs.load_model(session, store, cache, vol_ref, "volatility_model") if vol_ref else None
    sigma = runs.volatility_sigma(volatility, data, request.horizon) if volatility else {}
    forecasts = [f for model in models for f in runs.forecast(model, data, request.horizon, request.levels)]
    # One flush for every prediction and one insert for all their points, not one pair each.
    stored = [
        _prediction(data, f, request, volatility, actor, trigger, run_id, schedule_id) for f in forecasts
    ]
    session.add_all(stored)
    session.flush()
    rows = [
        row
        for prediction, f in zip(stored, forecasts, strict=True)
        for row in point_rows(prediction, f.frame, request.levels, sigma)
    ]
    if rows:
        session.execute(insert(PredictionPoint), rows)
    record_audit(
        session,
        actor,
        "predictions.run",
        "dataset",
        data.name,
        {"version": data.version, "series": len(data.series), "predictions": len(stored)},
    )
    return stored


def _prediction(
    data: runs.DataSnapshot,
    forecast: runs.SeriesForecast,
    request: RunRequest,
    volatility: runs.LoadedModel | None,
    actor: Principal,
    trigger: Trigger,
    run_id: int | None,
    schedule_id: int | None,
) -> Prediction:
    model = forecast.model
    prediction = Prediction(
        model_name=model.name,
        model_version=model.version,
        model_version_id=model.version_id,
        family=model.family,
        task="draws" if data.kind == "draws" else model.task,
        dataset_id=data.dataset_id,
        dataset_name=data.name,
        dataset_version=data.version,
        dataset_version_id=data.version_id,
        unique_id=forecast.unique_id,
        origin=as_utc(forecast.origin.to_pydatetime()),
        origin_value=forecast.origin_value,
        naive_scale=forecast.naive_scale,
        horizon=request.horizon,
        levels=request.levels,
        start_mode=forecast.start_mode,
        volatility_model=volatility.name if volatility else None,
        volatility_version=volatility.version if volatility else None,
        trigger=str(trigger),
        run_id=run_id,
        schedule_id=schedule_id,
        created_by=actor.name,
    )
    return prediction


def point_rows(
    prediction: Prediction, frame: pd.DataFrame, levels: list[int], sigma: dict[tuple[str, int], float]
) -> list[dict[str, Any]]:
    """One row per step, read column by column (``to_dict('records')`` per prediction cost more
    than the rest of storing it)."""
    n = len(frame)
    columns = {name: frame[name].tolist() for name in frame.columns}

    def column(name: str) -> list[Any]:
        return columns.get(name, [None] * n)

    rows = []
    for i in range(n):
        step = int(columns["step"][i])
        row: dict[str, Any] = {
            "prediction_id": prediction.id,
            "dataset_id": prediction.dataset_id,
            "unique_id": prediction.unique_id,
            "step": step,
            "ds": as_utc(pd.Timestamp(columns["ds"][i]).to_pydatetime()),
            "mean": _number(column("mean")[i]),
            "sigma": sigma.get((prediction.unique_id, step), _number(column("sigma")[i])),
            "probabilities": column("probabilities")[i],
        }
        for level in levels:
            row[f"lo_{level}"] = _number(column(f"lo-{level}")[i])
            row[f"hi_{level}"] = _number(column(f"hi-{level}")[i])
        rows.append(row)
    return rows


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --- reading ------------------------------------------------------------------------------------


def get_prediction(session: Session, prediction_id: int) -> Prediction:
    prediction = session.get(Prediction, prediction_id)
    if prediction is None:
        raise NotFound(f"no prediction {prediction_id}")
    return prediction


def check_as_of(as_of: dt.datetime | None) -> dt.datetime | None:
    if as_of is None:
        return None
    stamp = as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
    if stamp > utcnow() + dt.timedelta(seconds=5):
        detail = (
            f"as_of {as_of.isoformat()} is in the future; Helios can only say what it had predicted by now"
        )
        raise InvalidInput(detail, errors=[{"field": "as_of", "message": detail}])
    return stamp.astimezone(dt.UTC)


def known_series(session: Session, unique_id: str) -> bool:
    return session.scalar(select(Prediction.id).where(Prediction.unique_id == unique_id).limit(1)) is not None


# --- runs over many series -----------------------------------------------------------------------


def resolve_series(session: Session, store: ArtifactStore, request: RunRequest) -> list[str]:
    """The series a request names, checked against the dataset version (bad names refused)."""
    return runs.snapshot(session, store, request).series


def run_or_enqueue(
    session: Session,
    store: ArtifactStore,
    cache: InferenceCache,
    request: RunRequest,
    actor: Principal,
    *,
    trigger: Trigger,
) -> tuple[list[Prediction], PredictionRun | None]:
    """One series answers inline; more become a run for the prediction worker. Everything a run
    would refuse later (unknown series, model without an active version) is refused now."""
    data = runs.snapshot(session, store, request)
    series = data.series
    if len(series) <= MAX_SERIES_INLINE:
        return run_inline(session, store, cache, request, actor, trigger=trigger, data=data), None
    for i, ref in enumerate(request.model_refs()):
        runs.load_model(session, store, cache, ref, f"models[{i}]")
    return [], enqueue_run(session, request, len(series), actor, trigger=trigger)


def enqueue_run(
    session: Session,
    request: RunRequest,
    series_total: int,
    actor: Principal,
    *,
    trigger: Trigger,
    schedule_id: int | None = None,
) -> PredictionRun:
    run = PredictionRun(
        request=request.model_dump(mode="json"),
        trigger=str(trigger),
        schedule_id=schedule_id,
        series_total=series_total,
        created_by=actor.name,
    )
    session.add(run)
    session.flush()
    record_audit(
        session, actor, "predictions.enqueue", "prediction_run", str(run.id), {"series": series_total}
    )
    return run


def get_run(session: Session, run_id: int) -> PredictionRun:
    run = session.get(PredictionRun, run_id)
    if run is None:
        raise NotFound(f"no prediction run {run_id}")
    return run


# --- actuals ------------------------------------------------------------------------------------


def score_dataset_version(
    session: Session, store: ArtifactStore, dataset: str, version: int | str
) -> dict[str, int]:
    """Score every prediction on ``dataset`` whose targets this version holds (the subscriber to
    ``DatasetVersionCreated`` calls this; so does ``helios predictions score``)."""
    from helios.datasets import service as datasets

    found = datasets.get_version(session, dataset, version)
    frame = datasets.load_frame(store, found)
    if datasets.get_dataset(session, dataset).kind == "draws":
        from helios.predictions.draws import score_draws

        return score_draws(
            session, frame, dataset_id=found.dataset_id, source=f"dataset {dataset} v{found.version}"
        )
    return scoring.score_actuals(
        session,
        frame[["unique_id", "ds", "y"]],
        dataset_ids=[found.dataset_id],
        source=f"dataset {dataset} v{found.version}",
    )


def record_actuals(session: Session, body: ActualsRequest, actor: Principal) -> dict[str, int]:
    """Actuals posted by a person or a system: checked whole before anything is scored."""
    frame = pd.DataFrame([row.model_dump() for row in body.rows])
    _refuse_bad_actuals(frame)
    dataset_ids = None
    if body.dataset is not None:
        from helios.datasets import service as datasets

        try:
            dataset_ids = [datasets.get_dataset(session, body.dataset).id]
        except NotFound as exc:
            raise InvalidInput(exc.detail, errors=[{"field": "dataset", "message": exc.detail}]) from None
    _refuse_unknown_series(session, sorted(frame["unique_id"].unique()), dataset_ids)
    frame["ds"] = pd.to_datetime(frame["ds"], utc=True).dt.tz_convert(None)
    report = scoring.score_actuals(session, frame, dataset_ids=dataset_ids, source="api")
    record_audit(session, actor, "predictions.actuals", "predictions", body.dataset or "*", report)
    return report


def _refuse_bad_actuals(frame: pd.DataFrame) -> None:
    bad = ~np.isfinite(frame["y"].to_numpy(float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        detail = f"rows[{row}].y is not a finite number"
        raise InvalidInput(detail, errors=[{"field": f"rows[{row}].y", "message": detail}])
    duplicated = frame.duplicated(["unique_id", "ds"], keep="first")
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        detail = (
            f"rows[{row}] repeats {frame['unique_id'].iloc[row]} at {frame['ds'].iloc[row]}; "
            "send each (unique_id, ds) once"
        )
        raise InvalidInput(detail, errors=[{"field": f"rows[{row}]", "message": detail}])


def _refuse_unknown_series(session: Session, ids: list[str], dataset_ids: list[int] | None) -> None:
    query = select(Prediction.unique_id).where(Prediction.unique_id.in_(ids)).distinct()
    if dataset_ids is not None:
        query = query.where(Prediction.dataset_id.in_(dataset_ids))
    known = set(session.scalars(query))
    unknown = [uid for uid in ids if uid not in known]
    if unknown:
        detail = f"no prediction was made for series {', '.join(map(repr, unknown[:5]))}; nothing was scored"
        raise InvalidInput(detail, errors=[{"field": "rows.unique_id", "message": detail}])


def model_version_references(session: Session, version_ids: list[int]) -> list[str]:
    """Predictions keep the version that made them: a model with predictions is not deleted."""
    if not version_ids:
        return []
    query = select(func.count(Prediction.id)).where(Prediction.model_version_id.in_(version_ids))
    made = session.scalar(query) or 0
    return [f"{made} prediction(s) in the ledger"] if made else []


def lineage_nodes(session: Session, version_ids: list[int]) -> list[tuple[int, str, str, dict[str, Any]]]:
    """One node per (model version, dataset) with how many predictions it made there, for the
    registry's lineage graph: a version's thousands of predictions stay one readable node."""
    if not version_ids:
        return []
    query = (
        select(
            Prediction.model_version_id,
            Prediction.dataset_name,
            func.count(Prediction.id),
            func.min(Prediction.origin),
            func.max(Prediction.origin),
        )
        .where(Prediction.model_version_id.in_(version_ids))
        .group_by(Prediction.model_version_id, Prediction.dataset_name)
    )
    return [
        (
            version_id,
            f"predictions:{version_id}:{dataset}",
            f"{count} prediction(s) on {dataset}",
            {
                "dataset": dataset,
                "count": count,
                "first_origin": as_utc(first).isoformat(),
                "last_origin": as_utc(last).isoformat(),
                "link": f"/predictions?dataset={dataset}",
            },
        )
        for version_id, dataset, count, first, last in session.execute(query).all()
    ]
