"""A page's socket events reach NiceGUI in the order the browser sent them, even when the
session check before each one takes longer for the first (a click overtook the note typed just
before it, under load, and the deployment was recorded without its note)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from helios.ui import guard


class FakeSocket:
    def __init__(self, delivered: list[str]) -> None:
        self.handlers: dict[str, dict[str, Any]] = {
            "/": {
                "connect": lambda *a: None,
                "handshake": lambda *a: None,
                "event": lambda sid, msg: delivered.append(msg["what"]),
            }
        }

    def on(self, name: str, handler: Any) -> None:
        self.handlers["/"][name] = handler

    def rooms(self, sid: str) -> list[str]:
        return ["page"]


class FakeClient:
    id = "page"
    request = None


def test_events_of_one_page_keep_their_order(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from nicegui import Client, core

    delivered: list[str] = []
    monkeypatch.setattr(core, "sio", FakeSocket(delivered))
    monkeypatch.setattr(Client, "instances", {"page": FakeClient()})
    slow = {"first": 0.3, "second": 0.0}
    checking: list[str] = []

    def page_principal(request: Any) -> None:  # the session check, slower for the first event
        what = checking.pop(0)
        time.sleep(slow[what])

    monkeypatch.setattr(guard, "page_principal", page_principal)
    guard.guard_socket()
    event = core.sio.handlers["/"]["event"]

    async def browser() -> None:
        sent = []
        for what in ("first", "second"):  # a value typed, then the click
            checking.append(what)
            sent.append(asyncio.create_task(event("sid", {"client_id": "page", "what": what})))
        await asyncio.gather(*sent)

    asyncio.run(browser())
    assert delivered == ["first", "second"]
