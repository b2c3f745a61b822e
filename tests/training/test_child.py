"""The process a job trains in: torch gets the configured threads, and only a family that uses torch
pays for loading it."""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import sys
sys.argv = ["child", "0"]
from helios.training import child
child._limit_threads(1)
assert "torch" not in sys.modules, "the job process loaded torch before its family asked for it"
import torch
print(torch.get_num_threads())
"""


def test_torch_gets_the_configured_threads_when_a_family_loads_it() -> None:
    # OMP_NUM_THREADS=2 in the environment: the setting wins over what the process was started with.
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "OMP_NUM_THREADS": "2"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
