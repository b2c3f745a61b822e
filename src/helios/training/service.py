"""Training job operations for people and the API: create, record, control. Reads (lists, a job,
its metrics and journal, comparisons) are ``training.views``.

Running jobs is ``runner`` (one job, in a worker process) and ``workers`` (claiming and
supervising); this module never trains anything itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from helios.core.auth import Principal, record_audit
from helios.core.clock import utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound
from helios.core.events import TrainingFinished, publish
from helios.core.parsing import check_slug
from helios.datasets import service as datasets
from helios.training.schemas import (
    DEFAULT_VALIDATION_HORIZON,
    FINISHED,
    EarlyStoppingPatch,
    EarlyStoppingSettings,
    JobAnnotation,
    JobCreate,
    JobStatus,
    ValidationSettings,
)
from helios.training.tables import TrainingJob, TrainingJournal, TrainingMetric


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
    validation = body.validation.model_copy(
        update={"horizon": validation_horizon(hyperparameters, body.validation.horizon)}
    )
    _check_horizon(family, hyperparameters, validation.horizon)
    _check_series(version.profile, body.series)
    _check_training_left(version.profile, dataset.kind, body.series, validation.horizon)
    target = body.target_model or f"{body.dataset}-{body.family}".replace("_", "-")[:64]
    check_slug(target, "target model name")
    job = TrainingJob(
        dataset_version_id=version.id,
        series=body.series,
        family=family.name,
        hyperparameters=hyperparameters,
        validation=validation.model_dump(),
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


def rerun_job(
    session: Session, job_id: int, actor: Principal, *, latest_version: bool = False
) -> TrainingJob:
    """A new job with the same settings (same data version, or the dataset's latest), checked as any
    new job is: a series gone from the latest version is refused by name."""
    source = get_job(session, job_id)
    version = datasets.get_version_by_id(session, source.dataset_version_id)
    body = JobCreate(
        dataset=datasets.dataset_of(session, version).name,
        dataset_version="latest" if latest_version else version.version,
        series=source.series,
        family=source.family,
        hyperparameters=dict(source.hyperparameters or {}),
        early_stopping=EarlyStoppingSettings(**source.early_stopping) if source.early_stopping else None,
        validation=ValidationSettings(**(source.validation or {})),
        seed=source.seed,
        target_model=source.target_model,
        tags=list(source.tags or []),
        timeout_s=source.timeout_s,
    )
    job = create_job(session, body, actor)
    job.note = source.note
    journal(
        session, job.id, f"re-run of job #{source.id}" + (" on the latest data" if latest_version else "")
    )
    return job


def annotate_job(session: Session, job_id: int, body: JobAnnotation, actor: Principal) -> TrainingJob:
    """Tags and a note change at any time, finished or not; nothing else about the job does."""
    job = get_job(session, job_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("tags") is not None:
        job.tags = list(dict.fromkeys(changes["tags"]))  # one of each, in the order given
    if "note" in changes:
        job.note = (changes["note"] or "").strip() or None
    record_audit(
        session, actor, "training.annotate", "training_job", str(job.id), {"fields": sorted(changes)}
    )
    session.flush()
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


def validation_horizon(hyperparameters: dict[str, Any], asked: int | None) -> int:
    """The one rule for every client: what was asked, else the horizon the model learns, else the
    default. Clients send "not given" rather than a default of their own."""
    if asked is not None:
        return asked
    trained = hyperparameters.get("horizon")
    return trained if isinstance(trained, int) and trained > 0 else DEFAULT_VALIDATION_HORIZON


def _check_training_left(profile: dict[str, Any], kind: str, series: list[str] | None, horizon: int) -> None:
    """Refuse a holdout that leaves too little to train on, rather than "succeed" with MASE missing:
    the scores need more than one season of history before the holdout (the seasonal naive scale)."""
    from helios.forecasting.frequency import normalise_freq, season_length

    if kind == "draws":
        lengths = {"draws": int(profile.get("draws") or profile.get("rows") or 0)}
        needed = 2
    else:
        lengths = {
            str(s.get("unique_id")): int(s.get("rows") or 0)
            for s in profile.get("series", [])
            if series is None or s.get("unique_id") in series
        }
        needed = season_length(normalise_freq(profile.get("frequency") or "D")) + 1
    if not lengths:
        return
    shortest = min(lengths, key=lambda k: lengths[k])
    left = lengths[shortest] - horizon
    if left < max(needed, 2):
        most = lengths[shortest] - max(needed, 2)
        where = "draws" if kind == "draws" else f"series {shortest!r} ({lengths[shortest]} observations)"
        raise InvalidInput(
            f"validation.horizon {horizon} leaves {max(left, 0)} observations to train on in {where}; "
            f"scoring needs at least {max(needed, 2)} before the holdout"
            + (f", so use a horizon of at most {most}" if most >= 1 else "; this data is too short to score"),
            errors=[
                {
                    "field": "validation.horizon",
                    "message": f"at most {most}" if most >= 1 else "too little data to hold any out",
                }
            ],
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


_SQLITE_METRIC_INSERT = "INSERT INTO training_metrics (job_id, step, name, value, at) VALUES (?, ?, ?, ?, ?)"


def record_metrics(session: Session, job_id: int, points: list[tuple[int, str, float]]) -> None:
    """Append ``(step, name, value)`` points. On SQLite this bypasses SQLAlchemy's per-row bind
    processing (about 4x the throughput); the timestamp is written in SQLAlchemy's own format."""
    if not points:
        return
    _forget_replaced_points(session, job_id, points)
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


def _forget_replaced_points(session: Session, job_id: int, points: list[tuple[int, str, float]]) -> None:
    """Steps only move forward within an attempt, so anything stored at or after the first step
    reported now came from an earlier attempt that a resume (from a checkpoint) is replaying."""
    first = min(step for step, _, _ in points)
    names = {name for step, name, _ in points if step == first}
    session.execute(
        delete(TrainingMetric).where(
            TrainingMetric.job_id == job_id,
            (TrainingMetric.step > first) | ((TrainingMetric.step == first) & TrainingMetric.name.in_(names)),
        )
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
    if job.status == JobStatus.queued:
        job.status, job.finished_at, job.stop_reason = (
            JobStatus.cancelled,
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


def dataset_references(session: Session, version_ids: list[int]) -> list[str]:
    """Registered with datasets at start-up: a dataset with training jobs cannot be deleted."""
    ids = session.scalars(
        select(TrainingJob.id).where(TrainingJob.dataset_version_id.in_(version_ids)).limit(5)
    ).all()
    return [f"training job #{i}" for i in ids]
