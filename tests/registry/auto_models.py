"""Models trained by real training jobs, for the tests of what ``auto`` chose: a small ``auto``
(three cheap candidates, the best kept per series, so every series counts once) and a ``naive``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.datasets import service as datasets
from helios.datasets.schemas import ImportRequest
from helios.registry import deployments
from helios.registry.schemas import Stage
from helios.training import service as training
from helios.training.runner import run_job
from helios.training.schemas import JobCreate
from helios.training.workers import claim_next
from tests.training.conftest import prices_csv

# pooling 0: each series judged on its own windows, so the series do not all choose alike.
AUTO = {
    "candidates": ["naive", "seasonal_naive", "mean"],
    "selection": "best",
    "pooling": 0,
    "horizon": 7,
    "n_windows": 2,
}


def mixed_csv(per_kind: int, days: int = 120, seed: int = 0) -> bytes:
    """Series that different candidates win: ``season-N`` (weekly), ``walk-N`` (a random walk:
    naive) and ``flat-N`` (noise around a level: mean), interleaved."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=days, freq="D")
    steps = np.arange(days)
    frames = []
    for i in range(per_kind):
        shapes = {
            "season": 100 + 8 * np.sin(steps * 2 * np.pi / 7) + rng.normal(0, 0.5, days),
            "walk": 100 + rng.normal(0, 3, days).cumsum(),
            "flat": 100 + rng.normal(0, 3, days),
        }
        for kind, values in shapes.items():
            frames.append(pd.DataFrame({"unique_id": f"{kind}-{i:02d}", "ds": stamps, "y": values}))
    return pd.concat(frames).to_csv(index=False, date_format="%Y-%m-%d").encode()


def train_choosing_models(context: AppContext, series: int = 3, csv: bytes | None = None) -> None:
    """Dataset ``prices`` (``csv``, else ``series`` weekly-seasonal series ``S0``...), models
    ``prices-auto`` and ``prices-naive``, v1 of each trained by a job run to completion here and
    made active."""
    with context.db.transaction() as session:
        raw = csv if csv is not None else prices_csv(series)
        datasets.import_file(
            session, context.store, ImportRequest(name="prices"), raw, LOCAL_USER, max_bytes=10**8
        )
    for family, params in (("auto", AUTO), ("naive", {})):
        with context.db.transaction() as session:
            body = JobCreate(
                dataset="prices", family=family, hyperparameters=params, validation={"horizon": 7}
            )
            training.create_job(session, body, LOCAL_USER)
        assert run_job(context, claim_next(context, "test")) == "succeeded"
        with context.db.transaction() as session:
            deployments.deploy(session, f"prices-{family}", 1, Stage.active, "", LOCAL_USER)
