"""A write is committed before its answer leaves the server: a client that reads right after a
2xx sees what it wrote (the commit used to run after the response was sent)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from helios.app import create_app
from helios.config import Settings
from tests.live import free_port


def test_a_read_right_after_a_write_sees_it(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path / "home"), ui=False)
    database = app.state.helios.db
    commit = database.transaction

    @contextlib.contextmanager
    def slow_commit() -> Iterator[object]:
        with commit() as session:
            yield session
            time.sleep(0.5)  # the work is done; the commit comes a moment later

    database.transaction = slow_commit
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        created = httpx.post(f"{url}/agents", json={"name": "desk"}, timeout=10)
        assert created.status_code == 201, created.text
        assert httpx.get(f"{url}/agents/desk", timeout=10).status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
