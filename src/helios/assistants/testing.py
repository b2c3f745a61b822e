"""Prompt tests on sample inputs: test sets (rows of variables + assertions), runs of one version or
two side by side with N repeats per row, pass rates with Wilson intervals and pass^N, and the
production gate.

A gating set gates by its latest run on the version being promoted: a version never run against
the set, or whose latest run failed, is refused (unless an admin forces it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.assistants import patterns, prompts, providers, statistics
from helios.assistants.providers import Provider, ProviderProblem
from helios.assistants.schemas import (
    AssertionKind,
    BehaviourSettings,
    CaseResult,
    ChatMessage,
    RenderedPrompt,
    TestAssertion,
    TestCase,
    TestSetCreate,
    VersionRunResult,
)
from helios.assistants.tables import Assistant, PromptTestRun, PromptTestSet, PromptVersion
from helios.core.auth import Principal, record_audit
from helios.core.errors import Conflict, InvalidInput, NotFound

MAX_CALLS_PER_RUN = 400
PARALLEL_CALLS = 4
PROGRESS_EVERY_S = 5.0  # progress (and so the run's heartbeat) is reported at least this often
FINISHED = frozenset({"passed", "failed", "unavailable", "error"})
JUDGE_PROMPT = (
    "You judge whether an assistant's output meets a criterion. Answer PASS or FAIL, then one short reason."
)
JUDGE_SETTINGS = BehaviourSettings(temperature=0.0, max_tokens=64)


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


# --- test sets -------------------------------------------------------------------------------------


def _field(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


def check_assertion(assertion: TestAssertion, where: str) -> None:
    needs_value = {
        AssertionKind.contains,
        AssertionKind.not_contains,
        AssertionKind.regex,
        AssertionKind.llm_judge,
    }
    if assertion.kind in needs_value and not assertion.value:
        raise _field(f"{where}.value", f"a {assertion.kind.value} assertion needs a value")
    if assertion.kind == AssertionKind.max_length and assertion.max_chars is None:
        raise _field(f"{where}.max_chars", "a max_length assertion needs max_chars")
    if assertion.kind == AssertionKind.regex:
        try:
            patterns.compile_pattern(assertion.value or "")
        except patterns.PatternError as exc:
            raise _field(f"{where}.value", str(exc)) from None


def create_test_set(
    session: Session, assistant: Assistant, body: TestSetCreate, actor: Principal
) -> PromptTestSet:
    for i, case in enumerate(body.cases):
        for j, assertion in enumerate(case.assertions):
            check_assertion(assertion, f"cases.{i}.assertions.{j}")
    taken = select(PromptTestSet.id).where(
        PromptTestSet.assistant_id == assistant.id, PromptTestSet.name == body.name
    )
    if session.scalar(taken):
        raise Conflict(f"assistant {assistant.name!r} already has a test set {body.name!r}")
    row = PromptTestSet(
        assistant_id=assistant.id,
        name=body.name,
        cases=[c.model_dump(mode="json") for c in body.cases],
        gates_production=body.gates_production,
        min_pass_rate=body.min_pass_rate,
        repeats=body.repeats,
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record_audit(session, actor, "prompt_test_set.create", "assistant", assistant.name, {"name": body.name})
    return row


def get_test_set(session: Session, test_set_id: int) -> PromptTestSet:
    row = session.get(PromptTestSet, test_set_id)
    if row is None:
        raise NotFound(f"no test set {test_set_id}")
    return row


def get_run(session: Session, run_id: int) -> PromptTestRun:
    row = session.get(PromptTestRun, run_id)
    if row is None:
        raise NotFound(f"no test run {run_id}")
    return row


# --- running ---------------------------------------------------------------------------------------


@dataclass
class RunPlan:
    test_set_id: int
    cases: list[TestCase]
    repeats: int
    min_pass_rate: float
    versions: list[tuple[PromptVersion, list[RenderedPrompt]]]  # rendered per case
    provider: Provider | None

    @property
    def calls(self) -> int:
        """Attempts (case x repeat x version); a judge's verdict is part of its attempt."""
        return len(self.cases) * self.repeats * len(self.versions)


def queue_run(
    session: Session, test_set: PromptTestSet, numbers: list[int], repeats: int | None, actor: Principal
) -> PromptTestRun:
    """A queued run for the worker, after everything is rendered once (a bad row is a 422 and
    nothing is stored)."""
    assistant = session.get(Assistant, test_set.assistant_id)
    assert assistant is not None
    plan = plan_run(session, test_set, numbers, repeats, None)
    run = PromptTestRun(
        test_set_id=test_set.id,
        version_ids=[v.id for v, _ in plan.versions],
        repeats=plan.repeats,
        status="queued",
        results=[],
        calls_total=plan.calls,
        calls_done=0,
        created_by=actor.name,
    )
    session.add(run)
    session.flush()
    record_audit(
        session,
        actor,
        "prompt_test_run.queue",
        "assistant",
        assistant.name,
        {"run": run.id, "versions": numbers},
    )
    return run


def plan_run(
    session: Session,
    test_set: PromptTestSet,
    numbers: list[int],
    repeats: int | None,
    provider: Provider | None,
) -> RunPlan:
    """Render every case for every version first: a bad row is a 422 before any model is called."""
    assistant = session.get(Assistant, test_set.assistant_id)
    assert assistant is not None
    if len(set(numbers)) != len(numbers):
        raise _field("versions", "name two different versions to compare")
    cases = [TestCase.model_validate(c) for c in test_set.cases]
    repeats = repeats or test_set.repeats
    if len(cases) * repeats * len(numbers) > MAX_CALLS_PER_RUN:
        raise _field(
            "repeats", f"cases x repeats x versions is above {MAX_CALLS_PER_RUN} calls; use fewer repeats"
        )
    found = [_version(session, assistant, number, i) for i, number in enumerate(numbers)]
    versions = [(v, [_render(v, case, k) for k, case in enumerate(cases)]) for v in found]
    return RunPlan(test_set.id, cases, repeats, test_set.min_pass_rate, versions, provider)


def _version(session: Session, assistant: Assistant, number: int, i: int) -> PromptVersion:
    try:
        return prompts.get_version(session, assistant, number)
    except NotFound as exc:
        raise _field(f"versions.{i}", exc.detail) from None


def _render(version: PromptVersion, case: TestCase, k: int) -> RenderedPrompt:
    try:
        return prompts.render_version(version, case.variables)
    except InvalidInput as exc:
        first = exc.errors[0] if exc.errors else {"field": "variables", "message": exc.detail}
        raise _field(f"cases.{k}.{first['field']}", first["message"]) from None


def execute(plan: RunPlan, progress: Callable[[int], None] | None = None) -> list[VersionRunResult]:
    """Every case x repeat x version against the provider (a few at a time); no session held.
    ``progress`` gets the number of attempts done as they finish, and at least every
    ``PROGRESS_EVERY_S`` while a slow model keeps them all waiting."""
    if plan.provider is None:
        notice = "no model provider configured: nothing was run, so nothing passed"
        return [_unavailable(v, plan, notice) for v, _ in plan.versions]
    jobs = [
        (vi, k, r)
        for vi in range(len(plan.versions))
        for k in range(len(plan.cases))
        for r in range(plan.repeats)
    ]
    found: dict[tuple[int, int, int], tuple[str | None, list[str]]] = {}
    with ThreadPoolExecutor(max_workers=PARALLEL_CALLS) as pool:
        pending = {pool.submit(_attempt, plan, *job): job for job in jobs}
        while pending:
            done, _ = wait(pending, timeout=PROGRESS_EVERY_S, return_when=FIRST_COMPLETED)
            for future in done:
                found[pending.pop(future)] = future.result()
            if progress is not None:
                progress(len(found))
    return [_version_result(plan, vi, found) for vi in range(len(plan.versions))]


def verdict(results: list[VersionRunResult]) -> str:
    if all(r.notice for r in results):
        return "unavailable"
    return "passed" if all(r.passed for r in results) else "failed"


def _attempt(plan: RunPlan, vi: int, k: int, _repeat: int) -> tuple[str | None, list[str]]:
    rendered = plan.versions[vi][1][k]
    assert plan.provider is not None
    try:
        output = providers.complete(plan.provider, rendered.messages, rendered.settings).text
    except ProviderProblem as problem:
        return None, [f"no answer: {problem}"]
    failures = [f for a in plan.cases[k].assertions if (f := _failure(plan.provider, a, output))]
    return output, failures


def _failure(provider: Provider, assertion: TestAssertion, output: str) -> str | None:
    """Why ``output`` fails ``assertion``; None when it passes."""
    kind, value = assertion.kind, assertion.value or ""
    if kind == AssertionKind.contains and value not in output:
        return f"does not contain {value!r}"
    if kind == AssertionKind.not_contains and value in output:
        return f"contains {value!r}"
    if kind == AssertionKind.regex:
        return _regex_failure(value, output)
    if kind == AssertionKind.json_valid and not _is_json(output):
        return "is not valid JSON"
    if kind == AssertionKind.max_length and len(output) > (assertion.max_chars or 0):
        return f"is {len(output)} characters, over {assertion.max_chars}"
    if kind == AssertionKind.llm_judge:
        return _judge(provider, value, output)
    return None


def _regex_failure(pattern: str, output: str) -> str | None:
    # Linear time whatever the pattern (see patterns.py); one saved before RE2 was the engine
    # and using syntax it lacks fails the row with the reason instead of running in ``re``.
    try:
        return None if patterns.matches(pattern, output) else f"does not match /{pattern}/"
    except patterns.PatternError as exc:
        return f"/{pattern}/ {exc}"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _judge(provider: Provider, criterion: str, output: str) -> str | None:
    messages = [
        ChatMessage(role="system", content=JUDGE_PROMPT),
        ChatMessage(role="user", content=f"<criterion>{criterion}</criterion>\n<output>{output}</output>"),
    ]
    try:
        verdict = providers.complete(provider, messages, JUDGE_SETTINGS).text.strip()
    except ProviderProblem as problem:
        return f"the judge gave no verdict: {problem}"
    return None if verdict.upper().startswith("PASS") else f"the judge says: {verdict[:200]}"


def _case_result(plan: RunPlan, vi: int, k: int, found: dict) -> CaseResult:
    attempts = [found[(vi, k, r)] for r in range(plan.repeats)]
    passes = sum(1 for output, failures in attempts if output is not None and not failures)
    low, high = statistics.wilson(passes, plan.repeats)
    return CaseResult(
        case=k,
        passes=passes,
        repeats=plan.repeats,
        pass_rate=passes / plan.repeats,
        low=low,
        high=high,
        all_passed=passes == plan.repeats,
        outputs=[output for output, _ in attempts],
        failures=sorted({f for _, failures in attempts for f in failures}),
    )


def _version_result(plan: RunPlan, vi: int, found: dict) -> VersionRunResult:
    version = plan.versions[vi][0]
    cases = [_case_result(plan, vi, k, found) for k in range(len(plan.cases))]
    return VersionRunResult(
        version=version.version,
        version_id=version.id,
        passed=all(c.pass_rate >= plan.min_pass_rate for c in cases),
        pass_rate=sum(c.passes for c in cases) / (len(cases) * plan.repeats),
        pass_all=sum(c.all_passed for c in cases) / len(cases),
        cases=cases,
    )


def _unavailable(version: PromptVersion, plan: RunPlan, notice: str) -> VersionRunResult:
    return VersionRunResult(
        version=version.version,
        version_id=version.id,
        passed=False,
        pass_rate=0.0,
        pass_all=0.0,
        cases=[],
        notice=notice,
    )
