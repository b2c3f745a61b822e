"""A training job decides the data's seasons once, on the training data, and hands them to the
family for the scored fit and the refit alike (as ``helios forecast`` does); the journal says which."""

from __future__ import annotations

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.forecasting.base import DataSpec
from helios.training import runner, service, views
from helios.training.schemas import JobCreate, ValidationSettings
from helios.training.workers import claim_next


def test_a_job_confirms_the_seasons_on_its_training_data_and_passes_them_on(
    context: AppContext, prices: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from helios.forecasting.models.baselines import SeasonalNaive

    seen: list[DataSpec] = []
    original = SeasonalNaive.fit

    def spy(self, train, config, spec, context=None):  # type: ignore[no-untyped-def]
        seen.append(spec)
        return original(self, train, config, spec, context)

    monkeypatch.setattr(SeasonalNaive, "fit", spy)
    body = JobCreate(dataset=prices, family="seasonal_naive", validation=ValidationSettings(horizon=7))
    with context.db.transaction() as session:
        job_id = service.create_job(session, body, LOCAL_USER).id
    assert runner.run_job(context, claim_next(context, "test")) == "succeeded"

    assert len(seen) == 2  # scored fit, then the refit on all the data
    assert all(spec.seasons == (7,) for spec in seen)  # daily prices with a weekly cycle
    with context.db.reading() as session:
        lines = [line.message for line in views.journal_lines(session, job_id)]
    assert "seasons: 7 (confirmed on the training data)" in lines
