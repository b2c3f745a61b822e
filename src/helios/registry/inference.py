"""An in-memory cache of loaded model versions for fast predictions: LRU within a byte budget.

A version's size is the size of its artifact on disk (safetensors weights load to about that).
Keys carry the artifact's sha256, so a re-registered artifact never serves stale weights.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from helios.core.artifacts import ArtifactStore
from helios.core.errors import Conflict
from helios.registry.service import load_verified
from helios.registry.tables import ModelVersion


@dataclass
class CachedModel:
    model: str
    version: int
    fitted: Any
    bytes: int
    loads: int = 1
    hits: int = 0


class InferenceCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[tuple[str, int, str], CachedModel] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def used_bytes(self) -> int:
        return sum(e.bytes for e in self._entries.values())

    def load(
        self, store: ArtifactStore, model_name: str, version: ModelVersion
    ) -> tuple[CachedModel, bool, list[str]]:
        """Warm a version; returns (entry, was it already loaded, what was evicted to make room)."""
        key = (model_name, version.version, version.artifact_sha256 or "")
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                entry = self._entries[key]
                entry.hits += 1
                return entry, True, []
        size = int(version.artifact_bytes or 0)
        if size > self.budget_bytes:
            raise Conflict(
                f"{model_name} v{version.version} needs {size:,} bytes, more than the inference cache's "
                f"budget of {self.budget_bytes:,} (HELIOS_INFERENCE_CACHE_BYTES)"
            )
        fitted = load_verified(store, version)  # outside the lock: loading may take a while
        entry = CachedModel(model_name, version.version, fitted, size)
        with self._lock:
            evicted = self._make_room(size)
            self._entries[key] = entry
        return entry, False, evicted

    def _make_room(self, size: int) -> list[str]:
        evicted = []
        while self._entries and self.used_bytes + size > self.budget_bytes:
            (name, number, _), _ = self._entries.popitem(last=False)
            evicted.append(f"{name} v{number}")
        return evicted

    def forget(self, model_name: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == model_name]:
                del self._entries[key]

    def loaded_versions(self, model_name: str) -> list[int]:
        with self._lock:
            return sorted(k[1] for k in self._entries if k[0] == model_name)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "budget_bytes": self.budget_bytes,
                "used_bytes": self.used_bytes,
                "entries": len(self._entries),
            }
