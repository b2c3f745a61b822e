"""A failed job tells people what went wrong without the server's file paths; the journal keeps all."""

from __future__ import annotations

import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.forecasting.base import ForecastingError
from helios.training import failures, runner, service, views
from helios.training.schemas import JobCreate
from helios.training.workers import claim_next

MISSING = "/srv/helios/store/datasets/prices/v1/data.parquet"


def _raise_missing(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise FileNotFoundError(2, "No such file or directory", MISSING)


def test_people_read_the_reason_without_paths() -> None:
    assert failures.for_people(FileNotFoundError(2, "No such file or directory", MISSING)) == (
        "FileNotFoundError: [Errno 2] No such file or directory: 'data.parquet'"
    )
    assert failures.for_people(OSError(r"cannot write C:\helios\store\jobs\3\ckpt.pt")) == (
        "OSError: cannot write ckpt.pt"
    )
    # The engine's own errors are already written for people: no class name in front.
    assert failures.for_people(ForecastingError("every series is too short for this horizon")) == (
        "every series is too short for this horizon"
    )
    assert failures.for_people(ValueError("ratio 1/2 is odd")) == "ValueError: ratio 1/2 is odd"


def test_a_failed_job_shows_words_and_journals_the_detail(
    context: AppContext, prices: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with context.db.transaction() as session:
        job_id = service.create_job(session, JobCreate(dataset=prices, family="naive"), LOCAL_USER).id
    monkeypatch.setattr(runner.datasets, "load_frame", _raise_missing)
    assert runner.run_job(context, claim_next(context, "test")) == "failed"
    with context.db.reading() as session:
        read = views.get_job_read(session, job_id)
        lines = [line.message for line in views.journal_lines(session, job_id)]
    assert read.error == "FileNotFoundError: [Errno 2] No such file or directory: 'data.parquet'"
    assert "/srv/" not in read.error and ".py:" not in read.error
    failed = next(line for line in lines if line.startswith("failed: "))
    assert MISSING in failed and "runner.py:" in failed
