"""The artifact store: a directory of immutable files addressed by server-made keys.

``resolve`` is the one function that turns a key into a path. Every reader and writer goes
through it, and it refuses anything that could step outside the store: parent segments
(also percent-encoded, once or twice), backslashes, absolute paths, drive letters, control
characters, ``;``/``#``/``?``, and symlinks that point out of the root.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

from helios.core.errors import InvalidInput, NotFound
from helios.forecasting.atomic_files import write_atomically, write_synced

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
STAGING = ".staging"
LEFTOVER_AGE_S = 15 * 60


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self._held: dict[str, Path] = {}

    def resolve(self, key: str) -> Path:
        """Key -> absolute path inside the store, or ``InvalidInput`` naming why not."""
        _check_key(key)
        held = self._held_path(key)
        if held is not None:
            return held
        path = self._real_root.joinpath(*key.split("/"))
        # Resolve symlinks of the parts that exist: a link inside the store may not lead out.
        real = path.resolve()
        if real != self._real_root and self._real_root not in real.parents:
            raise InvalidInput(f"artifact key {key!r} leads outside the artifact store")
        return path

    def write_bytes(self, key: str, data: bytes) -> Path:
        """Atomic: written to a temp file in the same directory, fsynced, then renamed."""
        return write_atomically(self.resolve(key), data)

    def read_bytes(self, key: str) -> bytes:
        path = self.resolve(key)
        if not path.is_file():
            raise NotFound(f"artifact {key!r} does not exist")
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self.resolve(key).is_file()

    def delete(self, key: str) -> bool:
        path = self.resolve(key)
        if path.is_symlink() or not path.exists():
            return False
        path.unlink()
        return True

    def size(self, key: str) -> int:
        return self.resolve(key).stat().st_size

    # Keys never start a segment with ".", so every dot-entry in the store is in-flight work: an
    # atomic write's temp file, a staged artifact waiting for its commit, a retired directory.

    def _held_path(self, key: str) -> Path | None:
        for held, staged in list(self._held.items()):
            if key == held or key.startswith(held + "/"):
                return staged.joinpath(*key[len(held) :].split("/")[1:])
        return None

    def hold(self, key: str, staged: Path) -> None:
        """Until ``publish``, this process reads ``key`` from its staging directory: the
        transaction that will record it can already read it back; nobody else knows the key."""
        self._held[key] = staged

    def stage_dir(self) -> Path:
        """A private directory to build an artifact in before the database commit that records it."""
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=staging, prefix=".artifact-"))

    def publish(self, staged: Path, key: str) -> Path:
        """Move a staged directory to ``key``: done after the commit, so no row ever points at
        a missing file and no file appears for a rolled-back row."""
        self._held.pop(key, None)
        target = self.resolve(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        if staged.parent.parent == self.root / STAGING:  # a staged file: its directory is now empty
            staged.parent.rmdir()
        return target

    def stage_file(self, key: str, data: bytes) -> Path:
        """``data`` staged for ``key`` (see ``hold``/``publish``); fsynced before it is held."""
        staged = self.stage_dir() / "content"
        write_synced(staged, data)
        self.hold(key, staged)
        return staged

    def sweep_leftovers(self, older_than_s: float = LEFTOVER_AGE_S) -> list[Path]:
        """Remove what crashed writers left behind (start-up); young entries may still be in use
        by another process (a worker, a CLI import), so only old ones go."""
        cutoff = time.time() - older_than_s
        removed = []
        for path in sorted(self.root.rglob(".*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_symlink() or not path.exists() or path.lstat().st_mtime > cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        return removed


def _check_key(key: str) -> None:
    if not key or len(key) > 512:
        raise InvalidInput("artifact key must be 1 to 512 characters")
    decoded = key
    for _ in range(3):  # catch %2e%2e%2f and %252e%252e%252f alike
        decoded = unquote(decoded)
    if decoded != key:
        raise InvalidInput(f"artifact key {key!r} may not contain percent-encoding")
    if key.startswith("/") or "\\" in key or ":" in key:
        raise InvalidInput(f"artifact key {key!r} must be a relative store key")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise InvalidInput(f"artifact key {key!r} has an invalid segment {segment!r}")
