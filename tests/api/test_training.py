"""/api/v1/ml through HTTP: families, launch, list, metrics (also streamed), journal, controls, compare."""

from __future__ import annotations

import io

import pytest

from helios.training.runner import run_job
from helios.training.workers import claim_next
from tests.training.conftest import prices_csv


def seed(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/datasets", data={"name": "prices"}, files={"file": ("p.csv", io.BytesIO(prices_csv()))}
    )
    assert response.status_code == 201


def run_next(client) -> str:  # type: ignore[no-untyped-def]
    context = client.app.state.helios
    return run_job(context, claim_next(context, "test"))


def test_families_carry_their_schema(client) -> None:  # type: ignore[no-untyped-def]
    items = {f["slug"]: f for f in client.get("/api/v1/ml/families").json()["items"]}
    assert items["nbeats"]["iterative"] and not items["naive"]["iterative"]
    schema = items["nbeats"]["hyperparameters_schema"]
    epochs = schema["properties"]["epochs"]  # may be left empty: the data's frequency decides
    number = next(branch for branch in epochs["anyOf"] if branch.get("type") == "integer")
    assert number["minimum"] == 1 and "description" in epochs and {"type": "null"} in epochs["anyOf"]
    assert items["powerball_net"]["task"] == "draws"


def test_launch_validation_names_the_field(client) -> None:  # type: ignore[no-untyped-def]
    seed(client)
    bad = client.post(
        "/api/v1/ml/train",
        json={"dataset": "prices", "family": "nbeats", "hyperparameters": {"learning_rate": -1}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "hyperparameters.learning_rate"
    assert client.post("/api/v1/ml/train", json={"dataset": "prices", "family": "nope"}).status_code == 422
    assert client.post("/api/v1/ml/train", json={"dataset": "ghost", "family": "naive"}).status_code == 404
    assert client.get("/api/v1/ml/jobs").json()["total"] == 0


def test_job_list_pages_with_a_cursor_per_sort(client) -> None:  # type: ignore[no-untyped-def]
    seed(client)
    for family in ("naive", "drift", "naive", "seasonal_naive", "drift"):
        assert (
            client.post("/api/v1/ml/train", json={"dataset": "prices", "family": family}).status_code == 201
        )
    for sort in ("-created_at", "id", "family", "-status"):
        seen, cursor, pages = [], None, 0
        while True:
            params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/ml/jobs", params=params).json()
            assert page["total"] == 5
            seen += [(j["id"], j["family"]) for j in page["items"]]
            pages, cursor = pages + 1, page["next_cursor"]
            if not cursor:
                break
        assert pages == 3 and len({i for i, _ in seen}) == 5, sort
        if sort == "family":
            assert [f for _, f in seen] == sorted(f for _, f in seen)
    first = client.get("/api/v1/ml/jobs", params={"sort": "id", "limit": 2}).json()
    other_sort = client.get("/api/v1/ml/jobs", params={"sort": "-id", "cursor": first["next_cursor"]})
    assert other_sort.status_code == 422 and other_sort.json()["errors"][0]["field"] == "cursor"
    naive = client.get("/api/v1/ml/jobs", params={"family": "naive", "limit": 1}).json()
    assert naive["total"] == 2 and len(naive["items"]) == 1 and naive["next_cursor"]


def test_a_job_from_launch_to_compare(client) -> None:  # type: ignore[no-untyped-def]
    seed(client)
    small = {
        "epochs": 3,
        "hidden_size": 8,
        "layers": 1,
        "blocks": 1,
        "steps_per_epoch": 1,
        "batch_size": 8,
        "horizon": 7,
        "input_multiple": 2,
    }
    first = client.post(
        "/api/v1/ml/train",
        json={
            "dataset": "prices",
            "family": "nbeats",
            "hyperparameters": small,
            "validation": {"horizon": 7, "refit": False},
            "tags": ["demo"],
        },
    )
    assert first.status_code == 201 and first.json()["status"] == "queued"
    job_id = first.json()["id"]
    assert run_next(client) == "succeeded"
    job = client.get(f"/api/v1/ml/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["result_version"] == 1 and job["duration_s"] > 0
    assert job["best_metric"] is not None and job["best_epoch"] is not None  # lowest val_loss, no rule needed
    points = client.get(f"/api/v1/ml/jobs/{job_id}/metrics").json()
    assert {p["name"] for p in points["points"]} >= {"train_loss", "val_loss"}
    later = client.get(f"/api/v1/ml/jobs/{job_id}/metrics", params={"since": points["last_id"]}).json()
    assert later["points"] == [] and later["last_id"] == points["last_id"]
    journal = client.get(f"/api/v1/ml/jobs/{job_id}/journal").json()["items"]
    assert any("succeeded" in line["message"] for line in journal)
    stream = client.get(f"/api/v1/ml/jobs/{job_id}/metrics/stream")
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.count("event: metric") == len(points["points"]) and '"succeeded"' in stream.text
    second = client.post(
        "/api/v1/ml/train",
        json={
            "dataset": "prices",
            "family": "nbeats",
            "hyperparameters": {**small, "hidden_size": 16},
            "validation": {"horizon": 7, "refit": False},
        },
    ).json()
    run_next(client)
    compared = client.get("/api/v1/ml/jobs/compare", params={"ids": f"{job_id},{second['id']}"}).json()
    assert compared["params_diff"]["hidden_size"] == {str(job_id): 8, str(second["id"]): 16}
    assert len(compared["runs"]) == 2 and "val_loss" in compared["runs"][0]["curves"]
    assert client.get("/api/v1/ml/jobs/compare", params={"ids": str(job_id)}).status_code == 422
    assert client.get("/api/v1/ml/jobs/compare", params={"ids": "1,x"}).status_code == 422
    listed = client.get(
        "/api/v1/ml/jobs", params={"status": "succeeded", "family": "nbeats", "sort": "id"}
    ).json()
    assert [j["id"] for j in listed["items"]] == [job_id, second["id"]]
    assert client.get("/api/v1/ml/jobs", params={"sort": "colour"}).status_code == 422
    model = client.get("/api/v1/ai/models/prices-nbeats/lineage").json()
    assert {n["kind"] for n in model["nodes"]} >= {"dataset_version", "training_job", "model_version"}


def test_controls_on_finished_and_queued_jobs(client) -> None:  # type: ignore[no-untyped-def]
    seed(client)
    job = client.post("/api/v1/ml/train", json={"dataset": "prices", "family": "naive"}).json()
    cancelled = client.post(f"/api/v1/ml/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/v1/ml/jobs/{job['id']}/stop").status_code == 409
    patch = client.patch(f"/api/v1/ml/jobs/{job['id']}/early-stopping", json={"patience": 3})
    assert patch.status_code == 409
    assert client.get("/api/v1/ml/jobs/999").status_code == 404
    assert client.get("/api/v1/ml/jobs/999/metrics/stream").status_code == 404


def test_a_holdout_too_long_for_the_data_is_refused_naming_the_field(client) -> None:  # type: ignore[no-untyped-def]
    seed(client)
    body = {"dataset": "prices", "family": "naive", "validation": {"horizon": 119}}
    refused = client.post("/api/v1/ml/train", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "validation.horizon", "message": "at most 112"}]
    assert client.get("/api/v1/ml/jobs").json()["total"] == 0


def test_rerun_copies_the_settings_and_tags_and_a_note_are_editable(client) -> None:  # type: ignore[no-untyped-def]
    seed(client)
    body = {"dataset": "prices", "family": "naive", "series": ["S0"], "tags": ["baseline"], "seed": 3}
    first = client.post("/api/v1/ml/train", json=body).json()
    assert first["validation"]["horizon"] == 14  # resolved once, at creation, for every client
    annotated = client.patch(f"/api/v1/ml/jobs/{first['id']}", json={"tags": ["baseline", "v1 data"]})
    assert annotated.status_code == 200 and annotated.json()["tags"] == ["baseline", "v1 data"]
    noted = client.patch(f"/api/v1/ml/jobs/{first['id']}", json={"note": " weekly season only "}).json()
    assert noted["note"] == "weekly season only" and noted["tags"] == ["baseline", "v1 data"]
    assert client.patch(f"/api/v1/ml/jobs/{first['id']}", json={"tags": [""]}).status_code == 422
    assert client.patch(f"/api/v1/ml/jobs/{first['id']}", json={"status": "failed"}).status_code == 422
    assert client.patch("/api/v1/ml/jobs/999", json={"note": "x"}).status_code == 404

    # A newer version of the data: a re-run stays on v1 unless asked for the latest.
    more = client.post(
        "/api/v1/datasets",
        data={"name": "prices"},
        files={"file": ("p.csv", io.BytesIO(prices_csv(days=150)))},
    )
    assert more.status_code == 201
    same = client.post(f"/api/v1/ml/jobs/{first['id']}/rerun")
    assert same.status_code == 201
    latest = client.post(f"/api/v1/ml/jobs/{first['id']}/rerun", json={"latest_version": True}).json()
    for job in (same.json(), latest):
        for field in (
            "family",
            "series",
            "hyperparameters",
            "validation",
            "seed",
            "target_model",
            "tags",
            "note",
        ):
            assert job[field] == noted[field], field
    assert (same.json()["dataset_version"], latest["dataset_version"]) == (1, 2)
    journal = client.get(f"/api/v1/ml/jobs/{latest['id']}/journal").json()["items"]
    assert any(f"re-run of job #{first['id']} on the latest data" in line["message"] for line in journal)
    assert client.post("/api/v1/ml/jobs/999/rerun").status_code == 404


def test_a_finished_job_serves_its_validation_forecast(client) -> None:  # type: ignore[no-untyped-def]
    from helios.client import Helios, HeliosAPIError

    seed(client)
    job = client.post(
        "/api/v1/ml/train",
        json={"dataset": "prices", "family": "seasonal_naive", "validation": {"horizon": 7}},
    ).json()
    missing = client.get(f"/api/v1/ml/jobs/{job['id']}/validation")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert "it is queued" in missing.json()["detail"]
    assert run_next(client) == "succeeded"
    body = client.get(f"/api/v1/ml/jobs/{job['id']}/validation").json()
    assert body["kind"] == "series" and body["horizon"] == 7 and body["series_total"] == 2
    first = body["series"][0]
    assert (
        first["unique_id"] == "S0" and len(first["ds"]) == len(first["forecast"]) == len(first["naive"]) == 7
    )
    assert first["history_ds"][-1] < first["ds"][0] and [b["level"] for b in first["intervals"]] == [80, 95]
    assert client.get("/api/v1/ml/jobs/999/validation").status_code == 404

    with Helios("http://testserver", transport=client._transport) as hx:
        table = hx.training.validation(job["id"])
        holdout = table[table["part"] == "holdout"]
        assert len(holdout) == 14 and {"y", "forecast", "naive", "lo-95", "hi-95"} <= set(table.columns)
        assert table.attrs["series_total"] == 2 and "seasonal naive" in table.attrs["naive_method"]
        assert str(table["ds"].dtype).startswith("datetime64")
        with pytest.raises(HeliosAPIError) as caught:
            hx.training.validation(999)
        assert caught.value.status == 404
