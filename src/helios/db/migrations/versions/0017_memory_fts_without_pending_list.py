"""memories' full-text index (PostgreSQL) written through: no GIN pending list

With ``fastupdate`` on (PostgreSQL's default) new rows' lexemes wait in the GIN index's pending
list until a vacuum or 4 MB of them moves them into the index proper, and every search reads
that whole list row by row in the meantime. An agent that records as it goes always has one:
after loading 100k memories it held 4,701 rows (152 pages), and an AND of five common words
took 11.7 ms to answer from the index instead of 4.5 ms once the list was merged. PostgreSQL's
documentation names the remedy for when steady response time matters more than write speed:
``fastupdate = off``, each insert written into the index at once. Writes come in batches of at
most 1,000 memories, so the extra work per insert is small against embedding them (measured in
BENCHMARKS.md, "Agent memory"). SQLite's FTS5 table has no such list; nothing changes there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 07:45:00
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER INDEX ix_memories_fts_document SET (fastupdate = off)")
    # What already waits in the list is merged now; with fastupdate off none is added after.
    op.execute("SELECT gin_clean_pending_list('ix_memories_fts_document'::regclass)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER INDEX ix_memories_fts_document RESET (fastupdate)")
