"""An experiment as people read it: per-variant counts, means with intervals, P(best), the
always-valid test against the control, guardrail state, and the verdict in words."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.assistants import statistics
from helios.assistants.experiments import calls_summary, variants_of
from helios.assistants.schemas import (
    ExperimentList,
    ExperimentRead,
    ExperimentStatus,
    Guardrails,
    VariantResult,
)
from helios.assistants.tables import (
    Assistant,
    Experiment,
    ExperimentAssignment,
    ExperimentOutcome,
    ExperimentVariant,
    PromptVersion,
)
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count

EXPERIMENTS = Keyset("experiments", (Experiment.id,), descending=True)


def _outcome_sums(session: Session, experiment_id: int) -> dict[int, tuple[float, float, int]]:
    rows = session.execute(
        select(
            ExperimentOutcome.variant_id,
            func.sum(ExperimentOutcome.value),
            func.sum(ExperimentOutcome.value * ExperimentOutcome.value),
            func.count(),
        )
        .where(ExperimentOutcome.experiment_id == experiment_id)
        .group_by(ExperimentOutcome.variant_id)
    )
    return {variant_id: (float(s or 0), float(q or 0), int(n)) for variant_id, s, q, n in rows}


def _exposures(session: Session, experiment_id: int) -> dict[int, int]:
    rows = session.execute(
        select(ExperimentAssignment.variant_id, func.count())
        .where(ExperimentAssignment.experiment_id == experiment_id)
        .group_by(ExperimentAssignment.variant_id)
    )
    return dict(rows.tuples().all())


def experiment_read(session: Session, experiment: Experiment) -> ExperimentRead:
    variants = variants_of(session, experiment.id)
    sums, exposures = _outcome_sums(session, experiment.id), _exposures(session, experiment.id)
    numbers = dict(
        session.execute(
            select(PromptVersion.id, PromptVersion.version).where(
                PromptVersion.id.in_([v.version_id for v in variants])
            )
        )
        .tuples()
        .all()
    )
    stats = [sums.get(v.id, (0.0, 0.0, 0)) for v in variants]
    best = statistics.prob_best([s for s, _, _ in stats], [n for _, _, n in stats])
    results = [
        _variant(
            session,
            v,
            numbers[v.version_id],
            exposures.get(v.id, 0),
            stats[i],
            best[i],
            stats[0],
            experiment.alpha,
            i,
        )
        for i, v in enumerate(variants)
    ]
    assistant = session.get(Assistant, experiment.assistant_id)
    winner = next((v.name for v in variants if v.id == experiment.winner_variant_id), None)
    return ExperimentRead(
        id=experiment.id,
        assistant=assistant.name if assistant else "?",
        name=experiment.name,
        status=ExperimentStatus(experiment.status),
        alpha=experiment.alpha,
        guardrails=Guardrails.model_validate(experiment.guardrails),
        winner=winner,
        created_at=experiment.created_at,
        created_by=experiment.created_by,
        stopped_at=experiment.stopped_at,
        variants=results,
        verdict=verdict(results, experiment.alpha),
    )


def _variant(
    session: Session,
    v: ExperimentVariant,
    number: int,
    exposures: int,
    sums: tuple[float, float, int],
    prob_best: float,
    control: tuple[float, float, int],
    alpha: float,
    position: int,
) -> VariantResult:
    total, total_sq, n = sums
    low, high = statistics.mean_interval(total, total_sq, n)
    test = statistics.msprt(control, sums, alpha) if position > 0 else None
    calls = calls_summary(session, v.id)
    return VariantResult(
        name=v.name,
        version=number,
        weight=v.weight,
        paused_reason=v.paused_reason,
        exposures=exposures,
        calls=calls.calls,
        error_rate=calls.error_rate,
        p95_latency_ms=calls.p95_latency_ms,
        tokens_per_call=calls.tokens_per_call,
        outcomes=n,
        mean=total / n if n else None,
        low=low,
        high=high,
        prob_best=prob_best if n else None,
        p_value=test.p_value if test else None,
        difference=test.difference if test else None,
    )


def verdict(results: list[VariantResult], alpha: float) -> str:
    control, challengers = results[0], results[1:]
    waiting = [r.name for r in results if r.outcomes < statistics.MIN_PER_ARM]
    if waiting:
        return (
            f"Too early to call: {', '.join(waiting)} need{'s' if len(waiting) == 1 else ''} at least "
            f"{statistics.MIN_PER_ARM} outcomes before the test can speak."
        )
    decided = [r for r in challengers if r.p_value is not None and r.p_value <= alpha]
    if not decided:
        closest = min(challengers, key=lambda r: r.p_value if r.p_value is not None else 1.0)
        return (
            f"No difference shown yet: {closest.name} vs {control.name} differs by "
            f"{_points(closest.difference)} (always-valid p = {closest.p_value:.3f}, needs ≤ {alpha}). "
            "Keep collecting outcomes; looking again is safe."
        )
    strongest = max(decided, key=lambda r: abs(r.difference or 0))
    direction = "better" if (strongest.difference or 0) > 0 else "worse"
    return (
        f"{strongest.name} is {direction} than {control.name} by {_points(strongest.difference)} "
        f"(always-valid p = {strongest.p_value:.4f} ≤ {alpha}); "
        "this holds however often the results were checked."
    )


def _points(difference: float | None) -> str:
    return f"{(difference or 0) * 100:+.1f} points"


def list_experiments(
    session: Session, assistant: Assistant | None, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> ExperimentList:
    query = select(Experiment)
    if assistant is not None:
        query = query.where(Experiment.assistant_id == assistant.id)
    rows, next_cursor = EXPERIMENTS.page(session, query, cursor=cursor, limit=limit)
    return ExperimentList(
        items=[experiment_read(session, e) for e in rows],
        next_cursor=next_cursor,
        total=count(session, query),
    )


def leader(session: Session, experiment: Experiment) -> str:
    """The variant most likely best; the control while nothing has outcomes."""
    read = experiment_read(session, experiment)
    scored = [v for v in read.variants if v.prob_best is not None]
    return max(scored, key=lambda v: v.prob_best or 0).name if scored else read.variants[0].name
