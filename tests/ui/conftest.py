from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live import live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    """A Helios open to the local user (no tokens), with an empty database and no training worker
    (a module whose tests train starts its own server with one). A module whose tests read memories
    sets ``EMBEDDER = "minilm"`` to have them embedded by the real model."""
    home = tmp_path_factory.mktemp("ui") / "home"
    embedder = getattr(request.module, "EMBEDDER", "hashing")
    with live_server(home, trains=False, embedder=embedder) as url:
        yield url
