"""The client's agents and memory areas against a real in-process app."""

from __future__ import annotations

import pytest

from helios.client import Helios, HeliosAPIError
from tests.memory.fakes import fake_runtime


def test_client_memory_area(client) -> None:  # type: ignore[no-untyped-def]
    client.app.state.helios.memory = fake_runtime()
    with Helios("http://testserver", transport=client._transport) as hx:
        first = hx.memory.add(
            "bot",
            "Initech ships widgets",
            triples=[{"subject": "Initech", "predicate": "ships", "object": "widgets"}],
        )
        assert hx.agents.get("bot")["memory_count"] == 1
        assert hx.memory.search("widgets", agent="bot")["memory.id"][0] == first["id"]
        assert len(hx.memory.graph("bot")["edges"]) == 1
        hx.memory.update(first["id"], importance=0.9)
        hx.memory.delete(first["id"])
        assert hx.memory.list("bot", deleted=True)["id"][0] == first["id"]
        hx.memory.restore(first["id"])
        dry = hx.memory.forget("bot", {"kinds": ["fact"]})
        assert dry["count"] == 1 and dry["dry_run"]
        assert hx.memory.agents()["agent"].tolist() == ["bot"]
        with pytest.raises(HeliosAPIError) as bad:
            hx.memory.write("bot", [{"content": "ok"}, {"content": "x", "importance": 9}])
        assert bad.value.status == 422 and bad.value.errors[0]["field"] == "memories[1].importance"
