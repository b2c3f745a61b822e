from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from helios.cli.common import console, open_context, reported_errors
from helios.core import auth

app = typer.Typer(help="API tokens: roles viewer < editor < admin.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the token is for")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin")] = "viewer",
) -> None:
    """Create a token. The secret is printed once and never stored."""
    with reported_errors():
        context = open_context()
        with context.db.transaction() as session:
            issued = auth.create_token(session, name, auth.Role.parse(role))
    console.print(
        f"token [bold]{issued.name}[/] ({issued.role.name}) created. Keep it; it is shown only once:"
    )
    print(issued.secret)


@app.command("list")
def list_tokens(all_: Annotated[bool, typer.Option("--all", help="include revoked tokens")] = False) -> None:
    """List tokens (never their secrets)."""
    with reported_errors():
        context = open_context()
        with context.db.reading() as session:
            rows = auth.list_tokens(session, include_revoked=all_)
    table = Table("id", "name", "role", "prefix", "created", "last used", "revoked")
    for t in rows:
        table.add_row(
            str(t.id),
            t.name,
            t.role,
            t.prefix + "…",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "—",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    console.print(table if rows else "no tokens: Helios is open to the local user on loopback")


@app.command("revoke")
def revoke(ident: Annotated[str, typer.Argument(help="token id or name")]) -> None:
    """Revoke a token by id or name."""
    with reported_errors():
        context = open_context()
        with context.db.transaction() as session:
            row = auth.revoke_token(session, ident)
    console.print(f"revoked token [bold]{row.name}[/]")
