"""Saving and loading a ``Fitted`` without ever executing code from the artifact.

A saved model is a directory of three files:

    manifest.json       {"format": "helios-fitted/1", "family": ..., "files": {name: sha256}}
    meta.json           the family's JSON state (``Fitted.to_state`` meta) plus the family name
    arrays.safetensors  the named numpy arrays (weights, fitted values), possibly empty

It is written to a temporary sibling directory and renamed into place, so a crash never leaves
half an artifact. Loading checks every checksum, refuses files the manifest does not name and
anything that looks like a pickle, then rebuilds the model through its family's ``from_state``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from helios.forecasting.atomic_files import write_synced
from helios.forecasting.base import ArtifactError, Fitted

FORMAT = "helios-fitted/1"
MANIFEST = "manifest.json"
META = "meta.json"
ARRAYS = "arrays.safetensors"
ALLOWED_FILES = (MANIFEST, META, ARRAYS)
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib", ".bin", ".npy", ".npz")
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")


def save_fitted(fitted: Fitted, directory: str | Path) -> dict[str, Any]:
    """Write ``fitted`` to ``directory`` (replaced if it exists); returns the manifest."""
    target = Path(directory)
    meta, arrays = fitted.to_state()
    payload = {META: _json_bytes({"family": fitted.family, "state": meta}), ARRAYS: _arrays_bytes(arrays)}
    manifest = {
        "format": FORMAT,
        "family": fitted.family,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in payload.items()},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        for name, data in {**payload, MANIFEST: _json_bytes(manifest)}.items():
            write_synced(staging / name, data)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename the finished directory onto ``target``. An older artifact there is first renamed
    aside and only deleted once the new one is in place, so a crash leaves one or the other whole."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-old-"))
    os.replace(target, retired / "artifact")
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired / "artifact", target)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)


def load_fitted(directory: str | Path) -> Fitted:
    """Verify and load; raises ``ArtifactError`` naming what is wrong."""
    from helios.forecasting.families import get_family

    source = Path(directory)
    manifest = _manifest(source)
    _refuse_unlisted_or_pickled(source, manifest)
    for name, expected in manifest["files"].items():
        actual = hashlib.sha256(_read(source / name)).hexdigest()
        if actual != expected:
            raise ArtifactError(f"{name} was changed after it was saved (sha256 mismatch)")
    meta = _json(source / META)
    if not isinstance(meta, dict) or meta.get("family") != manifest["family"] or "state" not in meta:
        raise ArtifactError("meta.json and manifest.json disagree about the model family")
    try:
        family = get_family(manifest["family"])
    except ValueError as exc:
        raise ArtifactError(str(exc)) from None
    try:
        return family.FittedType.from_state(meta["state"], _load_arrays(source / ARRAYS))
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ArtifactError(f"the saved {manifest['family']} state cannot be rebuilt: {exc!r}") from None


def _json(path: Path) -> Any:
    try:
        return json.loads(_read(path))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ArtifactError(f"{path.name} is not valid JSON") from None
    except RecursionError:  # hostile nesting: Python's parser recurses once per level
        raise ArtifactError(f"{path.name} is nested too deeply to be a model's state") from None


def _manifest(source: Path) -> dict[str, Any]:
    if not source.is_dir():
        raise ArtifactError(f"{source} is not a saved model directory")
    manifest = _json(source / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"not a Helios model artifact (manifest format is not {FORMAT!r})")
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != {META, ARRAYS}:
        raise ArtifactError(f"the manifest must list exactly {META} and {ARRAYS}")
    return manifest


def _refuse_unlisted_or_pickled(source: Path, manifest: dict[str, Any]) -> None:
    allowed = {MANIFEST, *manifest["files"]}
    for path in source.iterdir():
        if path.name.endswith(_PICKLE_SUFFIXES):
            raise ArtifactError(f"{path.name} looks like a pickle; Helios never loads pickled objects")
        if path.name not in allowed:
            raise ArtifactError(f"{path.name} is not listed in the manifest; refusing the artifact")
        if path.is_symlink() or not path.is_file():
            raise ArtifactError(f"{path.name} is not a plain file")
        with path.open("rb") as handle:
            if handle.read(4).startswith(_PICKLE_MAGIC):
                raise ArtifactError(f"{path.name} holds a pickle or an archive; Helios never loads those")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"the artifact has no {path.name}") from None


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()


def _arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    for name, value in arrays.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            # Object and string arrays would need pickle to store: numbers only.
            raise ArtifactError(f"array {name!r} is not numeric; artifacts hold numeric arrays only")
    return save({name: np.ascontiguousarray(value) for name, value in arrays.items()})


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        return load(_read(path))
    except (SafetensorError, ValueError) as exc:
        raise ArtifactError(f"{path.name} is not a valid safetensors file: {exc}") from None
