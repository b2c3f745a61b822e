"""A finished job keeps the forecast it was scored on: per series the history before the origin, the
actuals, the model's forecast and intervals and the naive forecast; for draws, each held-out draw
against chance. The forecast is made from the training data only: changing the holdout's actuals
changes the actuals kept, never the forecast."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.core.errors import NotFound
from helios.datasets import service as datasets
from helios.datasets.schemas import ImportRequest
from helios.forecasting.rules import POWERBALL
from helios.training import evaluation, runner, service, views
from helios.training.schemas import JobCreate, ValidationRead, ValidationSettings
from helios.training.workers import claim_next
from tests.forecasting.draw_samples import fair_draws
from tests.training.conftest import prices_csv

HORIZON = 7
SMALL_GBM = {"n_estimators": 20, "num_leaves": 8, "min_child_samples": 5, "horizon": HORIZON, "threads": 1}


def _import(context: AppContext, name: str, content: bytes, **request) -> None:  # type: ignore[no-untyped-def]
    with context.db.transaction() as session:
        datasets.import_file(
            session, context.store, ImportRequest(name=name, **request), content, LOCAL_USER, max_bytes=10**7
        )


def _shocked_holdout(content: bytes) -> bytes:
    """The same series with every holdout actual ten times larger: what a leak would show."""
    frame = pd.read_csv(io.BytesIO(content))
    last = frame.groupby("unique_id").cumcount(ascending=False) < HORIZON
    frame.loc[last, "y"] *= 10
    return frame.to_csv(index=False).encode()


def _train(context: AppContext, dataset: str, family: str, **fields) -> int:  # type: ignore[no-untyped-def]
    body = JobCreate(
        dataset=dataset,
        family=family,
        validation=ValidationSettings(horizon=fields.pop("horizon", HORIZON), refit=False),
        **fields,
    )
    with context.db.transaction() as session:
        job_id = service.create_job(session, body, LOCAL_USER).id
    assert runner.run_job(context, claim_next(context, "test")) == "succeeded"
    return job_id


def _validation(context: AppContext, job_id: int) -> ValidationRead:
    with context.db.reading() as session:
        return views.validation(session, context.store, job_id)


@pytest.mark.parametrize(
    ("family", "hyperparameters"),
    [("seasonal_naive", {}), ("gbm", SMALL_GBM), ("global_ar", {"horizon": HORIZON})],
    ids=["statistical", "gbm", "global_ar"],
)
def test_the_forecast_kept_is_made_before_the_origin(
    context: AppContext, family: str, hyperparameters: dict
) -> None:
    content = prices_csv(series=2, days=90)
    _import(context, "prices", content)
    _import(context, "shocked", _shocked_holdout(content))
    plain = _validation(context, _train(context, "prices", family, hyperparameters=hyperparameters))
    shocked = _validation(context, _train(context, "shocked", family, hyperparameters=hyperparameters))

    assert plain.kind == "series" and plain.horizon == HORIZON and plain.series_total == 2
    assert plain.season_length == 7 and "seasonal naive" in plain.naive_method
    frame = pd.read_csv(io.BytesIO(content), parse_dates=["ds"])
    for before, after in zip(plain.series, shocked.series, strict=True):
        truth = frame[frame["unique_id"] == before.unique_id]
        origin = truth["ds"].iloc[-HORIZON - 1].strftime("%Y-%m-%d")
        assert before.history_ds[-1] == origin and max(before.history_ds) < min(before.ds)
        assert before.ds == truth["ds"].iloc[-HORIZON:].dt.strftime("%Y-%m-%d").tolist()
        assert before.actual == pytest.approx(truth["y"].iloc[-HORIZON:].to_numpy(), rel=1e-5)
        # No leakage: the holdout's actuals changed tenfold, the forecast and the naive did not.
        assert after.actual == pytest.approx(np.array(before.actual) * 10, rel=1e-5)
        assert after.forecast == pytest.approx(before.forecast, rel=1e-9)
        assert after.naive == pytest.approx(before.naive, rel=1e-9)
        # The naive forecast is the value one season (7 days) before each step.
        history = truth["y"].iloc[:-HORIZON].to_numpy()
        assert before.naive == pytest.approx([history[-7 + step % 7] for step in range(HORIZON)], rel=1e-5)
        assert {band.level for band in before.intervals} == {80, 95}
        band = next(b for b in before.intervals if b.level == 95)
        assert all(lo <= f <= hi for lo, f, hi in zip(band.lo, before.forecast, band.hi, strict=True))
        errors = np.abs(np.array(before.actual) - np.array(before.forecast))
        assert before.mae == pytest.approx(errors.mean(), rel=1e-4)


def test_a_job_keeps_at_most_the_first_series(context: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(context, "prices", prices_csv(series=3, days=60))
    monkeypatch.setattr(evaluation, "MAX_SERIES", 2)
    kept = _validation(context, _train(context, "prices", "naive"))
    assert kept.series_total == 3 and [s.unique_id for s in kept.series] == ["S0", "S1"]
    assert kept.season_length == 7
    # The naive family carries the last value forward; the baseline beside it is the seasonal naive.
    assert all(s.forecast == [s.history_y[-1]] * HORIZON for s in kept.series)
    assert all(s.naive == s.history_y[-7:] for s in kept.series)


def test_a_draws_job_keeps_each_held_out_draw_against_chance(context: AppContext) -> None:
    draws = fair_draws(POWERBALL, "2016-01-02", 160, seed=1)
    _import(
        context,
        "draws",
        draws.to_csv(index=False, date_format="%Y-%m-%d").encode(),
        kind="draws",
        game="powerball",
    )
    kept = _validation(context, _train(context, "draws", "historical_frequency", horizon=30))
    assert kept.kind == "draws" and kept.series == [] and kept.draws is not None
    assert kept.draws.ds == draws["ds"].iloc[-30:].dt.strftime("%Y-%m-%d").tolist()
    assert len(kept.draws.log_likelihood_ratio) == len(kept.draws.main_matches) == 30
    assert all(c == pytest.approx(5 * 5 / 69) for c in kept.draws.chance_main_matches)


def test_jobs_without_a_model_keep_no_forecast_and_say_why(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(context, "prices", prices_csv(series=1, days=60))
    with context.db.transaction() as session:
        queued = service.create_job(session, JobCreate(dataset="prices", family="naive"), LOCAL_USER).id
    with pytest.raises(NotFound, match="it is queued"):
        _validation(context, queued)
    monkeypatch.setattr(runner.datasets, "load_frame", lambda *_: (_ for _ in ()).throw(OSError("disk")))
    assert runner.run_job(context, claim_next(context, "test")) == "failed"
    with pytest.raises(NotFound, match="it failed before a model was registered"):
        _validation(context, queued)
    assert not context.store.exists(evaluation.validation_key(queued))
