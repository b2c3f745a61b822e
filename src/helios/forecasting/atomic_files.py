"""Writing a file so that a crash leaves the old one or the new one, never half of either.

The content goes to a temp file in the target's own folder (so the rename never crosses a file
system), is flushed and fsynced, then ``os.replace``d over the target. A crash before the rename
leaves only a temp file named ``.<target name>.<random>.tmp``: never read, removed by
``remove_temp_files``.

Why here: this is the one atomic writer of Helios, used by the artifact store
(``helios.core.artifacts``), saved models (``forecasting.artifacts``) and training checkpoints
(``forecasting.nn.checkpoint``). ``helios.forecasting`` may import nothing else of Helios, so the
writer cannot live in ``core`` for forecasting to use; it lives in forecasting as a leaf that
imports only the standard library, and ``core`` imports it from here (importing it loads
``helios.forecasting``'s empty ``__init__``, no numpy and no torch).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

_TEMP_SUFFIX = ".tmp"

# Bytes, or a function that writes the content itself to the path it is given: safetensors writes
# an 8 MiB checkpoint straight to the file, which saves building (and copying) it in memory first.
Content = bytes | Callable[[Path], None]


def write_atomically(path: Path, content: Content) -> Path:
    """Replace ``path`` with ``content`` whole. The folder is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
    os.close(fd)
    temp = Path(name)
    try:
        write_synced(temp, content)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return path


def write_synced(path: Path, content: Content) -> None:
    """Write ``content`` to ``path`` and fsync it: on disk before anything renames it into place."""
    if isinstance(content, bytes):
        with open(path, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        return
    content(path)
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def remove_temp_files(folder: Path, name: str) -> None:
    """Temp files a crash left behind while writing ``folder/name``: never loaded, just clutter."""
    for stale in Path(folder).glob(f".{name}.*{_TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()
