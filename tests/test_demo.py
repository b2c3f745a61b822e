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
