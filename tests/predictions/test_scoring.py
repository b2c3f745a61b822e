"""Scoring against actuals: incremental, idempotent, revisions beside the first score."""

from __future__ import annotations

import pandas as pd
import pytest

from helios.core.auth import LOCAL_USER
from helios.core.errors import InvalidInput
from helios.predictions import scoring, service, views
from helios.predictions.schemas import ActualsRequest, RunRequest
from helios.predictions.tables import PredictionScore
from tests.predictions.ledger import import_prices, prices, register_model


@pytest.fixture
def predicted(context):  # type: ignore[no-untyped-def]
    """A naive prediction from day 100 for 5 days, with a GARCH sigma beside it."""
    register_model(context, "walk", "naive", prices(90))
    register_model(context, "vol", "garch", prices(90))
    import_prices(context, prices(100))
    request = RunRequest(dataset="stocks", series="AAA", models=["walk"], horizon=5, volatility_model="vol")
    with context.db.transaction() as session:
        [prediction] = service.run_inline(session, context.store, context.inference, request, LOCAL_USER)
        return prediction.id


def read(context, prediction_id):  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return views.prediction_reads(session, [service.get_prediction(session, prediction_id)])[0]


def score_latest(context):  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        return service.score_dataset_version(session, context.store, "stocks", "latest")


def test_a_new_dataset_version_scores_what_it_covers_once(context, predicted) -> None:  # type: ignore[no-untyped-def]
    import_prices(context, prices(103))
    first = score_latest(context)
    assert first["scored"] == 3 and first["revised"] == 0
    again = score_latest(context)
    assert again == {**again, "scored": 0, "revised": 0, "unchanged": 3}
    read_back = read(context, predicted)
    truth = prices(103)
    truth = truth[truth["unique_id"] == "AAA"].set_index("ds")["y"]
    for point in read_back.points[:3]:
        assert point.actual == pytest.approx(truth[pd.Timestamp(point.ds).tz_localize(None)])
        assert point.error == pytest.approx(point.actual - point.mean)
        assert set(point.inside) == {"80", "95"}
    assert read_back.points[3].actual is None


def test_scores_hold_interval_direction_and_qlike(context, predicted) -> None:  # type: ignore[no-untyped-def]
    import_prices(context, prices(105))
    score_latest(context)
    with context.db.reading() as session:
        stored = session.query(PredictionScore).order_by(PredictionScore.point_id).all()
        scores = scoring.point_scores(session, predicted)
    assert len(stored) == len(scores) == 5
    for score, row in zip(stored, scores.itertuples(), strict=True):
        assert row.winkler_80 is not None and row.winkler_95 is not None
        width = row.winkler_80 if score.inside_80 else None
        assert score.inside_80 is not None and (width is None or width > 0)
        assert row.inside_80 == float(score.inside_80)
        assert row.qlike is not None and score.realised_return is not None
        # the naive forecast is the origin value, which is what a naive model predicts too
        assert row.scaled_error is not None and row.naive_error == pytest.approx(score.error)
        assert row.direction_hit is None  # a naive forecast does not move, so it calls no direction


def test_revised_actual_is_recorded_beside_the_first(context, predicted) -> None:  # type: ignore[no-untyped-def]
    target = read(context, predicted).points[0]
    post = ActualsRequest(dataset="stocks", rows=[{"unique_id": "AAA", "ds": target.ds, "y": 101.0}])
    with context.db.transaction() as session:
        assert service.record_actuals(session, post, LOCAL_USER)["scored"] == 1
    revised = ActualsRequest(dataset="stocks", rows=[{"unique_id": "AAA", "ds": target.ds, "y": 102.5}])
    with context.db.transaction() as session:
        assert service.record_actuals(session, revised, LOCAL_USER)["revised"] == 1
    with context.db.transaction() as session:
        assert service.record_actuals(session, revised, LOCAL_USER)["unchanged"] == 1
    point = read(context, predicted).points[0]
    assert point.actual == 102.5 and point.first_actual == 101.0
    with context.db.reading() as session:
        revisions = [s.revision for s in session.query(PredictionScore).order_by(PredictionScore.revision)]
    assert revisions == [0, 1]


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{"unique_id": "ZZZ", "ds": "2026-04-11", "y": 1.0}], "rows.unique_id"),
        ([{"unique_id": "AAA", "ds": "2026-04-11", "y": 1.0}] * 2, "rows[1]"),
        ([{"unique_id": "AAA", "ds": "2026-04-11", "y": float("inf")}], "rows[0].y"),
    ],
)
def test_bad_actuals_name_the_field_and_score_nothing(context, predicted, rows, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as refused, context.db.transaction() as session:
        service.record_actuals(session, ActualsRequest(rows=rows), LOCAL_USER)
    assert refused.value.errors[0]["field"] == field
    with context.db.reading() as session:
        assert session.query(PredictionScore).count() == 0


def test_winkler_score() -> None:
    import numpy as np

    actual = np.array([5.0, 0.0, 12.0])
    lo, hi = np.full(3, 2.0), np.full(3, 10.0)
    assert scoring.winkler(actual, lo, hi, 80).tolist() == pytest.approx(
        [8.0, 28.0, 28.0]
    )  # width + 2/alpha * miss


def test_a_new_version_is_scored_by_the_subscriber_and_announced(context, predicted) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from helios.core.tables import OutboxEvent
    from helios.predictions.outcomes import subscribe

    subscribe(context)
    import_prices(context, prices(102))
    context.events.drain()
    with context.db.reading() as session:
        assert session.query(PredictionScore).count() == 2
        [payload] = session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == "prediction.scored")
        )
    [outcome] = payload["predictions"]
    assert outcome["prediction_id"] == predicted and outcome["points"] == 2 and outcome["unique_id"] == "AAA"
    assert payload["source"] == "dataset stocks v2"
