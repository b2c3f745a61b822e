"""web sessions; one training metric per (job, step, name)

Revision ID: 0005
Revises: 0007
Create Date: 2026-12-01 22:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_web_sessions_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_web_sessions_session_hash")),
    )
    op.create_index(op.f("ix_web_sessions_token_id"), "web_sessions", ["token_id"], unique=False)
    # Resumed jobs stored some points twice before this constraint: keep the latest of each.
    op.execute(
        "DELETE FROM training_metrics WHERE id NOT IN (SELECT keep FROM "
        "(SELECT MAX(id) AS keep FROM training_metrics GROUP BY job_id, step, name) AS latest)"
    )
    with op.batch_alter_table("training_metrics") as batch:
        batch.create_unique_constraint(
            op.f("uq_training_metrics_job_id_step_name"), ["job_id", "step", "name"]
        )


def downgrade() -> None:
    with op.batch_alter_table("training_metrics") as batch:
        batch.drop_constraint(op.f("uq_training_metrics_job_id_step_name"), type_="unique")
    op.drop_index(op.f("ix_web_sessions_token_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
