"""What every command shares: settings, the database with migrations applied, the server a command
talks to instead when one is given (``--url`` / ``HELIOS_URL``, token from ``HELIOS_TOKEN``), error output.

The seam between local and remote is one question each command asks: ``remote()`` answers a
``helios.client.Helios`` when a server was given, else None and the command works on the local home.
Either way the command ends up with the same read schema (the server's JSON is validated into the
schema the local view returns), so one rendering serves both."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console

from helios.config import Settings
from helios.context import AppContext
from helios.core.errors import HeliosError
from helios.core.pagination import Page
from helios.db import migrate

if TYPE_CHECKING:
    from helios.client import Helios

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    # Fresh each time (not the cached one): the CLI may run after the environment changed.
    return Settings()


def server_option_callback(
    ctx: typer.Context,
    url: str | None,
) -> None:
    """The app-wide ``--url``: remembered for ``remote()`` until the invocation ends."""
    source = ctx.get_parameter_source("url")
    where = Target(
        url=(url.strip() or None) if url else None,
        token=os.environ.get("HELIOS_TOKEN") or None,
        from_env=getattr(source, "name", "") == "ENVIRONMENT",
    )
    _target.set(where)
    ctx.call_on_close(_forget_target)


def _forget_target() -> None:
    # Nothing carries over to the next invocation in this process (tests run many in one).
    where = _target.get()
    if where is not None:
        where.close()
    _target.set(None)


def open_context() -> AppContext:
    context = AppContext.build(settings())
    migrate.upgrade(context.db.write_engine)
    return context


def more_pages(page: Page[object]) -> None:
    """Under a listed page: how many matched, and the option that shows the next page."""
    shown = len(page.items)
    if page.total is not None and page.total > shown:
        console.print(f"{shown} of {page.total} shown")
    if page.next_cursor:
        console.print(f"next page: --cursor {page.next_cursor}")


@dataclass
class Target:
    """Where commands work: the server at ``url``, or the local home when it is None."""

    url: str | None = None
    token: str | None = None
    from_env: bool = False  # the url came from HELIOS_URL rather than --url
    client: Helios | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


# Set by the app's callback at the start of every invocation (Typer runs it before any command).
_target: ContextVar[Target | None] = ContextVar("helios_cli_target", default=None)


def target() -> Target:
    return _target.get() or Target()


def remote() -> Helios | None:
    """The server to talk to (one client per invocation), or None for the local home."""
    where = target()
    if where.url is None:
        return None
    if where.client is None:
        from helios.client import Helios

        where.client = Helios(where.url, token=where.token or None)
    return where.client


def local_only(command: str) -> None:
    """Commands that manage the local home itself: refuse --url in words; HELIOS_URL (set for the
    other commands) is noted and passed over."""
    where = target()
    if where.url is None:
        return
    if not where.from_env:
        err_console.print(
            f"[bold red]error:[/] helios {command} works on the local home only; "
            f"drop --url {where.url} (or run it on the server's machine)"
        )
        raise typer.Exit(2)
    err_console.print(
        f"[yellow]note:[/] helios {command} works on the local home only; HELIOS_URL is not used here"
    )


def _print_problem(detail: str, errors: list[dict]) -> None:  # type: ignore[type-arg]
    err_console.print(f"[bold red]error:[/] {detail}", highlight=False, soft_wrap=True)
    for err in errors[:10]:
        where = ", ".join(f"{k} {err[k]}" for k in ("row", "column", "field") if err.get(k) is not None)
        line = f"  • {where + ': ' if where else ''}{err.get('message', '')}"
        err_console.print(line, highlight=False, soft_wrap=True)


def _unreachable(exc: Exception) -> str:
    url = target().url
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        reason = "nothing answers there (is `helios serve` running, and is the address right?)"
    elif isinstance(exc, httpx.TimeoutException):
        reason = "it did not answer in time"
    elif isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        reason = "that is not an http:// or https:// address"
    return f"cannot reach the Helios server at {url}: {reason}"


@contextmanager
def reported_errors() -> Iterator[None]:
    """Domain errors, and a server's problem+json, become a clear message and exit 1; nothing
    half-done is committed. An unreachable server is said in one line."""
    from helios.client import HeliosAPIError

    try:
        yield
    except HeliosError as exc:
        _print_problem(exc.detail, exc.errors)
        raise typer.Exit(1) from None
    except HeliosAPIError as exc:
        _print_problem(exc.detail or f"the server answered {exc.status}", exc.errors)
        if exc.status == 401:
            err_console.print("  the server wants a valid API token: set HELIOS_TOKEN (helios tokens create)")
        elif exc.status == 403:
            err_console.print("  this token's role may not do that (roles: viewer < editor < admin)")
        raise typer.Exit(1) from None
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        err_console.print(f"[bold red]error:[/] {_unreachable(exc)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            err_console.print(f"[bold red]error:[/] {field}: {err['msg']}")
        raise typer.Exit(2) from None
