"""Forgetting by rule: a dry run shows the review queue; applying deletes the reviewed memories
as one action (``MemoryDeletion``) that ``service.undo_deletion`` restores as one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helios.core.auth import Principal
from helios.core.clock import utcnow
from helios.core.errors import InvalidInput
from helios.memory import service
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import ForgetRequest, ForgetResult, ForgetRule
from helios.memory.tables import Memory
from helios.memory.views import corroborations, memory_reads, strength_of

QUEUE_SHOWN = 500


def matching(session: Session, runtime: MemoryRuntime, agent_id: int, rule: ForgetRule) -> list[Memory]:
    """The agent's live memories every condition of ``rule`` holds for, oldest first."""
    now = utcnow()
    query = select(Memory).where(Memory.agent_id == agent_id, Memory.deleted_at.is_(None))
    if rule.older_than_days is not None:
        query = query.where(Memory.recorded_at < now - dt.timedelta(days=rule.older_than_days))
    if rule.kinds:
        query = query.where(Memory.kind.in_([k.value for k in rule.kinds]))
    if rule.superseded is not None:
        replaced = or_(Memory.superseded_by.is_not(None), Memory.valid_until <= now)
        query = query.where(replaced if rule.superseded else ~replaced)
    found = list(session.scalars(query.order_by(Memory.recorded_at, Memory.id)))
    if rule.strength_below is not None:
        backing = corroborations(session, [m.id for m in found])
        found = [
            m for m in found if strength_of(m, runtime, backing.get(m.id, 0), now).total < rule.strength_below
        ]
    return found


def forget(
    session: Session, runtime: MemoryRuntime, agent_id: int, request: ForgetRequest, actor: Principal
) -> ForgetResult:
    queue = matching(session, runtime, agent_id, request.rule)
    if request.memory_ids is not None:
        queue = _reviewed(queue, request.memory_ids)
    shown = memory_reads(session, runtime, queue[:QUEUE_SHOWN])
    if request.dry_run or not queue:
        return ForgetResult(dry_run=request.dry_run, count=len(queue), items=shown, deletion_id=None)
    rule = request.rule.model_dump(mode="json", exclude_none=True)
    deletion = service.soft_delete(session, agent_id, queue, actor, "forget", rule)
    return ForgetResult(dry_run=False, count=len(queue), items=shown, deletion_id=deletion.id)


def _reviewed(queue: list[Memory], memory_ids: list[int]) -> list[Memory]:
    # A reviewed id the rule no longer matches (changed since the dry run) is refused, not ignored.
    by_id = {m.id: m for m in queue}
    for position, memory_id in enumerate(memory_ids):
        if memory_id not in by_id:
            raise InvalidInput(
                f"memory_ids[{position}]: memory {memory_id} does not match the rule (any more)",
                errors=[{"field": f"memory_ids[{position}]", "message": "not in the review queue"}],
            )
    return [by_id[i] for i in dict.fromkeys(memory_ids)]
