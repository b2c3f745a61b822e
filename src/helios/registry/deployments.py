"""Stage changes: deploy, rollback, and "which version was active at time T".

The model row is locked for the transaction (``FOR UPDATE``; SQLite's BEGIN IMMEDIATE already
serialises writers), and a partial unique index refuses a second active version outright.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helios.core.auth import Principal, record_audit
from helios.core.clock import utcnow
from helios.core.errors import Conflict
from helios.core.events import ModelDeployed, publish
from helios.registry.schemas import Stage
from helios.registry.service import get_model, get_version
from helios.registry.tables import Deployment, Model, ModelVersion


def deploy(
    session: Session,
    model_ident: str,
    number: int,
    stage: Stage,
    note: str,
    actor: Principal,
    *,
    action: Literal["deploy", "rollback"] = "deploy",
) -> Deployment:
    model = get_model(session, model_ident, lock=True)
    version = get_version(session, model, number)
    if version.stage == stage:
        raise Conflict(f"{model.name} v{number} is already {stage}")
    replaced = _demote_active(session, model, version, actor, note) if stage == Stage.active else None
    from_stage = version.stage
    change = _change_stage(session, model, version, stage, actor, note)
    record_audit(session, actor, "model.deploy", "model", model.name, {"version": number, "stage": stage})
    publish(
        session,
        ModelDeployed(
            model=model.name,
            action=action,
            stage=stage,
            to_version=number,
            from_stage=from_stage,
            from_version=replaced.version if replaced else None,
            deployment_id=change.id,
            actor=actor.name,
            note=note,
        ),
    )
    return change


def rollback(session: Session, model_ident: str, note: str, actor: Principal) -> Deployment:
    """Make the version that was active before the current one active again."""
    model = get_model(session, model_ident, lock=True)
    current = session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.stage == Stage.active)
    )
    previous = _previously_active(session, model, exclude=current.id if current else None)
    if previous is None:
        raise Conflict(f"{model.name} has no earlier active version to roll back to")
    why = note or (f"rollback from v{current.version}" if current else "rollback")
    return deploy(session, model.name, previous.version, Stage.active, why, actor, action="rollback")


def active_at(session: Session, model: Model, at: dt.datetime) -> ModelVersion | None:
    """The version that was active at ``at``: the last change into or out of active before it."""
    last = session.scalar(
        select(Deployment)
        .where(
            Deployment.model_id == model.id,
            Deployment.at <= at,
            or_(Deployment.to_stage == Stage.active, Deployment.from_stage == Stage.active),
        )
        .order_by(Deployment.at.desc(), Deployment.id.desc())
        .limit(1)
    )
    if last is None or last.to_stage != Stage.active:
        return None
    return session.get(ModelVersion, last.version_id)


def history(session: Session, model: Model) -> list[Deployment]:
    return list(
        session.scalars(
            select(Deployment)
            .where(Deployment.model_id == model.id)
            .order_by(Deployment.at.desc(), Deployment.id.desc())
        )
    )


def _demote_active(
    session: Session, model: Model, incoming: ModelVersion, actor: Principal, note: str
) -> ModelVersion | None:
    """Archive the active version ``incoming`` replaces; that version, or None."""
    current = session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.stage == Stage.active)
    )
    if current is None or current.id == incoming.id:
        return None
    _change_stage(
        session,
        model,
        current,
        Stage.archived,
        actor,
        f"replaced by v{incoming.version}" + (f": {note}" if note else ""),
    )
    return current


def _change_stage(
    session: Session, model: Model, version: ModelVersion, stage: Stage, actor: Principal, note: str
) -> Deployment:
    change = Deployment(
        model_id=model.id,
        version_id=version.id,
        from_stage=version.stage,
        to_stage=stage,
        actor=actor.name,
        note=note,
        at=utcnow(),
    )
    version.stage = stage
    model.updated_at = utcnow()
    session.add(change)
    session.flush()  # the demotion reaches the database before the promotion
    return change


def _previously_active(session: Session, model: Model, exclude: int | None) -> ModelVersion | None:
    promoted = session.scalars(
        select(Deployment.version_id)
        .where(Deployment.model_id == model.id, Deployment.to_stage == Stage.active)
        .order_by(Deployment.at.desc(), Deployment.id.desc())
    )
    for version_id in promoted:
        if version_id != exclude:
            version = session.get(ModelVersion, version_id)
            if version is not None:
                return version
    return None
