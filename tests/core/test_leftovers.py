"""Crashes leave nothing behind for long (issue 9): the start-up sweep removes old temp files and
staged artifacts from the store, and leaves young ones (another process may be writing them)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from helios.core.artifacts import ArtifactStore


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_sweep_removes_old_temp_files_and_staging_but_keeps_artifacts(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    kept = store.write_bytes("datasets/6/v1.parquet", b"data")
    crashed = kept.parent / ".v2.parquet.abc123.tmp"
    crashed.write_bytes(b"half a file")
    staged = store.stage_dir()
    (staged / "meta.json").write_text("{}")
    young = kept.parent / ".v3.parquet.def456.tmp"
    young.write_bytes(b"being written right now")
    for path in (crashed, staged / "meta.json", staged):
        age(path, 3600)
    removed = store.sweep_leftovers()
    assert crashed in removed and staged in removed
    assert not crashed.exists() and not staged.exists()
    assert kept.read_bytes() == b"data" and young.exists()


def test_serving_sweeps_at_start_up(settings) -> None:  # type: ignore[no-untyped-def]
    from helios.app import create_app

    leftover = settings.artifact_root / "datasets" / "1" / ".v1.parquet.zzz.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"x" * 1000)
    age(leftover, 24 * 3600)
    app = create_app(settings, ui=False)
    app.state.helios.db.dispose()
    assert not leftover.exists()


def test_a_dataset_file_appears_only_after_its_import_commits(context) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from helios.core.auth import LOCAL_USER
    from helios.datasets import service
    from helios.datasets.schemas import ImportRequest

    csv = b"unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,2\n"
    keys = []
    with pytest.raises(RuntimeError), context.db.transaction() as session:
        _, version, _ = service.import_file(
            session, context.store, ImportRequest(name="prices"), csv, LOCAL_USER, max_bytes=10**6
        )
        keys.append(version.artifact_key)
        raise RuntimeError("the commit never happens")
    assert not context.store.root.joinpath(*keys[0].split("/")).exists()
    with context.db.transaction() as session:
        _, version, _ = service.import_file(
            session, context.store, ImportRequest(name="prices"), csv, LOCAL_USER, max_bytes=10**6
        )
    assert context.store.root.joinpath(*version.artifact_key.split("/")).is_file()
