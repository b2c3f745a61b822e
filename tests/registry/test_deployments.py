"""Stage rules: one active version per model (enforced by the database too), atomic promotion,
rollback, "which version was active at T", and concurrent deploys."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.core.clock import utcnow
from helios.core.errors import Conflict, NotFound
from helios.registry import deployments, service
from helios.registry.schemas import LlmConfig, ModelCreate
from helios.registry.tables import Deployment, ModelVersion


def make_llm(context: AppContext, name: str = "explainer", versions: int = 3) -> None:
    with context.db.transaction() as session:
        model = service.create_model(
            session,
            ModelCreate(
                name=name,
                kind="llm",
                task="chat",
                llm=LlmConfig(base_url="http://127.0.0.1:11434/v1", model_name="m0"),
            ),
            LOCAL_USER,
        )
        for i in range(1, versions):
            service.add_llm_version(
                session,
                model,
                LlmConfig(base_url="http://127.0.0.1:11434/v1", model_name=f"m{i}"),
                LOCAL_USER,
            )


def stages(context: AppContext, name: str = "explainer") -> dict[int, str]:
    with context.db.reading() as session:
        model = service.get_model(session, name)
        rows = session.execute(
            select(ModelVersion.version, ModelVersion.stage).where(ModelVersion.model_id == model.id)
        )
        return dict(rows.tuples().all())


def deploy(context: AppContext, version: int, stage: str = "active", note: str = "") -> None:
    with context.db.transaction() as session:
        deployments.deploy(session, "explainer", version, stage, note, LOCAL_USER)


def test_promoting_archives_the_previous_active(context: AppContext) -> None:
    make_llm(context)
    deploy(context, 1)
    deploy(context, 2, "staging")
    deploy(context, 2, note="better answers")
    assert stages(context) == {1: "archived", 2: "active", 3: "none"}
    with context.db.reading() as session:
        changes = deployments.history(session, service.get_model(session, "explainer"))
    assert [(c.from_stage, c.to_stage) for c in changes][:2] == [
        ("staging", "active"),
        ("active", "archived"),
    ]
    assert changes[1].note == "replaced by v2: better answers"


def test_rollback_returns_to_the_previous_active(context: AppContext) -> None:
    make_llm(context)
    deploy(context, 1)
    deploy(context, 3)
    with context.db.transaction() as session:
        deployments.rollback(session, "explainer", "v3 hallucinates", LOCAL_USER)
    assert stages(context) == {1: "active", 2: "none", 3: "archived"}
    with context.db.transaction() as session:
        deployments.rollback(session, "explainer", "", LOCAL_USER)
    assert stages(context)[3] == "active"


def test_rollback_without_history_is_a_conflict(context: AppContext) -> None:
    make_llm(context)
    deploy(context, 1)
    with context.db.transaction() as session, pytest.raises(Conflict, match="no earlier active"):
        deployments.rollback(session, "explainer", "", LOCAL_USER)


def test_active_at_a_moment(context: AppContext) -> None:
    make_llm(context)
    before = utcnow()
    time.sleep(0.01)
    deploy(context, 1)
    time.sleep(0.01)
    middle = utcnow()
    time.sleep(0.01)
    deploy(context, 2)
    time.sleep(0.01)
    after = utcnow()
    deploy(context, 2, "archived")
    with context.db.reading() as session:
        model = service.get_model(session, "explainer")
        assert deployments.active_at(session, model, before) is None
        assert deployments.active_at(session, model, middle).version == 1
        assert deployments.active_at(session, model, after).version == 2
        assert deployments.active_at(session, model, utcnow() + dt.timedelta(seconds=1)) is None


def test_the_database_refuses_two_active_versions(context: AppContext) -> None:
    make_llm(context)
    deploy(context, 1)
    with pytest.raises(IntegrityError), context.db.transaction() as session:
        session.execute(update(ModelVersion).where(ModelVersion.version == 2).values(stage="active"))


def test_concurrent_deploys_leave_exactly_one_active(context: AppContext) -> None:
    make_llm(context, versions=6)

    def promote(version: int) -> str:
        try:
            deploy(context, version)
            return "ok"
        except (Conflict, IntegrityError) as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(promote, [1, 2, 3, 4, 5, 6, 1, 2, 3]))
    assert outcomes.count("ok") >= 6
    final = stages(context)
    assert list(final.values()).count("active") == 1
    with context.db.reading() as session:
        promotions = session.scalar(select(func.count(Deployment.id)).where(Deployment.to_stage == "active"))
        demotions = session.scalar(select(func.count(Deployment.id)).where(Deployment.from_stage == "active"))
    assert promotions - demotions == 1  # the history adds up to one active version


def test_unknown_version_or_model(context: AppContext) -> None:
    make_llm(context)
    with context.db.transaction() as session, pytest.raises(NotFound, match="version 9"):
        deployments.deploy(session, "explainer", 9, "active", "", LOCAL_USER)
    with context.db.transaction() as session, pytest.raises(NotFound):
        deployments.deploy(session, "ghost", 1, "active", "", LOCAL_USER)
    deploy(context, 1)
    with context.db.transaction() as session, pytest.raises(Conflict, match="already active"):
        deployments.deploy(session, "explainer", 1, "active", "", LOCAL_USER)
