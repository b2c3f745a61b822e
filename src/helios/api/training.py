"""/api/v1/ml: model families, training jobs, their metrics (also as a live stream), controls."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from helios.api.deps import ContextDep, Editor, ReadSessionDep, SessionDep, Viewer
from helios.core.errors import InvalidInput
from helios.training import service
from helios.training.schemas import (
    Comparison,
    EarlyStoppingPatch,
    FamilyList,
    JobCreate,
    JobList,
    JobRead,
    JobStatus,
    JournalRead,
    MetricsRead,
)
from helios.training.tables import FINISHED

router = APIRouter(prefix="/ml", tags=["training"])
STREAM_POLL_S = 0.2


@router.get("/families", response_model=FamilyList)
def families(_: Viewer) -> FamilyList:
    return service.families()


@router.post("/train", response_model=JobRead, status_code=status.HTTP_201_CREATED)
def train(body: JobCreate, session: SessionDep, actor: Editor) -> JobRead:
    job = service.create_job(session, body, actor)
    return service.job_reads(session, [job])[0]


@router.get("/jobs", response_model=JobList)
def list_jobs(
    session: ReadSessionDep,
    _: Viewer,
    status: JobStatus | None = None,
    dataset: str | None = None,
    family: str | None = None,
    model: str | None = None,
    sort: Annotated[str, Query(description="field, '-' for descending")] = "-created_at",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobList:
    jobs, total = service.list_jobs(
        session,
        status=status,
        dataset=dataset,
        family=family,
        model=model,
        sort=sort,
        offset=offset,
        limit=limit,
    )
    return JobList(items=service.job_reads(session, jobs), total=total, offset=offset, limit=limit)


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
    return service.compare(session, job_ids)


@router.get("/jobs/{job_id}", response_model=JobRead)
def get_job(job_id: int, session: ReadSessionDep, _: Viewer) -> JobRead:
    return service.job_reads(session, [service.get_job(session, job_id)])[0]


@router.get("/jobs/{job_id}/metrics", response_model=MetricsRead)
def metrics(
    job_id: int,
    session: ReadSessionDep,
    _: Viewer,
    since: Annotated[int, Query(ge=0, description="only points after this id")] = 0,
) -> MetricsRead:
    job = service.get_job(session, job_id)
    points = service.metrics(session, job_id, since)
    return MetricsRead(
        job_id=job_id,
        status=job.status,
        points=points,  # type: ignore[arg-type]
        last_id=points[-1].id if points else since,
    )


@router.get("/jobs/{job_id}/metrics/stream")
async def metrics_stream(
    job_id: int, request: Request, context: ContextDep, _: Viewer, since: Annotated[int, Query(ge=0)] = 0
) -> StreamingResponse:
    """Server-sent events: one ``metric`` event per new point, a ``status`` event on every change,
    ending after the job finishes."""
    with context.db.reading() as session:
        service.get_job(session, job_id)  # 404 before the stream opens

    async def events():  # type: ignore[no-untyped-def]
        last_id, last_status = since, None
        while not await request.is_disconnected():
            points, job_status = await asyncio.to_thread(_poll, context, job_id, last_id)
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


def _poll(context, job_id: int, since: int):  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return service.metrics(session, job_id, since), service.get_job(session, job_id).status


@router.get("/jobs/{job_id}/journal", response_model=JournalRead)
def journal(job_id: int, session: ReadSessionDep, _: Viewer) -> JournalRead:
    service.get_job(session, job_id)
    return JournalRead(job_id=job_id, items=service.journal_lines(session, job_id))


@router.post("/jobs/{job_id}/stop", response_model=JobRead)
def stop(job_id: int, session: SessionDep, actor: Editor) -> JobRead:
    """Stop now, keep the best so far as a model version (status ``stopped_early``)."""
    return service.job_reads(session, [service.request_stop(session, job_id, actor)])[0]


@router.post("/jobs/{job_id}/cancel", response_model=JobRead)
def cancel(job_id: int, session: SessionDep, actor: Editor) -> JobRead:
    """Stop and discard: nothing is registered."""
    return service.job_reads(session, [service.request_cancel(session, job_id, actor)])[0]


@router.patch("/jobs/{job_id}/early-stopping", response_model=JobRead)
def patch_early_stopping(
    job_id: int, body: EarlyStoppingPatch, session: SessionDep, actor: Editor
) -> JobRead:
    return service.job_reads(session, [service.patch_early_stopping(session, job_id, body, actor)])[0]
