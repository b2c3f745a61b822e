"""The accuracy rollup gives the same answers as reading every scored point, before and after
the fold, and after a revision retires rolled-up scores."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from helios.core.auth import LOCAL_USER
from helios.predictions import accuracy, rollup, service
from helios.predictions.schemas import ActualsRequest, RunRequest
from helios.predictions.tables import accuracy_days, accuracy_retired
from tests.predictions.ledger import import_prices, prices, register_model


def _flat(value: object, path: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{path}[{i}]").items()}
    return {path: value}


def _same(left: dict, right: dict) -> None:
    a, b = _flat(left), _flat(right)
    assert a.keys() == b.keys()
    for key, value in a.items():
        other = b[key]
        if isinstance(value, float) and isinstance(other, float):
            assert math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-9), key
        else:
            assert value == other, key


def _both_ways(context, monkeypatch, **params) -> dict:  # type: ignore[no-untyped-def]
    """The report from the rollup and from every point; asserts they agree."""
    with context.db.reading() as session:
        assert rollup.covers(params.get("unique_id"), False, params.get("start"), None)
        from_rollup = accuracy.accuracy(session, per_series=False, **params).model_dump()
    with monkeypatch.context() as patch:
        patch.setattr(rollup, "covers", lambda *_: False)
        with context.db.reading() as session:
            from_points = accuracy.accuracy(session, per_series=False, **params).model_dump()
    _same(from_rollup, from_points)
    return from_rollup


def _fold(context) -> int:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        return rollup.fold(session.connection())


def _count(context, table) -> int:  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return len(session.execute(table.select()).all())


@pytest.fixture
def scored(context):  # type: ignore[no-untyped-def]
    """Naive and drift models predicting both tickers from day 100 and day 103, scored by day 110."""
    register_model(context, "walk", "naive", prices(90))
    register_model(context, "trend", "drift", prices(90))
    for days in (100, 103):
        import_prices(context, prices(days))
        request = RunRequest(dataset="stocks", series="all", models=["walk", "trend"], horizon=5)
        with context.db.transaction() as session:
            service.run_inline(session, context.store, context.inference, request, LOCAL_USER)
    import_prices(context, prices(110))
    with context.db.transaction() as session:
        service.score_dataset_version(session, context.store, "stocks", "latest")
    return context


def test_rollup_answers_as_the_points_do_through_folds_and_revisions(scored, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    context = scored
    before = _both_ways(context, monkeypatch)  # nothing folded yet: all from the newest scores
    assert _count(context, accuracy_days) == 0 and before["scored_points"] == 40
    assert _fold(context) > 0 and _fold(context) == 0  # a second fold finds nothing
    assert _count(context, accuracy_days) > 0
    _same(_both_ways(context, monkeypatch), before)

    # A revised actual retires a rolled-up score: noted, taken away on read, then folded.
    target = prices(110).query("unique_id == 'AAA'").iloc[103]
    post = ActualsRequest(dataset="stocks", rows=[{"unique_id": "AAA", "ds": target.ds, "y": target.y + 5}])
    with context.db.transaction() as session:
        assert service.record_actuals(session, post, LOCAL_USER)["revised"] == 4  # 2 models x 2 origins
    assert _count(context, accuracy_retired) == 4
    revised = _both_ways(context, monkeypatch)
    assert revised["scored_points"] == 40 and revised != before
    _fold(context)
    assert _count(context, accuracy_retired) == 0
    _same(_both_ways(context, monkeypatch), revised)

    # Filters the days can answer: a model, a version, a dataset, whole days from a start, periods.
    for params in (
        {"model": "walk"},
        {"model": "trend", "version": 1, "dataset": "stocks"},
        {"start": dt.datetime(2026, 4, 13), "rolling": "D"},
        {"start": dt.datetime(2026, 4, 14, tzinfo=dt.UTC)},
        {"rolling": "M"},
    ):
        _both_ways(context, monkeypatch, **params)


def test_what_the_days_cannot_answer_reads_the_points(scored) -> None:  # type: ignore[no-untyped-def]
    assert not rollup.covers("AAA", False, None, None)  # one series
    assert not rollup.covers(None, True, None, None)  # every series apart
    assert not rollup.covers(None, False, dt.datetime(2026, 4, 13, 12), None)  # part of a day
    assert not rollup.covers(None, False, None, dt.datetime(2026, 4, 20))  # an end
    assert rollup.covers(None, False, dt.datetime(2026, 4, 13, tzinfo=dt.UTC), None)  # as the API passes it
    assert not rollup.covers(
        None, False, dt.datetime(2026, 4, 13, tzinfo=dt.timezone(dt.timedelta(hours=2))), None
    )


def test_the_subscriber_folds_what_a_new_version_scored(context) -> None:  # type: ignore[no-untyped-def]
    from helios.predictions import outcomes

    outcomes.subscribe(context)  # scores a new version
    rollup.subscribe(context)  # folds what was scored
    register_model(context, "walk", "naive", prices(90))
    import_prices(context, prices(100))
    request = RunRequest(dataset="stocks", series="all", models=["walk"], horizon=5)
    with context.db.transaction() as session:
        service.run_inline(session, context.store, context.inference, request, LOCAL_USER)
    import_prices(context, prices(105))
    context.events.drain()
    assert _count(context, accuracy_days) == 5  # one model, one dataset, 5 steps on 5 days
    with context.db.reading() as session:
        report = accuracy.accuracy(session, per_series=False)
    assert report.scored_points == 10 and report.groups[0].n == 10
