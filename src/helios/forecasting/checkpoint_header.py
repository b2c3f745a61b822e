"""What a saved checkpoint says about itself, read without torch: the epoch it was written after.

A checkpoint (``nn/checkpoint.py``) is one safetensors file, whose header is an 8-byte
little-endian length and then JSON; Helios' own state is a JSON string under ``__metadata__`` /
``helios``. The job supervisor, which never imports torch, reads that much to say where a
resumed job really restarts: checkpoints are written every few seconds, not every epoch.
"""

from __future__ import annotations

import json
from pathlib import Path

CHECKPOINT_NAME = "checkpoint.safetensors"
# A header longer than this is not one of ours (ours hold a few kilobytes of JSON).
MAX_HEADER_BYTES = 16 * 1024 * 1024


def saved_epoch(folder: Path) -> int | None:
    """The last completed epoch of the checkpoint in ``folder``; None when there is none or it
    cannot be read."""
    try:
        with open(Path(folder) / CHECKPOINT_NAME, "rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= MAX_HEADER_BYTES:
                return None
            header = json.loads(handle.read(length))
        return int(json.loads(header["__metadata__"]["helios"])["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
