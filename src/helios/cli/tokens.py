"""``helios tokens``: on the local home, or on a server (``--url``, with an admin's HELIOS_TOKEN)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from helios.cli.common import console, open_context, remote, reported_errors
from helios.core import auth

app = typer.Typer(help="API tokens: roles viewer < editor < admin.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the token is for")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin")] = "viewer",
) -> None:
    """Create a token. The secret is printed once and never stored."""
    with reported_errors():
        if hx := remote():
            made = hx.tokens.create(name, role)
            shown, secret = (made["name"], made["role"]), made["secret"]
        else:
            with open_context().db.transaction() as session:
                issued = auth.create_token(session, name, auth.Role.parse(role))
            shown, secret = (issued.name, issued.role.name), issued.secret
    console.print(f"token [bold]{shown[0]}[/] ({shown[1]}) created. Keep it; it is shown only once:")
    print(secret)


@app.command("list")
def list_tokens(all_: Annotated[bool, typer.Option("--all", help="include revoked tokens")] = False) -> None:
    """List tokens (never their secrets)."""
    with reported_errors():
        if hx := remote():
            rows = list(hx.iterate("/tokens", include_revoked=all_ or None))  # rows as the API gives them
        else:
            with open_context().db.reading() as session:
                found = auth.list_tokens(session, include_revoked=all_)
                rows = [{k: getattr(t, k) for k in _COLUMNS} for t in found]
    table = Table("id", "name", "role", "prefix", "created", "last used", "revoked")
    for t in rows:
        table.add_row(
            str(t["id"]),
            t["name"],
            str(t["role"]),
            t["prefix"] + "…",
            _when(t["created_at"]) or "—",
            _when(t["last_used_at"]) or "—",
            _when(t["revoked_at"]),
        )
    console.print(table if rows else "no tokens: Helios is open to the local user on loopback")


@app.command("revoke")
def revoke(ident: Annotated[str, typer.Argument(help="token id or name")]) -> None:
    """Revoke a token by id or name."""
    with reported_errors():
        if hx := remote():
            revoked = hx.tokens.revoke(ident)["name"]
        else:
            with open_context().db.transaction() as session:
                revoked = auth.revoke_token(session, ident).name
    console.print(f"revoked token [bold]{revoked}[/]")


_COLUMNS = ("id", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at")


def _when(value: Any) -> str:
    """A time from the home (datetime) or the server (ISO text), to the minute; "" when unset."""
    if value is None:
        return ""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return f"{moment:%Y-%m-%d %H:%M}"
