"""memory search index: the full-text index carries the agent; vectors stamped per agent

SQLite: ``memory_fts`` gains an ``agent`` column (one token, ``a<agent id>``), so a query for one
agent's memories is answered inside FTS5 (``agent : "a7" AND content : (...)``) and can stop after
the newest N matches instead of joining every match to ``memories``. PostgreSQL: the tsvector is
stored (a generated column with its own GIN index) rather than an expression index, so matching
rows are read, not re-parsed. Both: an (agent_id, version) index on ``memory_embeddings`` makes the
vector cache's freshness check one index seek.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:05:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TOKENIZER = "tokenize='porter unicode61 remove_diacritics 2'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS memory_fts")
        op.execute(f"CREATE VIRTUAL TABLE memory_fts USING fts5(content, agent, {_TOKENIZER})")
        op.execute(
            "INSERT INTO memory_fts(rowid, content, agent) SELECT id, content, 'a' || agent_id FROM memories"
        )
    else:
        op.execute(
            "ALTER TABLE memories ADD COLUMN fts_document tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', content)) STORED"
        )
        op.execute("CREATE INDEX ix_memories_fts_document ON memories USING gin (fts_document)")
        op.execute("DROP INDEX IF EXISTS ix_memories_fts")
    op.create_index("ix_memory_embeddings_agent_version", "memory_embeddings", ["agent_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_memory_embeddings_agent_version", table_name="memory_embeddings")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS memory_fts")
        op.execute(f"CREATE VIRTUAL TABLE memory_fts USING fts5(content, {_TOKENIZER})")
        op.execute("INSERT INTO memory_fts(rowid, content) SELECT id, content FROM memories")
    else:
        op.execute("CREATE INDEX ix_memories_fts ON memories USING gin (to_tsvector('english', content))")
        op.execute("DROP INDEX IF EXISTS ix_memories_fts_document")
        op.execute("ALTER TABLE memories DROP COLUMN fts_document")
