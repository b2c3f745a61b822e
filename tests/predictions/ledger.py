"""Building blocks for the ledger tests: price data in versions, models trained on a prefix."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.datasets import service as datasets
from helios.datasets.schemas import ImportRequest

TICKERS = ("AAA", "BBB")
START = "2026-01-01"


def prices(days: int, seed: int = 3, tickers: tuple[str, ...] = TICKERS) -> pd.DataFrame:
    """A random walk per ticker; the first ``n`` days are the same whatever ``days`` is."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(START, periods=400, freq="D")
    frames = []
    for i, ticker in enumerate(tickers):
        walk = 100 + 10 * i + np.cumsum(rng.normal(0, 1, 400))
        frames.append(pd.DataFrame({"unique_id": ticker, "ds": stamps, "y": walk.round(4)}))
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["ds"] < stamps[days]].reset_index(drop=True)


def import_prices(context: AppContext, frame: pd.DataFrame, name: str = "stocks") -> int:
    """Imports ``frame`` as the next version of ``name``; returns the version number."""
    buffer = io.StringIO()
    frame.assign(ds=frame["ds"].dt.strftime("%Y-%m-%d")).to_csv(buffer, index=False)
    raw = buffer.getvalue().encode()
    request = ImportRequest(name=name, format="csv", freq="D", filename=f"{name}.csv")
    with context.db.transaction() as session:
        imported = datasets.import_file(session, context.store, request, raw, LOCAL_USER, max_bytes=10**8)
        return imported[1].version


def register_model(
    context: AppContext,
    name: str,
    family: str,
    frame: pd.DataFrame,
    config: dict | None = None,
    *,
    active: bool = True,
) -> int:
    """Fits ``family`` on ``frame``, registers it under ``name`` and (by default) makes it active."""
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family
    from helios.registry import deployments
    from helios.registry import service as registry

    chosen = get_family(family)
    fitted = chosen.fit(frame, chosen.parse_config(config or {}), DataSpec(freq="D", season_length=7))
    with context.db.transaction() as session:
        model = registry.ensure_model(session, name, kind="ml", task=chosen.task, actor=LOCAL_USER)
        version = registry.register_fitted(session, context.store, model, fitted, LOCAL_USER)
        number = version.version
    if active:
        with context.db.transaction() as session:
            deployments.deploy(session, name, number, "active", "test", LOCAL_USER)
    return number
