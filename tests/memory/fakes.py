"""A small deterministic embedder for tests: hashed word stems, so texts sharing words are near.
Only the tests marked for the real model load all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from helios.memory.runtime import MemoryRuntime

_WORD = re.compile(r"[^\W_]+")


class HashingEmbedder:
    name = "test-hashing"
    dim = 64
    min_similarity = 0.2

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word[:5].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


def fake_runtime(**kwargs: float) -> MemoryRuntime:
    return MemoryRuntime(HashingEmbedder(), **kwargs)
