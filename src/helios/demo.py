"""Seeds a fresh Helios with demo data, so a newcomer's first look is not an empty page.

Seeding is idempotent: each demo dataset is imported only when no dataset of that name exists,
so a restart with ``--demo`` never duplicates anything or overwrites what a user changed.
"""

from __future__ import annotations

import logging

from helios.context import AppContext
from helios.core.auth import Principal, Role
from helios.datasets import service, views
from helios.datasets.schemas import ImportRequest

log = logging.getLogger(__name__)
DEMO_USER = Principal(name="demo", role=Role.admin)


def seed_demo(context: AppContext, *, force: bool = False) -> list[str]:
    """Import every demo dataset that is missing; returns the names it created.

    Without ``force`` nothing is seeded into a database that already holds any dataset (the
    demo is for first start, not for a team's working instance)."""
    from helios.datasets.demo import demo_datasets

    with context.db.reading() as session:
        existing = {dataset.name for dataset in views.all_datasets(session)}
    if existing and not force:
        return []
    created = []
    for item in demo_datasets():
        if item.name in existing:
            continue
        request = ImportRequest(
            name=item.name,
            kind=item.kind,
            format=item.options.format,
            description=item.description,
            freq=item.options.freq,
            start=item.options.start,
            rules=item.options.rules,
            game=item.options.game,
            filename=f"{item.name}.csv",
        )
        with context.db.transaction() as session:
            service.import_file(
                session, context.store, request, item.raw, DEMO_USER, max_bytes=max(len(item.raw), 1)
            )
        created.append(item.name)
        log.info("seeded demo dataset %s", item.name)
    if created:
        created += seed_models(context)
        created += seed_assistant(context)
        created += _seed_prediction_history(context)
    return created


# A small but living registry: real jobs on the demo data, a deployment history, an LLM entry.
DEMO_JOBS: list[dict] = [
    {"dataset": "synthetic-stocks", "family": "seasonal_naive", "target_model": "stocks-baseline"},
    {
        "dataset": "synthetic-stocks",
        "family": "nbeats",
        "target_model": "stocks-nbeats",
        "hyperparameters": {
            "epochs": 8,
            "hidden_size": 24,
            "layers": 2,
            "blocks": 1,
            "horizon": 14,
            "steps_per_epoch": 4,
            "batch_size": 32,
        },
    },
    {
        "dataset": "synthetic-stocks",
        "family": "nbeats",
        "target_model": "stocks-nbeats",
        "hyperparameters": {
            "epochs": 8,
            "hidden_size": 48,
            "layers": 2,
            "blocks": 1,
            "horizon": 14,
            "steps_per_epoch": 4,
            "batch_size": 32,
            "learning_rate": 0.003,
        },
    },
    {
        "dataset": "synthetic-stocks",
        "family": "nbeats",
        "target_model": "stocks-nbeats",
        "hyperparameters": {
            "epochs": 40,
            "hidden_size": 48,
            "layers": 2,
            "blocks": 1,
            "horizon": 14,
            "steps_per_epoch": 4,
            "batch_size": 32,
            "learning_rate": 0.01,
        },
        "early_stopping": {"patience": 2, "min_delta": 0.02},
    },
    {
        "dataset": "synthetic-powerball",
        "family": "historical_frequency",
        "target_model": "powerball-frequency",
        "validation": {"horizon": 50},
    },
]
# Why each version was deployed. What it scored is not written here: the note gets the holdout
# numbers read out in words once the job has measured them (``measured_note``), so a demo never
# claims what its numbers do not show.
DEMO_DEPLOYMENTS = [
    ("stocks-baseline", 1, "active", "first baseline in production"),
    ("stocks-nbeats", 1, "active", "first network, deployed to try it out"),
    ("stocks-nbeats", 2, "active", "wider network"),
    ("stocks-nbeats", 3, "staging", "early-stopped run, under review"),
    ("powerball-frequency", 1, "active", "for the curious"),
    ("forecast-explainer", 1, "active", "explains forecasts in plain words"),
]


def seed_models(context: AppContext) -> list[str]:
    from helios.registry import deployments
    from helios.registry import service as registry
    from helios.registry.schemas import LlmConfig, ModelCreate
    from helios.training import service as training
    from helios.training.runner import run_job
    from helios.training.schemas import JobCreate
    from helios.training.workers import claim_next

    for spec in DEMO_JOBS:
        body = JobCreate(**{"validation": {"horizon": 14, "refit": False}, **spec})
        with context.db.transaction() as session:
            training.create_job(session, body, DEMO_USER)
        job_id = claim_next(context, "demo-seed")
        if job_id is not None:
            run_job(context, job_id)
    with context.db.transaction() as session:
        explainer = registry.create_model(
            session,
            ModelCreate(
                name="forecast-explainer",
                kind="llm",
                task="chat",
                description="Explains forecasts to people",
                llm=LlmConfig(
                    base_url="http://127.0.0.1:11434/v1",
                    model_name="llama3.2",
                    api_key_env="OLLAMA_API_KEY",
                    default_params={"temperature": 0.2},
                ),
            ),
            DEMO_USER,
        )
        registry.add_llm_version(
            session,
            explainer,
            LlmConfig(
                base_url="http://127.0.0.1:11434/v1",
                model_name="qwen2.5:7b",
                default_params={"temperature": 0.1},
            ),
            DEMO_USER,
            description="trying a smaller model",
        )
    for name, version, stage, intent in DEMO_DEPLOYMENTS:
        try:
            with context.db.transaction() as session:
                metrics = registry.get_version(session, registry.get_model(session, name), version).metrics
                note = measured_note(intent, metrics or {})
                deployments.deploy(session, name, version, stage, note, DEMO_USER)
        except Exception:  # a demo job that failed leaves its model without that version
            log.warning("demo deployment %s v%s skipped", name, version, exc_info=True)
    return ["demo models and jobs"]


def measured_note(intent: str, metrics: dict) -> str:
    """The reason for a deployment, then what the holdout measured, in words (the model's card and
    the compare page read scores the same way)."""
    from helios.training import scoreboard

    words = list(scoreboard.explain(metrics).values())
    warning = scoreboard.interval_warning(metrics)
    if warning:
        words.append(f"warning: {warning}")
    return f"{intent}; holdout: " + "; ".join(words) if words else intent


def seed_assistant(context: AppContext) -> list[str]:
    """An analyst assistant with two prompt versions (production, staging) and a test set. It has
    no model until someone points it at one (local model servers need an admin's consent), so its
    chat says plainly that nothing answered and shows the rendered prompt."""
    from helios.assistants import service as assistants
    from helios.assistants import testing
    from helios.assistants.schemas import AssistantCreate, PromptVersionCreate, TestSetCreate

    system = (
        "You are {{ assistant }}, explaining forecasts to people who are not statisticians.\n"
        "{% for p in predictions %}- {{ p.ticker }} from {{ p.model }}, made {{ p.origin }}\n{% endfor %}"
        "Say how sure the forecast is, using its intervals; never promise a price."
    )
    first = PromptVersionCreate(
        system_prompt=system,
        messages=[{"role": "user", "template": "{{ question }}"}],
        variables=["question"],
        message="first cut",
    )
    second = first.model_copy(
        update={"system_prompt": system + " Answer in three sentences.", "message": "shorter"}
    )
    with context.db.transaction() as session:
        analyst = assistants.create_assistant(
            session,
            AssistantCreate(name="analyst", role="analyst", description="Explains price forecasts"),
            DEMO_USER,
        )
        assistants.save_version(session, analyst, first, DEMO_USER)
        assistants.save_version(session, analyst, second, DEMO_USER)
        assistants.move_label(session, analyst, "production", 1, DEMO_USER)
        assistants.move_label(session, analyst, "staging", 2, DEMO_USER)
        cases = [
            {
                "variables": {"question": "Where is AAPL heading next week?"},
                "assertions": [
                    {"kind": "not_contains", "value": "guaranteed"},
                    {"kind": "max_length", "max_chars": 900},
                ],
            }
        ]
        testing.create_test_set(session, analyst, TestSetCreate(name="no-promises", cases=cases), DEMO_USER)
    return ["demo assistant"]


def _seed_prediction_history(context: AppContext) -> list[str]:
    from helios.predictions.demo import seed_prediction_history

    try:
        return seed_prediction_history(context)
    except Exception:  # a demo model that failed to train leaves the ledger demo out, not the server
        log.warning("demo prediction history skipped", exc_info=True)
        return []
