from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live import live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Helios open to the local user (no tokens), with an empty database and no training worker
    (a module whose tests train starts its own server with one)."""
    home = tmp_path_factory.mktemp("ui") / "home"
    with live_server(home, trains=False) as url:
        yield url
