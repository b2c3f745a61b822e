"""/api/v1/predictions: run predictions, read them with their actuals, score against actuals,
accuracy. Thin: parse, call the predictions service, answer a schema."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from helios.api.deps import ContextDep, Cursor, Editor, Limit, ReadSessionDep, SessionDep, Viewer
from helios.core.pagination import DEFAULT_LIMIT
from helios.predictions import accuracy, runs, schedules, service, views
from helios.predictions.schemas import (
    AccuracyReport,
    ActualsRequest,
    PredictionList,
    PredictionRead,
    RunList,
    RunRead,
    RunRequest,
    RunResult,
    ScheduleCreate,
    ScheduleList,
    ScheduleRead,
    ScoreRequest,
    ScoringReport,
    Trigger,
)

router = APIRouter(prefix="/predictions", tags=["predictions"])
PROBLEMS = {
    404: {"description": "the dataset, model or prediction named does not exist"},
    422: {"description": "bad input; `errors` names the field"},
}


@router.post("/run", response_model=RunResult, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
def run(
    body: RunRequest, session: SessionDep, context: ContextDep, actor: Editor, response: Response
) -> RunResult:
    """Forecast from the last observation of the dataset version (default: latest) with each
    model's active version (unless a version or alias is named). One series answers its stored
    predictions (201); more are queued as a run with progress (202, see GET /runs/{id})."""
    stored, queued = service.run_or_enqueue(
        session, context.store, context.inference, body, actor, trigger=Trigger.api
    )
    if queued is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        return RunResult(run=views.run_read(queued))
    return RunResult(predictions=views.prediction_reads(session, stored))


@router.get("/runs", response_model=RunList)
def list_runs(
    session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> RunList:
    return views.list_runs(session, cursor=cursor, limit=limit)


@router.get("/runs/{run_id}", response_model=RunRead, responses=PROBLEMS)
def get_run(run_id: int, session: ReadSessionDep, _: Viewer) -> RunRead:
    return views.run_read(service.get_run(session, run_id))


@router.get("/schedules", response_model=ScheduleList)
def list_schedules(session: ReadSessionDep, _: Viewer) -> ScheduleList:
    found = schedules.list_schedules(session)
    return ScheduleList(items=[views.schedule_read(s) for s in found], total=len(found))


@router.post(
    "/schedules", response_model=ScheduleRead, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
def create_schedule(
    body: ScheduleCreate, session: SessionDep, context: ContextDep, actor: Editor
) -> ScheduleRead:
    """A cron schedule (UTC). What it would run is checked now, so a bad one is refused today."""
    service.resolve_series(session, context.store, body.request)
    for i, ref in enumerate(body.request.model_refs()):
        runs.load_model(session, context.store, context.inference, ref, f"request.models[{i}]")
    return views.schedule_read(schedules.create_schedule(session, body, actor))


@router.delete("/schedules/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
def delete_schedule(name: str, session: SessionDep, actor: Editor) -> Response:
    schedules.delete_schedule(session, name, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/actuals", response_model=ScoringReport, responses=PROBLEMS)
def post_actuals(body: ActualsRequest, session: SessionDep, actor: Editor) -> ScoringReport:
    """Score every prediction these actuals speak for. Idempotent: the same actuals twice change
    nothing; a changed actual is scored again beside the first score, never over it."""
    return ScoringReport(**service.record_actuals(session, body, actor))


@router.post("/score", response_model=ScoringReport, responses=PROBLEMS)
def score_version(body: ScoreRequest, session: SessionDep, context: ContextDep, _: Editor) -> ScoringReport:
    """Score predictions against a dataset version (what happens by itself when one arrives)."""
    return ScoringReport(**service.score_dataset_version(session, context.store, body.dataset, body.version))


@router.get("/accuracy", response_model=AccuracyReport, responses=PROBLEMS)
def get_accuracy(
    session: ReadSessionDep,
    _: Viewer,
    model: Annotated[str | None, Query(max_length=64)] = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    ticker: Annotated[str | None, Query(max_length=128, description="one series")] = None,
    dataset: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[dt.datetime | None, Query(description="targets on or after")] = None,
    end: Annotated[dt.datetime | None, Query(description="targets on or before")] = None,
    per_series: bool = True,
    rolling: Annotated[Literal["D", "W", "M"], Query(description="rolling period")] = "W",
) -> AccuracyReport:
    """Per model version (and series): MAE, MAPE, sMAPE, MASE, RMSE, coverage with its binomial
    interval, interval score, direction, skill against naive with a verdict in words; by step and rolling."""
    return accuracy.accuracy(
        session,
        model=model,
        version=version,
        unique_id=ticker,
        dataset=dataset,
        start=_naive(start),
        end=_naive(end),
        per_series=per_series,
        rolling=rolling,
    )


@router.get("/by-id/{prediction_id}", response_model=PredictionRead, responses=PROBLEMS)
def get_prediction(prediction_id: int, session: ReadSessionDep, _: Viewer) -> PredictionRead:
    [read] = views.prediction_reads(session, [service.get_prediction(session, prediction_id)])
    return read


@router.get(
    "/by-id/{prediction_id}/csv",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"text/csv": {}}, "description": "one row per point"}},
)
def download_prediction(prediction_id: int, session: ReadSessionDep, _: Viewer) -> Response:
    """The prediction as CSV, one row per step: ``model, model_version, dataset, dataset_version,
    unique_id, origin, start_mode, step, ds, mean, lo_L, hi_L`` per level, ``sigma``, ``actual``
    (draw predictions: ``step, ds, slot, number, probability``)."""
    [read] = views.prediction_reads(session, [service.get_prediction(session, prediction_id)])
    return Response(
        views.prediction_csv(read),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{views.csv_filename(read)}"'},
    )


TICKER_LIST_DOC = """A ticker's predictions, newest first, with the actuals beside each point where known.

`GET /predictions/series/{ticker}` is the canonical address: it reads any ticker, including one
named like a fixed route here (`runs`, `schedules`, `accuracy`, `by-id`, `run`, `actuals`,
`score`) and one with a `/` in its name. `GET /predictions/{ticker}` is kept for the tickers that
do not collide; for `runs`, `schedules` and `accuracy` it answers that fixed route instead."""


@router.get(
    "/series/{ticker:path}",
    response_model=PredictionList,
    responses=PROBLEMS,
    summary="A ticker's predictions (canonical)",
    description=TICKER_LIST_DOC,
)
@router.get(
    "/{ticker}",
    response_model=PredictionList,
    responses=PROBLEMS,
    summary="A ticker's predictions (short form)",
    description=TICKER_LIST_DOC,
)
def list_for_ticker(
    ticker: str,
    session: ReadSessionDep,
    _: Viewer,
    model: Annotated[str | None, Query(max_length=64)] = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    start: Annotated[dt.datetime | None, Query(description="origin on or after")] = None,
    end: Annotated[dt.datetime | None, Query(description="origin on or before")] = None,
    latest: Annotated[bool, Query(description="only the newest prediction per model")] = False,
    as_of: Annotated[
        dt.datetime | None, Query(description="what Helios had predicted as of this time")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> PredictionList:
    as_of = service.check_as_of(as_of)
    return views.list_predictions(
        session,
        ticker,
        model=model,
        version=version,
        start=_naive(start),
        end=_naive(end),
        latest=latest,
        as_of=as_of,
        cursor=cursor,
        limit=limit,
    )


def _naive(stamp: dt.datetime | None) -> dt.datetime | None:
    if stamp is None:
        return stamp
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
