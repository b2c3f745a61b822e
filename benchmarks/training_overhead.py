"""Overhead of Helios's training loop over a bare PyTorch loop doing the same optimisation.

    .venv/bin/python benchmarks/training_overhead.py [--epochs 20] [--repeats 3] [--profile]

Helios: ``nbeats`` ``family.fit`` as a training job runs it (``runner._plan`` -> ``_callbacks`` ->
``fit`` with a FitContext): an ``EarlyStopping`` callback (patience too large to ever stop) and a
real ``JobReporter`` writing each epoch's metrics, progress, heartbeat and journal line to a
temporary SQLite Helios database and reading control back; checkpoints written atomically (temp
file, fsync, ``os.replace``) every ``checkpoint_every`` epochs; best-epoch weights kept and restored.

Bare: the same NBeats network (same init seed), the same windows (``nn/windows.py``
``sample_windows`` + ``window_batch`` from a numpy generator with the same seed, so both draw
identical batches), AdamW with the same cosine learning rate per epoch, the same gradient clipping
(1.0) and the same per-epoch validation loss on the held-out windows. Nothing else: no train-loss
accumulation, callbacks, database, checkpoints, best-weight snapshots or cancel checks.
The script checks that both runs produce the same val_loss every epoch (bit for bit, one thread).

Variants run interleaved (bare, helios ckpt=1, helios ckpt=every 5, bare, ...) and the median of
each is reported, in wall time and in this process's CPU time (the gap between the two is waiting:
fsync, SQLite, being descheduled), with the paired (per-round) and best-run overheads beside them,
since other processes may share the machine. When the target is missed (or with ``--profile``) one
Helios fit per checkpoint cadence is timed part by part (perf_counter wrappers, ~1 us a call: the
bookkeeping measured inside the run, hardly moved by other load), then one fit is run under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_PERCENT = 5.0


def hyperparameters(
    args: argparse.Namespace, checkpoint_every: int, epochs: int | None = None
) -> dict[str, Any]:
    return {
        "epochs": epochs or args.epochs,
        "steps_per_epoch": args.steps,
        "batch_size": args.batch,
        "hidden_size": args.hidden,
        "blocks": args.blocks,
        "checkpoint_every": checkpoint_every,
    }


class Bench:
    """One temporary Helios home with the dataset imported; a new job per Helios run."""

    def __init__(self, home: Path, args: argparse.Namespace) -> None:
        from tests.training.conftest import prices_csv

        from helios.config import Settings
        from helios.context import AppContext
        from helios.core.auth import LOCAL_USER
        from helios.datasets import service as datasets
        from helios.datasets.schemas import ImportRequest
        from helios.db import migrate

        self.args = args
        self.context = AppContext.build(Settings(home=home))
        migrate.upgrade(self.context.db.write_engine)
        with self.context.db.transaction() as session:
            datasets.import_file(
                session,
                self.context.store,
                ImportRequest(name="p"),
                prices_csv(series=args.series, days=args.points),
                LOCAL_USER,
                max_bytes=10**8,
            )

    def prepare_job(self, checkpoint_every: int, epochs: int | None = None) -> SimpleNamespace:
        """Everything ``runner._execute`` does before ``fit``, untimed."""
        from helios.core.auth import LOCAL_USER
        from helios.forecasting.base import FitContext, TrainingControl
        from helios.training import evaluation, runner, service
        from helios.training.schemas import EarlyStoppingSettings, JobCreate, ValidationSettings

        body = JobCreate(
            dataset="p",
            family="nbeats",
            hyperparameters=hyperparameters(self.args, checkpoint_every, epochs),
            early_stopping=EarlyStoppingSettings(patience=10_000),
            validation=ValidationSettings(horizon=14, refit=False),
        )
        with self.context.db.transaction() as session:
            job_id = service.create_job(session, body, LOCAL_USER).id
        plan = runner._plan(self.context, job_id)
        train, _ = evaluation.split_holdout(plan.frame, plan.validation.get("horizon", 14), plan.kind)
        reporter, callbacks = runner._callbacks(self.context, plan)
        control = TrainingControl(cancelled=lambda: reporter.cancel_requested)
        checkpoints = self.context.store.resolve(f"jobs/{job_id}/checkpoints")
        checkpoints.mkdir(parents=True, exist_ok=True)
        fit_context = FitContext(callbacks=callbacks, control=control, checkpoint_dir=checkpoints)
        return SimpleNamespace(
            job_id=job_id, plan=plan, train=train, fit_context=fit_context, checkpoints=checkpoints
        )

    def helios(
        self, checkpoint_every: int, profiler: cProfile.Profile | None = None, epochs: int | None = None
    ) -> dict[str, Any]:
        job = self.prepare_job(checkpoint_every, epochs)
        plan = job.plan
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        fitted = plan.family.fit(job.train, plan.config, plan.spec, job.fit_context)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert fitted.training["epochs_run"] == (epochs or self.args.epochs), fitted.training
        checkpoint_bytes = sum(f.stat().st_size for f in job.checkpoints.iterdir())
        val_loss = self.recorded_val_loss(job.job_id)
        return {"wall": wall, "cpu": cpu, "val_loss": val_loss, "train": job.train, "bytes": checkpoint_bytes}

    def recorded_val_loss(self, job_id: int) -> list[float]:
        from helios.training import views

        with self.context.db.reading() as session:
            points = views.metrics(session, job_id)
        return [p.value for p in sorted(points, key=lambda p: p.step) if p.name == "val_loss"]


def bare(train: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The same optimisation as ``nbeats`` fit, with none of the bookkeeping (see the docstring)."""
    from helios.forecasting.models.neural import NeuralConfig, _trainer_config, network_config
    from helios.forecasting.nn.nbeats import NBeats, pinball_loss
    from helios.forecasting.nn.windows import Panel, plan_windows, sample_windows, window_batch

    # The price dataset is not hourly, so the job's fit resolves the general lookback; so does this.
    cfg = NeuralConfig.model_validate(hyperparameters(args, 1)).for_frequency("D")
    schedule = _trainer_config(cfg)  # its learning_rate_at is a pure function of the epoch
    wall, cpu = time.perf_counter(), time.process_time()
    frame = train.sort_values(["unique_id", "ds"], kind="stable")
    series = [g.to_numpy(dtype=float) for _, g in frame.groupby("unique_id", sort=False)["y"]]
    used = cfg.input_size + (cfg.history + cfg.val_windows) * cfg.horizon
    panel = Panel.from_series([y[-used:] for y in series], cfg.input_size)
    plan = plan_windows(panel.lengths, cfg.horizon, cfg.history, cfg.val_windows)
    val = window_batch(panel, plan.val_rows, plan.val_cuts, cfg.horizon, cfg.scaling)
    val_inputs, val_targets = tensor(val.inputs), tensor(val.targets)
    assert len(plan.val_rows) <= cfg.batch_size  # Helios validates in chunks of batch_size: one here
    quantiles = torch.tensor(cfg.quantiles, dtype=torch.float32)
    val_losses = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = NBeats(network_config(cfg))
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        rng = np.random.default_rng(cfg.seed)
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            for group in optimizer.param_groups:
                group["lr"] = schedule.learning_rate_at(epoch)
            for _ in range(cfg.steps_per_epoch):
                rows, cuts = sample_windows(plan, cfg.batch_size, rng)
                batch = window_batch(panel, rows, cuts, cfg.horizon, cfg.scaling)
                loss = pinball_loss(model(tensor(batch.inputs)), tensor(batch.targets), quantiles)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            model.eval()
            with torch.no_grad():
                forecast = model(val_inputs).mean(dim=0)
                loss = pinball_loss(forecast, val_targets, quantiles)
                val_losses.append(float(loss) * len(val_inputs) / len(val_inputs))  # as Helios sums it
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "val_loss": val_losses}


def tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(array, dtype=np.float32))


def percent(helios: float, floor: float) -> float:
    return 100 * (helios - floor) / floor


def print_table(variants: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> float:
    """The results table; returns the worst Helios overhead on median wall time, in percent."""
    floor = variants["bare"]
    med = {name: statistics.median(r["wall"] for r in runs) for name, runs in variants.items()}
    cpu = {name: statistics.median(r["cpu"] for r in runs) for name, runs in variants.items()}
    print(
        f"| variant ({args.repeats} runs each, interleaved) | median wall | overhead (median wall) "
        "| overhead (paired, median of per-round) | min wall | overhead (min wall) | median CPU "
        "| overhead (median CPU) | checkpoint file | wall times (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, runs in variants.items():
        low = min(r["wall"] for r in runs)
        shown = ", ".join(f"{r['wall']:.2f}" for r in runs)
        if name == "bare":
            print(
                f"| {name} | {med[name]:.2f} s | — | — | {low:.2f} s | — | {cpu[name]:.2f} s | — | — "
                f"| {shown} |"
            )
            continue
        paired = statistics.median(percent(r["wall"], b["wall"]) for r, b in zip(runs, floor, strict=True))
        floor_low = min(r["wall"] for r in floor)
        print(
            f"| {name} | {med[name]:.2f} s | {percent(med[name], med['bare']):+.1f}% | {paired:+.1f}% "
            f"| {low:.2f} s | {percent(low, floor_low):+.1f}% | {cpu[name]:.2f} s "
            f"| {percent(cpu[name], cpu['bare']):+.1f}% | {runs[0]['bytes'] / 2**20:.1f} MiB | {shown} |"
        )
    return max(percent(med[name], med["bare"]) for name in variants if name != "bare")


PROFILE_PARTS = {
    "trainer.py:_train_one_epoch": "optimizer steps (incl. batch sampling, train-loss sum)",
    "neural.py:validation_loss": "validation loss",
    "trainer.py:_save": "checkpoints, all of `_Loop._save`",
    "checkpoint.py:_flatten": "  clone every tensor (`checkpoint._flatten`)",
    "torch.py:save_file": "  safetensors `save_file` straight to the temp file",
    "<built-in method posix.fsync>": "  fsync",
    "trainer.py:_track_best": "best-weights snapshot (state_dict clone)",
    "runner.py:on_epoch_end": "JobReporter.on_epoch_end (metrics, progress, journal, read-back)",
    "callbacks.py:on_epoch_end": "EarlyStopping.on_epoch_end",
    "runner.py:on_train_begin": "JobReporter.on_train_begin",
    "runner.py:on_train_end": "JobReporter.on_train_end",
    "trainer.py:_restore_best_weights": "restore best weights",
    "neural.py:_split_series": "fit prep: split series",
    "neural.py:_fingerprint": "fit prep: data fingerprint (sha256)",
    "<built-in method time.monotonic>": "cancel-check clock reads",
}


TIMED_PARTS = (
    (
        "helios.forecasting.nn.trainer:_Loop._train_one_epoch",
        "optimizer steps (+ train-loss sum, cancel checks)",
    ),
    ("helios.forecasting.models.neural:_WindowData.validation_loss", "validation loss"),
    ("helios.forecasting.nn.trainer:_Loop._save", "checkpoint (`_Loop._save`)"),
    ("helios.forecasting.nn.checkpoint:_flatten", "  of which: clone tensors (`checkpoint._flatten`)"),
    (
        "helios.forecasting.nn.checkpoint:save_tensor_file",
        "  of which: safetensors `save_file` to the temp file",
    ),
    ("helios.forecasting.atomic_files:os.fsync", "  of which: fsync"),
    ("helios.forecasting.atomic_files:os.replace", "  of which: os.replace"),
    ("helios.forecasting.nn.trainer:_Loop._track_best", "best-weights snapshot"),
    ("helios.training.runner:JobReporter.on_epoch_end", "JobReporter.on_epoch_end (DB write + read-back)"),
    ("helios.forecasting.callbacks:EarlyStopping.on_epoch_end", "EarlyStopping.on_epoch_end"),
    ("helios.training.runner:JobReporter.on_train_begin", "JobReporter.on_train_begin"),
    ("helios.training.runner:JobReporter.on_train_end", "JobReporter.on_train_end"),
)


def instrumented_helios(bench: Bench, checkpoint_every: int) -> None:
    """One Helios fit with perf_counter wrappers on the loop's parts: unlike cProfile, they cost
    about a microsecond per call, so the split is the real one."""
    import importlib

    from helios.forecasting import atomic_files

    spent = dict.fromkeys((name for name, _ in TIMED_PARTS), 0.0)

    def timed(name: str, function: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            begin = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                spent[name] += time.perf_counter() - begin

        return wrapper

    real_os = atomic_files.os  # the one atomic writer (checkpoints, artifacts) calls fsync and replace
    atomic_files.os = SimpleNamespace(**vars(real_os))  # type: ignore[assignment]  # time its calls only
    undo = [(atomic_files, "os", real_os)]
    for name, _ in TIMED_PARTS:
        module_name, attribute = name.split(":")
        owner: Any = importlib.import_module(module_name)
        *path, leaf = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, leaf)
        setattr(owner, leaf, timed(name, original))
        undo.append((owner, leaf, original))
    try:
        result = bench.helios(checkpoint_every)
    finally:
        for owner, leaf, original in reversed(undo):
            setattr(owner, leaf, original)
    print_instrumented(spent, result["wall"], bench.args.epochs, checkpoint_every)


def print_instrumented(spent: dict[str, float], wall: float, epochs: int, checkpoint_every: int) -> None:
    print(
        f"\n### Instrumented Helios fit, checkpoint_every={checkpoint_every} (wall {wall:.2f} s, "
        f"{epochs} epochs; perf_counter around each part, no profiler)\n"
    )
    print("| part | total | per epoch | share of fit |")
    print("|---|---|---|---|")
    rows = [(label, spent[name]) for name, label in TIMED_PARTS]
    save = spent["helios.forecasting.nn.trainer:_Loop._save"]
    inside_save = sum(seconds for label, seconds in rows if label.startswith("  of which"))
    at = next(i for i, (label, _) in enumerate(rows) if label == "  of which: os.replace") + 1
    rows.insert(
        at, ("  of which: the rest (state_dict calls, mkstemp, write to page cache)", save - inside_save)
    )
    rest = wall - sum(seconds for label, seconds in rows if not label.startswith("  "))
    rows.append(("rest of fit (data prep, fingerprint, weights to numpy, loop glue)", rest))
    for label, seconds in rows:
        print(
            f"| {label} | {seconds:.3f} s | {1000 * seconds / epochs:.1f} ms | {100 * seconds / wall:.1f}% |"
        )


def profile_helios(bench: Bench, checkpoint_every: int) -> None:
    """Where a Helios fit's time goes, by the loop's own parts (cProfile, cumulative seconds)."""
    profiler = cProfile.Profile()
    result = bench.helios(checkpoint_every, profiler)
    stats = pstats.Stats(profiler)
    found: dict[str, float] = {}
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        key = f"{Path(filename).name}:{name}" if filename != "~" else name
        if key in PROFILE_PARTS:
            found[key] = found.get(key, 0.0) + row[3]
    epochs = bench.args.epochs
    print(
        f"\n### cProfile of one Helios fit, checkpoint_every={checkpoint_every} "
        f"(profiled wall {result['wall']:.2f} s, {epochs} epochs)\n"
    )
    print("| part | cumulative s | per epoch | share of fit |")
    print("|---|---|---|---|")
    for key, label in PROFILE_PARTS.items():
        if key in found:
            share = 100 * found[key] / result["wall"]
            print(
                f"| {label} (`{key}`) | {found[key]:.3f} | {1000 * found[key] / epochs:.1f} ms "
                f"| {share:.1f}% |"
            )
    for title, sort, pattern in (
        ("Top 12 by own time", "tottime", None),
        ("Callees of `checkpoint.save_checkpoint`", "cumulative", r"checkpoint.py:\d+\(save_checkpoint\)"),
        ("Callees of safetensors `save`", "cumulative", r"safetensors/torch.py:\d+\(save\)"),
    ):
        buffer = io.StringIO()
        view = pstats.Stats(profiler, stream=buffer).sort_stats(sort)
        view.print_callees(pattern) if pattern else view.print_stats(12)
        lines = buffer.getvalue().splitlines()[6 if pattern is None else 0 :]
        lines = [line.rstrip() for line in lines if line.strip() and "List reduced" not in line]
        print(f"\n{title}:\n```\n" + "\n".join(lines) + "\n```")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--every", type=int, default=5, help="the second Helios variant's checkpoint_every")
    parser.add_argument("--profile", action="store_true", help="profile even when the target is met")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = " ".join(
        [".venv/bin/python", f"benchmarks/{Path(__file__).name}", *map(shlex.quote, sys.argv[1:])]
    )
    load_start, started = os.getloadavg(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp), args)
        variants = run_interleaved(bench, args)
        load_end = os.getloadavg()
        print(f"command: `{command}`")
        print(
            f"machine: nproc={os.cpu_count()}, torch threads={torch.get_num_threads()}, "
            f"Python {sys.version.split()[0]}, torch {torch.__version__}, Helios home on {tmp}"
        )
        print(f"load average (1/5/15 min): start {loads(load_start)}, end {loads(load_end)}")
        print(
            f"workload: {args.series} series x {args.points} points, hidden {args.hidden}, {args.blocks} "
            f"blocks x 3 layers, {args.epochs} epochs x {args.steps} steps x batch {args.batch} = "
            f"{args.epochs * args.steps} optimizer steps per run; every run's val_loss per epoch is "
            "bit-identical to the bare loop's\n"
        )
        worst = print_table(variants, args)
        missed = worst > TARGET_PERCENT
        print(
            f"\ntarget: overhead <= {TARGET_PERCENT:.0f}% on median wall -> {'MISSED' if missed else 'met'} "
            f"(worst {worst:+.1f}%; timed part took {time.perf_counter() - started:.0f} s)"
        )
        if missed or args.profile:
            for every in (1, args.every):
                instrumented_helios(bench, every)
            profile_helios(bench, 1)
        bench.context.db.dispose()


def run_interleaved(bench: Bench, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    train = bench.helios(1, epochs=2)["train"]  # warm-up (imports, allocator, SQLite), not reported
    variants: dict[str, list[dict[str, Any]]] = {
        "bare": [],
        "helios, checkpoint every epoch": [],
        f"helios, checkpoint every {args.every} epochs": [],
    }
    for _ in range(args.repeats):
        for name, runs in variants.items():
            if name == "bare":
                runs.append(bare(train, args))
            else:
                runs.append(bench.helios(1 if "every epoch" in name else args.every))
    reference = variants["bare"][0]["val_loss"]
    for name, runs in variants.items():
        for run in runs:
            assert run["val_loss"] == reference, (name, run["val_loss"], reference)
    return variants


def loads(values: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in values)


if __name__ == "__main__":
    main()
