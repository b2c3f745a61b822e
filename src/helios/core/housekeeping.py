"""Chores a running server does by itself, on a timer: what has outlived its keeping period goes.

Each domain registers its own chore where the app is wired (``create_app``), so this module knows
none of them: memory purges what was deleted longer ago than its restore period, the event bus
prunes outbox rows older than the event retention. Every chore runs in a transaction of its own
(one that fails is logged and retried next round; the others still run) and is safe to run from
several processes at once: each only deletes what is past its cutoff. ``run_once()`` is what the
timer calls, and what tests and the CLI can call directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from helios.db.engine import Database

log = logging.getLogger(__name__)
# A chore gets a write session and says what it did (None or "" when it found nothing to do).
Chore = Callable[[Session], Any]


@dataclass
class Housekeeper:
    db: Database
    interval_s: float = 3600.0
    # The first round waits this long after start (at most the interval): a server starting up
    # has better things to do.
    first_after_s: float = 60.0
    chores: dict[str, Chore] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, name: str, chore: Chore) -> None:
        if name in self.chores:
            raise ValueError(f"a chore named {name!r} is already registered")
        self.chores[name] = chore

    def run_once(self) -> dict[str, Any]:
        """Every chore once, each in its own transaction; what each did (or the error it raised)."""
        done: dict[str, Any] = {}
        for name, chore in self.chores.items():
            try:
                with self.db.transaction() as session:
                    done[name] = chore(session)
            except Exception as exc:  # one chore's failure must not stop the others
                log.warning("housekeeping chore %s failed; retrying next round", name, exc_info=True)
                done[name] = exc
            else:
                if done[name]:
                    log.info("housekeeping %s: %s", name, done[name])
        return done

    def start(self) -> Housekeeper:
        if self._thread is None and self.chores:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="helios-housekeeping", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        wait = min(self.first_after_s, self.interval_s)
        while not self._stopping.wait(wait):
            self.run_once()
            wait = self.interval_s
