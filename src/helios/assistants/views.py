"""Rows -> read schemas for assistants, prompt versions, prompts and the call log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.assistants import prompts, testing
from helios.assistants.schemas import (
    AssistantConfig,
    AssistantList,
    AssistantRead,
    BehaviourSettings,
    CallList,
    CallRead,
    LabelRead,
    MemoryPolicy,
    MessageTemplate,
    PromptList,
    PromptSummary,
    PromptVersionList,
    PromptVersionRead,
    TestCase,
    TestRunList,
    TestRunRead,
    TestSetList,
    TestSetRead,
    VersionRunResult,
)
from helios.assistants.tables import (
    Assistant,
    AssistantCall,
    AssistantSettings,
    PromptLabel,
    PromptTestRun,
    PromptTestSet,
    PromptVersion,
)
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count

ASSISTANTS = Keyset("assistants", (Assistant.name,))
VERSIONS = Keyset("prompt_versions", (PromptVersion.version,), descending=True)
CALLS = Keyset("assistant_calls", (AssistantCall.id,), descending=True)
RUNS = Keyset("prompt_test_runs", (PromptTestRun.id,), descending=True)


def _latest(session: Session, ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(PromptVersion.assistant_id, func.max(PromptVersion.version))
        .where(PromptVersion.assistant_id.in_(ids))
        .group_by(PromptVersion.assistant_id)
    )
    return dict(rows.tuples().all())


def assistant_reads(session: Session, rows: list[Assistant]) -> list[AssistantRead]:
    ids = [a.id for a in rows]
    labels, latest = prompts.labels_of(session, ids), _latest(session, ids)
    return [_assistant(a, labels.get(a.id, {}), latest.get(a.id)) for a in rows]


def assistant_read(session: Session, assistant: Assistant) -> AssistantRead:
    return assistant_reads(session, [assistant])[0]


def _assistant(a: Assistant, labels: dict[str, int], latest: int | None) -> AssistantRead:
    return AssistantRead(
        id=a.id,
        name=a.name,
        role=a.role,
        description=a.description,
        llm_model=a.llm_model,
        llm_version=a.llm_version,
        memory=MemoryPolicy(
            agent=a.memory_agent,
            limit=a.memory_limit,
            min_strength=a.memory_min_strength,
            remember=a.memory_remember,
        ),
        labels=labels,
        latest_version=latest,
        created_at=a.created_at,
        created_by=a.created_by,
        updated_at=a.updated_at,
    )


def list_assistants(
    session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> AssistantList:
    query = select(Assistant)
    rows, next_cursor = ASSISTANTS.page(session, query, cursor=cursor, limit=limit)
    return AssistantList(
        items=assistant_reads(session, rows), next_cursor=next_cursor, total=count(session, query)
    )


def version_read(session: Session, assistant: Assistant, version: PromptVersion) -> PromptVersionRead:
    labels = session.scalars(select(PromptLabel.label).where(PromptLabel.version_id == version.id))
    return _version(assistant, version, sorted(labels))


def _version(assistant: Assistant, v: PromptVersion, labels: list[str]) -> PromptVersionRead:
    return PromptVersionRead(
        id=v.id,
        assistant=assistant.name,
        version=v.version,
        system_prompt=v.system_prompt,
        messages=[MessageTemplate.model_validate(m) for m in v.messages],
        variables=list(v.variables),
        settings=BehaviourSettings.model_validate(v.settings),
        message=v.message,
        author=v.author,
        created_at=v.created_at,
        content_hash=v.content_hash,
        labels=labels,
    )


def list_versions(
    session: Session, assistant: Assistant, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> PromptVersionList:
    query = select(PromptVersion).where(PromptVersion.assistant_id == assistant.id)
    rows, next_cursor = VERSIONS.page(session, query, cursor=cursor, limit=limit)
    by_version: dict[int, list[str]] = {}
    for label, version_id in session.execute(
        select(PromptLabel.label, PromptLabel.version_id).where(PromptLabel.assistant_id == assistant.id)
    ):
        by_version.setdefault(version_id, []).append(label)
    items = [_version(assistant, v, sorted(by_version.get(v.id, []))) for v in rows]
    return PromptVersionList(items=items, next_cursor=next_cursor, total=count(session, query))


def label_reads(session: Session, assistant: Assistant) -> list[LabelRead]:
    rows = session.execute(
        select(PromptLabel, PromptVersion.version)
        .join(PromptVersion, PromptVersion.id == PromptLabel.version_id)
        .where(PromptLabel.assistant_id == assistant.id)
        .order_by(PromptLabel.label)
    )
    return [
        LabelRead(label=row.label, version=number, updated_at=row.updated_at, updated_by=row.updated_by)
        for row, number in rows
    ]


def label_read(session: Session, row: PromptLabel) -> LabelRead:
    number = session.get(PromptVersion, row.version_id).version  # type: ignore[union-attr]
    return LabelRead(label=row.label, version=number, updated_at=row.updated_at, updated_by=row.updated_by)


def list_prompts(session: Session, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> PromptList:
    query = select(Assistant)
    rows, next_cursor = ASSISTANTS.page(session, query, cursor=cursor, limit=limit)
    items = [prompt_summary(session, a) for a in rows]
    return PromptList(items=items, next_cursor=next_cursor, total=count(session, query))


def prompt_summary(session: Session, a: Assistant) -> PromptSummary:
    labels = prompts.labels_of(session, [a.id])[a.id]
    production = None
    if prompts.PRODUCTION in labels:
        production = version_read(session, a, prompts.labelled_version(session, a))
    latest = _latest(session, [a.id]).get(a.id)
    return PromptSummary(id=a.name, role=a.role, latest_version=latest, labels=labels, production=production)


def config_read(row: AssistantSettings) -> AssistantConfig:
    return AssistantConfig(
        allow_local_model_servers=row.allow_local_model_servers,
        request_timeout_s=row.request_timeout_s,
        max_retries=row.max_retries,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def list_calls(
    session: Session, assistant: Assistant, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> CallList:
    query = select(AssistantCall).where(AssistantCall.assistant_id == assistant.id)
    rows, next_cursor = CALLS.page(session, query, cursor=cursor, limit=limit)
    numbers = dict(
        session.execute(
            select(PromptVersion.id, PromptVersion.version).where(
                PromptVersion.id.in_({r.prompt_version_id for r in rows})
            )
        )
        .tuples()
        .all()
    )
    items = [call_read(assistant, r, numbers[r.prompt_version_id]) for r in rows]
    return CallList(items=items, next_cursor=next_cursor)


def call_read(assistant: Assistant, r: AssistantCall, number: int) -> CallRead:
    return CallRead(
        id=r.id,
        assistant=assistant.name,
        prompt_version=number,
        content_hash=r.content_hash,
        experiment_id=r.experiment_id,
        variant_id=r.variant_id,
        subject=r.subject,
        outcome=r.outcome,
        error=r.error,
        latency_ms=r.latency_ms,
        prompt_tokens=r.prompt_tokens,
        completion_tokens=r.completion_tokens,
        tickers=list(r.tickers),
        prediction_ids=list(r.prediction_ids),
        created_at=r.created_at,
        created_by=r.created_by,
    )


# --- prompt tests -----------------------------------------------------------------------------------

TEST_SETS = Keyset("prompt_test_sets", (PromptTestSet.id,))


def test_set_read(session: Session, row: PromptTestSet) -> TestSetRead:
    assistant = session.get(Assistant, row.assistant_id)
    return TestSetRead(
        id=row.id,
        assistant=assistant.name if assistant else "?",
        name=row.name,
        cases=[TestCase.model_validate(c) for c in row.cases],
        gates_production=row.gates_production,
        min_pass_rate=row.min_pass_rate,
        repeats=row.repeats,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def list_test_sets(
    session: Session, assistant: Assistant, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> TestSetList:
    query = select(PromptTestSet).where(PromptTestSet.assistant_id == assistant.id)
    rows, next_cursor = TEST_SETS.page(session, query, cursor=cursor, limit=limit)
    return TestSetList(
        items=[test_set_read(session, r) for r in rows], next_cursor=next_cursor, total=count(session, query)
    )


def run_read(session: Session, run: PromptTestRun) -> TestRunRead:
    test_set = session.get(PromptTestSet, run.test_set_id)
    assert test_set is not None
    assistant = session.get(Assistant, test_set.assistant_id)
    versions = [session.get(PromptVersion, i) for i in run.version_ids]
    return TestRunRead(
        id=run.id,
        test_set=test_set.name,
        assistant=assistant.name if assistant else "?",
        status=run.status,
        finished=run.status in testing.FINISHED,
        versions=[v.version for v in versions if v is not None],
        repeats=run.repeats,
        calls_done=run.calls_done,
        calls_total=run.calls_total,
        results=[VersionRunResult.model_validate(r) for r in run.results],
        error=run.error,
        created_at=run.created_at,
        created_by=run.created_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


def list_runs(
    session: Session, test_set: PromptTestSet, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> TestRunList:
    """A test set's runs, newest first (queued and running ones included)."""
    query = select(PromptTestRun).where(PromptTestRun.test_set_id == test_set.id)
    rows, next_cursor = RUNS.page(session, query, cursor=cursor, limit=limit)
    return TestRunList(
        items=[run_read(session, r) for r in rows], next_cursor=next_cursor, total=count(session, query)
    )
