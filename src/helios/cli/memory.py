"""``helios memory ...``: write, list, search, delete/restore and forget an agent's memories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from helios.agents import service as agents
from helios.cli.common import console, more_pages, open_context, remote, reported_errors
from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput
from helios.core.pagination import MAX_LIMIT
from helios.core.parsing import json_object
from helios.memory import forget, graph_views, service, views
from helios.memory.schemas import (
    ForgetRequest,
    ForgetResult,
    Graph,
    MemoryBatch,
    MemoryList,
    MemoryOrder,
    MemoryRead,
    MemoryWriteResult,
    PurgeResult,
    SearchResult,
)

app = typer.Typer(help="Agent memory: write, search, graph, forget with review.", no_args_is_help=True)


def _table(items: list[MemoryRead]) -> Table:
    table = Table("id", "kind", "strength", "valid from", "content")
    for m in items:
        state = " (deleted)" if m.deleted_at else (" (superseded)" if m.superseded_by else "")
        table.add_row(
            str(m.id), m.kind.value, f"{m.strength.total:.2f}", f"{m.valid_from:%Y-%m-%d}", m.content + state
        )
    return table


@app.command("add")
def add(
    agent: Annotated[str, typer.Argument(help="agent name; created on first write")],
    content: str,
    kind: Annotated[str, typer.Option(help="fact, episode, lesson or preference")] = "fact",
    importance: Annotated[float, typer.Option(help="0-1")] = 0.5,
    metadata: Annotated[str | None, typer.Option(help="JSON object")] = None,
    valid_from: Annotated[str | None, typer.Option(help="ISO time it became true")] = None,
) -> None:
    """Remember one thing."""
    with reported_errors():
        item = {
            "content": content,
            "kind": kind,
            "importance": importance,
            "metadata": json_object(metadata, "--metadata"),
        }
        if valid_from:
            item["valid_from"] = valid_from
        _write(agent, MemoryBatch.model_validate({"memories": [item]}))


@app.command("import")
def import_(
    agent: str,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help='JSON {"memories": [...]} or JSON lines')
    ],
) -> None:
    """Write up to 1,000 memories from a file, all or none."""
    with reported_errors():
        text = file.read_text(encoding="utf-8")
        try:
            body = (
                json.loads(text)
                if text.lstrip().startswith('{"memories"')
                else {"memories": [json.loads(line) for line in text.splitlines() if line.strip()]}
            )
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{file} is not JSON or JSON lines: {exc.msg} (line {exc.lineno})") from None
        _write(agent, MemoryBatch.model_validate(body))


def _write(agent: str, batch: MemoryBatch) -> None:
    if hx := remote():
        items = batch.model_dump(mode="json", exclude_unset=True)["memories"]
        result = MemoryWriteResult.model_validate(hx.memory.write(agent, items))
        name, created, ids = result.agent, result.agent_created, [m.id for m in result.items]
    else:
        context = open_context()
        with context.db.transaction() as session:
            found, created, memories = service.write_memories(
                session, context.memory, context.store, agent, batch, LOCAL_USER
            )
            name, ids = found.name, [m.id for m in memories]
    note = " (new agent)" if created else ""
    console.print(f"stored {len(ids)} memories for {name}{note}: ids {ids[0]}..{ids[-1]}")


@app.command("list")
def list_(
    agent: str,
    order: Annotated[MemoryOrder, typer.Option(help="time or strength")] = MemoryOrder.time,
    deleted: Annotated[bool, typer.Option(help="list deleted (restorable) memories")] = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, typer.Option()] = None,
) -> None:
    with reported_errors():
        if hx := remote():
            filters = {"order": order.value, "deleted": deleted or None}
            answer = hx.page(f"/memory/agents/{agent}/memories", cursor=cursor, limit=limit, **filters)
            page = MemoryList.model_validate(answer)
        else:
            context = open_context()
            with context.db.reading() as session:
                found = agents.get_agent(session, agent)
                page = views.list_memories(
                    session,
                    context.memory,
                    found.id,
                    order=order,
                    deleted=deleted,
                    cursor=cursor,
                    limit=limit,
                )
    console.print(_table(page.items))
    more_pages(page)


@app.command("search")
def search_(
    query: str,
    agent: Annotated[str | None, typer.Option(help="one agent; all if unset")] = None,
    k: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """Hybrid search (words, meaning, graph); shows why each memory matched."""
    with reported_errors():
        if hx := remote():
            params = {"q": query, "k": k, "agent_id": agent}
            result = SearchResult.model_validate(
                hx.get("/memory/search", params={k_: v for k_, v in params.items() if v is not None})
            )
        else:
            context = open_context()
            result = service.search_and_record(context.db, context.memory, query, agent, k)
    if not result.items:
        console.print("nothing matches")
    table = Table("id", "agent", "score", "strength", "why", "content")
    for hit in result.items:
        why = []
        if hit.why.terms:
            why.append("terms " + ",".join(hit.why.terms))
        if hit.why.semantic is not None:
            why.append(f"semantic {hit.why.semantic:.2f}")
        if hit.why.entities:
            why.append("entities " + ",".join(hit.why.entities))
        if hit.why.superseded:
            why.append("superseded")
        table.add_row(
            str(hit.memory.id),
            hit.memory.agent,
            f"{hit.score:.3f}",
            f"{hit.strength:.2f}",
            "; ".join(why),
            hit.memory.content,
        )
    console.print(table)


@app.command("graph")
def graph(
    agent: str, as_of: Annotated[str | None, typer.Option(help="ISO time: what it believed then")] = None
) -> None:
    """The agent's knowledge graph as JSON (nodes, edges)."""
    import datetime as dt

    with reported_errors():
        try:
            at = dt.datetime.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise InvalidInput(f"--as-of {as_of!r} is not an ISO time") from None
        if hx := remote():
            shown = Graph.model_validate(hx.memory.graph(agent, as_of=at.isoformat() if at else None))
        else:
            context = open_context()
            with context.db.reading() as session:
                shown = graph_views.graph_of(
                    session, context.memory, agents.get_agent(session, agent).id, as_of=at
                )
    console.print_json(shown.model_dump_json())


@app.command("delete")
def delete(memory_id: int) -> None:
    """Soft delete; restorable until purged."""
    with reported_errors():
        if hx := remote():
            hx.memory.delete(memory_id)
        else:
            with open_context().db.transaction() as session:
                service.delete_memory(session, service.get_memory(session, memory_id), LOCAL_USER)
    console.print(f"deleted memory {memory_id}; restore with: helios memory restore {memory_id}")


@app.command("restore")
def restore(memory_id: int) -> None:
    with reported_errors():
        if hx := remote():
            hx.memory.restore(memory_id)
        else:
            with open_context().db.transaction() as session:
                service.restore_memory(session, service.get_memory(session, memory_id, deleted=True))
    console.print(f"restored memory {memory_id}")


@app.command("forget")
def forget_(
    agent: str,
    older_than_days: Annotated[float | None, typer.Option(help="recorded more than N days ago")] = None,
    strength_below: Annotated[float | None, typer.Option(help="0-1")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="fact, episode, lesson, preference; repeat")] = None,
    superseded: Annotated[bool, typer.Option(help="only facts replaced by newer ones")] = False,
    apply: Annotated[bool, typer.Option(help="forget them; without it, only show the review queue")] = False,
) -> None:
    """Show what a rule would forget; --apply forgets it as one action (undo: helios memory undo ID)."""
    with reported_errors():
        rule = {
            "older_than_days": older_than_days,
            "strength_below": strength_below,
            "kinds": kind,
            "superseded": True if superseded else None,
        }
        request = ForgetRequest.model_validate(
            {"rule": {k: v for k, v in rule.items() if v is not None}, "dry_run": not apply}
        )
        if hx := remote():
            answer = hx.request(
                "POST", f"/memory/agents/{agent}/forget", json=request.model_dump(mode="json")
            )
            result = ForgetResult.model_validate(answer)
        else:
            context = open_context()
            with context.db.transaction() as session:
                result = forget.forget(
                    session, context.memory, agents.get_agent(session, agent).id, request, LOCAL_USER
                )
    console.print(_table(result.items))
    if result.dry_run:
        console.print(f"{result.count} memories would be forgotten; run again with --apply to forget them")
    else:
        console.print(f"forgot {result.count} memories; undo with: helios memory undo {result.deletion_id}")


@app.command("undo")
def undo(deletion_id: int) -> None:
    """Restore every memory one delete or forget took."""
    with reported_errors():
        if hx := remote():
            restored = hx.memory.undo(deletion_id)["restored"]
        else:
            with open_context().db.transaction() as session:
                restored = service.undo_deletion(session, service.get_deletion(session, deletion_id))
    console.print(f"restored {restored} memories")


@app.command("purge")
def purge() -> None:
    """Remove for good what was deleted longer ago than HELIOS_MEMORY_PURGE_AFTER_DAYS."""
    with reported_errors():
        if hx := remote():
            result = PurgeResult.model_validate(hx.memory.purge())
        else:
            context = open_context()
            with context.db.transaction() as session:
                result = service.purge_expired(session, context.memory)
    console.print(
        f"purged {result.purged} memories, {result.entities_removed} entities, "
        f"{result.relations_removed} relations"
    )
