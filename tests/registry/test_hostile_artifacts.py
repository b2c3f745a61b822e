"""Malformed but self-consistent artifacts (issue 9): checksums match and the state loads, yet it is
nonsense; registration tries one forecast and refuses it with a 422, storing nothing. And a model
upload obeys the one upload limit."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helios.forecasting.artifacts import save_fitted
from helios.forecasting.base import DataSpec
from helios.forecasting.families import get_family


def saved(tmp_path: Path) -> Path:
    stamps = pd.date_range("2024-01-01", periods=40, freq="D")
    train = pd.DataFrame({"unique_id": "A", "ds": stamps, "y": np.arange(40.0)})
    family = get_family("seasonal_naive")
    fitted = family.fit(train, family.parse_config({}), DataSpec(freq="D", season_length=7))
    directory = tmp_path / "fitted"
    save_fitted(fitted, directory)
    return directory


def tamper(directory: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Edit meta.json and re-hash the manifest: consistent, so only the content can betray it."""
    meta = json.loads((directory / "meta.json").read_text())
    change(meta["state"])
    data = json.dumps(meta).encode()
    (directory / "meta.json").write_bytes(data)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"]["meta.json"] = hashlib.sha256(data).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))


def upload(client, directory: Path):  # type: ignore[no-untyped-def]
    files = [("files", (p.name, io.BytesIO(p.read_bytes()))) for p in sorted(directory.iterdir())]
    return client.post("/api/v1/ai/models/prices/versions", files=files)


@pytest.mark.parametrize(
    "change",
    [
        lambda state: state.update(freq="not-a-frequency"),
        lambda state: state["series"][0].update(last_ds="yesterday"),
        lambda state: state["series"][0].update(arrays=[]),
    ],
    ids=["invalid-freq", "invalid-last-ds", "no-last-season"],
)
def test_nonsense_state_is_refused_at_registration(client, tmp_path: Path, change) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    directory = saved(tmp_path)
    tamper(directory, change)
    response = upload(client, directory)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/ai/models/prices").json()["versions"] == []


def test_a_sound_artifact_still_registers(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    assert upload(client, saved(tmp_path)).status_code == 201


def test_model_uploads_obey_the_upload_limit(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    directory = saved(tmp_path)
    limit = client.app.state.helios.settings.max_upload_bytes
    (directory / "meta.json").write_bytes(b" " * (limit + 1))
    response = upload(client, directory)
    assert response.status_code == 413
    assert client.get("/api/v1/ai/models/prices").json()["versions"] == []


def test_artifact_files_appear_only_after_the_commit(context, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from helios.core.auth import LOCAL_USER
    from helios.registry import service
    from helios.registry.schemas import ModelCreate

    directory = saved(tmp_path)
    keys = []
    with pytest.raises(RuntimeError), context.db.transaction() as session:
        model = service.create_model(session, ModelCreate(name="prices", kind="ml"), LOCAL_USER)
        version = service.register_artifact(session, context.store, model, directory, LOCAL_USER)
        keys.append(version.artifact_key)
        assert context.store.exists(f"{version.artifact_key}/manifest.json")  # its own transaction reads it
        raise RuntimeError("the commit never happens")
    assert not context.store.root.joinpath(*keys[0].split("/")).exists()
    with context.db.transaction() as session:
        model = service.create_model(session, ModelCreate(name="prices", kind="ml"), LOCAL_USER)
        version = service.register_artifact(session, context.store, model, directory, LOCAL_USER)
        key = version.artifact_key
        assert not context.store.root.joinpath(*key.split("/")).exists()  # staged until the commit
    assert context.store.root.joinpath(*key.split("/"), "manifest.json").is_file()
