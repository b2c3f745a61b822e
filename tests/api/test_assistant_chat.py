"""POST /api/v1/ai-assistant/chat against a local OpenAI-protocol server: answers, streaming,
errors, timeouts, retries, redirects, internal-address refusal, and no provider at all. Every
call is logged with its version, latency and tokens."""

from __future__ import annotations

import json

from tests.api.test_assistants import API, assistant, llm_model, save
from tests.assistants.fake_llm import STALL_S, fake_llm_fixture  # noqa: F401

QUESTION = {"persona": "an analyst", "question": "Where is AAPL heading?"}


def ready(client, fake_llm, **config):  # type: ignore[no-untyped-def]
    client.put(f"{API}/config", json={"allow_local_model_servers": True, "max_retries": 1, **config})
    llm_model(client, base_url=fake_llm.base_url)
    assistant(client, llm_model="local-llm", llm_version=1)
    save(client)
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})


def ask(client, question: str = "Where is AAPL heading?", **extra):  # type: ignore[no-untyped-def]
    body = {"assistant": "analyst", "variables": {"persona": "an analyst", "question": question}, **extra}
    return client.post(f"{API}/chat", json=body)


def calls(client) -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get(f"{API}/assistants/analyst/calls").json()["items"]


def test_the_assistant_answers_with_its_production_prompt_and_logs_the_call(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm)
    response = ask(client, tickers=["AAPL"])
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["outcome"] == "answered"
    assert result["answer"] == "echo: Where is AAPL heading?"
    assert result["prompt_version"] == 1 and result["rendered"][0]["content"].endswith("for AAPL.")
    sent = fake_llm.requests[-1]["body"]
    assert sent["model"] == "test-model" and sent["temperature"] == 0.3 and sent["max_tokens"] == 200
    assert sent["top_p"] == 0.9 and sent["stop"] == ["###"]
    logged = calls(client)[0]
    assert logged["id"] == result["call_id"] and logged["outcome"] == "answered"
    assert logged["prompt_version"] == 1 and logged["content_hash"] == result["content_hash"]
    assert logged["latency_ms"] > 0 and logged["prompt_tokens"] > 0 and logged["completion_tokens"] == 5
    assert logged["tickers"] == ["AAPL"]


def test_streaming_sends_meta_deltas_and_done(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm)
    with client.stream(
        "POST", f"{API}/chat", json={"assistant": "analyst", "variables": QUESTION, "stream": True}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [block for block in r.read().decode().split("\n\n") if block]
    kinds = [block.split("\n")[0].removeprefix("event: ") for block in events]
    assert kinds[0] == "meta" and kinds[-1] == "done" and kinds.count("delta") == 5
    text = "".join(json.loads(b.split("data: ")[1])["text"] for b in events if b.startswith("event: delta"))
    assert text == "echo: Where is AAPL heading?"
    done = json.loads(events[-1].split("data: ")[1])
    assert done["outcome"] == "answered" and done["answer"] == text and done["completion_tokens"] == 5
    assert calls(client)[0]["outcome"] == "answered"


def test_no_provider_says_so_and_still_shows_the_rendered_prompt(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    save(client)
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})
    result = ask(client).json()
    assert result["outcome"] == "no_provider" and result["answer"] is None
    assert "no model provider configured" in result["notice"]
    assert result["rendered"][1]["content"] == "Where is AAPL heading?"
    assert calls(client)[0]["outcome"] == "no_provider"


def test_an_unreachable_server_is_reported_not_answered(client) -> None:  # type: ignore[no-untyped-def]
    client.put(f"{API}/config", json={"allow_local_model_servers": True, "max_retries": 0})
    llm_model(client, base_url="http://127.0.0.1:9/v1")
    assistant(client, llm_model="local-llm", llm_version=1)
    save(client)
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})
    result = ask(client).json()
    assert result["outcome"] == "unreachable" and result["answer"] is None
    assert "could not reach" in result["notice"] and result["rendered"]


def test_server_errors_timeouts_retries_and_garbage(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    # 2 s: a 500 and its retry answer well within it on a busy box (0.5 s was not enough at load
    # 8: the error read as "unreachable"), and [stall] sleeps far past it.
    ready(client, fake_llm, request_timeout_s=STALL_S / 3)
    failed = ask(client, "[error500] why").json()
    assert failed["outcome"] == "error" and "HTTP 500" in failed["notice"] and "crashed" in failed["notice"]
    assert sum("[error500]" in str(r["body"]) for r in fake_llm.requests) == 2  # one retry
    slow = ask(client, "[stall] why").json()
    assert slow["outcome"] == "unreachable" and "did not answer within" in slow["notice"]
    flaky = ask(client, "[flaky] why").json()
    assert flaky["outcome"] == "answered" and flaky["answer"] == "echo: [flaky] why"
    garbage = ask(client, "[garbage] why").json()
    assert garbage["outcome"] == "error" and "not JSON" in garbage["notice"]
    assert [c["outcome"] for c in calls(client)] == ["error", "answered", "unreachable", "error"]


def test_redirects_are_not_followed(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm)
    result = ask(client, "[redirect] go").json()
    assert result["outcome"] == "error" and "redirects are not followed" in result["notice"]
    assert "169.254.169.254" in result["notice"]


def test_a_local_server_is_refused_at_call_time_once_local_servers_are_disallowed(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm)
    client.put(f"{API}/config", json={"allow_local_model_servers": False})
    result = ask(client).json()
    assert result["outcome"] == "refused" and "internal address 127.0.0.1" in result["notice"]
    assert len(fake_llm.requests) == 0


def test_the_api_key_is_read_from_the_named_env_var(client, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client.put(f"{API}/config", json={"allow_local_model_servers": True})
    config = {"base_url": fake_llm.base_url, "model_name": "m", "api_key_env": "HELIOS_TEST_LLM_KEY"}
    client.post("/api/v1/ai/models", json={"name": "keyed", "kind": "llm", "task": "chat", "llm": config})
    assistant(client, llm_model="keyed", llm_version=1)
    save(client)
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})
    monkeypatch.delenv("HELIOS_TEST_LLM_KEY", raising=False)
    missing = ask(client).json()
    assert missing["outcome"] == "no_provider" and "$HELIOS_TEST_LLM_KEY" in missing["notice"]
    monkeypatch.setenv("HELIOS_TEST_LLM_KEY", "sk-test-123")
    assert ask(client).json()["outcome"] == "answered"
    assert fake_llm.requests[-1]["authorization"] == "Bearer sk-test-123"


def test_chat_bad_input_stores_no_call(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm)
    missing = client.post(f"{API}/chat", json={"assistant": "analyst", "variables": {"persona": "x"}})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "variables.question"
    unknown = client.post(f"{API}/chat", json={"assistant": "nobody", "variables": {}})
    assert unknown.status_code == 404
    extra = client.post(f"{API}/chat", json={"assistant": "analyst", "variables": QUESTION, "mood": 1})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "mood"
    assert calls(client) == [] and fake_llm.requests == []
