"""Resumable checkpoints, the one format of every neural family: one safetensors file with the JSON
state in its header.

A checkpoint holds the model, the optimizer's moments, the epoch and step, the best metric (and the
weights of the best epoch), the run's fingerprint (config + data hash), both RNG states and the
callbacks' progress. It is written whole by ``atomic_files.write_atomically`` (temp file in the same
folder, fsync, ``os.replace``), so a crash leaves either the old checkpoint or the new one, never
half of either. Temp files are never read. Loading parses tensors only: no pickle, no code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file as save_tensor_file

from helios.forecasting.atomic_files import remove_temp_files, write_atomically
from helios.forecasting.base import ForecastingError
from helios.forecasting.checkpoint_header import CHECKPOINT_NAME

FORMAT = 1


@dataclass
class Checkpoint:
    epoch: int  # last completed epoch (1-based)
    step: int  # optimizer steps taken so far
    fingerprint: dict[str, Any]
    model: dict[str, torch.Tensor]
    optimizer_state: dict[int, dict[str, Any]]  # ``optimizer.state_dict()["state"]``
    torch_rng: torch.Tensor
    numpy_rng: dict[str, Any]
    progress: dict[str, Any] = field(default_factory=dict)  # best metric, best epoch, callbacks' state
    best_model: dict[str, torch.Tensor] | None = None


def checkpoint_path(folder: Path) -> Path:
    return Path(folder) / CHECKPOINT_NAME


def save_checkpoint(folder: Path, ckpt: Checkpoint) -> Path:
    tensors, meta = _flatten(ckpt)
    header = {"helios": json.dumps(meta)}

    def write(temp: Path) -> None:  # straight to the file: no 8 MiB copy in memory first
        save_tensor_file(tensors, str(temp), metadata=header)

    return write_atomically(checkpoint_path(folder), write)


def _flatten(ckpt: Checkpoint) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in ckpt.model.items()}
    if ckpt.best_model is not None:
        tensors |= {f"best.{k}": v.detach().contiguous() for k, v in ckpt.best_model.items()}
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in ckpt.optimizer_state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng.torch"] = ckpt.torch_rng.clone()
    meta = {
        "format": FORMAT,
        "epoch": ckpt.epoch,
        "step": ckpt.step,
        "fingerprint": ckpt.fingerprint,
        "numpy_rng": ckpt.numpy_rng,
        "progress": ckpt.progress,
        "optimizer_scalars": scalars,
        "has_best_model": ckpt.best_model is not None,
    }
    return tensors, meta


def load_checkpoint(folder: Path) -> Checkpoint | None:
    """The latest complete checkpoint in ``folder``, or None when there is none."""
    path = checkpoint_path(folder)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["helios"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # a damaged file is reported, never half-used
        raise ForecastingError(f"checkpoint {path} cannot be read ({exc}); delete it to start over") from exc
    if meta.get("format") != FORMAT:
        raise ForecastingError(f"checkpoint {path} has format {meta.get('format')!r}, expected {FORMAT}")
    return _unflatten(meta, tensors)


def _unflatten(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Checkpoint:
    def section(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    optimizer_state: dict[int, dict[str, Any]] = {}
    for key, value in section("optimizer.").items():
        index, name = key.split(".", 1)
        optimizer_state.setdefault(int(index), {})[name] = value
    for index, scalars in meta["optimizer_scalars"].items():
        optimizer_state.setdefault(int(index), {}).update(scalars)
    return Checkpoint(
        epoch=meta["epoch"],
        step=meta["step"],
        fingerprint=meta["fingerprint"],
        model=section("model."),
        optimizer_state=optimizer_state,
        torch_rng=tensors["rng.torch"],
        numpy_rng=meta["numpy_rng"],
        progress=meta["progress"],
        best_model=section("best.") if meta["has_best_model"] else None,
    )


def remove_stale_temps(folder: Path) -> None:
    """Temp files a crash left behind: never loaded, just clutter."""
    remove_temp_files(folder, CHECKPOINT_NAME)
