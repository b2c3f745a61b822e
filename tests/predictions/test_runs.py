"""Running predictions: they start from the data's last observation, record how, and are kept."""

from __future__ import annotations

import pandas as pd
import pytest

from helios.core.auth import LOCAL_USER
from helios.core.errors import HeliosError
from helios.predictions import service, views
from helios.predictions.schemas import RunRequest
from helios.predictions.tables import Prediction, PredictionPoint
from tests.predictions.ledger import import_prices, prices, register_model


def run(context, **fields):  # type: ignore[no-untyped-def]
    request = RunRequest(**{"dataset": "stocks", "series": "AAA", "models": ["walk"], "horizon": 5, **fields})
    with context.db.transaction() as session:
        stored = service.run_inline(session, context.store, context.inference, request, LOCAL_USER)
        return views.prediction_reads(session, stored)


@pytest.fixture
def ledger(context):  # type: ignore[no-untyped-def]
    """Models trained on 100 days; the dataset has moved on to 130."""
    train = prices(100)
    register_model(context, "walk", "naive", train)
    register_model(context, "ets", "auto_ets", train)
    register_model(context, "vol", "garch", train)
    import_prices(context, prices(130))
    return context


def test_a_prediction_starts_from_the_last_observation_of_its_data(ledger) -> None:  # type: ignore[no-untyped-def]
    [naive] = run(ledger)
    data = prices(130)
    last = data[data["unique_id"] == "AAA"].iloc[-1]
    assert naive.origin == last["ds"].tz_localize("UTC") and naive.origin_value == pytest.approx(last["y"])
    assert naive.start_mode == "state_updated" and naive.dataset_version == 1
    assert [p.ds for p in naive.points] == list(pd.date_range(last["ds"], periods=6, freq="D", tz="UTC")[1:])
    assert naive.points[0].mean == pytest.approx(last["y"])  # the walk starts at the new last value
    lo, hi = naive.points[0].bounds["80"]
    assert lo < naive.points[0].mean < hi and naive.points[0].bounds["95"][0] < lo


def test_statistical_model_runs_forward_without_refitting(ledger) -> None:  # type: ignore[no-untyped-def]
    [ets] = run(ledger, models=["ets"], series=["AAA", "BBB"])[:1]
    assert ets.start_mode == "state_updated"
    assert ets.origin == pd.Timestamp("2026-05-10", tz="UTC")  # day 130, not day 100


def test_volatility_overlay_and_immutability(ledger) -> None:  # type: ignore[no-untyped-def]
    first = run(ledger, volatility_model="vol")[0]
    second = run(ledger, volatility_model={"name": "vol", "version": 1})[0]
    assert first.volatility_model == "vol" and all(p.sigma and p.sigma > 0 for p in first.points)
    assert second.id != first.id
    with ledger.db.reading() as session:
        assert session.query(Prediction).count() == 2
        assert session.query(PredictionPoint).count() == 10


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"series": "ZZZ"}, "series"),
        ({"models": ["nobody"]}, "models[0]"),
        ({"models": ["idle"]}, "models[0]"),
        ({"volatility_model": "walk"}, "volatility_model"),
        ({"dataset": "missing"}, "dataset"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(ledger, fields, field) -> None:  # type: ignore[no-untyped-def]
    register_model(ledger, "idle", "naive", prices(100), active=False)
    with pytest.raises(HeliosError) as refused:
        run(ledger, **fields)
    assert refused.value.errors[0]["field"] == field, refused.value.detail
    with ledger.db.reading() as session:
        assert session.query(Prediction).count() == 0


def test_horizon_beyond_what_the_model_supports(ledger) -> None:  # type: ignore[no-untyped-def]
    register_model(ledger, "calibrated", "conformal", prices(100), {"horizon": 7, "n_windows": 2})
    with pytest.raises(HeliosError) as refused:
        run(ledger, models=["calibrated"], horizon=10)
    assert refused.value.errors[0]["field"] == "horizon" and "at most 7" in refused.value.detail


def test_global_models_and_an_auto_that_chose_them_predict_from_the_newer_data(ledger) -> None:  # type: ignore[no-untyped-def]
    """gbm and global_ar read their inputs from the data's end; an auto that chose them with them.
    Before, all three were refused as 'cannot yet forecast from newer data'."""
    train = prices(100)
    register_model(ledger, "boost", "gbm", train, {"horizon": 5})
    register_model(ledger, "linear", "global_ar", train, {"horizon": 5})
    register_model(ledger, "picker", "auto", train, {"candidates": ["gbm", "global_ar"], "horizon": 5})
    for name in ("boost", "linear", "picker"):
        [prediction] = run(ledger, models=[name])
        assert prediction.origin == pd.Timestamp("2026-05-10", tz="UTC"), name  # day 130, not day 100
        assert len(prediction.points) == 5 and all(
            p.bounds["95"][0] < p.mean < p.bounds["95"][1] for p in prediction.points
        )
