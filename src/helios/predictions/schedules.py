"""Prediction schedules: a cron expression (croniter), stored, fired by whichever server takes
the lease first.

Firing is one conditional UPDATE: it sets the lease only on a schedule that is due and not
leased (or whose lease ran out), so of two servers sharing one database exactly one gets
rowcount 1 and enqueues the run; the other moves on. ``missed="catch_up"`` fires once per missed
time (the next fire time steps from the previous one); ``"skip"`` fires once and jumps to the
next time after now.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from helios.core.auth import Principal, Role, record_audit
from helios.core.clock import as_utc, utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound
from helios.predictions.schemas import RunRequest, ScheduleCreate, Trigger
from helios.predictions.tables import PredictionSchedule

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=5)


def next_time(cron: str, after: dt.datetime) -> dt.datetime:
    from croniter import croniter

    return as_utc(croniter(cron, as_utc(after)).get_next(dt.datetime))


def check_cron(cron: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(cron):
        detail = f"cron expression {cron!r} does not parse; e.g. '30 21 * * 1-5' (21:30 UTC on weekdays)"
        raise InvalidInput(detail, errors=[{"field": "cron", "message": detail}])
    return cron


def create_schedule(session: Session, body: ScheduleCreate, actor: Principal) -> PredictionSchedule:
    check_cron(body.cron)
    if session.scalar(select(PredictionSchedule.id).where(PredictionSchedule.name == body.name)):
        raise Conflict(f"a schedule named {body.name!r} already exists")
    schedule = PredictionSchedule(
        name=body.name,
        request=body.request.model_dump(mode="json"),
        cron=body.cron,
        missed=body.missed,
        enabled=body.enabled,
        next_run_at=next_time(body.cron, utcnow()),
        created_by=actor.name,
    )
    session.add(schedule)
    session.flush()
    record_audit(
        session, actor, "predictions.schedule", "prediction_schedule", body.name, {"cron": body.cron}
    )
    return schedule


def list_schedules(session: Session) -> list[PredictionSchedule]:
    return list(session.scalars(select(PredictionSchedule).order_by(PredictionSchedule.name)))


def get_schedule(session: Session, name: str) -> PredictionSchedule:
    found = session.scalar(select(PredictionSchedule).where(PredictionSchedule.name == name))
    if found is None:
        raise NotFound(f"no prediction schedule {name!r}")
    return found


def delete_schedule(session: Session, name: str, actor: Principal) -> None:
    session.delete(get_schedule(session, name))
    record_audit(session, actor, "predictions.schedule.delete", "prediction_schedule", name, {})
    session.flush()


def take_lease(session: Session, schedule_id: int, owner: str, now: dt.datetime) -> bool:
    taken = session.execute(
        update(PredictionSchedule)
        .where(
            PredictionSchedule.id == schedule_id,
            PredictionSchedule.enabled.is_(True),
            PredictionSchedule.next_run_at <= now,
            or_(PredictionSchedule.lease_until.is_(None), PredictionSchedule.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + LEASE)
    )
    return taken.rowcount == 1


def fire_due(context, owner: str, now: dt.datetime | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    """Enqueue a run for every due schedule this server wins the lease of; returns run ids."""
    now = now or utcnow()
    with context.db.reading() as session:
        due = list(
            session.scalars(
                select(PredictionSchedule.id).where(
                    PredictionSchedule.enabled.is_(True), PredictionSchedule.next_run_at <= now
                )
            )
        )
    return [run_id for schedule_id in due if (run_id := _fire(context, schedule_id, owner, now)) is not None]


def _fire(context, schedule_id: int, owner: str, now: dt.datetime) -> int | None:  # type: ignore[no-untyped-def]
    from helios.predictions import service

    with context.db.transaction() as session:
        if not take_lease(session, schedule_id, owner, now):
            return None
        schedule = session.get(PredictionSchedule, schedule_id)
        fired_for = as_utc(schedule.next_run_at)
        after = fired_for if schedule.missed == "catch_up" else now
        schedule.next_run_at = next_time(schedule.cron, after)
        schedule.last_run_at, schedule.lease_until, schedule.lease_owner = now, None, None
        actor = Principal(name=schedule.created_by, role=Role.editor)
        run = service.enqueue_run(
            session,
            RunRequest.model_validate(schedule.request),
            0,
            actor,
            trigger=Trigger.schedule,
            schedule_id=schedule.id,
        )
        schedule.last_status = f"run {run.id} queued for {fired_for:%Y-%m-%d %H:%M} UTC"
        return run.id
