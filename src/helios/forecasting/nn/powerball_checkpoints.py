"""Resumable checkpoints as safetensors + JSON, written so that a crash never leaves half of one.

Each checkpoint is a tensors file ``<prefix>-<epoch>.safetensors`` and the pointer ``<prefix>-latest.json``
(its metadata, the tensors file's name and sha256). Both are written to a temporary file, flushed to disk and
``os.replace``d; the pointer goes last, so it only ever names a complete tensors file. Older tensors files
are removed once the pointer has moved on. Reading checks the checksum and never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from helios.forecasting.base import ForecastingError


def write_checkpoint(
    directory: Path, prefix: str, epoch: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    payload = save_tensors({name: t.detach().contiguous() for name, t in tensors.items()})
    weights = directory / f"{prefix}-{epoch:05d}.safetensors"
    _write_atomically(weights, payload)
    pointer = {
        **meta,
        "epoch": epoch,
        "tensors_file": weights.name,
        "tensors_sha256": hashlib.sha256(payload).hexdigest(),
    }
    _write_atomically(_pointer_path(directory, prefix), json.dumps(pointer, indent=1).encode())
    for stale in directory.glob(f"{prefix}-*.safetensors"):
        if stale != weights:
            stale.unlink(missing_ok=True)
    return weights


def read_latest_checkpoint(
    directory: Path, prefix: str
) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
    """The newest complete checkpoint, or ``None`` when there is none yet."""
    pointer_path = _pointer_path(directory, prefix)
    if not pointer_path.exists():
        return None
    meta = json.loads(pointer_path.read_text())
    weights = directory / meta["tensors_file"]
    payload = weights.read_bytes() if weights.is_file() else b""
    if hashlib.sha256(payload).hexdigest() != meta["tensors_sha256"]:
        raise ForecastingError(
            f"checkpoint {weights} is missing or damaged; remove {pointer_path} to start afresh"
        )
    return meta, load_tensors(payload)


def _pointer_path(directory: Path, prefix: str) -> Path:
    return directory / f"{prefix}-latest.json"


def _write_atomically(path: Path, payload: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
