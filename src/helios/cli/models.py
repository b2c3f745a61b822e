from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from helios.cli.common import console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.pagination import MAX_LIMIT
from helios.core.parsing import json_object
from helios.registry import deployments, service, views
from helios.registry.schemas import (
    DeploymentRead,
    Lineage,
    ModelChoices,
    ModelCreate,
    ModelDetail,
    ModelList,
    Stage,
    VersionRead,
)

app = typer.Typer(help="Model registry: versions, stages, deployments, lineage.", no_args_is_help=True)


@app.command("list")
def list_(
    kind: Annotated[str | None, typer.Option(help="ml or llm")] = None,
    task: Annotated[str | None, typer.Option(help="e.g. price, volatility, draws, chat")] = None,
    stage: Annotated[str | None, typer.Option(help="models with a version in this stage")] = None,
    q: Annotated[str | None, typer.Option(help="text in name or description")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor printed under a list")] = None,
) -> None:
    """List models with their active version and key metric."""
    with reported_errors():
        if hx := remote():
            filters = {"kind": kind, "task": task, "stage": stage, "q": q}
            page = ModelList.model_validate(hx.page("/ai/models", cursor=cursor, limit=limit, **filters))
        else:
            with open_context().db.reading() as session:
                page = views.list_models(
                    session, kind=kind, task=task, stage=stage, text=q, cursor=cursor, limit=limit
                )
    if not page.items:
        console.print("no models yet: helios models register DIR --name NAME")
        return
    table = Table("name", "kind", "task", "versions", "active", "staging", "key metric")
    for m in page.items:
        metric = f"{m.key_metric}={m.key_metric_value:.4g}" if m.key_metric_value is not None else "—"
        table.add_row(
            m.name, m.kind, m.task, str(m.version_count), _v(m.active_version), _v(m.staging_version), metric
        )
    console.print(table)
    more_pages(page)


def _v(number: int | None) -> str:
    return f"v{number}" if number else "—"


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="model name or id")]) -> None:
    """A model's versions with stages, aliases and metrics."""
    with reported_errors():
        if hx := remote():
            detail = ModelDetail.model_validate(hx.models.get(name))
        else:
            context = open_context()
            with context.db.reading() as session:
                detail = views.model_detail(session, context.store, service.get_model(session, name))
    console.print(f"[bold]{detail.name}[/] ({detail.kind}, {detail.task}) {detail.description}")
    table = Table("version", "stage", "aliases", "family", "dataset", "metrics", "created")
    for v in detail.versions:
        metrics = ", ".join(
            f"{k}={val:.4g}" if isinstance(val, float) else f"{k}={val}"
            for k, val in list(v.metrics.items())[:4]
        )
        table.add_row(
            f"v{v.version}",
            v.stage,
            ",".join(v.aliases),
            v.family or "—",
            v.dataset or "—",
            metrics or "—",
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command("register")
def register(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="a saved Fitted directory")],
    name: Annotated[str, typer.Option("--name", "-n", help="model name (created if new)")],
    task: Annotated[str, typer.Option(help="task of a new model")] = "price",
    metrics: Annotated[str | None, typer.Option(help='JSON object, e.g. {"mase": 0.9}')] = None,
    description: Annotated[str, typer.Option(help="what this version is")] = "",
) -> None:
    """Validate a saved model directory and store it as the model's next version."""
    with reported_errors():
        scores = json_object(metrics, "--metrics")
        if hx := remote():
            registered = VersionRead.model_validate(
                hx.models.register(name, directory, task=task, metrics=scores, description=description)
            )
            number, family, sha = registered.version, registered.family, registered.artifact_sha256
        else:
            context = open_context()
            with context.db.transaction() as session:
                model = service.ensure_model(session, name, kind="ml", task=task, actor=LOCAL_USER)
                version = service.register_artifact(
                    session,
                    context.store,
                    model,
                    directory,
                    LOCAL_USER,
                    metrics=scores,
                    description=description,
                )
                number, family, sha = version.version, version.family, version.artifact_sha256
    console.print(f"registered [bold]{name}[/] v{number} ({family}, sha256 {(sha or '')[:12]})")


@app.command("deploy")
def deploy(
    name: Annotated[str, typer.Argument(help="model name or id")],
    version: Annotated[int, typer.Argument(help="version number")],
    stage: Annotated[Stage, typer.Option(help="the stage to move it to")] = Stage.active,
    note: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Move a version to a stage; making one active archives the previous active version."""
    with reported_errors():
        if hx := remote():
            moved = DeploymentRead.model_validate(hx.models.deploy(name, version, stage=stage, note=note))
            stages = (moved.from_stage, moved.to_stage)
        else:
            with open_context().db.transaction() as session:
                change = deployments.deploy(session, name, version, stage, note, LOCAL_USER)
                stages = (change.from_stage, change.to_stage)
    console.print(f"{name} v{version}: {stages[0]} → {stages[1]}")


@app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="model name or id")],
    note: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Make the previously active version active again."""
    with reported_errors():
        if hx := remote():
            shown = DeploymentRead.model_validate(hx.models.rollback(name, note=note))
        else:
            with open_context().db.transaction() as session:
                shown = views.deployment_view(session, deployments.rollback(session, name, note, LOCAL_USER))
    console.print(f"{name}: v{shown.version} is active again")


@app.command("history")
def history(name: Annotated[str, typer.Argument(help="model name or id")]) -> None:
    """Every stage change, newest first."""
    with reported_errors():
        if hx := remote():
            items = [DeploymentRead.model_validate(d) for d in hx.iterate(f"/ai/models/{name}/deployments")]
        else:
            with open_context().db.reading() as session:
                items = views.deployment_reads(session, service.get_model(session, name))
    table = Table("when", "version", "change", "by", "note")
    for d in items:
        table.add_row(
            f"{d.at:%Y-%m-%d %H:%M:%S}", f"v{d.version}", f"{d.from_stage} → {d.to_stage}", d.actor, d.note
        )
    console.print(table if items else "no deployments yet")


@app.command("lineage")
def lineage(name: Annotated[str, typer.Argument(help="model name or id")]) -> None:
    """Where each version came from and where it went, as a tree."""
    with reported_errors():
        if hx := remote():
            graph = Lineage.model_validate(hx.models.lineage(name))
        else:
            with open_context().db.reading() as session:
                graph = views.lineage(session, service.get_model(session, name))
    labels = {n.id: f"[{n.kind}] {n.label}" for n in graph.nodes}
    children: dict[str, list[tuple[str, str]]] = {}
    targets = set()
    for edge in graph.edges:
        children.setdefault(edge.source, []).append((edge.target, edge.relation))
        targets.add(edge.target)
    tree = Tree(f"lineage of [bold]{name}[/]")
    for root in (n.id for n in graph.nodes if n.id not in targets):
        _grow(tree.add(labels[root]), root, children, labels, set())
    console.print(tree)


def _grow(branch: Tree, node: str, children: dict, labels: dict, seen: set) -> None:  # type: ignore[type-arg]
    seen.add(node)
    for child, relation in children.get(node, []):
        if child not in seen:
            _grow(branch.add(f"{relation} → {labels[child]}"), child, children, labels, seen)


@app.command("choices")
def choices(
    name: Annotated[str, typer.Argument(help="model name or id")],
    version: Annotated[
        int | None, typer.Option(min=1, help="version number (default: the active one)")
    ] = None,
) -> None:
    """What an auto model chose per series and why, then what each candidate cost."""
    with reported_errors():
        if hx := remote():
            chosen = ModelChoices.model_validate(hx.models.choices(name, version))
        else:
            context = open_context()
            with context.db.reading() as session:
                model = service.get_model(session, name)
                chosen = views.model_choices(session, context.store, context.inference, model, version)
    console.print(
        f"[bold]{chosen.model}[/] v{chosen.version}: {len(chosen.series)} series ({chosen.scores_note})"
    )
    for line in chosen.series:
        console.print(f"{line.unique_id}: {line.reason}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        "series per candidate: " + ", ".join(f"{n} {c}" for n, c in chosen.counts.items()), markup=False
    )
    for cost in chosen.costs:
        spent = ", ".join(
            f"{label} {value:.2f} s"
            for label, value in (("validation", cost.validation_s), ("final fit", cost.final_fit_s))
            if value is not None
        )
        console.print(
            f"cost of {cost.candidate}: {spent or 'not run'}", markup=False, highlight=False, soft_wrap=True
        )


@app.command("create-llm")
def create_llm(
    name: Annotated[str, typer.Argument(help="model name")],
    base_url: Annotated[str, typer.Option(help="OpenAI-compatible base URL")],
    model_name: Annotated[str, typer.Option(help="the provider's model name")],
    api_key_env: Annotated[str | None, typer.Option(help="NAME of the env variable holding the key")] = None,
    description: Annotated[str, typer.Option()] = "",
) -> None:
    """Register an LLM endpoint (the key stays in the environment, only its variable name is stored)."""
    with reported_errors():
        body = ModelCreate(
            name=name,
            kind="llm",
            task="chat",
            description=description,
            llm={"base_url": base_url, "model_name": model_name, "api_key_env": api_key_env},
        )
        if hx := remote():
            hx.request("POST", "/ai/models", json=body.model_dump(mode="json", exclude_unset=True))
        else:
            with open_context().db.transaction() as session:
                service.create_model(session, body, LOCAL_USER)
    console.print(f"registered llm model [bold]{name}[/] v1")


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="model name or id")],
    force: Annotated[bool, typer.Option(help="even with an active version")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
) -> None:
    """Delete a model, its versions and artifacts (an audit row stays)."""
    if not yes:
        typer.confirm(f"delete model {name} and all its versions?", abort=True)
    with reported_errors():
        if hx := remote():
            hx.models.delete(name, force=force)
        else:
            context = open_context()
            with context.db.transaction() as session:
                service.delete_model(session, context.store, context.inference, name, LOCAL_USER, force=force)
    console.print(f"deleted [bold]{name}[/]")
