"""Draw predictions: number probabilities kept per draw, scored against the real draw, and the
beats-chance test said plainly."""

from __future__ import annotations

import io

import pandas as pd

from helios.core.auth import LOCAL_USER
from helios.datasets import service as datasets
from helios.datasets.demo import fair_powerball_draws
from helios.datasets.schemas import ImportRequest
from helios.predictions import accuracy, service, views
from helios.predictions.schemas import RunRequest


def import_draws(context, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    frame.assign(ds=pd.to_datetime(frame["ds"]).dt.strftime("%Y-%m-%d")).to_csv(buffer, index=False)
    request = ImportRequest(name="draws", kind="draws", format="csv", game="powerball", filename="d.csv")
    with context.db.transaction() as session:
        datasets.import_file(
            session, context.store, request, buffer.getvalue().encode(), LOCAL_USER, max_bytes=10**7
        )


def test_draw_probabilities_are_scored_against_the_draw(context) -> None:  # type: ignore[no-untyped-def]
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family
    from helios.forecasting.rules import PRESETS
    from helios.registry import deployments
    from helios.registry import service as registry

    draws = fair_powerball_draws(n_draws=300)
    family = get_family("historical_frequency")
    fitted = family.fit(draws.iloc[:250], family.parse_config({}), DataSpec(rules=PRESETS["powerball"]))
    with context.db.transaction() as session:
        model = registry.ensure_model(session, "freq", kind="ml", task="draws", actor=LOCAL_USER)
        registry.register_fitted(session, context.store, model, fitted, LOCAL_USER)
    with context.db.transaction() as session:
        deployments.deploy(session, "freq", 1, "active", "", LOCAL_USER)
    import_draws(context, draws.iloc[:280])
    request = RunRequest(dataset="draws", series="all", models=["freq"], horizon=3)
    with context.db.transaction() as session:
        [made] = views.prediction_reads(
            session, service.run_inline(session, context.store, context.inference, request, LOCAL_USER)
        )
    assert made.task == "draws" and made.start_mode == "history_input" and len(made.points) == 3
    main = made.points[0].probabilities["main"]
    assert len(main) == 69 and abs(sum(main) - 5) < 1e-6
    import_draws(context, draws)
    with context.db.transaction() as session:
        report = service.score_dataset_version(session, context.store, "draws", "latest")
    assert report["scored"] == 3
    with context.db.reading() as session:
        [skill] = accuracy.accuracy(session).draws
    assert skill.draws == 3 and "chance" in skill.verdict
