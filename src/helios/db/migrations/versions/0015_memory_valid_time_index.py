"""memories by valid time: an index for queries that name a time window

Search ranks a dated question's window ("last week", "on March 14") first by reading the memories
valid in it; ``(agent_id, deleted_at, valid_from)`` answers that with a range read instead of a
walk over the agent's live memories newest first.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 07:05:00
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_memories_agent_live_valid_from"),
        "memories",
        ["agent_id", "deleted_at", "valid_from"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_memories_agent_live_valid_from"), table_name="memories")
