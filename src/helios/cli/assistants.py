"""``helios assistants``: assistants, prompt versions and labels, rendering, chat, prompt tests and
A/B experiments, on the local Helios home (as the local user) or on a server (``--url``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from helios.assistants import chat, experiment_results, experiments, prompts, runner, service, testing, views
from helios.assistants.schemas import (
    AssistantConfig,
    AssistantConfigUpdate,
    AssistantCreate,
    AssistantList,
    ChatRequest,
    ChatResult,
    ExperimentRead,
    MemoryPolicy,
    PromptDiff,
    PromptVersionCreate,
    PromptVersionList,
    PromptVersionRead,
    RenderedPrompt,
    TestRunRead,
)
from helios.cli.common import console, err_console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.parsing import json_object

app = typer.Typer(
    help="AI assistants: prompts, versions, labels, tests and A/B experiments.", no_args_is_help=True
)
Name = Annotated[str, typer.Argument(help="assistant name")]
Vars = Annotated[
    str | None, typer.Option("--vars", help='variables as a JSON object, e.g. \'{"question": "..."}\'')
]


@app.command("list")
def list_(cursor: Annotated[str | None, typer.Option(help="next page")] = None) -> None:
    """Assistants with their model and labels."""
    with reported_errors():
        if hx := remote():
            page = AssistantList.model_validate(hx.page("/ai-assistant/assistants", cursor=cursor))
        else:
            with open_context().db.reading() as session:
                page = views.list_assistants(session, cursor=cursor)
    if not page.items:
        console.print("no assistants yet: helios assistants create NAME --role analyst")
        return
    table = Table("name", "role", "model", "labels", "versions")
    for a in page.items:
        labels = ", ".join(f"{k}=v{v}" for k, v in sorted(a.labels.items())) or "—"
        table.add_row(a.name, a.role, a.llm_model or "—", labels, str(a.latest_version or 0))
    console.print(table)
    more_pages(page)


@app.command("create")
def create(
    name: Name,
    role: Annotated[str, typer.Option(help="e.g. analyst, risk, support")] = "analyst",
    model: Annotated[str | None, typer.Option(help="a registry llm model")] = None,
    memory_agent: Annotated[str | None, typer.Option(help="whose memories to recall")] = None,
    remember: Annotated[
        bool, typer.Option(help="write each answer to the memory agent's memory, with the prompt hash")
    ] = False,
) -> None:
    with reported_errors():
        policy = MemoryPolicy(agent=memory_agent, remember=remember)
        body = AssistantCreate(name=name, role=role, llm_model=model, memory=policy)
        if hx := remote():
            hx.request("POST", "/ai-assistant/assistants", json=body.model_dump(mode="json"))
        else:
            with open_context().db.transaction() as session:
                service.create_assistant(session, body, LOCAL_USER)
    console.print(f"created assistant {name}")


@app.command("save")
def save(
    name: Name,
    file: Annotated[
        Path,
        typer.Option(
            "--file", exists=True, dir_okay=False, help="JSON: system_prompt, messages, variables, settings"
        ),
    ],
    message: Annotated[str, typer.Option("--message", "-m", help="what changed")] = "",
) -> None:
    """Save a new immutable prompt version from a JSON file."""
    with reported_errors():
        fields = json_object(file.read_text(), str(file))
        body = PromptVersionCreate.model_validate({**fields, "message": message or fields.get("message", "")})
        if hx := remote():
            saved = PromptVersionRead.model_validate(
                hx.request("PUT", f"/ai-assistant/prompts/{name}", json=body.model_dump(mode="json"))
            )
            number, digest = saved.version, saved.content_hash
        else:
            with open_context().db.transaction() as session:
                assistant = service.get_assistant(session, name)
                version = service.save_version(session, assistant, body, LOCAL_USER)
                number, digest = version.version, version.content_hash
    console.print(f"saved {name} v{number} ({digest[:12]})")


@app.command("versions")
def versions(name: Name) -> None:
    with reported_errors():
        if hx := remote():
            page = PromptVersionList.model_validate(
                hx.page(f"/ai-assistant/prompts/{name}/versions", limit=200)
            )
        else:
            with open_context().db.reading() as session:
                page = views.list_versions(session, service.get_assistant(session, name))
    table = Table("version", "labels", "message", "author", "saved", "hash")
    for v in page.items:
        table.add_row(
            f"v{v.version}",
            ",".join(v.labels),
            v.message,
            v.author,
            f"{v.created_at:%Y-%m-%d %H:%M}",
            v.content_hash[:12],
        )
    console.print(table)
    more_pages(page)


@app.command("diff")
def diff(name: Name, old: int, new: int) -> None:
    """Unified diff between two versions."""
    with reported_errors():
        if hx := remote():
            result = PromptDiff.model_validate(hx.assistants.diff(name, old, new))
        else:
            with open_context().db.reading() as session:
                assistant = service.get_assistant(session, name)
                result = prompts.diff(
                    assistant,
                    prompts.get_version(session, assistant, old),
                    prompts.get_version(session, assistant, new),
                )
    if not result.changed:
        console.print(f"v{old} and v{new} are the same")
    for part in result.parts:
        if part.unified:
            console.print(part.unified, markup=False, highlight=False)


@app.command("label")
def label(
    name: Name,
    label_name: Annotated[str, typer.Argument(metavar="LABEL", help="production, staging or any")],
    version: int,
    force: Annotated[bool, typer.Option(help="past a failing test gate")] = False,
    note: str = "",
) -> None:
    """Point a label at a version (rollback = point it back)."""
    with reported_errors():
        if hx := remote():
            hx.assistants.set_label(name, label_name, version, force=force, note=note)
        else:
            with open_context().db.transaction() as session:
                assistant = service.get_assistant(session, name)
                service.move_label(
                    session, assistant, label_name, version, LOCAL_USER, force=force, note=note
                )
    console.print(f"{name}: {label_name} → v{version}")


@app.command("render")
def render(name: Name, variables: Vars = None, version: Annotated[int | None, typer.Option()] = None) -> None:
    """The messages a version (production by default) makes, without calling a model."""
    with reported_errors():
        values = json_object(variables, "--vars")
        if hx := remote():
            rendered = RenderedPrompt.model_validate(hx.assistants.render(name, values, version))
        else:
            with open_context().db.reading() as session:
                assistant = service.get_assistant(session, name)
                chosen = (
                    prompts.get_version(session, assistant, version)
                    if version
                    else prompts.labelled_version(session, assistant)
                )
                rendered = prompts.render_version(chosen, values)
    for message in rendered.messages:
        console.print(f"[bold]{message.role}[/]: {message.content}", highlight=False)


@app.command("chat")
def chat_(
    name: Name,
    variables: Vars = None,
    subject: Annotated[str | None, typer.Option(help="who asks (experiment assignment)")] = None,
    ticker: Annotated[list[str] | None, typer.Option(help="tickers asked about (repeatable)")] = None,
) -> None:
    """Ask the assistant; says plainly when no model answered, and shows the rendered prompt."""
    with reported_errors():
        body = ChatRequest(
            assistant=name, variables=json_object(variables, "--vars"), subject=subject, tickers=ticker or []
        )
        if hx := remote():
            answer = hx.request("POST", "/ai-assistant/chat", json=body.model_dump(mode="json"))
            result = ChatResult.model_validate(answer)
        else:
            context = open_context()
            result = chat.run_chat(context.db, context, body, LOCAL_USER)
    console.print(
        f"v{result.prompt_version}"
        + (f" · variant {result.variant}" if result.variant else "")
        + f" · {result.outcome}"
    )
    if result.answer is not None:
        console.print(result.answer, highlight=False)
        return
    console.print(f"[yellow]{result.notice}[/]")
    for message in result.rendered:
        console.print(f"[bold]{message.role}[/]: {message.content}", highlight=False)
    raise typer.Exit(3)


@app.command("test")
def test(
    test_set_id: Annotated[int, typer.Argument(help="test set id")],
    version: Annotated[list[int], typer.Option(help="one version, or two side by side (repeat the option)")],
    repeats: Annotated[int | None, typer.Option(min=1, max=20)] = None,
) -> None:
    """Run prompt versions over a test set (a queued run, with a progress bar); exit 1 when any
    version fails."""
    with reported_errors(), progress_bar() as show:
        if hx := remote():
            answer = hx.assistants.run_tests(
                test_set_id,
                version,
                repeats,
                on_progress=lambda r: show(r["calls_done"], r["calls_total"], r["status"]),
            )
            run = TestRunRead.model_validate(answer)
        else:
            run = _run_tests_here(test_set_id, version, repeats, show)
    if run.error:
        console.print(f"[red]run #{run.id} broke off:[/] {run.error}")
    for result in run.results:
        verdict = "passed" if result.passed else "failed"
        console.print(
            f"[bold]v{result.version}[/]: {verdict} · pass rate {result.pass_rate:.0%} · "
            f"all repeats passed on {result.pass_all:.0%} of rows"
        )
        if result.notice:
            console.print(f"  [yellow]{result.notice}[/]")
        for case in result.cases:
            interval = f"{case.low:.0%}–{case.high:.0%}"
            failures = "; ".join(case.failures)
            console.print(f"  row {case.case + 1}: {case.passes}/{case.repeats} ({interval}) {failures}")
    if run.status != "passed":
        raise typer.Exit(1)


@contextmanager
def progress_bar() -> Iterator[Callable[[int, int, str], None]]:
    """Calls done of calls total, on stderr, gone when the run is."""
    columns = (
        TextColumn("test run {task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("run", total=None, status="queued")
        yield lambda done, total, status: progress.update(
            task, completed=done, total=total or None, status=status
        )


def _run_tests_here(
    test_set_id: int, version: list[int], repeats: int | None, show: Callable[[int, int, str], None]
) -> TestRunRead:
    """Queue the run on the local home and do it in this process (unless a server there takes it)."""
    context = open_context()
    with context.db.transaction() as session:
        test_set = testing.get_test_set(session, test_set_id)
        run_id = testing.queue_run(session, test_set, version, repeats, LOCAL_USER).id
    runner.run_here(context.db, run_id, show)
    with context.db.reading() as session:
        return views.run_read(session, testing.get_run(session, run_id))


@app.command("experiment")
def experiment(experiment_id: int) -> None:
    """Live results of an A/B experiment and the verdict in words."""
    with reported_errors():
        if hx := remote():
            read = ExperimentRead.model_validate(hx.assistants.experiment(experiment_id))
        else:
            with open_context().db.reading() as session:
                read = experiment_results.experiment_read(
                    session, experiments.get_experiment(session, experiment_id)
                )
    table = Table(
        "variant", "version", "subjects", "outcomes", "mean", "interval", "P(best)", "p", "guardrails"
    )
    for v in read.variants:
        table.add_row(
            v.name,
            f"v{v.version}",
            str(v.exposures),
            str(v.outcomes),
            _num(v.mean),
            f"{_num(v.low)}–{_num(v.high)}",
            _num(v.prob_best),
            _num(v.p_value),
            v.paused_reason or "ok",
        )
    console.print(f"[bold]{read.name}[/] ({read.status})")
    console.print(table)
    console.print(read.verdict)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@app.command("promote")
def promote(
    experiment_id: int,
    variant: Annotated[str | None, typer.Option(help="the winner; the leading variant if unset")] = None,
    force: bool = False,
) -> None:
    """Move production to the winner and end the experiment."""
    with reported_errors():
        if hx := remote():
            promoted = hx.assistants.promote(experiment_id, variant, force=force, note="from the CLI")
            winner = ExperimentRead.model_validate(promoted).winner or variant
        else:
            with open_context().db.transaction() as session:
                found = experiments.get_experiment(session, experiment_id)
                winner = variant or experiment_results.leader(session, found)
                experiments.promote(session, found, winner, LOCAL_USER, force=force, note="from the CLI")
    console.print(f"promoted {winner} to production")


@app.command("config")
def config(
    allow_local: Annotated[
        bool | None, typer.Option("--allow-local/--no-allow-local", help="local model servers")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="seconds per model request")] = None,
    retries: Annotated[int | None, typer.Option(help="retries after a failed request")] = None,
) -> None:
    """Show or change the server-wide assistant settings."""
    with reported_errors():
        changes = allow_local is not None or timeout is not None or retries is not None
        body = AssistantConfigUpdate(
            allow_local_model_servers=allow_local, request_timeout_s=timeout, max_retries=retries
        )
        if hx := remote():
            fields = body.model_dump(mode="json", exclude_none=True)
            shown = AssistantConfig.model_validate(
                hx.assistants.set_config(**fields) if changes else hx.assistants.config()
            )
        else:
            with open_context().db.transaction() as session:
                if changes:
                    service.update_config(session, body, LOCAL_USER)
                shown = views.config_read(service.read_config(session))
    console.print(
        json.dumps(shown.model_dump(mode="json", exclude={"updated_at"}), indent=2), highlight=False
    )
