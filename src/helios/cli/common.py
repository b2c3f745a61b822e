"""What every command shares: settings, the database with migrations applied, error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console

from helios.config import Settings
from helios.context import AppContext
from helios.core.errors import HeliosError
from helios.core.pagination import Page
from helios.db import migrate

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    # Fresh each time (not the cached one): the CLI may run after the environment changed.
    return Settings()


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


@contextmanager
def reported_errors() -> Iterator[None]:
    """Domain errors become a clear message and exit 1; nothing half-done is committed."""
    try:
        yield
    except HeliosError as exc:
        err_console.print(f"[bold red]error:[/] {exc.detail}")
        for err in exc.errors[:10]:
            where = ", ".join(f"{k} {err[k]}" for k in ("row", "column", "field") if err.get(k) is not None)
            err_console.print(f"  • {where + ': ' if where else ''}{err.get('message', '')}")
        raise typer.Exit(1) from None
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            err_console.print(f"[bold red]error:[/] {field}: {err['msg']}")
        raise typer.Exit(2) from None
