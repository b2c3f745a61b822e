"""Training job operations for people and the API: create, list, read, control, compare.

Running jobs is ``runner`` (one job, in a worker process) and ``workers`` (claiming and
supervising); this module never trains anything itself.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from helios.core.auth import Principal, record_audit
from helios.core.clock import as_utc, utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound
from helios.core.events import TrainingFinished, publish
from helios.core.parsing import check_slug
from helios.datasets import service as datasets
from helios.registry import service as registry
from helios.training.schemas import (
    Comparison,
    EarlyStoppingPatch,
    FamilyList,
    FamilyRead,
    JobCreate,
    JobRead,
    JournalLine,
    MetricPoint,
    RunCurves,
)
from helios.training.tables import FINISHED, TrainingJob, TrainingJournal, TrainingMetric

SORTABLE = {"created_at", "status", "family", "best_metric", "id"}


# --- families ---------------------------------------------------------------------------------


def families() -> FamilyList:
    from helios.forecasting.families import list_families

    return FamilyList(
        items=[
            FamilyRead(
                slug=f.name,
                task=f.task,
                iterative=f.iterative,
                description=f.description,
                hyperparameters_schema=f.schema(),
            )
            for f in list_families()
        ]
    )


def _family(name: str):  # type: ignore[no-untyped-def]
    from helios.forecasting.base import ForecastingError
    from helios.forecasting.families import get_family

    try:
        return get_family(name)
    except ForecastingError as exc:
        raise InvalidInput(str(exc), errors=[{"field": "family", "message": "unknown family"}]) from None


# --- create -------------------------------------------------------------------------------------


def create_job(session: Session, body: JobCreate, actor: Principal) -> TrainingJob:
    version = datasets.get_version(session, body.dataset, body.dataset_version)
    dataset = datasets.dataset_of(session, version)
    family = _family(body.family)
    _check_task(family, dataset.kind)
    hyperparameters = _validated_hyperparameters(family, _with_seed(family, body.hyperparameters, body.seed))
    _check_horizon(family, hyperparameters, body.validation.horizon)
    _check_series(version.profile, body.series)
    target = body.target_model or f"{body.dataset}-{body.family}".replace("_", "-")[:64]
    check_slug(target, "target model name")
    job = TrainingJob(
        dataset_version_id=version.id,
        series=body.series,
        family=family.name,
        hyperparameters=hyperparameters,
        validation=body.validation.model_dump(),
        early_stopping=body.early_stopping.model_dump() if body.early_stopping and family.iterative else None,
        seed=body.seed,
        target_model=target,
        tags=body.tags,
        timeout_s=body.timeout_s,
        created_by=actor.name,
    )
    session.add(job)
    session.flush()
    journal(
        session,
        job.id,
        f"queued by {actor.name}: {family.name} on {body.dataset} v{version.version} -> model {target}",
    )
    record_audit(session, actor, "training.create", "training_job", str(job.id), {"family": family.name})
    return job


def _check_task(family, kind: str) -> None:  # type: ignore[no-untyped-def]
    wants_draws = family.task == "draws"
    if wants_draws != (kind == "draws"):
        needed = "a draws dataset" if wants_draws else "a timeseries dataset"
        raise InvalidInput(
            f"family {family.name} needs {needed}; this dataset holds {kind} data",
            errors=[{"field": "family", "message": "does not fit the dataset kind"}],
        )


def _validated_hyperparameters(family, raw: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    try:
        return family.parse_config(raw).model_dump(mode="json")
    except ValidationError as exc:
        errors = [
            {"field": "hyperparameters." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidInput(f"hyperparameters do not fit {family.name}: {detail}", errors=errors) from None


def _with_seed(family, raw: dict[str, Any], seed: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The job's seed is the family's seed unless the hyperparameters name one themselves."""
    if "seed" in family.Config.model_fields and "seed" not in raw:
        return {**raw, "seed": seed}
    return raw


def _check_horizon(family, hyperparameters: dict[str, Any], validation_horizon: int) -> None:  # type: ignore[no-untyped-def]
    trained = hyperparameters.get("horizon")
    if isinstance(trained, int) and validation_horizon > trained:
        raise InvalidInput(
            f"validation.horizon {validation_horizon} is longer than the {family.name} model's horizon "
            f"{trained}; score on at most the horizon it learns, or raise hyperparameters.horizon",
            errors=[{"field": "validation.horizon", "message": f"at most {trained}"}],
        )


def _check_series(profile: dict[str, Any], series: list[str] | None) -> None:
    if series is None:
        return
    if not series:
        raise InvalidInput("series is an empty list; leave it out to train on every series")
    known = {s.get("unique_id") for s in profile.get("series", [])}
    unknown = [s for s in series if s not in known]
    if unknown:
        raise InvalidInput(
            f"no series {', '.join(map(repr, unknown[:5]))} in this dataset version",
            errors=[{"field": "series", "message": f"unknown: {s}"} for s in unknown[:20]],
        )


# --- read -----------------------------------------------------------------------------------------


def get_job(session: Session, job_id: int, *, lock: bool = False) -> TrainingJob:
    query = select(TrainingJob).where(TrainingJob.id == job_id)
    job = session.scalar(query.with_for_update() if lock else query)
    if job is None:
        raise NotFound(f"no training job {job_id}")
    return job


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    dataset: str | None = None,
    family: str | None = None,
    model: str | None = None,
    sort: str = "-created_at",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[TrainingJob], int]:
    query = _job_filters(select(TrainingJob), status, dataset, family, model)
    total = (
        session.scalar(_job_filters(select(func.count(TrainingJob.id)), status, dataset, family, model)) or 0
    )
    field = sort.lstrip("-")
    if field not in SORTABLE:
        raise InvalidInput(f"cannot sort by {field!r}; choose one of {', '.join(sorted(SORTABLE))}")
    column = getattr(TrainingJob, field)
    query = query.order_by(column.desc() if sort.startswith("-") else column.asc(), TrainingJob.id.desc())
    return list(session.scalars(query.offset(offset).limit(limit))), total


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


_SQLITE_METRIC_INSERT = "INSERT INTO training_metrics (job_id, step, name, value, at) VALUES (?, ?, ?, ?, ?)"


def record_metrics(session: Session, job_id: int, points: list[tuple[int, str, float]]) -> None:
    """Append ``(step, name, value)`` points. On SQLite this bypasses SQLAlchemy's per-row bind
    processing (about 4x the throughput); the timestamp is written in SQLAlchemy's own format."""
    if not points:
        return
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        stamp = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = [(job_id, step, name, float(value), stamp) for step, name, value in points]
        session.connection().exec_driver_sql(_SQLITE_METRIC_INSERT, rows)
        return
    session.execute(
        TrainingMetric.__table__.insert(),
        [
            {"job_id": job_id, "step": step, "name": name, "value": float(value), "at": now}
            for step, name, value in points
        ],
    )


def journal(session: Session, job_id: int, message: str, level: str = "info") -> None:
    session.add(TrainingJournal(job_id=job_id, message=message, level=level))


def announce_finished(session: Session, job: TrainingJob, version: int | None = None) -> None:
    """Publish ``TrainingFinished`` for a job just given its final status (in this transaction)."""
    publish(
        session,
        TrainingFinished(
            job_id=job.id,
            status=job.status,
            family=job.family,
            dataset_version_id=job.dataset_version_id,
            model=job.target_model,
            version=version,
            metrics=job.final_metrics or {},
            reason=job.error or job.stop_reason,
            owner=job.created_by,
        ),
    )


# --- control ------------------------------------------------------------------------------------


def request_stop(session: Session, job_id: int, actor: Principal) -> TrainingJob:
    """Stop now and keep the best so far (status ``stopped_early``). A queued job just cancels."""
    return _request(session, job_id, "stop", actor)


def request_cancel(session: Session, job_id: int, actor: Principal) -> TrainingJob:
    """Stop and discard: no model version is registered."""
    return _request(session, job_id, "cancel", actor)


def _request(session: Session, job_id: int, what: str, actor: Principal) -> TrainingJob:
    job = get_job(session, job_id, lock=True)
    if job.status in FINISHED:
        raise Conflict(f"job {job_id} already {job.status}")
    if job.status == "queued":
        job.status, job.finished_at, job.stop_reason = (
            "cancelled",
            utcnow(),
            f"{what} requested before it started",
        )
        journal(session, job.id, f"{what} requested by {actor.name} before it started: cancelled")
    else:
        job.control = what
        journal(session, job.id, f"{what} requested by {actor.name}")
    record_audit(session, actor, f"training.{what}", "training_job", str(job.id), {})
    session.flush()
    return job


def patch_early_stopping(
    session: Session, job_id: int, patch: EarlyStoppingPatch, actor: Principal
) -> TrainingJob:
    job = get_job(session, job_id, lock=True)
    if job.status in FINISHED:
        raise Conflict(f"job {job_id} already {job.status}; its rule can no longer change")
    if not _family(job.family).iterative:
        raise InvalidInput(f"{job.family} does not train in epochs; early stopping does not apply")
    changes = patch.model_dump(exclude_unset=True)
    enabled = changes.pop("enabled", None)
    current = dict(job.early_stopping or {}) if enabled is not False else {}
    if enabled is not False:
        current = {
            **{"monitor": "val_loss", "mode": "min", "patience": 5, "min_delta": 0.0, "restore_best": True},
            **current,
            **changes,
        }
    job.early_stopping = current or None
    journal(
        session,
        job.id,
        f"early stopping changed by {actor.name}: "
        + (", ".join(f"{k}={v}" for k, v in changes.items()) if current else "off"),
    )
    session.flush()
    return job


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


def dataset_references(session: Session, version_ids: list[int]) -> list[str]:
    """Registered with datasets at start-up: a dataset with training jobs cannot be deleted."""
    ids = session.scalars(
        select(TrainingJob.id).where(TrainingJob.dataset_version_id.in_(version_ids)).limit(5)
    ).all()
    return [f"training job #{i}" for i in ids]
