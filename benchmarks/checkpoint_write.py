"""Cost of writing one resumable checkpoint, this tree's writer against another tree's.

    .venv/bin/python benchmarks/checkpoint_write.py [--other /path/to/older/checkout] [--writes 30]

The checkpoint is the one ``benchmarks/training_overhead.py`` writes (N-BEATS, hidden 256, 3 blocks x
3 layers, AdamW moments, best weights: 8.1 MiB). With ``--other``, that checkout's
``helios/forecasting/nn/checkpoint.py`` is loaded beside this one and the two write in alternation
into the same folder (each going first every other round), so load on a shared machine falls on
both alike. Reports the median and minimum wall time per write and the median CPU time.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def checkpoint_state() -> Any:
    from helios.forecasting.models.neural import NeuralConfig, network_config
    from helios.forecasting.nn.checkpoint import Checkpoint
    from helios.forecasting.nn.nbeats import NBeats

    torch.manual_seed(0)
    model = NBeats(
        network_config(NeuralConfig(horizon=14, input_multiple=4, hidden_size=256, blocks=3, layers=3))
    )
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(4, model.cfg.input_size)).sum().backward()  # AdamW moments exist
    optimizer.step()
    rng = np.random.default_rng(0)
    return Checkpoint(
        epoch=1,
        step=25,
        fingerprint={"config": {"hidden_size": 256}, "data_sha256": "0" * 64},
        model=model.state_dict(),
        optimizer_state=optimizer.state_dict()["state"],
        torch_rng=torch.get_rng_state(),
        numpy_rng=dict(rng.bit_generator.state),
        progress={"best_value": 1.0, "best_epoch": 1, "history": [], "callbacks": {}},
        best_model={k: v.clone() for k, v in model.state_dict().items()},
    )


def load_other(checkout: Path) -> ModuleType:
    path = checkout / "src" / "helios" / "forecasting" / "nn" / "checkpoint.py"
    spec = importlib.util.spec_from_file_location("other_checkpoint", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def timed_write(save: Any, folder: Path, state: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    save(folder, state)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", type=Path, help="an older checkout to compare against")
    parser.add_argument("--writes", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from helios.forecasting.nn import checkpoint

    writers = {"this tree": checkpoint.save_checkpoint}
    if args.other:
        writers[f"other ({args.other})"] = load_other(args.other).save_checkpoint
    state = checkpoint_state()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
    with tempfile.TemporaryDirectory() as folder:
        for save in writers.values():  # warm-up, not counted
            save(Path(folder), state)
        size = checkpoint.checkpoint_path(Path(folder)).stat().st_size
        for round_ in range(args.writes):
            order = list(writers.items())
            for name, save in order if round_ % 2 else reversed(order):  # neither always goes first
                times[name].append(timed_write(save, Path(folder), state))
    print(f"checkpoint {size / 2**20:.1f} MiB, {args.writes} writes each, alternating")
    print("| writer | median wall | min wall | median CPU |")
    print("|---|---|---|---|")
    for name, rows in times.items():
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        print(
            f"| {name} | {1000 * statistics.median(walls):.1f} ms | {1000 * min(walls):.1f} ms "
            f"| {1000 * statistics.median(cpus):.1f} ms |"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
