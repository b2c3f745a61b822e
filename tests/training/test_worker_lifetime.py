"""Workers die with the server that spawned them (issue 9): fourteen SIGKILLed servers once left
fourteen workers claiming jobs. A worker spawned by a server that is gone refuses to run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.live import _wait_until_up, free_port, helios


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_workers_die_when_the_server_is_killed(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "helios", "serve", "--port", str(port)],
            env={**os.environ, "HELIOS_HOME": str(home), "HELIOS_WORKERS": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", server, log)
        deadline = time.monotonic() + 30
        while not (workers := children(server.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert workers, "serve started no worker"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(pid) for pid in workers), "a worker outlived its killed server"
    finally:
        if server.poll() is None:
            server.kill()


def test_a_worker_whose_server_is_gone_refuses_to_run(tmp_path: Path) -> None:
    result = helios(tmp_path / "home", "worker", env={"HELIOS_WORKER_PARENT": "1"})
    assert result.returncode == 2
    assert "is gone" in result.stderr + result.stdout
