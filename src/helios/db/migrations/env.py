"""Alembic environment. Run through ``helios.db.migrate`` (``helios db upgrade``), which hands
in the connection; ``render_as_batch`` lets SQLite alter tables by copy-and-move."""

from alembic import context

from helios.db.tables import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
