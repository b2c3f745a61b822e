"""Alembic environment. Run through ``helios.db.migrate`` (``helios db upgrade``), which hands
in the connection; ``render_as_batch`` lets SQLite alter tables by copy-and-move."""

from alembic import context

from helios.db.tables import metadata

config = context.config

# Search indexes made by raw SQL in migrations (FTS5 tables, the stored tsvector column and its
# GIN index on PostgreSQL), not in metadata.
UNMANAGED_PREFIXES = ("memory_fts", "ix_memories_fts", "fts_document")


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    return not (name or "").startswith(UNMANAGED_PREFIXES)


def run_migrations() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
