"""HELIOS_EXECUTOR=ray: the same job scenarios as the local executor, on a local Ray that these
tests start and stop themselves. The database stays the truth: Ray only runs ``run_job``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.training import service
from tests.training.test_jobs_end_to_end import SMALL_NBEATS, create, status, wait_for

ray = pytest.importorskip("ray", reason="the Ray executor needs the ray extra (pip install 'helios[ray]')")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.xdist_group("ray"),
]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(include_dashboard=False, log_to_driver=False, num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture
def dispatcher(context: AppContext):  # type: ignore[no-untyped-def]
    from helios.training.ray_executor import RayDispatcher

    running = RayDispatcher(context, address=None, slots=1)
    running.start()
    yield running
    running.stop()


def finished(context: AppContext, job_id: int) -> bool:
    return status(context, job_id).status in ("succeeded", "failed", "cancelled", "stopped_early")


def test_a_job_runs_on_ray_and_registers_a_version(context: AppContext, prices: str, dispatcher) -> None:  # type: ignore[no-untyped-def]
    job_id = create(context)
    wait_for(lambda: finished(context, job_id), timeout=180)
    read = status(context, job_id)
    assert read.status == "succeeded", read.error
    assert read.worker.startswith("ray:") and read.result_version == 1 and read.epoch == 4


def test_stop_and_cancel_on_ray(context: AppContext, prices: str, dispatcher) -> None:  # type: ignore[no-untyped-def]
    stopped = create(context, hyperparameters={**SMALL_NBEATS, "epochs": 500})
    wait_for(lambda: status(context, stopped).epoch >= 2, timeout=180)
    with context.db.transaction() as session:
        service.request_stop(session, stopped, LOCAL_USER)
    wait_for(lambda: finished(context, stopped), timeout=120)
    assert status(context, stopped).status == "stopped_early" and status(context, stopped).result_version == 1
    cancelled = create(context, hyperparameters={**SMALL_NBEATS, "epochs": 500})
    wait_for(lambda: status(context, cancelled).epoch >= 1, timeout=180)
    with context.db.transaction() as session:
        service.request_cancel(session, cancelled, LOCAL_USER)
    wait_for(lambda: finished(context, cancelled), timeout=120)
    assert status(context, cancelled).status == "cancelled"


def test_timeout_cancels_the_ray_task(context: AppContext, prices: str, dispatcher) -> None:  # type: ignore[no-untyped-def]
    job_id = create(context, hyperparameters={**SMALL_NBEATS, "epochs": 5000}, timeout_s=4)
    started = time.monotonic()
    wait_for(lambda: finished(context, job_id), timeout=180)
    read = status(context, job_id)
    assert read.status == "failed" and "timed out after 4 s" in read.error
    assert time.monotonic() - started < 120
