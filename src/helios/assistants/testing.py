"""Prompt tests on sample inputs: test sets (rows of variables + assertions), runs of one version or
two side by side with N repeats per row, pass rates with Wilson intervals and pass^N, and the
production gate.

A gating set gates by its latest run on the version being promoted: a version never run against
the set, or whose latest run failed, is refused (unless an admin forces it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.assistants.tables import Assistant, PromptTestRun, PromptTestSet, PromptVersion


def gate_failures(session: Session, assistant: Assistant, version: PromptVersion) -> list[str]:
    """Names of the gating test sets ``version`` has not passed in its latest run of each."""
    sets = session.scalars(
        select(PromptTestSet).where(
            PromptTestSet.assistant_id == assistant.id, PromptTestSet.gates_production.is_(True)
        )
    )
    return [s.name for s in sets if not _latest_run_passed(session, s, version)]


def _latest_run_passed(session: Session, test_set: PromptTestSet, version: PromptVersion) -> bool:
    runs = session.scalars(
        select(PromptTestRun)
        .where(PromptTestRun.test_set_id == test_set.id)
        .order_by(PromptTestRun.id.desc())
    )
    for run in runs:
        for result in run.results:
            if result.get("version_id") == version.id:
                return bool(result.get("passed"))
    return False
