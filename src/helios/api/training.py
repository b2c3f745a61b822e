"""/api/v1/ml: model families, training jobs, their metrics (also as a live stream), controls."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from helios.api.deps import ContextDep, Cursor, Editor, Limit, ReadSessionDep, SessionDep, Viewer
from helios.context import AppContext
from helios.core.errors import InvalidInput
from helios.core.pagination import DEFAULT_LIMIT
from helios.training import service, views
from helios.training.schemas import (
    FINISHED,
    Comparison,
    EarlyStoppingPatch,
    FamilyList,
    JobAnnotation,
    JobCreate,
    JobList,
    JobRead,
    JobStatus,
    JournalRead,
    MetricsRead,
    RerunRequest,
    ValidationRead,
)

router = APIRouter(prefix="/ml", tags=["training"])
STREAM_POLL_S = 0.2


@router.get("/families", response_model=FamilyList)
def families(_: Viewer) -> FamilyList:
    return views.families()


@router.post("/train", response_model=JobRead, status_code=status.HTTP_201_CREATED)
def train(body: JobCreate, session: SessionDep, actor: Editor) -> JobRead:
    return views.job_read(session, service.create_job(session, body, actor))


@router.get("/jobs", response_model=JobList)
def list_jobs(
    session: ReadSessionDep,
    _: Viewer,
    status: JobStatus | None = None,
    dataset: str | None = None,
    family: str | None = None,
    model: str | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in model, family, tags or note; or a job number")
    ] = None,
    sort: Annotated[
        str, Query(description=f"one of {', '.join(views.SORTABLE)}; '-' first for descending")
    ] = "-created_at",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> JobList:
    return views.list_jobs(
        session,
        status=status,
        dataset=dataset,
        family=family,
        model=model,
        q=q,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@router.get("/jobs/compare", response_model=Comparison)
def compare(
    session: ReadSessionDep,
    _: Viewer,
    ids: Annotated[str, Query(description="comma-separated job ids, at least two")] = "",
) -> Comparison:
    try:
        job_ids = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"ids must be comma-separated job numbers, not {ids!r}") from None
    return views.compare(session, job_ids)


@router.get("/jobs/{job_id}", response_model=JobRead)
def get_job(job_id: int, session: ReadSessionDep, _: Viewer) -> JobRead:
    return views.get_job_read(session, job_id)


@router.get("/jobs/{job_id}/metrics", response_model=MetricsRead)
def metrics(
    job_id: int,
    session: ReadSessionDep,
    _: Viewer,
    since: Annotated[int, Query(ge=0, description="only points after this id")] = 0,
) -> MetricsRead:
    return views.metrics_read(session, job_id, since)


@router.get("/jobs/{job_id}/metrics/stream")
async def metrics_stream(
    job_id: int, request: Request, context: ContextDep, _: Viewer, since: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """Server-sent events: one ``metric`` event per new point, a ``status`` event on every change,
    ending after the job finishes."""
    with context.db.reading() as session:
        views.get_job_read(session, job_id)  # 404 before the stream opens

    async def events():  # type: ignore[no-untyped-def]
        last_id, last_status = since, None
        while not await request.is_disconnected():
            read = await asyncio.to_thread(_poll, context, job_id, last_id)
            points, job_status = read.points, read.status
            for point in points:
                last_id = point.id
                yield f"event: metric\nid: {point.id}\ndata: {point.model_dump_json()}\n\n"
            if job_status != last_status:
                last_status = job_status
                yield f"event: status\ndata: {json.dumps({'status': job_status})}\n\n"
            if job_status in FINISHED and not points:
                return
            await asyncio.sleep(STREAM_POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _poll(context: AppContext, job_id: int, since: int) -> MetricsRead:
    with context.db.reading() as session:
        return views.metrics_read(session, job_id, since)


@router.get("/jobs/{job_id}/journal", response_model=JournalRead)
def journal(job_id: int, session: ReadSessionDep, _: Viewer) -> JournalRead:
    return views.journal_read(session, job_id)


@router.get(
    "/jobs/{job_id}/validation",
    response_model=ValidationRead,
    responses={
        404: {"description": "no such job, or the job kept no validation forecast (the detail says why)"}
    },
)
def validation(job_id: int, session: ReadSessionDep, context: ContextDep, _: Viewer) -> ValidationRead:
    """The forecast the job scored on its holdout, per series (the first 50): history before the origin,
    actuals, the model's forecast and intervals, and the naive forecast; for draws, each held-out draw
    against chance."""
    return views.validation(session, context.store, job_id)


@router.post("/jobs/{job_id}/rerun", response_model=JobRead, status_code=status.HTTP_201_CREATED)
def rerun(job_id: int, session: SessionDep, actor: Editor, body: RerunRequest | None = None) -> JobRead:
    """A new job with this job's settings, on the same dataset version or (``latest_version``) the newest."""
    body = body or RerunRequest()
    return views.job_read(
        session, service.rerun_job(session, job_id, actor, latest_version=body.latest_version)
    )


@router.patch("/jobs/{job_id}", response_model=JobRead)
def annotate(job_id: int, body: JobAnnotation, session: SessionDep, actor: Editor) -> JobRead:
    """Tags (replaced as a whole) and a note on a run; the rest of a job never changes."""
    return views.job_read(session, service.annotate_job(session, job_id, body, actor))


@router.post("/jobs/{job_id}/stop", response_model=JobRead)
def stop(job_id: int, session: SessionDep, actor: Editor) -> JobRead:
    """Stop now, keep the best so far as a model version (status ``stopped_early``)."""
    return views.job_read(session, service.request_stop(session, job_id, actor))


@router.post("/jobs/{job_id}/cancel", response_model=JobRead)
def cancel(job_id: int, session: SessionDep, actor: Editor) -> JobRead:
    """Stop and discard: nothing is registered."""
    return views.job_read(session, service.request_cancel(session, job_id, actor))


@router.patch("/jobs/{job_id}/early-stopping", response_model=JobRead)
def patch_early_stopping(
    job_id: int, body: EarlyStoppingPatch, session: SessionDep, actor: Editor
) -> JobRead:
    return views.job_read(session, service.patch_early_stopping(session, job_id, body, actor))
