"""narrow prediction scores: derived per-point scores are computed where they are read

A score row keeps the actual, the error, the realised return and the interval hits as one bit
field (``inside``: for each supported level, in the order 50, 80, 90, 95, 99, a 'known' bit and an
'inside' bit). Absolute % error, naive error, scaled error, direction, Winkler scores and QLIKE
come from the point and its prediction when read (``helios.predictions.scoring.derived``). Rows
scored before this migration keep their actual, error and realised return, and their interval
hits are carried into the bit field; downgrade computes the dropped columns again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

LEVELS = (50, 80, 90, 95, 99)  # append-only: bit positions follow this order
DROPPED_FLOATS = ("abs_pct_error", "naive_error", "scaled_error", "qlike")


def _bits(level: int) -> tuple[int, int]:
    index = LEVELS.index(level)
    return 1 << (2 * index), 1 << (2 * index + 1)


def upgrade() -> None:
    with op.batch_alter_table("prediction_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inside", sa.Integer(), nullable=True))
    terms = []
    for level in LEVELS:
        known, inside = _bits(level)
        column = f"inside_{level}"
        terms.append(
            f"(CASE WHEN {column} IS NULL THEN 0 WHEN {column} THEN {known + inside} ELSE {known} END)"
        )
    op.execute(f"UPDATE prediction_scores SET inside = {' + '.join(terms)}")
    with op.batch_alter_table("prediction_scores", schema=None) as batch_op:
        for column in (
            *DROPPED_FLOATS,
            "direction_hit",
            *[f"inside_{level}" for level in LEVELS],
            *[f"winkler_{level}" for level in LEVELS],
        ):
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("prediction_scores", schema=None) as batch_op:
        for column in DROPPED_FLOATS:
            batch_op.add_column(sa.Column(column, sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("direction_hit", sa.Boolean(), nullable=True))
        for level in LEVELS:
            batch_op.add_column(sa.Column(f"inside_{level}", sa.Boolean(), nullable=True))
        for level in LEVELS:
            batch_op.add_column(sa.Column(f"winkler_{level}", sa.Float(), nullable=True))
    prediction = "(SELECT {expr} FROM predictions pr WHERE pr.id = prediction_scores.prediction_id)"
    point = "(SELECT {expr} FROM prediction_points p WHERE p.id = prediction_scores.point_id)"
    origin = "CASE WHEN pr.task = 'volatility' THEN 0.0 ELSE pr.origin_value END"
    sets = [
        "abs_pct_error = CASE WHEN actual <> 0 THEN 100.0 * abs(error) / abs(actual) END",
        "naive_error = actual - " + prediction.format(expr=origin),
        "scaled_error = abs(error) / " + prediction.format(expr="NULLIF(pr.naive_scale, 0)"),
        "qlike = CASE WHEN realised_return IS NOT NULL THEN "
        + point.format(
            expr="CASE WHEN p.sigma > 0 THEN ln(p.sigma * p.sigma) + "
            "prediction_scores.realised_return * prediction_scores.realised_return / (p.sigma * p.sigma) END"
        )
        + " END",
        "direction_hit = "
        + point.format(
            expr=(
                "(SELECT CASE WHEN (p.mean - o.v) * (prediction_scores.actual - o.v) > 0 THEN 1 = 1 "
                "WHEN (p.mean - o.v) * (prediction_scores.actual - o.v) < 0 THEN 1 = 0 END FROM "
                f"(SELECT {origin} AS v FROM predictions pr WHERE pr.id = prediction_scores.prediction_id) o)"
            )
        ),
    ]
    for level in LEVELS:
        known, inside = _bits(level)
        sets.append(f"inside_{level} = CASE WHEN (inside & {known}) <> 0 THEN (inside & {inside}) <> 0 END")
        actual = "prediction_scores.actual"
        miss = (
            f"(CASE WHEN p.lo_{level} > {actual} THEN p.lo_{level} - {actual} ELSE 0.0 END"
            f" + CASE WHEN {actual} > p.hi_{level} THEN {actual} - p.hi_{level} ELSE 0.0 END)"
        )
        width = f"(p.hi_{level} - p.lo_{level})"
        sets.append(
            f"winkler_{level} = CASE WHEN (inside & {known}) <> 0 THEN "
            + point.format(expr=f"{width} + {2 / (1 - level / 100)!r} * {miss}")
            + " END"
        )
    op.execute(f"UPDATE prediction_scores SET {', '.join(sets)}")
    with op.batch_alter_table("prediction_scores", schema=None) as batch_op:
        batch_op.drop_column("inside")
