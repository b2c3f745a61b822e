"""The one artifact path resolver, under attack: traversal in every spelling is refused and
nothing outside the store is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helios.core.artifacts import ArtifactStore
from helios.core.errors import InvalidInput

ATTACKS = [
    "../secret",
    "a/../../secret",
    "..\\secret",
    "a\\..\\..\\secret",
    "%2e%2e%2fsecret",
    "%2e%2e/secret",
    "%252e%252e%252fsecret",
    "..%2fsecret",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "c:/x",
    "a;rm -rf /",
    "a#frag",
    "a?q=1",
    "",
    ".",
    "a//b",
    "a/./b",
    "\x00",
    "a/\x00b",
    "~/x",
    "a/..",
    "..",
]


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    (tmp_path / "secret").write_text("keep out")
    return ArtifactStore(tmp_path / "store")


@pytest.mark.parametrize("key", ATTACKS)
def test_traversal_is_refused_for_read_write_delete(store: ArtifactStore, key: str, tmp_path: Path) -> None:
    for action in (
        lambda: store.read_bytes(key),
        lambda: store.write_bytes(key, b"x"),
        lambda: store.delete(key),
    ):
        with pytest.raises(InvalidInput):
            action()
    assert (tmp_path / "secret").read_text() == "keep out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret", "store"]


def test_symlink_out_of_the_store_is_refused(store: ArtifactStore, tmp_path: Path) -> None:
    os.symlink(tmp_path, store.root / "escape")
    with pytest.raises(InvalidInput):
        store.read_bytes("escape/secret")
    with pytest.raises(InvalidInput):
        store.write_bytes("escape/secret", b"owned")
    assert (tmp_path / "secret").read_text() == "keep out"


def test_write_is_atomic_and_readable(store: ArtifactStore) -> None:
    store.write_bytes("datasets/1/abc.parquet", b"data")
    assert store.read_bytes("datasets/1/abc.parquet") == b"data"
    assert [p.name for p in (store.root / "datasets" / "1").iterdir()] == ["abc.parquet"]  # no temp left
    assert store.delete("datasets/1/abc.parquet")
    assert not store.exists("datasets/1/abc.parquet")
