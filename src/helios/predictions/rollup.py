"""The accuracy rollup: ``SUMS`` per model version, dataset, horizon step and target day, so that
accuracy over a model's whole ledger reads a few thousand rows instead of a million points.

Scoring stays as fast as it was: it does not add its new scores to the rollup. It only notes, in
its own transaction, which already-rolled-up scores a revision retired (``note_retired``). The
fold (``fold``, run by a ``prediction.scored`` subscriber after the scoring commit, in its own
transaction) adds every latest score above ``folded_through``, takes the retired ones away and
moves ``folded_through`` up. A reader never waits for it and never sees a stale answer: accuracy
reads the days, plus the latest scores above ``folded_through``, minus the retired scores, in one
statement (one snapshot on PostgreSQL too), so the answer is the same before and after a fold.

On PostgreSQL scoring and the fold both lock the one state row first: ids come from a sequence,
and a scoring transaction that took ids below ``folded_through`` and committed after a fold would
otherwise never be rolled up. SQLite's single writer gives that order anyway.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Select,
    cast,
    delete,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helios.core.events import PredictionScored
from helios.predictions import per_point
from helios.predictions.tables import (
    ROLLUP_KEYS,
    SUMS,
    Prediction,
    PredictionPoint,
    PredictionScore,
    accuracy_days,
    accuracy_retired,
    accuracy_rollup_state,
)

SUBSCRIBER = "predictions.accuracy-rollup"
STATE_ID = 1
UNITS = {"D": "day", "W": "week", "M": "month"}
SQLITE_MODIFIERS = {"D": (), "W": ("-6 days", "weekday 1"), "M": ("start of month",)}


def day_of(dialect: str) -> Any:
    """A point's target day (UTC), as the rollup keys it."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", PredictionPoint.ds), accuracy_days.c.day.type)
    return func.date(PredictionPoint.ds)


def period_of_day(dialect: str, rolling: str) -> Any:
    """The rolling period (day, Monday-started week, month) a rollup day falls in, in the form
    ``accuracy.period_start`` gives it for a point (a naive timestamp on PostgreSQL, a
    'YYYY-MM-DD' string on SQLite)."""
    if dialect == "postgresql":
        return func.date_trunc(UNITS[rolling], cast(accuracy_days.c.day, DateTime))
    return func.date(accuracy_days.c.day, *SQLITE_MODIFIERS[rolling])


def _joined(query: Select) -> Select:
    return query.join(PredictionPoint, PredictionPoint.id == PredictionScore.point_id).join(
        Prediction, Prediction.id == PredictionScore.prediction_id
    )


# --- writing ---------------------------------------------------------------------------------------


def folded_through(connection: Connection) -> int:
    """The state row's watermark, locked until the transaction ends on PostgreSQL."""
    query = select(accuracy_rollup_state.c.folded_through).where(accuracy_rollup_state.c.id == STATE_ID)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    found = connection.execute(query).scalar_one_or_none()
    if found is None:  # a database the migration made has the row; this is for one made otherwise
        connection.execute(accuracy_rollup_state.insert().values(id=STATE_ID, folded_through=0))
        return 0
    return int(found)


def note_retired(connection: Connection, retired: Select) -> None:
    """Remember the scores ``retired`` (a select of score ids whose ``latest`` flag is being
    dropped) that the days already hold, so readers and the next fold take them away."""
    watermark = folded_through(connection)
    ids = retired.subquery()
    column = next(iter(ids.c))
    connection.execute(
        accuracy_retired.insert().from_select(
            ["score_id"], select(column).where(column <= watermark, column.is_not(None)).distinct()
        )
    )


def _add(connection: Connection, which: list, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) the sums of the non-draw scores ``which`` selects."""
    dialect = connection.dialect.name
    keys = [
        Prediction.model_name,
        Prediction.model_version,
        Prediction.dataset_name,
        PredictionPoint.step,
        day_of(dialect).label("day"),
    ]
    sums = [
        (func.coalesce(expr, 0) * sign).label(name)
        for expr, name in zip(per_point.sum_expressions(), SUMS, strict=True)
    ]
    query = (
        _joined(select(*keys, *sums).select_from(PredictionScore))
        .where(*which, Prediction.task != "draws")
        .group_by(*keys[:4], keys[4].element)
    )
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(accuracy_days).from_select([*ROLLUP_KEYS, *SUMS], query)
    statement = statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEYS),
        set_={name: accuracy_days.c[name] + statement.excluded[name] for name in SUMS},
    )
    per_point.with_ln(connection).execute(statement)


def fold(connection: Connection) -> int:
    """Move every score committed since the last fold into the days; returns how many score ids
    the watermark moved over. Idempotent: a second call finds nothing to do."""
    watermark = folded_through(connection)
    newest = connection.execute(select(func.coalesce(func.max(PredictionScore.id), 0))).scalar_one()
    retired = connection.execute(select(func.count()).select_from(accuracy_retired)).scalar_one()
    if newest <= watermark and not retired:
        return 0
    if retired:
        _add(connection, [PredictionScore.id.in_(select(accuracy_retired.c.score_id))], -1)
        connection.execute(delete(accuracy_retired))
    if newest > watermark:
        fresh = [
            PredictionScore.id > watermark,
            PredictionScore.id <= newest,
            PredictionScore.latest.is_(True),
        ]
        _add(connection, fresh, 1)
        connection.execute(
            update(accuracy_rollup_state)
            .where(accuracy_rollup_state.c.id == STATE_ID)
            .values(folded_through=newest)
        )
    return max(int(newest) - watermark, 0)


def rebuild(connection: Connection) -> None:
    """The days from nothing: every latest score (a migration's backfill; a repair)."""
    connection.execute(delete(accuracy_days))
    connection.execute(delete(accuracy_retired))
    connection.execute(delete(accuracy_rollup_state))
    connection.execute(accuracy_rollup_state.insert().values(id=STATE_ID, folded_through=0))
    fold(connection)


def subscribe(context: Any) -> None:
    """Fold after scoring, in whatever process scored."""

    def on_scored(event: PredictionScored, session: Session) -> None:
        fold(session.connection())

    if SUBSCRIBER not in context.events.subscribers:
        context.events.subscribe(SUBSCRIBER, PredictionScored, on_scored)


# --- reading ---------------------------------------------------------------------------------------


@cache
def _signed_sums(sign: int) -> tuple[Any, ...]:
    """``SUMS``' aggregates times ``sign``, labelled, built once (a request would spend ms on it)."""
    return tuple(
        (expr * sign).label(name) for expr, name in zip(per_point.sum_expressions(), SUMS, strict=True)
    )


def _unindexed(dialect: str, column: Any) -> Any:
    """``column`` as SQLite's unary ``+`` gives it: the same value, but no index is used for it."""
    if dialect != "sqlite":
        return column
    return type_coerce(literal_column(f"+{column.table.name}.{column.name}"), column.type)


def covers(
    unique_id: str | None, per_series: bool, start: dt.datetime | None, end: dt.datetime | None
) -> bool:
    """Whether a request can be answered from the days: model-wide (no series), over whole UTC
    days from ``start`` on, with no end (a partial last day would need its points)."""
    whole_day = start is None or _utc(start).time() == dt.time()
    return unique_id is None and not per_series and whole_day and end is None


def _utc(stamp: dt.datetime) -> dt.datetime:
    """Naive UTC, as the days are keyed (a naive stamp is UTC already)."""
    return stamp.astimezone(dt.UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def sums_query(
    dialect: str,
    *,
    model: str | None,
    version: int | None,
    dataset: str | None,
    start: dt.datetime | None,
    rolling: str,
    point_period: Any,
) -> Select:
    """(model, version, step, period, *SUMS) rows whose sums over each key, step and period are
    the accuracy sums of the latest scores: days + unfolded latest scores - retired scores."""
    days = accuracy_days.c
    period = period_of_day(dialect, rolling)
    where_days = [
        days[column] == value
        for column, value in (("model_name", model), ("model_version", version), ("dataset_name", dataset))
        if value is not None
    ]
    if start is not None:
        where_days.append(days.day >= _utc(start).date())
    from_days = (
        select(
            days.model_name,
            days.model_version,
            days.step,
            period.label("period"),
            *[func.sum(days[name]).label(name) for name in SUMS],
        )
        .where(*where_days)
        .group_by(days.model_name, days.model_version, days.step, period)
    )
    # The scores not yet folded are few and found by their id: on SQLite the filters go on
    # columns no index may answer, or the planner starts from the model's index (or the points'
    # ds) and walks every prediction of the model.
    where_points = [
        _unindexed(dialect, column) == value
        for column, value in (
            (Prediction.model_name, model),
            (Prediction.model_version, version),
            (Prediction.dataset_name, dataset),
        )
        if value is not None
    ]
    where_points.append(Prediction.task != "draws")
    if start is not None:
        where_points.append(_unindexed(dialect, PredictionPoint.ds) >= start)
    watermark = select(accuracy_rollup_state.c.folded_through).where(accuracy_rollup_state.c.id == STATE_ID)
    keys = [Prediction.model_name, Prediction.model_version, PredictionPoint.step, point_period]

    def from_scores(which: list, sign: int) -> Select:
        return (
            _joined(
                select(*keys[:3], point_period.label("period"), *_signed_sums(sign)).select_from(
                    PredictionScore
                )
            )
            .where(*which, *where_points)
            .group_by(*keys)
        )

    unfolded = from_scores(
        [
            PredictionScore.latest.is_(True),
            PredictionScore.id > func.coalesce(watermark.scalar_subquery(), 0),
        ],
        1,
    )
    retired = from_scores([PredictionScore.id.in_(select(accuracy_retired.c.score_id))], -1)
    return union_all(from_days, unfolded, retired)
