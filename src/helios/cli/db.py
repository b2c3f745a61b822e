from __future__ import annotations

import typer

from helios.cli.common import console, local_only, settings

app = typer.Typer(help="Database schema: migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (local home only)."""
    local_only("db upgrade")
    from helios.db import migrate
    from helios.db.engine import Database

    database = Database.connect(settings().resolved_database_url)
    migrate.upgrade(database.write_engine)
    console.print(f"database at revision [bold]{migrate.current(database.write_engine)}[/]")


@app.command("current")
def current() -> None:
    """Show the schema revision of the database (local home only)."""
    local_only("db current")
    from helios.db import migrate
    from helios.db.engine import Database

    database = Database.connect(settings().resolved_database_url)
    console.print(migrate.current(database.write_engine) or "empty (no migrations applied)")
