"""``python -m tests.live_serve ARGS``: ``helios ARGS`` with memory's small deterministic embedder
(tests/memory/fakes.py) in place of all-MiniLM-L6-v2, as the in-process tests have it. A live
server embeds what training, deployments and scoring publish; loading the model for that cost each
server ~6.5 s of CPU, beside the browser on the 2-core box, in modules that never read a memory.
Servers whose tests read memories run the real model (``live_server(..., embedder="minilm")``)."""

from __future__ import annotations

from helios.cli import main
from helios.memory.runtime import MemoryRuntime
from tests.memory.fakes import HashingEmbedder


def _hashing(
    cls: type[MemoryRuntime], half_life_days: float = 30.0, purge_after_days: float = 30.0
) -> MemoryRuntime:
    return cls(HashingEmbedder(), half_life_days, purge_after_days)


if __name__ == "__main__":
    MemoryRuntime.default = classmethod(_hashing)  # type: ignore[method-assign,assignment]
    main()
