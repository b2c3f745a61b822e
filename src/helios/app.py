"""``create_app(settings)``: the FastAPI app with the API routers and, optionally, the web UI."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from helios import __version__
from helios.api import contract, docs, login, problems, shield
from helios.api.routes import api_router, fallback_router
from helios.assistants.ledger import subscribe as subscribe_assistant_outcomes
from helios.assistants.runner import PromptTestWorker
from helios.config import Settings, get_settings
from helios.context import AppContext
from helios.core.event_bus import prune_chore
from helios.db import migrate
from helios.memory.llm_entities import subscribe as subscribe_llm_entities
from helios.memory.system import schedule_purge as schedule_memory_purge
from helios.memory.system import subscribe as subscribe_memory
from helios.predictions.jobs import PredictionWorker
from helios.predictions.outcomes import subscribe as subscribe_scoring
from helios.predictions.rollup import subscribe as subscribe_accuracy_rollup

log = logging.getLogger(__name__)


class AuthNotConfigured(RuntimeError):
    """Serving beyond loopback with nobody able to sign in would leave Helios open to the network."""


def check_exposure(context: AppContext) -> None:
    from helios.core import auth

    if context.settings.bound_to_loopback:
        return
    with context.db.reading() as session:
        has_admin = any(t.role == "admin" for t in auth.list_tokens(session))
    if not has_admin:
        raise AuthNotConfigured(
            f"refusing to serve on {context.settings.host}: Helios bound beyond loopback needs auth. "
            "Create an admin token first: helios tokens create NAME --role admin"
        )


def start_executor(context: AppContext):  # type: ignore[no-untyped-def]
    """The training executor that lives as long as the server: local worker processes, or Ray."""
    settings = context.settings
    if settings.executor == "ray":
        from helios.training.ray_executor import RayDispatcher

        executor = RayDispatcher(context, settings.ray_address, slots=max(1, settings.workers))
    else:
        from helios.training.workers import WorkerPool

        executor = WorkerPool(context, settings.workers)
    executor.start()
    return executor


def sweep_leftovers(context: AppContext) -> None:
    """Temp files and staged artifacts a crash left in the store: gone at start-up."""
    removed = context.store.sweep_leftovers()
    if removed:
        log.info("removed %d leftover temp file(s) from the artifact store", len(removed))


def create_app(
    settings: Settings | None = None, *, ui: bool = True, migrate_db: bool = True, executor: bool = False
) -> FastAPI:
    settings = settings or get_settings()
    context = AppContext.build(settings)
    subscribe_scoring(context)  # predictions are scored when newer data arrives
    subscribe_accuracy_rollup(context)  # scores are added to the accuracy rollup after scoring
    subscribe_memory(context)  # training, deployments and missed predictions become memories
    subscribe_llm_entities(context)  # an LLM finds entities in new memories (when one is configured)
    subscribe_assistant_outcomes(context)  # scored predictions settle assistant experiments
    schedule_memory_purge(context)  # deleted memories go for good after their restore period
    context.housekeeper.add("event outbox", prune_chore(settings.event_retention_days))
    if migrate_db:
        migrate.upgrade(context.db.write_engine)
        sweep_leftovers(context)
    if settings.demo:
        from helios.demo import seed_demo

        seed_demo(context)

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        context.events.start()
        running = start_executor(context) if executor else None
        predicting = PredictionWorker(context).start()  # schedules and runs over many series
        prompt_tests = PromptTestWorker(context.db).start()  # queued prompt test runs
        context.housekeeper.start()  # timed chores: memory purge, outbox retention
        yield
        context.housekeeper.stop()
        prompt_tests.stop()
        predicting.stop()
        if running is not None:
            running.stop()
        context.events.stop()
        context.db.dispose()

    app = FastAPI(
        title="Helios",
        version=__version__,
        lifespan=lifespan,
        description="Self-hosted control room for forecasting agents.",
        docs_url=None,  # served offline by helios.api.docs instead of from a CDN
        redoc_url=None,
    )
    app.state.helios = context
    problems.install(app)
    contract.install(app)
    docs.install(app)
    app.include_router(api_router())
    app.include_router(login.router)
    app.include_router(fallback_router())
    if ui:
        from helios.ui import mount

        mount(app, context)
    shield.install(app, context)  # last added = outermost: before the UI, NiceGUI and the API
    return app
