"""/api/v1/agents: an agent carries its assistant (checked by the assistants service) and the
prediction schedules that run its models on the series it watches; its predictions route answers
the newest prediction per model and the ledger's accuracy on each watched series."""

from __future__ import annotations

import pytest

from helios.core.auth import LOCAL_USER
from helios.predictions import schedules
from helios.predictions.schemas import ScheduleCreate
from tests.api.test_assistants import assistant, problem
from tests.predictions.ledger import import_prices, prices, register_model

AGENTS = "/api/v1/agents"
WATCH = [{"dataset": "stocks", "tickers": ["AAA"]}]


def schedule(context, name: str, series, models: list[str], dataset: str = "stocks") -> None:  # type: ignore[no-untyped-def]
    """Through the predictions service: the route would first fit every model on every series."""
    request = {"dataset": dataset, "series": series, "models": models, "horizon": 3}
    body = ScheduleCreate.model_validate({"name": name, "cron": "30 21 * * 1-5", "request": request})
    with context.db.transaction() as session:
        schedules.create_schedule(session, body, LOCAL_USER)


def test_assistant_is_set_by_name_or_id_shown_and_taken_away(client) -> None:  # type: ignore[no-untyped-def]
    made = assistant(client, "explainer")
    created = client.post(AGENTS, json={"name": "desk", "assistant": "explainer", "watches": WATCH})
    assert created.status_code == 201, created.text
    assert created.json()["assistant"] == {
        "name": "explainer",
        "found": True,
        "role": "analyst",
        "llm_model": None,
        "llm_version": None,
    }
    assistant(client, "risk")
    by_id = client.patch(f"{AGENTS}/desk", json={"assistant": str(made["id"] + 1)})
    assert by_id.status_code == 200 and by_id.json()["assistant"]["name"] == "risk"
    listed = client.get(AGENTS).json()["items"]
    assert [a["assistant"]["name"] for a in listed] == ["risk"]
    cleared = client.patch(f"{AGENTS}/desk", json={"assistant": None})
    assert cleared.status_code == 200 and cleared.json()["assistant"] is None
    assert client.patch(f"{AGENTS}/desk", json={"description": "x"}).json()["assistant"] is None


def test_a_deleted_assistant_is_shown_as_gone(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client, "explainer")
    client.post(AGENTS, json={"name": "desk", "assistant": "explainer"})
    assert client.delete("/api/v1/ai-assistant/assistants/explainer").status_code in (200, 204)
    shown = client.get(f"{AGENTS}/desk").json()["assistant"]
    assert shown == {
        "name": "explainer",
        "found": False,
        "role": None,
        "llm_model": None,
        "llm_version": None,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assistant": "nobody"}, "assistant"),
        ({"assistant": "999"}, "assistant"),
        ({"assistant": "x" * 65}, "assistant"),
        ({"assistant": 7}, "assistant"),
    ],
)
def test_an_unknown_assistant_names_the_field_and_stores_nothing(client, body: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    assistant(client, "explainer")
    detail = problem(client.post(AGENTS, json={"name": "desk", **body}), 422, field)
    assert "assistant" in detail
    assert client.get(f"{AGENTS}/desk").status_code == 404
    assert client.post(AGENTS, json={"name": "desk", "assistant": "explainer"}).status_code == 201
    problem(client.patch(f"{AGENTS}/desk", json={"description": "changed", **body}), 422, field)
    kept = client.get(f"{AGENTS}/desk").json()
    assert kept["assistant"]["name"] == "explainer" and kept["description"] == ""


def test_schedules_are_those_running_its_models_on_its_series(app, client) -> None:  # type: ignore[no-untyped-def]
    context = app.state.helios
    client.post(
        AGENTS,
        json={
            "name": "desk",
            "models": ["walk"],
            "watches": [{"dataset": "stocks", "tickers": ["AAA"]}, {"dataset": "fx", "tickers": []}],
        },
    )
    schedule(context, "aaa-walk", "AAA", ["walk"])
    schedule(context, "all-walk", "all", ["walk", "other"])
    schedule(context, "fx-walk", ["EURUSD"], ["walk"], dataset="fx")  # a watch without tickers: every series
    schedule(context, "bbb-walk", ["BBB"], ["walk"])  # a series it does not watch
    schedule(context, "aaa-other", "AAA", ["other"])  # a model it does not use
    schedule(context, "crypto-walk", "AAA", ["walk"], dataset="crypto")  # a dataset it does not watch
    found = client.get(f"{AGENTS}/desk").json()["schedules"]
    assert [s["name"] for s in found] == ["aaa-walk", "all-walk", "fx-walk"]
    first = found[0]
    assert first["cron"] == "30 21 * * 1-5" and first["enabled"] and first["series"] == ["AAA"]
    assert first["models"] == ["walk"] and first["dataset"] == "stocks" and first["next_run_at"]
    assert found[1]["series"] == "all"
    assert client.delete("/api/v1/predictions/schedules/aaa-walk").status_code in (200, 204)
    assert [s["name"] for s in client.get(f"{AGENTS}/desk").json()["schedules"]] == ["all-walk", "fx-walk"]


def test_predictions_and_accuracy_of_its_models_on_its_series(app, client) -> None:  # type: ignore[no-untyped-def]
    context = app.state.helios
    register_model(context, "walk", "naive", prices(90))
    register_model(context, "other", "naive", prices(90))
    import_prices(context, prices(100))
    client.post(AGENTS, json={"name": "desk", "models": ["walk"], "watches": WATCH})
    for model in ("walk", "other"):
        for series in ("AAA", "BBB"):  # one series a call answers inline
            run = {"dataset": "stocks", "series": series, "models": [model], "horizon": 5}
            assert client.post("/api/v1/predictions/run", json=run).status_code == 201
    before = client.get(f"{AGENTS}/desk/predictions").json()
    assert [(p["model"], p["unique_id"]) for p in before["latest"]] == [("walk", "AAA")]
    assert before["accuracy"] == []  # nothing scored yet
    import_prices(context, prices(104))
    context.events.drain()  # the scoring subscriber scores the new version
    after = client.get(f"{AGENTS}/desk/predictions").json()
    [row] = after["accuracy"]
    assert (row["model"], row["unique_id"], row["model_version"]) == ("walk", "AAA", 1)
    assert row["scored_points"] == 4 and row["mae"] > 0 and row["coverage_95"] is not None
    assert "cannot tell yet" in row["verdict"]
    assert client.get(f"{AGENTS}/nobody/predictions").status_code == 404


def test_client_agents_area_carries_assistant_schedules_and_accuracy(app, client) -> None:  # type: ignore[no-untyped-def]
    from helios.client import Helios, HeliosAPIError

    context = app.state.helios
    register_model(context, "walk", "naive", prices(90))
    import_prices(context, prices(100))
    assistant(client, "explainer")
    schedule(context, "aaa-walk", "AAA", ["walk"])
    with Helios("http://testserver", transport=client._transport) as hx:
        made = hx.agents.create("desk", models=["walk"], watches=["stocks:AAA"], assistant="explainer")
        assert made["assistant"]["name"] == "explainer"
        assert hx.agents.schedules("desk")["name"].tolist() == ["aaa-walk"]
        hx.predictions.run("stocks", "AAA", "walk", horizon=5)
        assert hx.agents.predictions("desk")[["model", "unique_id"]].values.tolist() == [["walk", "AAA"]]
        assert hx.agents.accuracy("desk").empty
        with pytest.raises(HeliosAPIError) as bad:
            hx.agents.update("desk", assistant="nobody")
        assert bad.value.status == 422 and bad.value.errors[0]["field"] == "assistant"
        assert hx.agents.update("desk", assistant=None)["assistant"] is None
