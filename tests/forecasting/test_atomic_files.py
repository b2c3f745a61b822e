"""The one atomic writer: the old file or the new one, never half of either, and no temp file left."""

from __future__ import annotations

from pathlib import Path

import pytest

from helios.forecasting.atomic_files import remove_temp_files, write_atomically


def test_bytes_and_a_writer_function_both_replace_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "state.bin"
    write_atomically(target, b"first")
    write_atomically(target, lambda temp: temp.write_bytes(b"second"))
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["state.bin"]


def test_a_crash_mid_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    write_atomically(target, b"whole")

    def crash(temp: Path) -> None:
        temp.write_bytes(b"ha")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, crash)
    assert target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]


def test_temp_files_a_killed_writer_left_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "state.bin").write_bytes(b"whole")
    (tmp_path / ".state.bin.k3j2.tmp").write_bytes(b"ha")
    (tmp_path / ".other.bin.k3j2.tmp").write_bytes(b"someone else's")
    remove_temp_files(tmp_path, "state.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.bin.k3j2.tmp", "state.bin"]
