"""Experiments below the API: assignment follows the weights and sticks, the statistics behave,
and scored predictions from the ledger settle the calls that explained them (once)."""

from __future__ import annotations

import math

import numpy as np

from helios.assistants import chat, experiments, ledger, service, statistics
from helios.assistants.experiment_results import experiment_read
from helios.assistants.schemas import (
    AssistantCreate,
    CallOutcome,
    ExperimentCreate,
    PromptVersionCreate,
    RenderedPrompt,
    VariantIn,
)
from helios.core.auth import LOCAL_USER
from helios.core.events import PredictionScored, ScoredPrediction


def setup_experiment(session, weights=(1.0, 3.0)):  # type: ignore[no-untyped-def]
    assistant = service.create_assistant(session, AssistantCreate(name="analyst", role="analyst"), LOCAL_USER)
    for text in ("one", "two"):
        service.save_version(session, assistant, PromptVersionCreate(system_prompt=text), LOCAL_USER)
    body = ExperimentCreate(
        assistant="analyst",
        name="ab",
        variants=[
            VariantIn(name="a", version=1, weight=weights[0]),
            VariantIn(name="b", version=2, weight=weights[1]),
        ],
    )
    return assistant, experiments.create_experiment(session, assistant, body, LOCAL_USER)


def test_assignment_follows_the_weights_and_sticks(context) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        assistant, experiment = setup_experiment(session)
        picks = [experiments.variant_for(session, assistant, f"user-{i}").variant for i in range(2000)]
        again = [experiments.variant_for(session, assistant, f"user-{i}").variant for i in range(2000)]
    assert picks == again
    share_b = picks.count("b") / len(picks)
    assert abs(share_b - 0.75) < 0.04


def test_a_paused_variant_takes_no_one_and_its_subjects_move(context) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        assistant, experiment = setup_experiment(session, (1.0, 1.0))
        before = {s: experiments.variant_for(session, assistant, s).variant for s in map(str, range(50))}
        experiments.variants_of(session, experiment.id)[1].paused_reason = "test"
        after = {s: experiments.variant_for(session, assistant, s).variant for s in before}
    assert set(after.values()) == {"a"}
    assert all(after[s] == "a" for s, v in before.items() if v == "a")


def test_scored_predictions_settle_explaining_calls_once(context) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        assistant, experiment = setup_experiment(session)
        chosen = experiments.variant_for(session, assistant, "ada")
        rendered = RenderedPrompt.model_validate(
            {"version": chosen.version.version, "content_hash": "h", "messages": [], "settings": {}}
        )
        plan = chat.ChatPlan(
            assistant.id,
            "analyst",
            chosen.version.id,
            rendered,
            None,
            "ada",
            ["AAPL"],
            experiment.id,
            chosen.variant_id,
            chosen.variant,
            prediction_ids=[41, 42],
        )
        chat.record(session, plan, chat.Reply(CallOutcome.answered, "x"), LOCAL_USER)
    scored = ScoredPrediction(
        prediction_id=42, model="m", model_version=1, dataset="stocks", unique_id="AAPL", points=3, revised=0
    )
    event = PredictionScored(source="test", predictions=[scored])
    for _ in range(2):  # a redelivery adds nothing
        with context.db.transaction() as session:
            ledger.on_scored(event, session)
    with context.db.reading() as session:
        read = experiment_read(session, experiment)
    counted = {v.name: (v.outcomes, v.mean) for v in read.variants}
    assert counted[chosen.variant] == (1, 1.0)


def test_wilson_interval_matches_the_textbook() -> None:
    low, high = statistics.wilson(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-3) and math.isclose(high, 0.9433, abs_tol=1e-3)
    assert statistics.wilson(0, 5)[0] == 0.0 and statistics.wilson(5, 5)[1] == 1.0


def test_prob_best_favours_the_better_arm() -> None:
    best = statistics.prob_best([60, 40], [100, 100])
    assert best[0] > 0.99 and math.isclose(sum(best), 1.0)


def test_msprt_waits_for_data_and_finds_a_big_effect() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.binomial(1, 0.3, 500).astype(float), rng.binomial(1, 0.5, 500).astype(float)
    early = statistics.msprt((a[:10].sum(), a[:10].sum(), 10), (b[:10].sum(), b[:10].sum(), 10), 0.05)
    assert early.p_value is None and not early.decided
    late = statistics.msprt((a.sum(), a.sum(), 500), (b.sum(), b.sum(), 500), 0.05)
    assert late.decided and late.difference > 0.1


def test_a_batch_of_outcomes_is_stored_row_for_row(context) -> None:  # type: ignore[no-untyped-def]
    # The batch goes through the driver's executemany: every field, the time included, reads back.
    from sqlalchemy import select

    from helios.assistants.schemas import OutcomeIn
    from helios.assistants.tables import ExperimentOutcome
    from helios.core.clock import as_utc, utcnow

    with context.db.transaction() as session:
        _, experiment = setup_experiment(session)
        subjects = [f"user-{i}" for i in range(1200)]
        for subject in subjects:
            experiments.assign(session, experiment, subject)
        items = [OutcomeIn(subject=s, score=(i % 10) / 10, call_id=i) for i, s in enumerate(subjects)]
        before = utcnow()
        assert experiments.record_outcomes(session, experiment, items) == 1200
    with context.db.reading() as session:
        rows = session.scalars(select(ExperimentOutcome).order_by(ExperimentOutcome.id)).all()
        assigned = {s: experiments.assign(session, experiment, s).id for s in subjects[:5]}
    assert [r.subject for r in rows] == subjects and [r.call_id for r in rows] == list(range(1200))
    assert [r.value for r in rows[:3]] == [0.0, 0.1, 0.2] and {r.source for r in rows} == {"api"}
    assert all(r.variant_id == assigned[r.subject] for r in rows[:5])
    assert abs((as_utc(rows[0].recorded_at) - before).total_seconds()) < 60
