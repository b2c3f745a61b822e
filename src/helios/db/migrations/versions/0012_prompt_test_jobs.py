"""prompt test runs are jobs; assistants may remember their answers

A prompt test run (up to 400 model calls) is queued by the API and done by the server's worker
thread: status queued/running before passed/failed/unavailable/error, progress as calls done of
calls total, the worker that claimed it, its heartbeat, start and finish times, and the error of a
run that broke. Runs stored before this are finished runs (their counts stay 0).

An assistant's memory policy gains ``remember``: write each answered exchange to the policy's agent
as a memory carrying the prompt version's hash.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, never a batch rebuild: with foreign keys on, SQLite dropping the old
# ``assistants`` table would cascade into every prompt version, test set and experiment.
def run_columns() -> list[sa.Column]:
    return [
        sa.Column("calls_total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("calls_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    for column in run_columns():
        op.add_column("prompt_test_runs", column)
    op.create_index(op.f("ix_prompt_test_runs_status"), "prompt_test_runs", ["status"], unique=False)
    op.add_column(
        "assistants", sa.Column("memory_remember", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason.
    op.drop_column("assistants", "memory_remember")
    op.drop_index(op.f("ix_prompt_test_runs_status"), table_name="prompt_test_runs")
    for column in reversed(run_columns()):
        op.drop_column("prompt_test_runs", column.name)
