"""Entities found by an LLM in free-text memories, after the write: with an assistant configured
(HELIOS_MEMORY_LLM_ASSISTANT) the write answers while the LLM is still thinking; what the LLM
names is linked with its memory as support (marked source=llm on the memory), kept only when the
name is in the text and the type is known; a malformed answer adds nothing and stalls nothing;
purging the memory takes the entities along. Without the setting nothing is asked."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from helios.core.events import MemoryWritten
from helios.core.tables import OutboxEvent
from helios.memory import llm_entities
from helios.memory import service as memory
from helios.memory.tables import Entity, EntitySupport
from tests.api.test_assistants import assistant, llm_model
from tests.assistants import fake_llm as fake
from tests.assistants.fake_llm import fake_llm_fixture  # noqa: F401
from tests.memory.fakes import fake_runtime

NOTE = "we met jane doe from acme about the q3 forecast for aapl"
GOOD = [
    {"name": "Jane Doe", "type": "person"},
    {"name": "acme", "type": "organisation"},
    {"name": "Wayne Enterprises", "type": "organisation"},  # not in the text: dropped
    {"name": "q3", "type": "quarter"},  # not a known type: dropped
]


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"memory_llm_assistant": "extractor"})


@pytest.fixture
def llm(client, fake_llm, monkeypatch):  # type: ignore[no-untyped-def]
    """The fake LLM answers entity requests from ``llm.answer`` (given each note id), once
    ``llm.gate`` is set; other requests as usual."""
    client.app.state.helios.memory = fake_runtime()
    client.put("/api/v1/ai-assistant/config", json={"allow_local_model_servers": True, "max_retries": 0})
    llm_model(client, base_url=fake_llm.base_url)
    assistant(client, "extractor", llm_model="local-llm", llm_version=1)
    usual = fake.answer_for
    state = type("State", (), {"gate": threading.Event(), "answer": None, "asked": 0})()

    def answer_for(messages: list[dict]) -> str:
        if not messages[0]["content"].startswith("You find the named entities"):
            return usual(messages)
        state.asked += 1
        state.gate.wait(30)
        notes = json.loads(messages[-1]["content"])["notes"]
        return state.answer(notes)

    monkeypatch.setattr(fake, "answer_for", answer_for)
    return state


def write(client, content: str, **extra) -> int:  # type: ignore[no-untyped-def]
    body = {"memories": [{"content": content, **extra}]}
    response = client.post("/api/v1/memory/agents/desk/memories", json=body)
    assert response.status_code == 201, response.text
    return response.json()["items"][0]["id"]


def graph(client) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    nodes = client.get("/api/v1/memory/agents/desk/graph").json()["nodes"]
    return {(n["name"], n["type"]) for n in nodes}


def settle(client, llm) -> None:  # type: ignore[no-untyped-def]
    llm.gate.set()
    client.app.state.helios.events.drain()


def test_the_write_answers_first_then_entities_arrive_with_their_memory(client, llm) -> None:  # type: ignore[no-untyped-def]
    llm.answer = lambda notes: json.dumps({"memories": [{"id": notes[0]["id"], "entities": GOOD}]})
    started = time.monotonic()
    memory_id = write(client, NOTE)  # the LLM is held at the gate all this while
    assert time.monotonic() - started < 20
    assert ("Jane Doe", "person") not in graph(client)
    settle(client, llm)
    assert {("Jane Doe", "person"), ("acme", "organisation")} <= graph(client)
    assert not {name for name, _ in graph(client)} & {"Wayne Enterprises", "q3"}
    meta = client.get(f"/api/v1/memory/{memory_id}").json()["metadata"]["llm_entities"]
    assert meta["source"] == "llm" and meta["model"] == "local-llm"
    assert meta["entities"] == [
        {"name": "Jane Doe", "type": "person"},
        {"name": "acme", "type": "organisation"},
    ]
    context = client.app.state.helios
    with context.db.reading() as session:
        supports = set(
            session.execute(select(Entity.name, EntitySupport.memory_id).join(EntitySupport)).tuples()
        )
    assert {("Jane Doe", memory_id), ("acme", memory_id)} <= supports

    assert client.delete(f"/api/v1/memory/{memory_id}").status_code == 200
    assert ("Jane Doe", "person") not in graph(client)  # a deleted memory hides what it alone held
    with context.db.transaction() as session:
        memory.purge_expired(session, context.memory, now=_far_future())
    with context.db.reading() as session:
        assert session.scalar(select(Entity.id).limit(1)) is None  # no orphans after the purge


def test_a_redelivered_event_links_nothing_twice(client, llm) -> None:  # type: ignore[no-untyped-def]
    llm.answer = lambda notes: json.dumps({"memories": [{"id": notes[0]["id"], "entities": GOOD[:2]}]})
    memory_id = write(client, NOTE)
    settle(client, llm)
    context = client.app.state.helios
    agent_id = client.get("/api/v1/agents/desk").json()["id"]
    event = MemoryWritten(agent_id=agent_id, agent="desk", memory_ids=[memory_id])
    with context.db.transaction() as session:
        assert llm_entities.find_entities(context, "extractor", event, session) == 0
    assert llm.asked == 2


@pytest.mark.parametrize(
    "answer",
    [
        lambda notes: "Sure! Here are the entities: Jane Doe",
        lambda notes: json.dumps({"memories": [{"id": notes[0]["id"], "entities": [{"name": "acme"}]}]}),
        lambda notes: json.dumps({"memories": [{"id": str(notes[0]["id"]), "entities": GOOD}]}),
        lambda notes: json.dumps({"memories": [{"id": 10**9, "entities": GOOD}]}),
        lambda notes: json.dumps([{"id": notes[0]["id"], "entities": GOOD}]),
    ],
    ids=["prose", "no-type", "id-as-text", "unknown-id", "not-an-object"],
)
def test_a_bad_answer_adds_nothing_and_stalls_nothing(client, llm, answer) -> None:  # type: ignore[no-untyped-def]
    llm.answer = answer
    memory_id = write(client, NOTE)
    settle(client, llm)
    assert not {name for name, _ in graph(client)} & {"Jane Doe", "acme"}
    assert "llm_entities" not in client.get(f"/api/v1/memory/{memory_id}").json()["metadata"]
    context = client.app.state.helios
    with context.db.reading() as session:
        head = session.scalar(select(func.max(OutboxEvent.id)))
    assert context.events.cursor(llm_entities.SUBSCRIBER) == head  # moved on, not retrying


def test_structured_memories_are_not_sent(client, llm) -> None:  # type: ignore[no-untyped-def]
    llm.answer = lambda notes: json.dumps({"memories": []})
    write(
        client,
        "acme supplies globex",
        triples=[{"subject": "acme", "predicate": "supplies", "object": "globex"}],
    )
    settle(client, llm)
    assert llm.asked == 0


def test_without_the_setting_nothing_is_asked(app, fake_llm) -> None:  # type: ignore[no-untyped-def]
    from helios.app import create_app

    plain = create_app(app.state.helios.settings.model_copy(update={"memory_llm_assistant": None}), ui=False)
    assert llm_entities.SUBSCRIBER not in plain.state.helios.events.subscribers
    assert llm_entities.SUBSCRIBER in app.state.helios.events.subscribers
    plain.state.helios.db.dispose()


def _far_future():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
