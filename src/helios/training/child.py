"""``python -m helios.training.child JOB_ID``: the process one job trains in."""

from __future__ import annotations

import os
import sys

from helios.config import Settings
from helios.context import AppContext
from helios.training.runner import run_job
from helios.training.schemas import JobStatus


def main() -> None:
    settings = Settings()
    _limit_threads(settings.torch_threads)
    context = AppContext.build(settings)
    status = run_job(context, int(sys.argv[1]))
    context.db.dispose()
    sys.exit(0 if status in (JobStatus.succeeded, JobStatus.stopped_early, JobStatus.cancelled) else 3)


def _limit_threads(threads: int) -> None:
    # Measured: on a loaded 2-core machine two torch threads spin-wait on each other (8x the CPU).
    # Told through the environment, which torch reads when it loads (its intra-op threads and MKL's),
    # rather than by importing torch here: most families never use it, and the import cost every
    # job ~1.2 s of CPU before it read its first row. Pools loaded after this read it too (SciPy's
    # OpenBLAS, LightGBM's OpenMP unless given threads): one per job, as on a busy box it should be.
    # NumPy's BLAS is loaded already and keeps its threads.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


if __name__ == "__main__":
    main()
