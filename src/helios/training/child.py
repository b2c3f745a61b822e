"""``python -m helios.training.child JOB_ID``: the process one job trains in."""

from __future__ import annotations

import sys

from helios.api.context import AppContext
from helios.config import Settings
from helios.training.runner import run_job


def main() -> None:
    context = AppContext.build(Settings())
    status = run_job(context, int(sys.argv[1]))
    context.db.dispose()
    sys.exit(0 if status in ("succeeded", "stopped_early", "cancelled") else 3)


if __name__ == "__main__":
    main()
