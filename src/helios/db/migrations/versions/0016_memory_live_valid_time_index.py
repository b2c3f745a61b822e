"""memories by valid time: the index is partial (live memories only) so PostgreSQL can read it in order

0015's ``(agent_id, deleted_at, valid_from)`` gave SQLite the window read in valid-time order, but
PostgreSQL does not treat ``deleted_at IS NULL`` as fixing that column, so it could not take the
index's order for ``ORDER BY valid_from`` and sorted the whole window instead (61 ms for "today"
over 100k memories recorded today; 0.1 ms from this index). ``(agent_id, valid_from) WHERE
deleted_at IS NULL`` is in valid-time order for one agent on both databases; search and the
timeline only read live memories.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.drop_index(op.f("ix_memories_agent_live_valid_from"), table_name="memories")
    op.create_index(
        op.f("ix_memories_live_valid_from"),
        "memories",
        ["agent_id", "valid_from"],
        unique=False,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_memories_live_valid_from"), table_name="memories")
    op.create_index(
        op.f("ix_memories_agent_live_valid_from"),
        "memories",
        ["agent_id", "deleted_at", "valid_from"],
        unique=False,
    )
