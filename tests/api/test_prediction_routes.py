"""The ticker routes read any ticker (one named like a fixed route too), and a stored prediction
downloads as CSV; bad input is a problem naming the field, with nothing stored."""

from __future__ import annotations

import csv
import io

import pytest

from tests.predictions.ledger import import_prices, prices, register_model

TICKERS = ("runs", "accuracy", "BRK/A")


@pytest.fixture
def ledger(app, client):  # type: ignore[no-untyped-def]
    context = app.state.helios
    register_model(context, "walk", "naive", prices(90, tickers=TICKERS))
    import_prices(context, prices(100, tickers=TICKERS))
    return context


def run(client, ticker: str, **fields) -> dict:  # type: ignore[no-untyped-def]
    body = {"dataset": "stocks", "series": ticker, "models": ["walk"], "horizon": 5, **fields}
    answer = client.post("/api/v1/predictions/run", json=body)
    assert answer.status_code == 201, answer.text
    [prediction] = answer.json()["predictions"]
    return prediction


def test_a_ticker_named_like_a_route_is_read_at_its_canonical_address(ledger, client) -> None:  # type: ignore[no-untyped-def]
    made = {ticker: run(client, ticker)["id"] for ticker in TICKERS}
    for ticker in TICKERS:
        page = client.get(f"/api/v1/predictions/series/{ticker}").json()
        assert [p["id"] for p in page["items"]] == [made[ticker]] and page["items"][0]["unique_id"] == ticker
    # The short form keeps answering its fixed routes: `runs` is still the list of runs.
    assert client.get("/api/v1/predictions/runs").json()["items"] == []
    assert "scored_points" in client.get("/api/v1/predictions/accuracy").json()
    # Filters work the same at the canonical address.
    filtered = client.get("/api/v1/predictions/series/runs", params={"model": "nope"}).json()
    assert filtered["total"] == 0
    described = client.get("/openapi.json").json()["paths"]["/api/v1/predictions/series/{ticker}"]["get"]
    assert "`runs`" in described["description"]


def test_a_prediction_downloads_as_csv(ledger, client) -> None:  # type: ignore[no-untyped-def]
    prediction = run(client, "runs", levels=[80, 95])
    answer = client.get(f"/api/v1/predictions/by-id/{prediction['id']}/csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert f"prediction-{prediction['id']}.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == [
        "model",
        "model_version",
        "dataset",
        "dataset_version",
        "unique_id",
        "origin",
        "start_mode",
        "step",
        "ds",
        "mean",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
        "sigma",
        "actual",
    ]
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5]
    first = prediction["points"][0]
    assert float(rows[0]["mean"]) == pytest.approx(first["mean"])
    assert float(rows[0]["lo_95"]) == pytest.approx(first["bounds"]["95"][0])
    assert float(rows[0]["lo_95"]) <= float(rows[0]["lo_80"]) <= float(rows[0]["hi_80"])
    assert rows[0]["start_mode"] == "state_updated" and rows[0]["unique_id"] == "runs"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/predictions/by-id/abc/csv", {}, "prediction_id"),
        ("/api/v1/predictions/series/runs", {"as_of": "2999-01-01T00:00:00Z"}, "as_of"),
        ("/api/v1/predictions/series/runs", {"version": 0}, "version"),
        ("/api/v1/predictions/series/runs", {"latest": "perhaps"}, "latest"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(ledger, client, path, params, field) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(path, params=params)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in answer.json()["errors"]}, answer.text


def test_a_bad_forecast_request_stores_nothing(ledger, client) -> None:  # type: ignore[no-untyped-def]
    """What the model page's Forecast card sends: a model version, a data version, levels."""
    body = {"dataset": "stocks", "series": "runs", "models": [{"name": "walk", "version": 1}], "horizon": 5}
    for bad, field in (({"levels": [85]}, "levels"), ({"horizon": 0}, "horizon")):
        answer = client.post("/api/v1/predictions/run", json={**body, **bad})
        assert answer.status_code == 422 and field in {e["field"] for e in answer.json()["errors"]}
    missing = client.post("/api/v1/predictions/run", json={**body, "dataset_version": 9})
    assert missing.status_code == 404 and "dataset" in missing.text
    assert client.get("/api/v1/predictions/series/runs").json()["total"] == 0
    assert client.get("/api/v1/predictions/by-id/1/csv").status_code == 404
    made = client.post("/api/v1/predictions/run", json={**body, "dataset_version": 1, "levels": [50, 99]})
    assert made.status_code == 201 and made.json()["predictions"][0]["levels"] == [50, 99]
