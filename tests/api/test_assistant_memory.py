"""An assistant whose memory policy remembers answers writes each answered exchange to its agent's
memory, and that memory carries the prompt version's hash and id — read back through the memory
API, beside the call log that holds the same hash."""

from __future__ import annotations

import pytest

from tests.api.test_assistants import API, assistant, llm_model, problem, save
from tests.assistants.fake_llm import fake_llm_fixture  # noqa: F401
from tests.memory.fakes import fake_runtime

POLICY = {"agent": "desk", "limit": 5, "remember": True}


@pytest.fixture
def mclient(client):  # type: ignore[no-untyped-def]
    client.app.state.helios.memory = fake_runtime()
    return client


def ready(client, fake_llm, memory: dict) -> None:  # type: ignore[no-untyped-def]
    client.put(f"{API}/config", json={"allow_local_model_servers": True, "max_retries": 0})
    llm_model(client, base_url=fake_llm.base_url)
    assistant(client, llm_model="local-llm", llm_version=1, memory=memory)
    save(client)
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})


def ask(client, question: str = "Where is AAPL heading?", **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {"assistant": "analyst", "variables": {"persona": "an analyst", "question": question}, **extra}
    response = client.post(f"{API}/chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def memories(client, agent: str = "desk") -> list[dict]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/memory/agents/{agent}/memories")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_an_answer_is_remembered_with_the_prompt_version_hash(mclient, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(mclient, fake_llm, POLICY)
    result = ask(mclient, tickers=["AAPL"])
    assert result["outcome"] == "answered" and len(result["memory_ids"]) == 1
    assert "remembered as memory" in result["context"]["remembered"]
    [memory] = memories(mclient)
    version = mclient.get(f"{API}/prompts/analyst/versions/1").json()
    assert memory["id"] == result["memory_ids"][0]
    assert memory["metadata"]["prompt_hash"] == result["content_hash"] == version["content_hash"]
    assert memory["metadata"]["prompt_version"] == 1
    assert memory["metadata"]["prompt_version_id"] == version["id"]
    assert memory["metadata"]["call_id"] == result["call_id"] and memory["metadata"]["asked_by"] == "local"
    assert memory["source_link"]["type"] == "assistant_call"
    assert memory["source_link"]["id"] == result["call_id"]
    assert memory["source_link"]["prompt_hash"] == result["content_hash"]
    assert memory["kind"] == "episode" and memory["source"] == "system"
    assert "Where is AAPL heading?" in memory["content"]
    assert "echo: Where is AAPL heading?" in memory["content"]
    logged = mclient.get(f"{API}/assistants/analyst/calls").json()["items"][0]
    assert logged["content_hash"] == memory["metadata"]["prompt_hash"]


def test_a_new_version_writes_memories_with_its_own_hash(mclient, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(mclient, fake_llm, POLICY)
    first = ask(mclient)
    v2 = save(mclient, system_prompt="You are {{ persona }}. Be brief.", message="shorter")
    mclient.put(f"{API}/prompts/analyst/labels/production", json={"version": 2})
    second = ask(mclient, "And MSFT?")
    hashes = {m["id"]: m["metadata"]["prompt_hash"] for m in memories(mclient)}
    assert hashes[first["memory_ids"][0]] == first["content_hash"]
    assert hashes[second["memory_ids"][0]] == v2["content_hash"] != first["content_hash"]


def test_the_experiment_variant_is_kept_with_the_memory(mclient, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(mclient, fake_llm, POLICY)
    save(mclient, system_prompt="You are {{ persona }}. Be brief.", message="b")
    variants = [{"name": "a", "version": 1, "weight": 1}, {"name": "b", "version": 2, "weight": 1}]
    experiment = mclient.post(
        f"{API}/experiments", json={"assistant": "analyst", "name": "brevity", "variants": variants}
    ).json()
    result = ask(mclient, subject="user-1")
    [memory] = memories(mclient)
    assert memory["metadata"]["experiment_id"] == experiment["id"]
    assert memory["metadata"]["variant"] == result["variant"]
    assert memory["metadata"]["prompt_hash"] == result["content_hash"]


def test_nothing_is_remembered_without_an_answer_or_without_the_policy(mclient, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(mclient, fake_llm, POLICY)
    failed = ask(mclient, "[error500] boom")
    assert failed["outcome"] == "error" and failed["memory_ids"] == []
    assert "nothing was remembered" in failed["context"]["remembered"]
    mclient.patch(f"{API}/assistants/analyst", json={"memory": {"agent": "desk", "remember": False}})
    quiet = ask(mclient)
    assert quiet["outcome"] == "answered" and quiet["memory_ids"] == []
    assert mclient.get("/api/v1/agents/desk").status_code == 404  # never written, never created


def test_remember_needs_an_agent(client) -> None:  # type: ignore[no-untyped-def]
    refused = client.post(
        f"{API}/assistants", json={"name": "analyst", "role": "analyst", "memory": {"remember": True}}
    )
    problem(refused, 422, "memory.remember")
    assert client.get(f"{API}/assistants").json()["items"] == []


def test_a_memory_that_cannot_be_written_never_loses_the_answer(mclient, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(mclient, fake_llm, {"agent": "desk", "remember": True})
    ask(mclient)  # creates the agent
    assert mclient.delete("/api/v1/agents/desk").status_code in (200, 204)
    result = ask(mclient)
    assert result["outcome"] == "answered" and result["answer"] and result["memory_ids"] == []
    remembered = result["context"]["remembered"]
    assert "not remembered" in remembered and "deleted" in remembered
    assert len(mclient.get(f"{API}/assistants/analyst/calls").json()["items"]) == 2
