from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.datasets import service as datasets
from helios.datasets.schemas import ImportRequest


def prices_csv(series: int = 2, days: int = 120, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=days, freq="D")
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"S{i}",
                "ds": stamps,
                "y": 100 + np.sin(np.arange(days) * 2 * np.pi / 7) * 5 + rng.normal(0, 1, days).cumsum(),
            }
        )
        for i in range(series)
    ]
    return pd.concat(frames).to_csv(index=False, date_format="%Y-%m-%d").encode()


@pytest.fixture
def prices(context: AppContext) -> str:
    with context.db.transaction() as session:
        datasets.import_file(
            session, context.store, ImportRequest(name="prices"), prices_csv(), LOCAL_USER, max_bytes=10**7
        )
    return "prices"
