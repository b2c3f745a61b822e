"""ML versions through the API: a saved model directory is uploaded, verified, stored under a
server-made key, downloadable file by file, warmed into the cache and used to predict; a
tampered or pickled artifact is refused and nothing is stored."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.artifacts import save_fitted
from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family

SMALL = {
    "epochs": 2,
    "hidden_size": 8,
    "layers": 1,
    "blocks": 1,
    "steps_per_epoch": 1,
    "batch_size": 8,
    "horizon": 5,
    "input_multiple": 2,
}


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stamps = pd.date_range("2024-01-01", periods=80, freq="D")
    train = pd.DataFrame({"unique_id": "A", "ds": stamps, "y": np.sin(np.arange(80) / 3) + 10})
    family = get_family("nbeats")
    fitted = family.fit(train, family.parse_config(SMALL), DataSpec(freq="D", season_length=7))
    directory = tmp_path_factory.mktemp("artifact") / "fitted"
    save_fitted(fitted, directory)
    return directory


def upload(client, directory: Path, name: str = "prices", **form):  # type: ignore[no-untyped-def]
    files = [("files", (p.name, io.BytesIO(p.read_bytes()))) for p in sorted(directory.iterdir())]
    return client.post(f"/api/v1/ai/models/{name}/versions", files=files, data=form)


def test_register_download_load_and_predict(client, saved_model: Path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml", "task": "price"})
    created = upload(client, saved_model, metrics=json.dumps({"mase": 0.91}), description="first")
    assert created.status_code == 201, created.text
    version = created.json()
    assert version["family"] == "nbeats" and version["metrics"]["mase"] == 0.91
    assert set(version["artifact_files"]) == {"manifest.json", "meta.json", "arrays.safetensors"}
    again = upload(client, saved_model)
    assert again.json()["version"] == 2
    summary = client.get("/api/v1/ai/models", params={"kind": "ml"}).json()["items"][0]
    assert summary["key_metric_trend"] == [0.91, None]
    manifest = client.get("/api/v1/ai/models/prices/versions/1/files/manifest.json")
    assert manifest.status_code == 200 and json.loads(manifest.content)["family"] == "nbeats"
    assert (
        client.post("/api/v1/ai/models/prices/predict", json={"horizon": 3}).status_code == 404
    )  # none active
    client.post("/api/v1/ai/models/prices/deploy", json={"version": 1, "stage": "active"})
    warmed = client.post("/api/v1/ai/models/prices/load", json={})
    assert warmed.status_code == 200 and not warmed.json()["already_loaded"]
    assert client.post("/api/v1/ai/models/prices/load", json={}).json()["already_loaded"]
    forecast = client.post("/api/v1/ai/models/prices/predict", json={"horizon": 5, "levels": [80]}).json()
    assert forecast["version"] == 1 and forecast["columns"][:3] == ["unique_id", "ds", "mean"]
    assert len(forecast["rows"]) == 5 and "lo-80" in forecast["columns"]
    assert client.get("/api/v1/ai/models/prices/info").json()["cached_versions"] == [1]
    too_far = client.post("/api/v1/ai/models/prices/predict", json={"horizon": 500})
    assert too_far.status_code == 422


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_tampered_and_pickled_artifacts_are_refused(client, saved_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    tampered = _copy(saved_model, tmp_path / "tampered")
    meta = json.loads((tampered / "meta.json").read_text())
    meta["state"]["tampered"] = True
    (tampered / "meta.json").write_text(json.dumps(meta))
    refused = upload(client, tampered)
    assert refused.status_code == 422 and "sha256" in refused.json()["detail"]
    pickled = _copy(saved_model, tmp_path / "pickled")
    (pickled / "model.pkl").write_bytes(pickle.dumps({"x": 1}))
    assert upload(client, pickled).status_code == 422
    disguised = _copy(saved_model, tmp_path / "disguised")
    (disguised / "arrays.safetensors").write_bytes(pickle.dumps({"x": 1}))
    assert upload(client, disguised).status_code == 422
    assert client.get("/api/v1/ai/models/prices").json()["version_count"] == 0
    assert not [p for p in client.app.state.helios.store.root.rglob("*") if p.is_file()]


def test_an_artifact_changed_in_the_store_is_refused_on_load(client, saved_model: Path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    upload(client, saved_model)
    store = client.app.state.helios.store.root
    arrays = next(store.rglob("arrays.safetensors"))
    arrays.write_bytes(arrays.read_bytes()[:-8] + b"\x00" * 8)
    response = client.post("/api/v1/ai/models/prices/predict", json={"version": 1, "horizon": 3})
    assert response.status_code == 422 and "sha256" in response.json()["detail"]


def test_cache_evicts_least_recently_used_within_budget(context, saved_model: Path) -> None:  # type: ignore[no-untyped-def]
    from helios.core.auth import LOCAL_USER
    from helios.registry import service
    from helios.registry.inference import InferenceCache

    with context.db.transaction() as session:
        model = service.ensure_model(session, "prices", kind="ml", task="price", actor=LOCAL_USER)
        versions = [
            service.register_artifact(session, context.store, model, saved_model, LOCAL_USER)
            for _ in range(3)
        ]
    size = versions[0].artifact_bytes
    cache = InferenceCache(budget_bytes=size * 2)
    cache.load(context.store, "prices", versions[0])
    cache.load(context.store, "prices", versions[1])
    cache.load(context.store, "prices", versions[0])  # touch v1: v2 is now least recent
    _, _, evicted = cache.load(context.store, "prices", versions[2])
    assert evicted == ["prices v2"] and cache.loaded_versions("prices") == [1, 3]
    tiny = InferenceCache(budget_bytes=size - 1)
    from helios.core.errors import Conflict

    with pytest.raises(Conflict, match="budget"):
        tiny.load(context.store, "prices", versions[0])


def test_delete_removes_the_artifacts(client, saved_model: Path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    upload(client, saved_model)
    store = client.app.state.helios.store.root
    assert [p for p in store.rglob("*") if p.is_file()]
    assert client.delete("/api/v1/ai/models/prices").status_code == 204
    assert not [p for p in store.rglob("*") if p.is_file()]


def test_deleting_a_model_unloads_it_and_removes_files_only_after_the_commit(
    context, saved_model: Path
) -> None:  # type: ignore[no-untyped-def]
    from helios.core.auth import LOCAL_USER
    from helios.registry import service

    with context.db.transaction() as session:
        model = service.ensure_model(session, "prices", kind="ml", task="price", actor=LOCAL_USER)
        version = service.register_artifact(session, context.store, model, saved_model, LOCAL_USER)
    context.inference.load(context.store, "prices", version)
    files = lambda: [p for p in context.store.root.rglob("*") if p.is_file()]  # noqa: E731
    stored = files()

    with pytest.raises(RuntimeError), context.db.transaction() as session:
        service.delete_model(session, context.store, context.inference, "prices", LOCAL_USER, force=False)
        raise RuntimeError("the request failed after the delete")
    assert files() == stored and context.inference.loaded_versions("prices") == [1]  # rolled back: all kept

    with context.db.transaction() as session:
        service.delete_model(session, context.store, context.inference, "prices", LOCAL_USER, force=False)
        assert files() == stored  # not before the commit
    assert files() == [] and context.inference.loaded_versions("prices") == []
