"""Runs one claimed training job to its end, in this process.

The job row is the truth: every epoch writes its metrics, progress and heartbeat, then reads
back what people asked for (stop, cancel, a changed early-stopping rule). A job that ends in
any way leaves a final status, a journal that says why, and, unless cancelled or failed, a
model version in the registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select, update

from helios.context import AppContext
from helios.core.auth import Principal, Role
from helios.core.clock import utcnow
from helios.datasets import service as datasets
from helios.training import evaluation, failures
from helios.training.schemas import JobStatus, ValidationRead
from helios.training.service import announce_finished, journal, record_metrics
from helios.training.tables import TrainingJob

if TYPE_CHECKING:
    from helios.forecasting.base import DataSpec, Fitted, Hyperparameters, ModelFamily, TrainingControl
    from helios.forecasting.callbacks import EarlyStopping

PROGRESS_AFTER_FIT = 0.9
# Early stopping turned off while a job runs keeps its callback (it may be turned on again) with
# a patience no run reaches.
PATIENCE_NEVER = 10**9
# Families that forecast any series say task "timeseries"; the registry files their models under
# "price", its task for point forecasts of a series' level (what its filters, the UI and the
# prediction ledger look for). Other tasks (volatility, draws) are the same word on both sides.
REGISTRY_TASK = {"timeseries": "price"}


@dataclass
class JobPlan:
    job_id: int
    family: ModelFamily
    config: Hyperparameters
    kind: str
    frame: pd.DataFrame
    spec: DataSpec
    validation: dict[str, Any]
    early_stopping: dict[str, Any] | None
    target_model: str
    dataset_version_id: int
    resume: bool
    owner: str


class JobReporter:
    """A forecasting callback that writes each epoch to the job row and reads control back."""

    def __init__(
        self,
        context: AppContext,
        job_id: int,
        early_stopping: EarlyStopping | None,
        epochs_hint: int | None,
    ) -> None:
        self.context = context
        self.job_id = job_id
        self.early_stopping = early_stopping
        self.epochs_total = epochs_hint
        self.cancel_requested = False
        self.stop_requested_by: str | None = None
        self.last_rule: dict[str, Any] | None = None
        self.best_value: float | None = None
        self.best_epoch: int | None = None

    def on_train_begin(self, info: dict[str, Any], control: TrainingControl) -> None:
        self.epochs_total = info.get("epochs") or self.epochs_total
        with self.context.db.transaction() as session:
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == self.job_id)
                .values(epochs_total=self.epochs_total, heartbeat_at=utcnow())
            )
            journal(
                session, self.job_id, "training started: " + ", ".join(f"{k}={v}" for k, v in info.items())
            )

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], control: TrainingControl) -> None:
        best, best_epoch = self._best(epoch, metrics)
        with self.context.db.transaction() as session:
            self._write_epoch(session, epoch, metrics, best, best_epoch)
            job = session.get(TrainingJob, self.job_id)
            wanted, rule = job.control, job.early_stopping
        self._apply_control(wanted, control)
        self._apply_rule(rule)

    def _best(self, epoch: int, metrics: dict[str, float]) -> tuple[float | None, int | None]:
        """The early-stopping rule's best; without a rule, the lowest val_loss so far."""
        if self.early_stopping is not None:
            return self.early_stopping.best_value, self.early_stopping.best_epoch
        value = metrics.get("val_loss")
        if (
            value is not None
            and math.isfinite(value)
            and (self.best_value is None or value < self.best_value)
        ):
            self.best_value, self.best_epoch = float(value), epoch
        return self.best_value, self.best_epoch

    def _write_epoch(self, session, epoch, metrics, best, best_epoch) -> None:  # type: ignore[no-untyped-def]
        now = utcnow()
        record_metrics(session, self.job_id, [(epoch, name, value) for name, value in metrics.items()])
        progress = (
            min(PROGRESS_AFTER_FIT, PROGRESS_AFTER_FIT * epoch / self.epochs_total)
            if self.epochs_total
            else 0.5
        )
        values: dict[str, Any] = {"epoch": epoch, "progress": progress, "heartbeat_at": now}
        if best is not None:
            values.update(best_metric=float(best), best_epoch=best_epoch)
        session.execute(update(TrainingJob).where(TrainingJob.id == self.job_id).values(**values))
        shown = ", ".join(f"{k}={v:.5g}" for k, v in metrics.items())
        journal(session, self.job_id, f"epoch {epoch}: {shown}")

    def _apply_control(self, wanted: str | None, control: TrainingControl) -> None:
        if wanted == "cancel":
            self.cancel_requested = True
        elif wanted == "stop" and not control.stop_requested:
            self.stop_requested_by = "a person"
            control.request_stop("stopped on request")

    def _apply_rule(self, rule: dict[str, Any] | None) -> None:
        if self.early_stopping is None or rule == self.last_rule:
            return
        self.last_rule = rule
        if rule:
            self.early_stopping.update(
                **{k: v for k, v in rule.items() if k in ("monitor", "mode", "patience", "min_delta")}
            )
        else:
            self.early_stopping.update(patience=PATIENCE_NEVER)

    def on_train_end(self, summary: dict[str, Any], control: TrainingControl) -> None:
        with self.context.db.transaction() as session:
            journal(
                session, self.job_id, "training ended: " + ", ".join(f"{k}={v}" for k, v in summary.items())
            )


def run_job(context: AppContext, job_id: int) -> JobStatus:
    """Train, score, register. Returns the final status; never raises for a job's own failure."""
    try:
        plan = _plan(context, job_id)
        return _execute(context, plan)
    except Exception as exc:  # the job fails, the worker lives on
        detail = failures.for_journal(exc)
        _finish(context, job_id, JobStatus.failed, error=failures.for_people(exc), detail=detail)
        return JobStatus.failed


def _plan(context: AppContext, job_id: int) -> JobPlan:
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family
    from helios.forecasting.frequency import normalise_freq, season_length
    from helios.forecasting.rules import GameRules

    with context.db.transaction() as session:
        job = session.get(TrainingJob, job_id)
        version = datasets.get_version_by_id(session, job.dataset_version_id)
        dataset = datasets.dataset_of(session, version)
        family = get_family(job.family)
        frame = datasets.load_frame(context.store, version)
        if job.series:
            frame = frame[frame["unique_id"].isin(job.series)].reset_index(drop=True)
        freq = normalise_freq(version.profile.get("frequency") or "D") if dataset.kind != "draws" else "D"
        rules = GameRules.model_validate(version.rules) if version.rules else None
        journal(
            session,
            job_id,
            f"data: {dataset.name} v{version.version}, {len(frame):,} rows, "
            f"{frame['unique_id'].nunique() if 'unique_id' in frame else 1} series, "
            f"{frame['ds'].min():%Y-%m-%d} → {frame['ds'].max():%Y-%m-%d}",
        )
        journal(
            session,
            job_id,
            f"config: {job.family} {job.hyperparameters}; validation {job.validation}; "
            f"early stopping {job.early_stopping or 'off'}; seed {job.seed}",
        )
        if job.attempts > 1:
            journal(session, job_id, f"attempt {job.attempts}: resuming from the last checkpoint", "warning")
        return JobPlan(
            job_id=job_id,
            family=family,
            config=family.parse_config(job.hyperparameters),
            kind=dataset.kind,
            frame=frame,
            spec=DataSpec(freq=freq, season_length=season_length(freq), rules=rules),
            validation=job.validation,
            early_stopping=job.early_stopping,
            target_model=job.target_model,
            dataset_version_id=version.id,
            resume=job.attempts > 1,
            owner=job.created_by,
        )


def _execute(context: AppContext, plan: JobPlan) -> JobStatus:
    from helios.forecasting.base import FitContext, TrainingControl

    horizon = plan.validation.get("horizon", 14)
    train, holdout = evaluation.split_holdout(plan.frame, horizon, plan.kind)
    if plan.kind != "draws" and not plan.spec.seasons:
        plan = _with_seasons(context, plan, train)
    reporter, callbacks = _callbacks(context, plan)
    control = TrainingControl(cancelled=lambda: reporter.cancel_requested)
    checkpoints = context.store.resolve(f"jobs/{plan.job_id}/checkpoints")
    checkpoints.mkdir(parents=True, exist_ok=True)
    fit_context = FitContext(
        callbacks=callbacks, control=control, checkpoint_dir=checkpoints, resume=plan.resume
    )
    fitted = plan.family.fit(train, plan.config, plan.spec, fit_context)
    if reporter.cancel_requested:
        return _finish(
            context, plan.job_id, JobStatus.cancelled, reason="cancelled on request; nothing registered"
        )
    scores, validation = _score(context, fitted, train, holdout, plan, horizon)
    stopped = control.stop_requested
    if plan.validation.get("refit", True) and not stopped:
        _progress(
            context, plan.job_id, PROGRESS_AFTER_FIT, "refitting on all the data for the registered model"
        )
        fitted = plan.family.fit(plan.frame, plan.config, plan.spec, FitContext(control=control))
    if reporter.cancel_requested:
        return _finish(
            context, plan.job_id, JobStatus.cancelled, reason="cancelled on request; nothing registered"
        )
    number = _register(context, plan, fitted, scores)
    _keep_validation(context, validation)
    status = JobStatus.stopped_early if stopped else JobStatus.succeeded
    reason = (
        f"stopped by {reporter.stop_requested_by}"
        if reporter.stop_requested_by
        else control.stop_reason
        if stopped
        else None
    )
    return _finish(context, plan.job_id, status, reason=reason, metrics=scores, version=number)


def _with_seasons(context: AppContext, plan: JobPlan, train: pd.DataFrame) -> JobPlan:
    """Every cycle the calendar suggests (hourly: days and weeks) that the training data
    confirms, decided once before the holdout so the scored fit and the refit model the same
    seasons, as ``helios forecast`` does; journalled."""
    from helios.forecasting.seasonality import data_seasons

    seasons = data_seasons(train, plan.spec)
    with context.db.transaction() as session:
        shown = ", ".join(map(str, seasons)) if seasons else "none"
        journal(session, plan.job_id, f"seasons: {shown} (confirmed on the training data)")
    return replace(plan, spec=replace(plan.spec, seasons=seasons))


def _callbacks(context: AppContext, plan: JobPlan) -> tuple[JobReporter, list[Any]]:
    early = None
    if plan.early_stopping and plan.family.iterative:
        from helios.forecasting.callbacks import EarlyStopping

        rule = plan.early_stopping
        early = EarlyStopping(
            monitor=rule["monitor"],
            mode=rule["mode"],
            patience=rule["patience"],
            min_delta=rule["min_delta"],
            restore_best=rule.get("restore_best", True),
        )
    epochs = getattr(plan.config, "epochs", None)
    reporter = JobReporter(context, plan.job_id, early, epochs)
    reporter.last_rule = plan.early_stopping
    # Early stopping decides first, so the reporter records the best epoch it just saw.
    return reporter, [c for c in (early, reporter) if c is not None]


def _score(
    context: AppContext,
    fitted: Fitted,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    plan: JobPlan,
    horizon: int,
) -> tuple[dict[str, float], ValidationRead]:
    """The holdout scores, and the forecast they were computed from (for the job page's plot)."""
    validation = ValidationRead(
        job_id=plan.job_id, kind="draws" if plan.kind == "draws" else "series", horizon=horizon
    )
    if plan.kind == "draws":
        held_out, per_draw = evaluation.draw_scores(fitted, holdout, plan.spec.rules)
        scores = evaluation.summarise_draws(fitted, train, held_out, per_draw)
        validation.draws = evaluation.draws_record(held_out, per_draw)
    else:
        season = plan.spec.season_length
        forecast = evaluation.holdout_forecast(fitted, horizon)
        scores = evaluation.score_series(forecast, train, holdout, season)
        validation.series, validation.series_total = evaluation.series_record(
            forecast, train, holdout, season
        )
        validation.season_length, validation.naive_method = season, evaluation.naive_method(season)
    # A metric can be undefined (MASE of a series whose seasonal naive is perfect); JSON has no NaN.
    undefined = sorted(k for k, v in scores.items() if not math.isfinite(v))
    if undefined:
        with context.db.transaction() as session:
            journal(
                session,
                plan.job_id,
                f"undefined on this holdout, not recorded: {', '.join(undefined)}",
                "warning",
            )
    return {k: v for k, v in scores.items() if math.isfinite(v)}, validation


def _keep_validation(context: AppContext, validation: ValidationRead) -> None:
    """Written once the version is registered: only a job that ends with a model shows its forecast.
    The key is the job's own, so a resumed attempt replaces what an earlier one wrote."""
    context.store.write_bytes(
        evaluation.validation_key(validation.job_id), validation.model_dump_json().encode()
    )


def _register(context: AppContext, plan: JobPlan, fitted: Fitted, scores: dict[str, float]) -> int:
    from helios.registry import service as registry

    owner = Principal(name=plan.owner, role=Role.editor)
    with context.db.transaction() as session:
        task = REGISTRY_TASK.get(plan.family.task, plan.family.task)
        model, version = registry.register_trained(
            session,
            context.store,
            plan.target_model,
            fitted,
            owner,
            task=task,
            data_kind=plan.kind,
            params=plan.config.model_dump(mode="json"),
            metrics=scores,
            training_job_id=plan.job_id,
            dataset_version_id=plan.dataset_version_id,
            description=f"trained by job #{plan.job_id}",
        )
        session.execute(
            update(TrainingJob).where(TrainingJob.id == plan.job_id).values(result_version_id=version.id)
        )
        journal(
            session,
            plan.job_id,
            f"registered {model.name} v{version.version} (artifact sha256 {version.artifact_sha256[:12]})",
        )
        return version.version


def _progress(context: AppContext, job_id: int, progress: float, message: str) -> None:
    with context.db.transaction() as session:
        session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job_id)
            .values(progress=progress, heartbeat_at=utcnow())
        )
        journal(session, job_id, message)


def _finish(
    context: AppContext,
    job_id: int,
    status: JobStatus,
    *,
    reason: str | None = None,
    error: str | None = None,
    detail: str | None = None,
    metrics: dict[str, float] | None = None,
    version: int | None = None,
) -> JobStatus:
    """``error`` is shown to people; ``detail`` (paths, source location) goes to the journal only."""
    with context.db.transaction() as session:
        job = session.scalar(select(TrainingJob).where(TrainingJob.id == job_id).with_for_update())
        job.status, job.finished_at, job.control = status, utcnow(), None
        job.progress = 1.0 if status in (JobStatus.succeeded, JobStatus.stopped_early) else job.progress
        job.stop_reason, job.error = reason, error
        job.final_metrics = metrics or {}
        if metrics:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            journal(session, job_id, f"holdout scores: {shown}")
        level = "error" if status == JobStatus.failed else "info"
        text = {
            JobStatus.failed: f"failed: {detail or error}",
            JobStatus.cancelled: reason or "cancelled",
            JobStatus.stopped_early: f"stopped early ({reason}); best kept as v{version}",
            JobStatus.succeeded: f"succeeded; became v{version}",
        }[status]
        journal(session, job_id, text, level)
        announce_finished(session, job, version)
    return status
