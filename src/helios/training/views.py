"""Read views of training: rows -> schemas. Routers, the UI and the CLI read jobs through here."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.core.clock import as_utc, utcnow
from helios.core.errors import InvalidInput, NotFound
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count
from helios.core.parsing import LIKE_ESCAPE, like_contains
from helios.datasets import service as datasets
from helios.registry import service as registry
from helios.training import evaluation
from helios.training.schemas import (
    Comparison,
    FamilyList,
    FamilyRead,
    JobList,
    JobRead,
    JobStatus,
    JournalLine,
    JournalRead,
    MetricPoint,
    MetricsRead,
    RunCurves,
    ValidationRead,
)
from helios.training.service import get_job
from helios.training.tables import TrainingJob, TrainingJournal, TrainingMetric

# The orders a job list can walk in, by their ``sort`` name; the id breaks ties so each key is unique.
SORTABLE = ("created_at", "status", "family", "id")


def families() -> FamilyList:
    from helios.forecasting.families import list_families

    items = [
        FamilyRead(
            slug=f.name,
            task=f.task,
            iterative=f.iterative,
            description=f.description,
            hyperparameters_schema=f.schema(),
        )
        for f in list_families()
    ]
    return FamilyList(items=items, total=len(items))


# --- jobs ---------------------------------------------------------------------------------------


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    dataset: str | None = None,
    family: str | None = None,
    model: str | None = None,
    q: str | None = None,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> JobList:
    """Jobs matching the filters in ``sort`` order (a field, ``-`` first for descending); ``q``
    finds text in the model, family, tags or note, or a job by its number ("12" or "#12")."""
    query = _job_search(_job_filters(select(TrainingJob), status, dataset, family, model), q)
    jobs, next_cursor = _job_order(sort).page(session, query, cursor=cursor, limit=limit)
    return JobList(items=job_reads(session, jobs), next_cursor=next_cursor, total=count(session, query))


def _job_order(sort: str) -> Keyset:
    field = sort.removeprefix("-")
    if field not in SORTABLE:
        raise InvalidInput(
            f"cannot sort by {field!r}; choose one of {', '.join(SORTABLE)}",
            errors=[{"field": "sort", "message": "not a sortable field"}],
        )
    columns = (TrainingJob.id,) if field == "id" else (getattr(TrainingJob, field), TrainingJob.id)
    # The scope carries the sort, so a cursor from one order is refused by another.
    return Keyset(f"jobs{sort}", columns, descending=sort.startswith("-"))


def _job_search(query: Select, q: str | None) -> Select:
    text = (q or "").strip().lower()
    if not text:
        return query
    like = like_contains(text)
    matches = [
        func.lower(column).like(like, escape=LIKE_ESCAPE)
        for column in (TrainingJob.target_model, TrainingJob.family, TrainingJob.note)
    ]
    matches.append(func.lower(cast(TrainingJob.tags, String)).like(like, escape=LIKE_ESCAPE))
    number = text.removeprefix("#")
    if number.isdecimal():
        matches.append(TrainingJob.id == int(number))
    return query.where(or_(*matches))


def _job_filters(query: Select, status, dataset, family, model) -> Select:  # type: ignore[no-untyped-def]
    if status:
        query = query.where(TrainingJob.status == status)
    if family:
        query = query.where(TrainingJob.family == family)
    if model:
        query = query.where(TrainingJob.target_model == model)
    if dataset:
        query = query.where(TrainingJob.dataset_version_id.in_(datasets.version_ids_named(dataset)))
    return query


def get_job_read(session: Session, job_id: int) -> JobRead:
    return job_read(session, get_job(session, job_id))


def job_read(session: Session, job: TrainingJob) -> JobRead:
    return job_reads(session, [job])[0]


def job_reads(session: Session, jobs: list[TrainingJob]) -> list[JobRead]:
    """Jobs with their dataset and result labels, in three queries whatever the number of jobs."""
    labels = datasets.version_labels(session, {j.dataset_version_id for j in jobs})
    results = registry.version_numbers(session, {j.result_version_id for j in jobs if j.result_version_id})
    return [
        _job_read(j, labels.get(j.dataset_version_id, ("?", 0)), results.get(j.result_version_id))
        for j in jobs
    ]


def _job_read(job: TrainingJob, dataset: tuple[str, int], result: int | None) -> JobRead:
    duration = None
    if job.started_at:
        end = as_utc(job.finished_at) if job.finished_at else utcnow()
        duration = (end - as_utc(job.started_at)).total_seconds()
    fields = {c: getattr(job, c) for c in JobRead.model_fields if hasattr(job, c)}
    return JobRead(
        **{
            **fields,
            "dataset": dataset[0],
            "dataset_version": dataset[1],
            "duration_s": duration,
            "result_version": result,
        }
    )


# --- a job's metrics and journal ----------------------------------------------------------------


def metrics_read(session: Session, job_id: int, since: int = 0) -> MetricsRead:
    """The job's status and its metric points after ``since`` (a point id)."""
    job = get_job(session, job_id)
    points = metrics(session, job_id, since)
    return MetricsRead(
        job_id=job_id, status=job.status, points=points, last_id=points[-1].id if points else since
    )


def journal_read(session: Session, job_id: int) -> JournalRead:
    get_job(session, job_id)
    return JournalRead(job_id=job_id, items=journal_lines(session, job_id))


def validation(session: Session, store: ArtifactStore, job_id: int) -> ValidationRead:
    """The forecast the job scored on its holdout; NotFound, saying why, for a job that kept none."""
    job = get_job(session, job_id)
    key = evaluation.validation_key(job_id)
    if not store.exists(key):
        raise NotFound(f"job #{job_id} has no validation forecast: {_why_none(job)}")
    return ValidationRead.model_validate_json(store.read_bytes(key))


def _why_none(job: TrainingJob) -> str:
    if job.status in (JobStatus.queued, JobStatus.running):
        return f"it is {job.status}; the forecast is kept when it finishes"
    if job.status in (JobStatus.failed, JobStatus.cancelled):
        return f"it {job.status} before a model was registered"
    return "it finished before Helios kept validation forecasts"


def metrics(session: Session, job_id: int, since: int = 0) -> list[MetricPoint]:
    rows = session.scalars(
        select(TrainingMetric)
        .where(TrainingMetric.job_id == job_id, TrainingMetric.id > since)
        .order_by(TrainingMetric.id)
    )
    return [MetricPoint(id=r.id, step=r.step, name=r.name, value=r.value, at=r.at) for r in rows]


def journal_lines(session: Session, job_id: int, since: int = 0) -> list[JournalLine]:
    """The job's journal, oldest first; ``since`` (a line id) returns only newer lines, for live views."""
    rows = session.scalars(
        select(TrainingJournal)
        .where(TrainingJournal.job_id == job_id, TrainingJournal.id > since)
        .order_by(TrainingJournal.id)
    )
    return [JournalLine(id=r.id, at=r.at, level=r.level, message=r.message) for r in rows]


# --- compare ------------------------------------------------------------------------------------


def compare(session: Session, job_ids: list[int]) -> Comparison:
    if len(set(job_ids)) < 2:
        raise InvalidInput("compare needs at least two different job ids")
    jobs = [get_job(session, i) for i in dict.fromkeys(job_ids)]
    curves: dict[int, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for point in session.scalars(
        select(TrainingMetric)
        .where(TrainingMetric.job_id.in_([j.id for j in jobs]))
        .order_by(TrainingMetric.id)
    ):
        curves[point.job_id][point.name].append((point.step, point.value))
    params = {j.id: {**j.hyperparameters, "family": j.family, "seed": j.seed} for j in jobs}
    keys = sorted({k for p in params.values() for k in p})
    diff = {
        k: {str(j): params[j].get(k) for j in params}
        for k in keys
        if len({repr(params[j].get(k)) for j in params}) > 1
    }
    same = {k: params[jobs[0].id].get(k) for k in keys if k not in diff}
    runs = [
        RunCurves(
            job_id=j.id,
            label=f"#{j.id} {j.family}",
            curves=dict(curves[j.id]),
            final_metrics=j.final_metrics or {},
        )
        for j in jobs
    ]
    return Comparison(runs=runs, params_diff=diff, params_same=same)
