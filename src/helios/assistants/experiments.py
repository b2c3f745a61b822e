"""A/B experiments between prompt versions, decided by the server.

Assignment is sticky: a subject's variant is a hash of (experiment, subject) laid over the
weights, stored on first exposure, so it survives weight changes, restarts and other servers.
A paused variant takes no one new; its subjects are re-assigned among the live variants.
Outcomes (thumbs, scores in [0, 1], or the ledger's verdict on an explained prediction) are kept
per subject's variant; results give counts, means, intervals, P(best) and an always-valid
sequential test against the first (control) variant. Guardrails pause a variant that errs, lags
or costs too much. Promote moves the ``production`` label (through the test gate) and audits it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from helios.assistants import prompts
from helios.assistants.schemas import ExperimentCreate, ExperimentStatus, OutcomeIn
from helios.assistants.tables import (
    Assistant,
    AssistantCall,
    Experiment,
    ExperimentAssignment,
    ExperimentOutcome,
    ExperimentVariant,
    PromptVersion,
)
from helios.core.auth import Principal, Role, record_audit
from helios.core.clock import utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound

GUARDRAIL_WINDOW = 200  # the most recent calls a guardrail looks at, per variant
GUARDRAIL = Principal(name="guardrail", role=Role.viewer)  # who the audit log says paused it


def _field(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


# --- setting up ----------------------------------------------------------------------------------


def create_experiment(
    session: Session, assistant: Assistant, body: ExperimentCreate, actor: Principal
) -> Experiment:
    if sum(v.weight for v in body.variants) <= 0:
        raise _field("variants", "the weights must add up to more than zero")
    names = [v.name for v in body.variants]
    if len(set(names)) != len(names):
        raise _field("variants", "two variants share a name")
    versions = [_version(session, assistant, v.version, i) for i, v in enumerate(body.variants)]
    if running_experiment(session, assistant) is not None:
        raise Conflict(f"assistant {assistant.name!r} already runs an experiment; stop it first")
    experiment = Experiment(
        assistant_id=assistant.id,
        name=body.name,
        status=ExperimentStatus.running.value,
        guardrails=body.guardrails.model_dump(),
        alpha=body.alpha,
        created_by=actor.name,
    )
    session.add(experiment)
    session.flush()
    for position, (variant, version) in enumerate(zip(body.variants, versions, strict=True)):
        session.add(
            ExperimentVariant(
                experiment_id=experiment.id,
                name=variant.name,
                version_id=version.id,
                weight=variant.weight,
                position=position,
            )
        )
    session.flush()
    record_audit(session, actor, "experiment.create", "experiment", str(experiment.id), {"variants": names})
    return experiment


def _version(session: Session, assistant: Assistant, number: int, i: int) -> PromptVersion:
    try:
        return prompts.get_version(session, assistant, number)
    except NotFound as exc:
        raise _field(f"variants.{i}.version", exc.detail) from None


def get_experiment(session: Session, experiment_id: int) -> Experiment:
    experiment = session.get(Experiment, experiment_id)
    if experiment is None:
        raise NotFound(f"no experiment {experiment_id}")
    return experiment


def running_experiment(session: Session, assistant: Assistant) -> Experiment | None:
    return session.scalar(
        select(Experiment).where(
            Experiment.assistant_id == assistant.id, Experiment.status == ExperimentStatus.running.value
        )
    )


def variants_of(session: Session, experiment_id: int) -> list[ExperimentVariant]:
    return list(
        session.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment_id)
            .order_by(ExperimentVariant.position)
        )
    )


# --- assignment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    experiment_id: int
    variant_id: int
    variant: str
    version: prompts.VersionSnapshot


def bucket(experiment_id: int, subject: str) -> float:
    """A uniform number in [0, 1) that depends only on the experiment and the subject."""
    digest = hashlib.sha256(f"{experiment_id}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(variants: Sequence[Any], point: float) -> Any | None:
    live = [v for v in variants if v.paused_reason is None and v.weight > 0]
    total = sum(v.weight for v in live)
    if total <= 0:
        return None
    edge = 0.0
    for variant in live:
        edge += variant.weight / total
        if point < edge:
            return variant
    return live[-1]


def assign(session: Session, experiment: Experiment, subject: str) -> ExperimentVariant | None:
    """The subject's variant: the stored one while it is live, else a new sticky pick (stored)."""
    variants = variants_of(session, experiment.id)
    chosen_id = _sticky(session, experiment.id, subject, variants)
    return next((v for v in variants if v.id == chosen_id), None)


def _sticky(
    session: Session, experiment_id: int, subject: str, variants: list[Any], *, store: bool = True
) -> int | None:
    # Plain column reads: this runs on every chat call of a running experiment.
    stored = session.execute(
        select(ExperimentAssignment.id, ExperimentAssignment.variant_id).where(
            ExperimentAssignment.experiment_id == experiment_id, ExperimentAssignment.subject == subject
        )
    ).first()
    chosen_id = _choose(experiment_id, subject, variants, stored.variant_id if stored else None)
    if chosen_id is not None and store and (stored is None or stored.variant_id != chosen_id):
        remember(session, experiment_id, subject, chosen_id)
    return chosen_id


def _choose(experiment_id: int, subject: str, variants: Sequence[Any], stored: int | None) -> int | None:
    """The stored variant while it is live, else the sticky pick among the live ones."""
    if stored is not None and any(v.id == stored and v.paused_reason is None for v in variants):
        return stored
    chosen = pick(variants, bucket(experiment_id, subject))
    return chosen.id if chosen is not None else None


def remember(session: Session, experiment_id: int, subject: str, variant_id: int) -> None:
    """Store the subject's variant (first exposure, or a move off a paused variant). The pick is a
    pure function of the stored state, so racing first calls choose alike and the second write
    finds the row already there."""
    found = session.execute(
        select(ExperimentAssignment.id, ExperimentAssignment.variant_id).where(
            ExperimentAssignment.experiment_id == experiment_id, ExperimentAssignment.subject == subject
        )
    ).first()
    if found is None:
        session.execute(
            insert(ExperimentAssignment).values(
                experiment_id=experiment_id, subject=subject, variant_id=variant_id, assigned_at=utcnow()
            )
        )
    elif found.variant_id != variant_id:
        session.execute(
            update(ExperimentAssignment)
            .where(ExperimentAssignment.id == found.id)
            .values(variant_id=variant_id, assigned_at=utcnow())
        )


# Built once, not per call: constructing a SQLAlchemy statement costs more than SQLite takes to
# run this one. One round trip gives the running experiment's variants, each one's version number
# and hash, and the subject's stored assignment (on the row of the variant it is in).
_VARIANTS_FOR = (
    select(
        ExperimentVariant.experiment_id,
        ExperimentVariant.id,
        ExperimentVariant.name,
        ExperimentVariant.version_id,
        ExperimentVariant.weight,
        ExperimentVariant.paused_reason,
        PromptVersion.version,
        PromptVersion.content_hash,
        ExperimentAssignment.variant_id.label("assigned"),
    )
    .join(Experiment, Experiment.id == ExperimentVariant.experiment_id)
    .join(PromptVersion, PromptVersion.id == ExperimentVariant.version_id)
    .outerjoin(
        ExperimentAssignment,
        and_(
            ExperimentAssignment.experiment_id == ExperimentVariant.experiment_id,
            ExperimentAssignment.subject == bindparam("subject"),
            ExperimentAssignment.variant_id == ExperimentVariant.id,
        ),
    )
    .where(
        Experiment.assistant_id == bindparam("assistant_id"),
        Experiment.status == ExperimentStatus.running.value,
    )
    .order_by(ExperimentVariant.position)
)


def variant_for(session: Session, assistant: Assistant, subject: str, *, store: bool = True) -> Chosen | None:
    """The running experiment's variant for ``subject``; None without one. With ``store=False``
    nothing is written (a chat call stores it with its log row, in one write transaction)."""
    variants = session.execute(_VARIANTS_FOR, {"assistant_id": assistant.id, "subject": subject}).all()
    if not variants:
        return None
    experiment_id = variants[0].experiment_id
    stored = next((v.assigned for v in variants if v.assigned is not None), None)
    chosen_id = _choose(experiment_id, subject, variants, stored)
    if chosen_id is None:
        return None
    if store and chosen_id != stored:
        remember(session, experiment_id, subject, chosen_id)
    chosen = next(v for v in variants if v.id == chosen_id)
    version = prompts.snapshot(session, chosen.version_id, chosen.version, chosen.content_hash)
    return Chosen(experiment_id, chosen.id, chosen.name, version)


# --- outcomes ------------------------------------------------------------------------------------


def outcome_value(item: OutcomeIn, i: int) -> float:
    if (item.thumbs is None) == (item.score is None):
        raise _field(f"outcomes.{i}", "give exactly one of thumbs or score")
    return item.score if item.score is not None else float(item.thumbs == "up")


def record_outcomes(
    session: Session, experiment: Experiment, items: list[OutcomeIn], source: str = "api"
) -> int:
    """All or nothing: one unknown subject or wrong variant refuses the whole batch."""
    if experiment.status != ExperimentStatus.running.value:
        raise Conflict(f"experiment {experiment.id} is {experiment.status}; it takes no more outcomes")
    values = [outcome_value(item, i) for i, item in enumerate(items)]
    assigned = _assignments(session, experiment.id, {item.subject for item in items})
    names = {v.id: v.name for v in variants_of(session, experiment.id)}
    rows = []
    now = utcnow()  # one batch, one recorded time
    for i, (item, value) in enumerate(zip(items, values, strict=True)):
        variant_id = assigned.get(item.subject)
        if variant_id is None:
            raise _field(
                f"outcomes.{i}.subject", f"{item.subject!r} was never assigned in experiment {experiment.id}"
            )
        if item.variant is not None and item.variant != names[variant_id]:
            raise _field(
                f"outcomes.{i}.variant",
                f"{item.subject!r} is in variant {names[variant_id]!r}, not {item.variant!r}",
            )
        rows.append(
            {
                "experiment_id": experiment.id,
                "variant_id": variant_id,
                "subject": item.subject,
                "value": value,
                "source": source,
                "call_id": item.call_id,
                "recorded_at": now,
            }
        )
    _insert_outcomes(session, rows)
    return len(rows)


_OUTCOME_COLUMNS = ("experiment_id", "variant_id", "subject", "value", "source", "call_id", "recorded_at")


def _insert_outcomes(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany through the driver. Outcomes arrive in batches of thousands and need no
    ORM state: the ORM's bulk insert spent two thirds of a 10,000-outcome batch building it, and
    Core's per-row parameter handling half of what was left. The statement is still compiled by
    SQLAlchemy for the dialect, and each value goes through its type's bind processor."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = cast(Table, ExperimentOutcome.__table__)
    compiled = table.insert().compile(dialect=dialect, column_keys=list(_OUTCOME_COLUMNS))
    processors = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _OUTCOME_COLUMNS
    }
    active = [(name, p) for name, p in processors.items() if p is not None]
    if active:
        rows = [row | {name: p(row[name]) for name, p in active if row[name] is not None} for row in rows]
    if compiled.positional:
        order = compiled.positiontup or []
        params: list[Any] = [tuple(row[name] for name in order) for row in rows]
    else:
        params = [{name: row[name] for name in _OUTCOME_COLUMNS} for row in rows]
    connection.exec_driver_sql(str(compiled), params)


_ASSIGNED = select(ExperimentAssignment.subject, ExperimentAssignment.variant_id).where(
    ExperimentAssignment.experiment_id == bindparam("experiment_id"),
    ExperimentAssignment.subject.in_(bindparam("subjects", expanding=True)),
)


def _assignments(session: Session, experiment_id: int, subjects: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(subjects)
    for start in range(0, len(ordered), 5_000):  # under SQLite's (32,766) and PostgreSQL's limits
        chunk = ordered[start : start + 5_000]
        found |= dict(session.execute(_ASSIGNED, {"experiment_id": experiment_id, "subjects": chunk}).all())
    return found


def outcomes_from_ledger(session: Session, values: dict[int, float]) -> int:
    """Scored predictions settle the experiment calls that explained them: one outcome per call
    (the first verdict on any of its predictions), recorded in the call's variant."""
    calls = session.execute(
        select(
            AssistantCall.id, AssistantCall.experiment_id, AssistantCall.subject, AssistantCall.prediction_ids
        )
        .join(Experiment, Experiment.id == AssistantCall.experiment_id)
        .where(Experiment.status == ExperimentStatus.running.value, AssistantCall.subject.is_not(None))
    ).all()
    settled = set(
        session.scalars(
            select(ExperimentOutcome.call_id).where(ExperimentOutcome.call_id.in_([c.id for c in calls]))
        )
    )
    recorded = 0
    for call_id, experiment_id, subject, prediction_ids in calls:
        scored = [values[p] for p in prediction_ids or [] if p in values]
        if not scored or call_id in settled:
            continue
        item = OutcomeIn(subject=subject, score=sum(scored) / len(scored), call_id=call_id)
        recorded += record_outcomes(session, get_experiment(session, experiment_id), [item], source="ledger")
    return recorded


# --- guardrails ----------------------------------------------------------------------------------


def check_guardrails(session: Session, experiment_id: int, variant_id: int | None = None) -> list[str]:
    """Pause every live variant (or just ``variant_id``) that crossed a guardrail; the names paused now."""
    experiment = get_experiment(session, experiment_id)
    if experiment.status != ExperimentStatus.running.value:
        return []
    rails = experiment.guardrails
    paused = []
    for variant in variants_of(session, experiment_id):
        if variant.paused_reason is not None or variant_id not in (None, variant.id):
            continue
        reason = _crossed(calls_summary(session, variant.id, GUARDRAIL_WINDOW), rails)
        if reason:
            variant.paused_reason = reason
            paused.append(variant.name)
            record_audit(
                session,
                GUARDRAIL,
                "experiment.pause",
                "experiment",
                str(experiment_id),
                {"variant": variant.name, "reason": reason},
            )
    session.flush()
    return paused


@dataclass(frozen=True)
class CallsSummary:
    calls: int
    error_rate: float | None
    p95_latency_ms: float | None
    tokens_per_call: float | None


def calls_summary(session: Session, variant_id: int, window: int | None = None) -> CallsSummary:
    query = (
        select(
            AssistantCall.outcome,
            AssistantCall.latency_ms,
            AssistantCall.prompt_tokens,
            AssistantCall.completion_tokens,
        )
        .where(AssistantCall.variant_id == variant_id)
        .order_by(AssistantCall.id.desc())
    )
    rows = session.execute(query.limit(window) if window else query).all()
    if not rows:
        return CallsSummary(0, None, None, None)
    errors = sum(1 for r in rows if r.outcome in ("error", "unreachable"))
    latencies = sorted(r.latency_ms for r in rows if r.latency_ms is not None)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None
    tokens = [
        (r.prompt_tokens or 0) + (r.completion_tokens or 0) for r in rows if r.prompt_tokens is not None
    ]
    return CallsSummary(len(rows), errors / len(rows), p95, sum(tokens) / len(tokens) if tokens else None)


def _crossed(summary: CallsSummary, rails: dict) -> str | None:
    if summary.calls < rails.get("min_calls", 20):
        return None
    checks = [
        ("max_error_rate", summary.error_rate, "error rate {:.0%} over the limit of {:.0%}"),
        ("max_p95_latency_ms", summary.p95_latency_ms, "p95 latency {:.0f} ms over the limit of {:.0f} ms"),
        ("max_tokens_per_call", summary.tokens_per_call, "{:.0f} tokens per call over the limit of {:.0f}"),
    ]
    for key, value, words in checks:
        limit = rails.get(key)
        if limit is not None and value is not None and value > limit:
            return words.format(value, limit) + f" (last {summary.calls} calls)"
    return None


# --- ending --------------------------------------------------------------------------------------


def stop(session: Session, experiment: Experiment, actor: Principal) -> Experiment:
    if experiment.status != ExperimentStatus.running.value:
        raise Conflict(f"experiment {experiment.id} is already {experiment.status}")
    experiment.status, experiment.stopped_at = ExperimentStatus.stopped.value, utcnow()
    session.flush()
    record_audit(session, actor, "experiment.stop", "experiment", str(experiment.id), {})
    return experiment


def promote(
    session: Session, experiment: Experiment, variant_name: str, actor: Principal, *, force: bool, note: str
) -> ExperimentVariant:
    """Move ``production`` to the variant's version (through the test gate), end the experiment."""
    from helios.assistants import service

    if experiment.status == ExperimentStatus.promoted.value:
        raise Conflict(f"experiment {experiment.id} already promoted a winner")
    variant = next((v for v in variants_of(session, experiment.id) if v.name == variant_name), None)
    if variant is None:
        raise _field("variant", f"experiment {experiment.id} has no variant {variant_name!r}")
    assistant = session.get(Assistant, experiment.assistant_id)
    version = session.get(PromptVersion, variant.version_id)
    assert assistant is not None and version is not None
    service.move_label(
        session,
        assistant,
        prompts.PRODUCTION,
        version.version,
        actor,
        force=force,
        note=note or f"promoted from experiment {experiment.name}",
    )
    experiment.status, experiment.winner_variant_id = ExperimentStatus.promoted.value, variant.id
    experiment.stopped_at = experiment.stopped_at or utcnow()
    session.flush()
    details = {"variant": variant.name, "version": version.version, "note": note}
    record_audit(session, actor, "experiment.promote", "experiment", str(experiment.id), details)
    return variant


def version_number(session: Session, variant: ExperimentVariant) -> int:
    version = session.get(PromptVersion, variant.version_id)
    assert version is not None
    return version.version
