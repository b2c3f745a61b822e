"""an agent's assistant

``agents.assistant`` names the assistant that explains the agent (checked by the assistants
service when set). A plain column, not a foreign key: SQLite would have to rebuild ``agents`` to
add one, and dropping the old table there cascades into every memory.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("assistant", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite 3.35+): a batch rebuild would drop ``agents`` and cascade.
    op.drop_column("agents", "assistant")
