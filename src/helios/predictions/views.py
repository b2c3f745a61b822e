"""Read views: predictions with their points and, where known, the actuals and scores beside
them. Each page costs three queries (predictions, points, scores), never one per row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from helios.core.clock import as_utc
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count
from helios.predictions.schemas import (
    PointRead,
    PredictionList,
    PredictionRead,
    RunList,
    RunRead,
    ScheduleRead,
)
from helios.predictions.tables import (
    Prediction,
    PredictionPoint,
    PredictionRun,
    PredictionSchedule,
    PredictionScore,
)

PREDICTIONS = Keyset("predictions", (Prediction.id,), descending=True)


def list_predictions(
    session: Session,
    unique_id: str,
    *,
    model: str | None = None,
    version: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    latest: bool = False,
    as_of: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> PredictionList:
    """A ticker's predictions, newest first. ``as_of`` keeps what existed then; ``latest`` keeps
    the newest per model (and version, when one is named); ``start``/``end`` bound the origin."""
    query = _filtered(unique_id, model, version, start, end, as_of)
    if latest:
        group = [Prediction.model_name] + ([Prediction.model_version] if version else [])
        newest = (
            _filtered(unique_id, model, version, start, end, as_of)
            .with_only_columns(func.max(Prediction.id))
            .group_by(*group)
        )
        query = select(Prediction).where(Prediction.id.in_(newest))
    rows, next_cursor = PREDICTIONS.page(session, query, cursor=cursor, limit=limit)
    return PredictionList(
        items=prediction_reads(session, rows), next_cursor=next_cursor, total=count(session, query)
    )


def newest_subject(
    session: Session, model: str | None = None, version: int | None = None
) -> tuple[str, str] | None:
    """(dataset, series) of the newest prediction (of a model, a version): where the page opens."""
    query = select(Prediction.dataset_name, Prediction.unique_id)
    if model:
        query = query.where(Prediction.model_name == model)
    if version:
        query = query.where(Prediction.model_version == version)
    found = session.execute(query.order_by(Prediction.id.desc()).limit(1)).first()
    return (found[0], found[1]) if found else None


def _filtered(
    unique_id: str,
    model: str | None,
    version: int | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    as_of: dt.datetime | None,
) -> Select:
    query = select(Prediction).where(Prediction.unique_id == unique_id)
    if model:
        query = query.where(Prediction.model_name == model)
    if version:
        query = query.where(Prediction.model_version == version)
    if start:
        query = query.where(Prediction.origin >= start)
    if end:
        query = query.where(Prediction.origin <= end)
    if as_of:
        query = query.where(Prediction.created_at <= as_of)
    return query


def prediction_reads(session: Session, predictions: list[Prediction]) -> list[PredictionRead]:
    ids = [p.id for p in predictions]
    points = _points(session, ids)
    scores = _scores(session, ids)
    return [prediction_read(p, points.get(p.id, []), scores) for p in predictions]


def _points(session: Session, ids: list[int]) -> dict[int, list[PredictionPoint]]:
    grouped: dict[int, list[PredictionPoint]] = defaultdict(list)
    if ids:
        query = select(PredictionPoint).where(PredictionPoint.prediction_id.in_(ids))
        for point in session.scalars(query.order_by(PredictionPoint.prediction_id, PredictionPoint.step)):
            grouped[point.prediction_id].append(point)
    return grouped


def _scores(session: Session, ids: list[int]) -> dict[int, tuple[PredictionScore, PredictionScore]]:
    """point id -> (first score, latest score)."""
    found: dict[int, dict[str, PredictionScore]] = defaultdict(dict)
    if ids:
        query = select(PredictionScore).where(
            PredictionScore.prediction_id.in_(ids),
            (PredictionScore.revision == 0) | PredictionScore.latest.is_(True),
        )
        for score in session.scalars(query):
            if score.revision == 0:
                found[score.point_id]["first"] = score
            if score.latest:
                found[score.point_id]["latest"] = score
    return {pid: (s["first"], s["latest"]) for pid, s in found.items() if "first" in s and "latest" in s}


def prediction_read(
    prediction: Prediction,
    points: list[PredictionPoint],
    scores: dict[int, tuple[PredictionScore, PredictionScore]],
) -> PredictionRead:
    return PredictionRead(
        id=prediction.id,
        model=prediction.model_name,
        model_version=prediction.model_version,
        family=prediction.family,
        task=prediction.task,
        dataset=prediction.dataset_name,
        dataset_version=prediction.dataset_version,
        unique_id=prediction.unique_id,
        origin=as_utc(prediction.origin),
        origin_value=prediction.origin_value,
        horizon=prediction.horizon,
        levels=list(prediction.levels),
        start_mode=prediction.start_mode,
        volatility_model=prediction.volatility_model,
        volatility_version=prediction.volatility_version,
        trigger=prediction.trigger,
        run_id=prediction.run_id,
        created_at=as_utc(prediction.created_at),
        created_by=prediction.created_by,
        points=[point_read(point, prediction.levels, scores.get(point.id)) for point in points],
    )


def point_read(
    point: PredictionPoint, levels: list[int], scores: tuple[PredictionScore, PredictionScore] | None
) -> PointRead:
    read = PointRead(
        step=point.step,
        ds=as_utc(point.ds),
        mean=point.mean,
        sigma=point.sigma,
        bounds={
            str(level): [getattr(point, f"lo_{level}"), getattr(point, f"hi_{level}")] for level in levels
        }
        if point.probabilities is None
        else {},
        probabilities=point.probabilities,
    )
    if scores is not None:
        first, latest = scores
        read.actual, read.actual_draw, read.error = latest.actual, latest.actual_draw, latest.error
        read.inside = {str(level): getattr(latest, f"inside_{level}") for level in levels}
        read.matches = latest.matches
        if latest.revision > 0:
            read.first_actual = first.actual
    return read


def prediction_csv(read: PredictionRead) -> str:
    """One row per step (per step and number for a draw prediction), with what the prediction
    is beside each row so a file read alone still says which model, data and origin made it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if read.task == "draws":
        writer.writerow(["step", "ds", "slot", "number", "probability"])
        writer.writerows(_draw_rows(read))
        return buffer.getvalue()
    levels = [str(level) for level in read.levels]
    bound_names = [f"{end}_{level}" for level in levels for end in ("lo", "hi")]
    writer.writerow([*CSV_HEAD, "step", "ds", "mean", *bound_names, "sigma", "actual"])
    head = [
        read.model,
        read.model_version,
        read.dataset,
        read.dataset_version,
        read.unique_id,
        read.origin.isoformat(),
        read.start_mode,
    ]
    for point in read.points:
        bounds = [b for lv in levels for b in point.bounds.get(lv, [None, None])]
        writer.writerow(
            [*head, point.step, point.ds.isoformat(), point.mean, *bounds, point.sigma, point.actual]
        )
    return buffer.getvalue()


CSV_HEAD = ("model", "model_version", "dataset", "dataset_version", "unique_id", "origin", "start_mode")


def _draw_rows(read: PredictionRead) -> list[list[Any]]:
    rows = []
    for point in read.points:
        chances = point.probabilities or {}
        for slot in ("main", "bonus"):
            low = int(chances.get(f"{slot}_low", 1))
            for i, probability in enumerate(chances.get(slot, [])):
                rows.append([point.step, point.ds.isoformat(), slot, low + i, probability])
    return rows


def csv_filename(read: PredictionRead) -> str:
    stem = f"{read.model}-v{read.model_version}-{read.unique_id}-prediction-{read.id}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + ".csv"


RUNS = Keyset("prediction_runs", (PredictionRun.id,), descending=True)


def run_read(run: PredictionRun) -> RunRead:
    read = RunRead.model_validate(run)
    for field in ("created_at", "started_at", "finished_at"):
        value = getattr(read, field)
        setattr(read, field, as_utc(value) if value is not None else None)
    return read


def list_runs(session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> RunList:
    rows, next_cursor = RUNS.page(session, select(PredictionRun), cursor=cursor, limit=limit)
    return RunList(items=[run_read(r) for r in rows], next_cursor=next_cursor)


def schedule_read(schedule: PredictionSchedule) -> ScheduleRead:
    read = ScheduleRead.model_validate(schedule)
    read.next_run_at = as_utc(read.next_run_at)
    read.last_run_at = as_utc(read.last_run_at) if read.last_run_at else None
    return read
