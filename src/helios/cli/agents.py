"""``helios agents ...``: agents as first-class entities."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from helios.agents import service, views
from helios.agents.schemas import AgentCreate, AgentList, AgentRead, AgentUpdate, WatchedSeries
from helios.cli.common import console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput
from helios.core.pagination import MAX_LIMIT

app = typer.Typer(
    help="Agents: the models they use, the series they watch, what they remember.", no_args_is_help=True
)

Models = Annotated[list[str] | None, typer.Option("--model", help="registry model name; repeat for more")]
Watches = Annotated[
    list[str] | None, typer.Option("--watch", help="DATASET or DATASET:T1,T2 (tickers); repeat for more")
]
Assistant = Annotated[str | None, typer.Option(help="the assistant that explains it, by name or id")]


def _watches(raw: list[str] | None) -> list[WatchedSeries] | None:
    if raw is None:
        return None
    found = []
    for item in raw:
        dataset, _, tickers = item.partition(":")
        if not dataset.strip():
            raise InvalidInput(f"--watch {item!r}: give DATASET or DATASET:T1,T2")
        found.append(
            WatchedSeries(
                dataset=dataset.strip(), tickers=[t.strip() for t in tickers.split(",") if t.strip()]
            )
        )
    return found


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the cursor printed under the previous page")] = None,
) -> None:
    """Agents with their models and memory counts."""
    with reported_errors():
        if hx := remote():
            page = AgentList.model_validate(hx.page("/agents", cursor=cursor, limit=limit))
        else:
            with open_context().db.reading() as session:
                page = views.list_agents(session, cursor=cursor, limit=limit)
    if not page.items:
        console.print("no agents yet: helios agents create NAME (or write a memory for one)")
        return
    table = Table("name", "models", "watches", "assistant", "schedules", "memories", "description")
    for a in page.items:
        watched = "; ".join(f"{w.dataset}:{','.join(w.tickers)}" for w in a.watches)
        helper = a.assistant.name + ("" if a.assistant.found else " (deleted)") if a.assistant else ""
        schedules = ", ".join(s.name for s in a.schedules)
        table.add_row(
            a.name, ", ".join(a.models), watched, helper, schedules, str(a.memory_count), a.description
        )
    console.print(table)
    more_pages(page)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="agent name or id")]) -> None:
    with reported_errors():
        if hx := remote():
            agent = AgentRead.model_validate(hx.agents.get(name))
        else:
            with open_context().db.reading() as session:
                agent = views.agent_detail(session, service.get_agent(session, name))
    console.print_json(agent.model_dump_json())


@app.command("create")
def create(
    name: str,
    description: Annotated[str, typer.Option()] = "",
    model: Models = None,
    watch: Watches = None,
    assistant: Assistant = None,
) -> None:
    with reported_errors():
        body = AgentCreate(
            name=name,
            description=description,
            models=model or [],
            watches=_watches(watch) or [],
            assistant=assistant,
        )
        if hx := remote():
            hx.request("POST", "/agents", json=body.model_dump(mode="json"))
        else:
            with open_context().db.transaction() as session:
                service.create_agent(session, body, LOCAL_USER)
    console.print(f"created agent {name}")


@app.command("update")
def update(
    name: str,
    description: Annotated[str | None, typer.Option()] = None,
    model: Models = None,
    watch: Watches = None,
    assistant: Assistant = None,
    no_assistant: Annotated[bool, typer.Option("--no-assistant", help="take its assistant away")] = False,
) -> None:
    """Change what is given; --model/--watch replace the whole list."""
    with reported_errors():
        if assistant and no_assistant:
            raise InvalidInput("give --assistant NAME or --no-assistant, not both")
        body = AgentUpdate(
            description=description, models=model, watches=_watches(watch), assistant=assistant
        )
        body = AgentUpdate.model_validate(
            body.model_dump(exclude_none=True) | ({"assistant": None} if no_assistant else {})
        )
        if hx := remote():
            hx.request("PATCH", f"/agents/{name}", json=body.model_dump(mode="json", exclude_unset=True))
        else:
            with open_context().db.transaction() as session:
                service.update_agent(session, service.get_agent(session, name), body)
    console.print(f"updated agent {name}")


@app.command("delete")
def delete(name: str) -> None:
    """Soft-delete the agent and its memories (undo with: helios agents restore NAME)."""
    with reported_errors():
        if hx := remote():
            count = hx.agents.delete(name)["memories_deleted"]
        else:
            with open_context().db.transaction() as session:
                count, _ = service.delete_agent(session, service.get_agent(session, name), LOCAL_USER)
    console.print(f"deleted agent {name} and {count} memories; restore with: helios agents restore {name}")


@app.command("restore")
def restore(name: str) -> None:
    with reported_errors():
        if hx := remote():
            count = hx.agents.restore(name)["memory_count"]
        else:
            with open_context().db.transaction() as session:
                _, count = service.restore_agent(session, name)
    console.print(f"restored agent {name} with {count} memories")
