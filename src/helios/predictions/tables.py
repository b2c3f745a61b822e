"""The forecast ledger: predictions (immutable), their points, scores against what happened,
runs over many series, and schedules.

Points carry their prediction's dataset and series (denormalised on purpose): scoring matches
new actuals on ``(dataset_id, unique_id, ds)`` with one indexed range read, without a join.
Interval bounds are columns per supported level (``lo_80``/``hi_80``...), not JSON, so scoring
and accuracy stay vectorised over millions of points. A revised actual adds a score row with the
next ``revision``; the first score is never overwritten. Scores keep only what cannot be derived
(see ``PredictionScore``): a million of them are written in seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from helios.core.clock import utcnow
from helios.db.base import Base

# Interval levels Helios stores; a request for another level is refused naming ``levels``.
SUPPORTED_LEVELS = (50, 80, 90, 95, 99)

# The sums every accuracy metric is a ratio of (``per_point.sum_expressions`` says how each is
# made): n_X counts the points where X is defined, s_X sums it, as SQL's COUNT and SUM skip NULL.
# ``n_ab`` and ``s_a``... (|e| and |naive e|, their squares and product) give the skill interval.
SUMS = [
    "rows",
    "n",
    "s_abs",
    "s_sq",
    *[f"{kind}_{metric}" for metric in ("ape", "smape", "scaled", "dir", "qlike") for kind in ("n", "s")],
    *[f"{kind}_{level}" for level in SUPPORTED_LEVELS for kind in ("n_in", "s_in", "s_wk")],
    "n_ab",
    "s_a",
    "s_b",
    "s_aa",
    "s_bb",
    "s_ab",
]


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_series_created", "unique_id", "created_at"),
        Index("ix_predictions_dataset_series", "dataset_id", "unique_id"),
        Index("ix_predictions_task", "task"),  # draws are read apart from the (many) price points
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(64), index=True)
    model_version: Mapped[int]
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    family: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(String(32))  # price/timeseries | volatility | draws
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    dataset_name: Mapped[str] = mapped_column(String(64))
    dataset_version: Mapped[int]
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"), index=True)
    unique_id: Mapped[str] = mapped_column(String(128))
    origin: Mapped[dt.datetime]  # the last observation the prediction starts after
    origin_value: Mapped[float | None] = mapped_column(Float)  # y at origin: direction and naive
    naive_scale: Mapped[float | None] = mapped_column(Float)  # in-sample MAE of naive (MASE's scale)
    horizon: Mapped[int]
    levels: Mapped[list] = mapped_column(JSON)
    start_mode: Mapped[str] = mapped_column(String(16))  # state_updated | window_input | history_input
    volatility_model: Mapped[str | None] = mapped_column(String(64))
    volatility_version: Mapped[int | None]
    trigger: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("prediction_runs.id", ondelete="SET NULL"))
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("prediction_schedules.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")


class PredictionPoint(Base):
    __tablename__ = "prediction_points"
    __table_args__ = (
        Index("ix_prediction_points_target", "dataset_id", "unique_id", "ds"),
        UniqueConstraint("prediction_id", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    dataset_id: Mapped[int]
    unique_id: Mapped[str] = mapped_column(String(128))
    step: Mapped[int]
    ds: Mapped[dt.datetime]
    mean: Mapped[float | None] = mapped_column(Float)
    sigma: Mapped[float | None] = mapped_column(Float)  # predicted volatility, percent log return
    lo_50: Mapped[float | None] = mapped_column(Float)
    hi_50: Mapped[float | None] = mapped_column(Float)
    lo_80: Mapped[float | None] = mapped_column(Float)
    hi_80: Mapped[float | None] = mapped_column(Float)
    lo_90: Mapped[float | None] = mapped_column(Float)
    hi_90: Mapped[float | None] = mapped_column(Float)
    lo_95: Mapped[float | None] = mapped_column(Float)
    hi_95: Mapped[float | None] = mapped_column(Float)
    lo_99: Mapped[float | None] = mapped_column(Float)
    hi_99: Mapped[float | None] = mapped_column(Float)
    # Draws: {"main_low": 1, "main": [p...], "bonus_low": 1, "bonus": [p...]}
    probabilities: Mapped[dict | None] = mapped_column(JSON)


def inside_bits(level: int) -> tuple[int, int]:
    """(known, inside) bits of ``level`` in ``PredictionScore.inside``: two bits per supported
    level, in the order of ``SUPPORTED_LEVELS`` (append-only, so stored bits keep their meaning)."""
    index = SUPPORTED_LEVELS.index(level)
    return 1 << (2 * index), 1 << (2 * index + 1)


def _inside_flag(level: int) -> property:
    known, inside = inside_bits(level)

    def flag(score: PredictionScore) -> bool | None:
        bits = score.inside
        return None if bits is None or not bits & known else bool(bits & inside)

    return property(flag, doc=f"Inside the {level}% interval (None where it was not known).")


class PredictionScore(Base):
    """One row per scored point and actual, narrow on purpose: what cannot be derived from the
    point and its prediction (the actual, the realised return into ``ds``), the error the ledger
    shows beside each point, and the interval hits as bits. Absolute % error, naive error,
    scaled error, direction, Winkler scores and QLIKE are computed where they are read
    (``scoring.derived``), from these columns and the point's mean, bounds and sigma."""

    __tablename__ = "prediction_scores"
    __table_args__ = (
        UniqueConstraint("point_id", "revision"),
        Index("ix_prediction_scores_prediction", "prediction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("prediction_points.id", ondelete="CASCADE"))
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(default=0)  # 0: first actual; 1, 2...: revised actuals
    latest: Mapped[bool] = mapped_column(default=True)  # the score against the newest actual
    source: Mapped[str] = mapped_column(String(64))  # "dataset stocks v3" | "api"
    # The actual the point is scored against: the price, or for a volatility model the realised
    # return (percent log return), which is what it predicts.
    actual: Mapped[float | None] = mapped_column(Float)
    actual_draw: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[float | None] = mapped_column(Float)  # actual - mean
    inside: Mapped[int | None]  # bits per level, see ``inside_bits``
    # Percent log return into ds (from the previous step's actual, or the origin value), where
    # a sigma was predicted or the model predicts returns: QLIKE's input.
    realised_return: Mapped[float | None] = mapped_column(Float)
    matches: Mapped[int | None]
    bonus_matches: Mapped[int | None]
    log_loss: Mapped[float | None] = mapped_column(Float)
    log_loss_uniform: Mapped[float | None] = mapped_column(Float)
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    inside_50 = _inside_flag(50)
    inside_80 = _inside_flag(80)
    inside_90 = _inside_flag(90)
    inside_95 = _inside_flag(95)
    inside_99 = _inside_flag(99)


class PredictionRun(Base):
    """A run over many series, done by a worker; its predictions point back to it."""

    __tablename__ = "prediction_runs"
    __table_args__ = (Index("ix_prediction_runs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    request: Mapped[dict] = mapped_column(JSON)
    trigger: Mapped[str] = mapped_column(String(16))
    schedule_id: Mapped[int | None]
    series_total: Mapped[int] = mapped_column(default=0)
    series_done: Mapped[int] = mapped_column(default=0)
    predictions: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class PredictionSchedule(Base):
    """A cron schedule; ``lease_owner``/``lease_until`` make sure one server runs each firing."""

    __tablename__ = "prediction_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    request: Mapped[dict] = mapped_column(JSON)
    cron: Mapped[str] = mapped_column(String(128))
    missed: Mapped[str] = mapped_column(String(16), default="skip")  # skip | catch_up
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[dt.datetime]
    last_run_at: Mapped[dt.datetime | None]
    last_status: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")


# --- the accuracy rollup: sums per model version, dataset, step and target day -------------------
#
# ``accuracy_days`` holds ``SUMS`` over the latest score of every point scored up to the score id
# in ``accuracy_rollup_state.folded_through``; ``accuracy_retired`` lists the scores at or below
# that id whose ``latest`` flag a revision has since dropped (their sums are still in the days).
# Accuracy over whole days reads days + newer scores - retired ones, in one statement, so it is
# exact whether or not the fold (``rollup.fold``, a subscriber to ``prediction.scored``) has run.
ROLLUP_KEYS = ("model_name", "model_version", "dataset_name", "step", "day")

accuracy_days = Table(
    "prediction_accuracy_days",
    Base.metadata,
    Column("model_name", String(64), primary_key=True),
    Column("model_version", Integer, primary_key=True),
    Column("dataset_name", String(64), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("day", Date, primary_key=True),
    *[Column(name, Float, nullable=False) for name in SUMS],
)

accuracy_rollup_state = Table(
    "prediction_accuracy_state",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("folded_through", Integer, nullable=False),  # every score id up to this is in the days
)

accuracy_retired = Table(
    "prediction_accuracy_retired",
    Base.metadata,
    Column("score_id", Integer, primary_key=True),  # no foreign key: scores are never deleted
)
