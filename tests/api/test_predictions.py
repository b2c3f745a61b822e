"""/api/v1/predictions over HTTP: run, read with actuals, score, accuracy; bad input as problems."""

from __future__ import annotations

import pytest

from tests.predictions.ledger import import_prices, prices, register_model

RUN = {"dataset": "stocks", "series": "AAA", "models": ["walk"], "horizon": 5}


@pytest.fixture
def ledger(app, client):  # type: ignore[no-untyped-def]
    context = app.state.helios
    register_model(context, "walk", "naive", prices(90))
    register_model(context, "vol", "garch", prices(90))
    import_prices(context, prices(100))
    return context


def test_run_read_score_and_accuracy(ledger, client) -> None:  # type: ignore[no-untyped-def]
    ran = client.post("/api/v1/predictions/run", json={**RUN, "volatility_model": "vol"})
    assert ran.status_code == 201, ran.text
    [prediction] = ran.json()["predictions"]
    assert prediction["origin"].startswith("2026-04-10") and prediction["start_mode"] == "state_updated"
    assert prediction["points"][0]["sigma"] > 0 and set(prediction["points"][0]["bounds"]) == {"80", "95"}
    import_prices(ledger, prices(104))
    ledger.events.drain()  # the subscriber scores the new version by itself...
    scored = client.post("/api/v1/predictions/score", json={"dataset": "stocks"}).json()
    assert scored["points_matched"] == 4 and scored["unchanged"] == 4  # ...so this changes nothing
    page = client.get("/api/v1/predictions/AAA", params={"latest": True}).json()
    assert page["total"] == 1 and page["items"][0]["points"][0]["actual"] is not None
    report = client.get("/api/v1/predictions/accuracy", params={"model": "walk"}).json()
    [group] = report["groups"]
    assert group["n"] == 4 and group["unique_id"] == "AAA" and group["mae"] > 0
    assert {c["level"] for c in group["coverage"]} == {80, 95}
    assert "cannot tell yet" in group["skill"]["verdict"] and len(group["by_step"]) == 4


def test_as_of_shows_what_was_predicted_then(ledger, client) -> None:  # type: ignore[no-untyped-def]
    first = client.post("/api/v1/predictions/run", json=RUN).json()["predictions"][0]
    client.post("/api/v1/predictions/run", json=RUN)
    then = client.get("/api/v1/predictions/AAA", params={"as_of": first["created_at"], "latest": True}).json()
    assert [p["id"] for p in then["items"]] == [first["id"]]
    assert client.get("/api/v1/predictions/AAA").json()["total"] == 2


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/predictions/run", {**RUN, "series": "NOPE"}, "series"),
        ("/api/v1/predictions/run", {**RUN, "models": ["idle"]}, "models[0]"),
        ("/api/v1/predictions/run", {**RUN, "horizon": 0}, "horizon"),
        ("/api/v1/predictions/run", {**RUN, "levels": [85]}, "levels"),
        (
            "/api/v1/predictions/actuals",
            {"rows": [{"unique_id": "NOPE", "ds": "2026-04-11", "y": 1}]},
            "unique_id",
        ),
        (
            "/api/v1/predictions/actuals",
            {"rows": [{"unique_id": "AAA", "ds": "2026-04-11", "y": "abc"}]},
            "y",
        ),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(ledger, client, path, body, field) -> None:  # type: ignore[no-untyped-def]
    register_model(ledger, "idle", "naive", prices(90), active=False)
    client.post("/api/v1/predictions/run", json=RUN)  # so AAA is a known series for the actuals
    before = client.get("/api/v1/predictions/AAA").json()["total"]
    answer = client.post(path, json=body)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text
    assert client.get("/api/v1/predictions/AAA").json()["total"] == before
    assert client.get("/api/v1/predictions/accuracy").json()["scored_points"] == 0


def test_as_of_in_the_future_is_refused(ledger, client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/predictions/AAA", params={"as_of": "2999-01-01T00:00:00Z"})
    assert answer.status_code == 422 and "as_of" in answer.text


def test_a_model_with_predictions_is_not_deleted(ledger, client) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/predictions/run", json=RUN)
    refused = client.delete("/api/v1/ai/models/walk", params={"force": True})
    assert refused.status_code == 409 and "prediction" in refused.json()["detail"]
    assert client.get("/api/v1/predictions/AAA").json()["total"] == 1


def test_many_series_answer_a_run_and_schedules_refuse_bad_cron(ledger, client) -> None:  # type: ignore[no-untyped-def]
    queued = client.post("/api/v1/predictions/run", json={**RUN, "series": "all"})
    assert queued.status_code == 202 and queued.json()["run"]["series_total"] == 2
    run_id = queued.json()["run"]["id"]
    assert client.get(f"/api/v1/predictions/runs/{run_id}").json()["status"] in {
        "queued",
        "running",
        "succeeded",
    }
    bad = client.post(
        "/api/v1/predictions/schedules", json={"name": "nightly", "cron": "every night", "request": RUN}
    )
    assert bad.status_code == 422 and "cron" in bad.text
    made = client.post(
        "/api/v1/predictions/schedules", json={"name": "nightly", "cron": "0 22 * * 1-5", "request": RUN}
    )
    assert made.status_code == 201 and made.json()["next_run_at"]
    assert [s["name"] for s in client.get("/api/v1/predictions/schedules").json()["items"]] == ["nightly"]
    assert client.delete("/api/v1/predictions/schedules/nightly").status_code == 204


def test_predictions_join_the_lineage_graph(ledger, client) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/predictions/run", json=RUN)
    client.post("/api/v1/predictions/run", json=RUN)
    graph = client.get("/api/v1/ai/models/walk/lineage").json()
    [node] = [n for n in graph["nodes"] if n["kind"] == "prediction"]
    assert (
        node["label"] == "2 prediction(s) on stocks" and node["data"]["link"] == "/predictions?dataset=stocks"
    )
    assert {"source": "version:1", "target": node["id"], "relation": "predicted"} in graph["edges"]
