"""/api/v1/ai/models/{ident}/choices and ``hx.models.choices``: a trained and registered ``auto``
says per series what it chose and why, and what each candidate cost; any other family is a 409
that names it; unknown models and versions are 404s; the route follows the auth rules."""

from __future__ import annotations

import io

import pytest

from helios.client import Helios, HeliosAPIError
from helios.core import auth
from helios.core.auth import Role
from helios.training.runner import run_job
from helios.training.workers import claim_next
from tests.registry.auto_models import AUTO
from tests.training.conftest import prices_csv

SERIES = 4


def train(client, family: str, params: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    job = client.post(
        "/api/v1/ml/train",
        json={"dataset": "prices", "family": family, "hyperparameters": params, "validation": {"horizon": 7}},
    )
    assert job.status_code == 201, job.text
    context = client.app.state.helios
    assert run_job(context, claim_next(context, "test")) == "succeeded"


@pytest.fixture
def trained(client):  # type: ignore[no-untyped-def]
    imported = client.post(
        "/api/v1/datasets",
        data={"name": "prices"},
        files={"file": ("p.csv", io.BytesIO(prices_csv(SERIES)))},
    )
    assert imported.status_code == 201, imported.text
    train(client, "auto", AUTO)
    train(client, "naive", {})
    return client


def test_an_auto_version_says_what_it_chose_per_series_and_what_it_cost(trained) -> None:  # type: ignore[no-untyped-def]
    answer = trained.get("/api/v1/ai/models/prices-auto/choices", params={"version": 1})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["model"], body["version"], body["family"]) == ("prices-auto", 1, "auto")
    assert [s["unique_id"] for s in body["series"]] == [f"S{i}" for i in range(SERIES)]
    for line in body["series"]:
        assert len(line["chosen"]) == 1 and line["chosen"][0] in AUTO["candidates"], line
        assert line["reason"].strip() and line["chosen"][0] in line["reason"], line
    assert set(body["counts"]) == set(AUTO["candidates"]) and sum(body["counts"].values()) == SERIES
    assert list(body["counts"].values()) == sorted(body["counts"].values(), reverse=True)
    costs = body["costs"]
    assert {c["candidate"] for c in costs} == set(AUTO["candidates"])
    assert all(c["validation_s"] is not None and c["validation_s"] >= 0 for c in costs)
    chosen = {name for name, n in body["counts"].items() if n}
    assert {c["candidate"] for c in costs if c["final_fit_s"] is not None} == chosen  # only kept ones fit
    totals = [c["validation_s"] + (c["final_fit_s"] or 0) for c in costs]
    assert totals == sorted(totals, reverse=True)
    # The reasons quote scores; how to read them is said once, not in every reason.
    assert body["scores_note"].startswith("scores: 1 = the candidates' mean")
    assert all("1 = " not in line["reason"] for line in body["series"])

    # No version given: the active one, as /predict picks it; none active yet is the 404 it gives.
    missing = trained.get("/api/v1/ai/models/prices-auto/choices")
    assert missing.status_code == 404 and "no active version" in missing.json()["detail"]
    trained.post("/api/v1/ai/models/prices-auto/deploy", json={"version": 1, "stage": "active"})
    assert trained.get("/api/v1/ai/models/prices-auto/choices").json() == body


def test_another_family_is_a_problem_that_names_it_and_unknowns_are_404(trained) -> None:  # type: ignore[no-untyped-def]
    naive = trained.get("/api/v1/ai/models/prices-naive/choices", params={"version": 1})
    assert naive.status_code == 409
    assert naive.headers["content-type"].startswith("application/problem+json")
    detail = naive.json()["detail"]
    assert "'naive'" in detail and "only `auto`" in detail, detail
    unknown_model = trained.get("/api/v1/ai/models/nope/choices")
    assert unknown_model.status_code == 404 and unknown_model.json()["title"] == "Not found"
    unknown_version = trained.get("/api/v1/ai/models/prices-auto/choices", params={"version": 9})
    assert unknown_version.status_code == 404 and "version 9" in unknown_version.json()["detail"]


def test_the_client_reads_choices_and_raises_the_409(trained) -> None:  # type: ignore[no-untyped-def]
    with Helios("http://testserver", transport=trained._transport) as hx:
        chosen = hx.models.choices("prices-auto", version=1)
        assert len(chosen["series"]) == SERIES and sum(chosen["counts"].values()) == SERIES
        with pytest.raises(HeliosAPIError) as refused:
            hx.models.choices("prices-naive", version=1)
    assert refused.value.status == 409 and "'naive'" in (refused.value.detail or "")


def test_choices_follow_the_auth_rules_of_the_other_model_routes(trained) -> None:  # type: ignore[no-untyped-def]
    with trained.app.state.helios.db.transaction() as session:
        viewer = auth.create_token(session, "reader", Role.viewer).secret
    url = "/api/v1/ai/models/prices-auto/choices?version=1"
    for route in (url, "/api/v1/ai/models/prices-auto"):
        anonymous = trained.get(route)
        assert anonymous.status_code == 401, route
        assert anonymous.headers["content-type"].startswith("application/problem+json")
    allowed = trained.get(url, headers={"Authorization": f"Bearer {viewer}"})
    assert allowed.status_code == 200 and len(allowed.json()["series"]) == SERIES


def test_markup_in_a_candidate_name_is_refused_before_anything_is_stored(trained) -> None:  # type: ignore[no-untyped-def]
    """The attack: a candidate label that closes the chip's attribute on the model page and adds
    innerHTML (NiceGUI parses a props string into props). Refused at launch, naming the field, and
    no job is queued (the page also sets the chip's test id as a value, never as parsed text)."""
    jobs_before = trained.get("/api/v1/ml/jobs").json()["total"]
    for params, says in (
        (
            {"candidates": ['naive@x" innerHTML="<img src=x onerror=alert(1)>', "mean"]},
            "is not a candidate name",
        ),
        ({"candidates": ["naive", "mean"], "blends": ["naive+mean<script>"]}, "is not a blend"),
        ({"candidates": ["naive"], "candidate_configs": {"naive@<b>": {}}}, "is not a candidate name"),
    ):
        refused = trained.post(
            "/api/v1/ml/train", json={"dataset": "prices", "family": "auto", "hyperparameters": params}
        )
        assert refused.status_code == 422, refused.text
        error = refused.json()["errors"][0]
        # Said in words (what a name may hold), not as the regular expression that checks it.
        assert error["field"].startswith("hyperparameters.") and says in error["message"], error
        assert "letters, digits" in error["message"] and "[A-Za-z" not in refused.text
    assert trained.get("/api/v1/ml/jobs").json()["total"] == jobs_before


def test_a_version_saved_before_reasons_were_kept_says_so_rather_than_unvalidated() -> None:
    from helios.forecasting.base import DataSpec
    from helios.forecasting.families import get_family
    from helios.registry.views import choices_read
    from tests.forecasting.test_auto import mixed_panel

    family = get_family("auto")
    fitted = family.fit(
        mixed_panel(), family.parse_config({"candidates": ["naive", "mean"], "horizon": 7}), DataSpec("D", 7)
    )
    meta, arrays = fitted.to_state()
    old = type(fitted).from_state(
        {k: v for k, v in meta.items() if k not in ("explanations", "costs")}, arrays
    )
    reasons = {line.reason for line in choices_read("m", 1, old).series}
    assert reasons and all("saved before Helios kept the reasons" in r for r in reasons), reasons
    everything = family.fit(
        mixed_panel(),
        family.parse_config({"candidates": ["naive", "mean"], "selection": "all", "horizon": 7}),
        DataSpec("D", 7),
    )
    assert all("as configured" in line.reason for line in choices_read("m", 1, everything).series)
