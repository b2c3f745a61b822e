"""Saving and loading fitted models: identical forecasts after a round trip, for every family
that forecasts series; and nothing tampered with, unlisted or pickled is ever loaded."""

from __future__ import annotations

import hashlib
import json
import pickle  # only to write the hostile file the loader must refuse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helios.forecasting import artifacts
from helios.forecasting.artifacts import load_fitted, save_fitted
from helios.forecasting.base import ArtifactError, DataSpec, Fitted
from helios.forecasting.families import get_family, list_families

# Families of other tasks (draws) test their own round trips: their predict speaks another format.
SERIES_TASKS = ("timeseries", "price", "volatility")
# Shrinks iterative families to a few seconds; used only where a family's Config has the key
# with a default of the same type (ensemble's ``members`` is a list, nbeats' a count).
QUICK = {
    "epochs": 1,
    "steps_per_epoch": 2,
    "members": 1,
    "hidden_size": 16,
    "batch_size": 32,
    "blocks": 1,
    "layers": 1,
    "horizon": 4,
    "n_windows": 1,
}


def panel(n: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    stamps = pd.date_range("2022-01-03", periods=n, freq="W-MON")
    season = np.tile([1.0, 3.0, -2.0, -2.0], n // 4)
    return pd.concat(
        [
            pd.DataFrame(
                {"unique_id": uid, "ds": stamps, "y": 50 + i * 10 + np.cumsum(rng.normal(size=n)) + season}
            )
            for i, uid in enumerate(["alpha", "beta"])
        ],
        ignore_index=True,
    )


def quick_fit(name: str) -> Fitted:
    family = get_family(name)
    fields = family.Config.model_fields
    config = {k: v for k, v in QUICK.items() if k in fields and type(fields[k].default) is type(v)}
    return family.fit(panel(), family.parse_config(config), DataSpec("W-MON", 4))


SERIES_FAMILIES = [f.name for f in list_families() if f.task in SERIES_TASKS]


@pytest.mark.parametrize("name", SERIES_FAMILIES)
def test_round_trip_gives_identical_forecasts(name: str, tmp_path: Path) -> None:
    fitted = quick_fit(name)
    before = fitted.predict(4, (80, 95))
    manifest = save_fitted(fitted, tmp_path / name)
    loaded = load_fitted(tmp_path / name)
    assert type(loaded) is type(fitted) and manifest["family"] == fitted.family
    pd.testing.assert_frame_equal(loaded.predict(4, (80, 95)), before, check_exact=True)
    assert sorted(p.name for p in (tmp_path / name).iterdir()) == sorted(artifacts.ALLOWED_FILES)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_fitted(quick_fit("naive2"), tmp_path / "model")
    return tmp_path / "model"


def _rewrite_manifest(folder: Path, **files: bytes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, data in files.items():
        (folder / name).write_bytes(data)
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_layout_and_manifest(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == "helios-fitted/1" and manifest["family"] == "naive2"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((saved / name).read_bytes()).hexdigest() == digest
    assert json.loads((saved / "meta.json").read_text())["family"] == "naive2"


def test_tampered_file_is_refused(saved: Path) -> None:
    meta = json.loads((saved / "meta.json").read_text())
    meta["state"]["series"][0]["params"]["last_adjusted"] = 1e9
    (saved / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        load_fitted(saved)


def test_unlisted_file_is_refused(saved: Path) -> None:
    (saved / "notes.json").write_text("{}")
    with pytest.raises(ArtifactError, match="not listed in the manifest"):
        load_fitted(saved)


@pytest.mark.parametrize("name", ["model.pkl", "weights.pt", "weights.pth", "model.joblib"])
def test_pickle_files_are_refused_by_name(saved: Path, name: str) -> None:
    (saved / name).write_bytes(b"anything")
    with pytest.raises(ArtifactError, match="pickle"):
        load_fitted(saved)


def test_pickle_bytes_are_refused_even_when_listed(saved: Path) -> None:
    # A forger who rewrites the manifest too still cannot get a pickle past the magic-byte check.
    _rewrite_manifest(saved, **{"arrays.safetensors": pickle.dumps({"w": [1, 2, 3]})})
    with pytest.raises(ArtifactError, match="pickle"):
        load_fitted(saved)


def test_missing_or_foreign_manifest_is_refused(saved: Path, tmp_path: Path) -> None:
    (saved / "manifest.json").write_text(json.dumps({"format": "other/9", "files": {}}))
    with pytest.raises(ArtifactError, match="not a Helios model artifact"):
        load_fitted(saved)
    (saved / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_fitted(saved)
    with pytest.raises(ArtifactError, match="not a saved model directory"):
        load_fitted(tmp_path / "nowhere")


def test_a_crash_while_writing_leaves_no_half_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted = quick_fit("naive")
    save_fitted(fitted, tmp_path / "model")
    before = (tmp_path / "model" / "meta.json").read_bytes()
    written: list[str] = []

    def crash_on_second_file(path: Path, data: bytes) -> None:
        written.append(path.name)
        if len(written) == 2:
            raise OSError("disk full")
        path.write_bytes(data)

    monkeypatch.setattr(artifacts, "write_synced", crash_on_second_file)
    with pytest.raises(OSError, match="disk full"):
        save_fitted(quick_fit("drift"), tmp_path / "model")
    # The old artifact is whole and untouched, and no staging directory is left behind.
    assert (tmp_path / "model" / "meta.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert isinstance(load_fitted(tmp_path / "model"), type(fitted))


def test_saving_over_an_artifact_replaces_it(tmp_path: Path) -> None:
    save_fitted(quick_fit("naive"), tmp_path / "model")
    save_fitted(quick_fit("drift"), tmp_path / "model")
    assert load_fitted(tmp_path / "model").family == "drift"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_non_numeric_arrays_cannot_be_saved(tmp_path: Path) -> None:
    class Strings(Fitted):
        family = "naive"

        def predict(self, horizon, levels=(80, 95)):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def to_state(self):  # type: ignore[no-untyped-def]
            return {}, {"names": np.array(["a", "b"], dtype=object)}

        @classmethod
        def from_state(cls, meta, arrays):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    with pytest.raises(ArtifactError, match="not numeric"):
        save_fitted(Strings(), tmp_path / "model")
    assert not (tmp_path / "model").exists()
