"""DNS rebinding replayed: a model server's host name answers a public address when the base URL
is checked and 127.0.0.1 when the connection is made. The connection resolves once, checks what it
got and connects to exactly that, so the internal server is never reached; with local servers
allowed, the checked address is the one connected to and the URL's host name travels as Host."""

from __future__ import annotations

import httpcore
import pytest

from helios.assistants import providers
from tests.api.test_assistants import API, assistant, llm_model, save
from tests.assistants.fake_llm import fake_llm_fixture  # noqa: F401

PUBLIC = "8.8.8.8"
HOST = "models.rebind.example"


class Resolver:
    """Answers ``answers[i]`` to the i-th lookup (the last one from then on), and counts."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers, self.asked = list(answers), []

    def __call__(self, host: str, port: int | None) -> list[str]:
        self.asked.append(host)
        if host != HOST:
            raise OSError(f"unknown host {host}")
        return self.answers[min(len(self.asked) - 1, len(self.answers) - 1)]


def url_for(fake_llm) -> str:  # type: ignore[no-untyped-def]
    return f"http://{HOST}:{fake_llm.server_address[1]}/v1"


def setup_assistant(client, fake_llm, *, allow_local: bool) -> None:  # type: ignore[no-untyped-def]
    client.put(f"{API}/config", json={"allow_local_model_servers": allow_local, "max_retries": 0})
    llm_model(client, base_url=url_for(fake_llm))
    assistant(client, llm_model="local-llm", llm_version=1)
    save(client)
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})


def ask(client):  # type: ignore[no-untyped-def]
    body = {"assistant": "analyst", "variables": {"persona": "an analyst", "question": "AAPL?"}}
    response = client.post(f"{API}/chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused(client, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    resolver = Resolver([PUBLIC], ["127.0.0.1"])
    monkeypatch.setattr(providers, "resolve", resolver)
    setup_assistant(client, fake_llm, allow_local=False)  # the save-time check sees 8.8.8.8
    assert resolver.asked == [HOST]
    result = ask(client)
    assert result["outcome"] == "refused", result
    assert "internal address 127.0.0.1" in result["notice"]
    assert fake_llm.requests == []  # the loopback server never saw a byte
    assert resolver.asked == [HOST, HOST]  # one lookup for the call: the one the socket used


def test_a_name_with_a_public_and_an_internal_address_is_refused(client, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    resolver = Resolver([PUBLIC], [PUBLIC, "127.0.0.1"])
    monkeypatch.setattr(providers, "resolve", resolver)
    setup_assistant(client, fake_llm, allow_local=False)
    result = ask(client)
    assert result["outcome"] == "refused" and "127.0.0.1" in result["notice"]
    assert fake_llm.requests == []


def test_the_socket_goes_to_the_checked_address_and_keeps_the_name(client, fake_llm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # HOST exists nowhere but in the stub: an answer proves the socket went to the stub's address.
    resolver = Resolver(["127.0.0.1"])
    monkeypatch.setattr(providers, "resolve", resolver)
    setup_assistant(client, fake_llm, allow_local=True)
    result = ask(client)
    assert result["outcome"] == "answered", result
    assert fake_llm.requests[-1]["host"] == f"{HOST}:{fake_llm.server_address[1]}"
    assert resolver.asked == [HOST]


def test_the_backend_never_connects_to_an_unchecked_address(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    opened: list[str] = []

    class Recorder(httpcore.SyncBackend):
        def connect_tcp(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            opened.append(host)
            raise httpcore.ConnectError("not really")

    monkeypatch.setattr(providers, "resolve", Resolver([PUBLIC], ["127.0.0.1"]))
    backend = providers.CheckedAddresses(allow_local=False)
    backend._system = Recorder()
    with pytest.raises(httpcore.ConnectError):
        backend.connect_tcp(HOST, 80)  # first lookup: public, so the socket goes to that address
    with pytest.raises(providers.ProviderRefused):
        backend.connect_tcp(HOST, 80)  # second lookup: loopback, refused before any socket
    assert opened == [PUBLIC]


def test_the_pooled_client_uses_the_checked_backend() -> None:
    # httpx builds its pool privately; if a new httpx stops using ours, this says so.
    provider = providers.Provider(model="m", base_url="http://example.com/v1", model_name="m")
    transport = providers._client(provider)._transport
    assert isinstance(transport, providers.CheckedTransport)
    assert isinstance(transport._pool._network_backend, providers.CheckedAddresses)
