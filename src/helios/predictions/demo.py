"""A few weeks of scored prediction history for the demo, so the dashboard is alive on first start.

Honest by construction: the demo's synthetic prices arrive again as ``stocks-live``, one dataset
version every three business days over the last six weeks; after each arrival the active demo
models predict a week ahead from that version's last observation, and every arrival scores what
the earlier ones predicted. Nothing is written into the ledger that a running Helios would not
have written itself.
"""

from __future__ import annotations

import io
import logging

import pandas as pd

from helios.context import AppContext
from helios.core.auth import Principal, Role
from helios.datasets import service as datasets
from helios.datasets.schemas import ImportRequest
from helios.predictions import schedules, service
from helios.predictions.schemas import RunRequest, ScheduleCreate, Trigger

log = logging.getLogger(__name__)
DEMO_USER = Principal(name="demo", role=Role.admin)
SOURCE, LIVE = "synthetic-stocks", "stocks-live"
MODELS = ["stocks-baseline", "stocks-nbeats"]
VOLATILITY = "stocks-volatility"
ARRIVALS, EVERY, HORIZON = 10, 3, 7


def seed_prediction_history(context: AppContext) -> list[str]:
    with context.db.reading() as session:
        full = datasets.load_frame(context.store, datasets.get_version(session, SOURCE, "latest"))
    days = sorted(full["ds"].unique())
    cuts = [days[-1 - EVERY * k] for k in reversed(range(ARRIVALS))]
    _register_volatility(context, full[full["ds"] <= cuts[0]])
    models = [m for m in MODELS if _has_active(context, m)]
    for cut in cuts:
        _arrive(context, full[full["ds"] <= cut])
        if models:
            _predict(context, models)
    _schedule(context, models)
    return [f"{LIVE}: {ARRIVALS} arrivals with predictions scored as they came"]


def _arrive(context: AppContext, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.assign(ds=pd.to_datetime(frame["ds"]).dt.strftime("%Y-%m-%d")).to_csv(buffer, index=False)
    raw = buffer.getvalue().encode()
    request = ImportRequest(
        name=LIVE,
        format="csv",
        freq="B",
        filename=f"{LIVE}.csv",
        description="SYNTHETIC: synthetic-stocks prices arriving every few days (forecast ledger demo).",
    )
    with context.db.transaction() as session:
        _, version, _ = datasets.import_file(
            session, context.store, request, raw, DEMO_USER, max_bytes=len(raw)
        )
        number = version.version
    with context.db.transaction() as session:
        service.score_dataset_version(session, context.store, LIVE, number)


def _predict(context: AppContext, models: list[str]) -> None:
    request = RunRequest(
        dataset=LIVE,
        series="all",
        models=models,
        horizon=HORIZON,
        volatility_model=VOLATILITY if _has_active(context, VOLATILITY) else None,
    )
    with context.db.transaction() as session:
        service.run_inline(
            session, context.store, context.inference, request, DEMO_USER, trigger=Trigger.on_demand
        )


def _register_volatility(context: AppContext, train: pd.DataFrame) -> None:
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family
    from helios.registry import deployments
    from helios.registry import service as registry

    garch = get_family("garch")
    fitted = garch.fit(train[["unique_id", "ds", "y"]], garch.parse_config({}), DataSpec(freq="B"))
    with context.db.transaction() as session:
        model = registry.ensure_model(session, VOLATILITY, kind="ml", task="volatility", actor=DEMO_USER)
        version = registry.register_fitted(
            session, context.store, model, fitted, DEMO_USER, description="GARCH(1,1) on synthetic-stocks"
        )
        number = version.version
    with context.db.transaction() as session:
        deployments.deploy(
            session, VOLATILITY, number, "active", "volatility overlay for the demo", DEMO_USER
        )


def _has_active(context: AppContext, name: str) -> bool:
    from helios.core.errors import NotFound
    from helios.registry import service as registry

    with context.db.reading() as session:
        try:
            registry.get_version(session, registry.get_model(session, name))
        except NotFound:
            return False
    return True


def _schedule(context: AppContext, models: list[str]) -> None:
    if not models:
        return
    body = ScheduleCreate(
        name="stocks-live-weekdays",
        cron="30 21 * * 1-5",
        request=RunRequest(dataset=LIVE, series="all", models=models, horizon=HORIZON),
    )
    with context.db.transaction() as session:
        schedules.create_schedule(session, body, DEMO_USER)
