"""A mistyped dataset or model name is a 404 that names the closest existing one."""

from __future__ import annotations

from tests.api.test_datasets import upload


def test_a_mistyped_dataset_name_suggests_the_real_one(client) -> None:  # type: ignore[no-untyped-def]
    assert upload(client, name="stock-prices").status_code == 201
    missing = client.get("/api/v1/datasets/stock-price")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "did you mean 'stock-prices'?" in missing.json()["detail"]
    assert "did you mean" not in client.get("/api/v1/datasets/powerball").json()["detail"]


def test_a_mistyped_model_name_suggests_the_real_one(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/ai/models", json={"name": "cli-ets", "kind": "ml"}).status_code == 201
    missing = client.get("/api/v1/ai/models/cli-est")
    assert missing.status_code == 404
    assert "did you mean 'cli-ets'?" in missing.json()["detail"]
