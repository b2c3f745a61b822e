"""The first look of a newcomer: `helios serve --demo` seeds datasets, trained models with a
deployment history, an LLM entry and finished jobs (one stopped early) — once, never twice."""

from __future__ import annotations

import pytest

from helios.context import AppContext
from helios.demo import seed_demo

pytestmark = pytest.mark.slow


def test_demo_seeds_a_living_instance_once(context: AppContext) -> None:
    from helios.datasets import views as datasets
    from helios.registry import views
    from helios.training import views as training

    created = seed_demo(context)
    assert {"synthetic-stocks", "synthetic-powerball"} <= set(created)
    with context.db.reading() as session:
        names = {d.name for d in datasets.list_datasets(session).items}
        models = {m.name: m for m in views.list_models(session).items}
        jobs = training.list_jobs(session).items
    assert {"synthetic-stocks", "synthetic-powerball"} <= names
    assert {j.status for j in jobs} == {"succeeded", "stopped_early"}
    nbeats = models["stocks-nbeats"]
    assert (nbeats.version_count, nbeats.active_version, nbeats.staging_version) == (3, 2, 3)
    assert nbeats.key_metric_value is not None
    assert models["forecast-explainer"].kind == "llm" and models["forecast-explainer"].active_version == 1
    from helios.assistants import views as assistants

    with context.db.reading() as session:
        analyst = assistants.list_assistants(session).items[0]
    assert analyst.name == "analyst" and analyst.labels == {"production": 1, "staging": 2}
    assert seed_demo(context) == []  # a second start changes nothing


def test_demo_notes_and_cards_say_what_was_measured(context: AppContext) -> None:
    """No note is written before its numbers exist: each states the holdout scores in words, and a
    model whose 95% intervals cover far less than claimed says so on its card and its version."""
    from helios.demo import measured_note
    from helios.registry import service as registry
    from helios.registry import views
    from helios.training import scoreboard

    seed_demo(context)
    with context.db.reading() as session:
        summaries = {m.name: m for m in views.list_models(session).items}
        notes: dict[str, list[str]] = {}
        for name in ("stocks-baseline", "stocks-nbeats", "powerball-frequency"):
            model = registry.get_model(session, name)
            notes[name] = [d.note for d in views.deployment_reads(session, model) if d.to_stage != "none"]
    for name, lines in notes.items():
        assert lines and all("holdout: " in line for line in lines), (name, lines)
        assert not any("beats the baseline" in line or "lower MASE" in line for line in lines)
    powerball = summaries["powerball-frequency"]
    reading = scoreboard.explain(powerball.shown_metrics)["log_loss"]
    assert "chance" in reading and any(reading in line for line in notes["powerball-frequency"])
    for summary in summaries.values():
        coverage = summary.shown_metrics.get("coverage_95")
        flagged = scoreboard.interval_warning(summary.shown_metrics)
        assert (flagged is not None) == (isinstance(coverage, float) and coverage < 0.80), summary.name

    # The rule itself, on numbers like the ones the old demo claimed "beat the baseline" with.
    claimed = measured_note("deployed", {"mase": 1.32, "coverage_95": 0.12})
    assert "worse than the naive forecast" in claimed
    assert "warning: 95% intervals covered only 12% of the holdout" in claimed
    assert measured_note("explains forecasts", {}) == "explains forecasts"
