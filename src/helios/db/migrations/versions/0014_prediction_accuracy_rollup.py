"""the accuracy rollup: sums per model version, dataset, horizon step and target day

``prediction_accuracy_days`` keeps the sums every accuracy metric is a ratio of, over the latest
score of every point scored up to ``prediction_accuracy_state.folded_through``;
``prediction_accuracy_retired`` lists rolled-up scores a revision has since retired (see
``helios.predictions.rollup``). The upgrade fills the days from the scores already stored.
``ix_predictions_task``: accuracy reads draw scores from the few draw predictions, not by
walking every score.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The columns as they were at this revision (a later change to the app's SUMS gets its own migration).
LEVELS = (50, 80, 90, 95, 99)
SUMS = [
    "rows",
    "n",
    "s_abs",
    "s_sq",
    *[f"{kind}_{metric}" for metric in ("ape", "smape", "scaled", "dir", "qlike") for kind in ("n", "s")],
    *[f"{kind}_{level}" for level in LEVELS for kind in ("n_in", "s_in", "s_wk")],
    "n_ab",
    "s_a",
    "s_b",
    "s_aa",
    "s_bb",
    "s_ab",
]


def upgrade() -> None:
    op.create_table(
        "prediction_accuracy_days",
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("dataset_name", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(name, sa.Float(), nullable=False) for name in SUMS],
        sa.PrimaryKeyConstraint(
            "model_name",
            "model_version",
            "dataset_name",
            "step",
            "day",
            name=op.f("pk_prediction_accuracy_days"),
        ),
    )
    op.create_table(
        "prediction_accuracy_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folded_through", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_accuracy_state")),
    )
    op.create_table(
        "prediction_accuracy_retired",
        sa.Column("score_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("score_id", name=op.f("pk_prediction_accuracy_retired")),
    )
    op.create_index(op.f("ix_predictions_task"), "predictions", ["task"], unique=False)
    # The backfill uses the domain's own fold (the same sums scoring's readers expect).
    from helios.predictions import rollup

    rollup.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_predictions_task"), table_name="predictions")
    op.drop_table("prediction_accuracy_retired")
    op.drop_table("prediction_accuracy_state")
    op.drop_table("prediction_accuracy_days")
